"""Evaluation: score a path of a supernet, extract it as a plain model, rank against truth.

- :mod:`~scarlet_tf.evaluation.evaluator`: :class:`Evaluator` (recalibrated BatchNorm);
- :mod:`~scarlet_tf.evaluation.runs`: :class:`SupernetRun`, the reader of a supernet run;
- :mod:`~scarlet_tf.evaluation.folding`: :func:`extract_subnet`, stabilizers folded away;
- :mod:`~scarlet_tf.evaluation.ranking`: :func:`rank_statistics` and bootstrap intervals;
- :mod:`~scarlet_tf.evaluation.nas_bench_macro`: the shipped NAS-Bench-Macro ground truth;
- :mod:`~scarlet_tf.evaluation.macro_ranking`: a supernet ranked on that benchmark;
- :mod:`~scarlet_tf.evaluation.rank_runs`: ``scarlet-tf rank`` as a Python call;
- :mod:`~scarlet_tf.evaluation.analysis`: feature consistency of a layer's choices.
"""

from scarlet_tf.lazy import lazy_exports

_LAZY = {"Evaluator": "scarlet_tf.evaluation.evaluator",
         "SupernetRun": "scarlet_tf.evaluation.runs",
         "extract_subnet": "scarlet_tf.evaluation.folding",
         "rank_statistics": "scarlet_tf.evaluation.ranking",
         "ranking_summary": "scarlet_tf.evaluation.ranking"}
__all__ = list(_LAZY)
__getattr__ = lazy_exports(__name__, _LAZY)
