"""scarlet-tf: SCARLET-NAS (stabilized weight-sharing NAS) in Keras 3 and TensorFlow.

The package's folders follow the pipeline: :mod:`~scarlet_tf.space` (spaces,
architectures, costs), :mod:`~scarlet_tf.network` (blocks, plain models, the supernet),
:mod:`~scarlet_tf.training` (the supernet), :mod:`~scarlet_tf.evaluation` (scores, run
reader, folding, ranking), :mod:`~scarlet_tf.search`, :mod:`~scarlet_tf.standalone` (the
chosen architecture trained alone), :mod:`~scarlet_tf.export` (TFLite) and
:mod:`~scarlet_tf.latency`; each ``__init__`` states its public names, and a stage imports
only the stages before it. The light parts
(search spaces, architectures, costs) import without TensorFlow; the Keras-backed names
below load on first use, so ``scarlet-tf info`` stays fast.
"""

from scarlet_tf.errors import ScarletError
from scarlet_tf.lazy import lazy_exports
from scarlet_tf.space import (
    NAMED,
    Architecture,
    Choice,
    SearchSpace,
    costs,
    get_space,
    resolve_arch,
)

__version__ = "0.1.0"

_LAZY = {
    "build_model": "scarlet_tf.network.models",
    "Supernet": "scarlet_tf.network.supernet",
    "SupernetRun": "scarlet_tf.evaluation.runs",
    "SupernetConfig": "scarlet_tf.training.configs",
    "train_supernet": "scarlet_tf.training.supernet",
    "Evaluator": "scarlet_tf.evaluation.evaluator",
    "extract_subnet": "scarlet_tf.evaluation.folding",
    "SubnetConfig": "scarlet_tf.training.configs",
    "train_subnet": "scarlet_tf.standalone.training",
    "rank_statistics": "scarlet_tf.evaluation.ranking",
    "fast_first_run": "scarlet_tf.network.handles",
}

__all__ = ["Architecture", "Choice", "NAMED", "ScarletError", "SearchSpace", "costs",
           "get_space", "resolve_arch", *_LAZY]

__getattr__ = lazy_exports(__name__, _LAZY)
