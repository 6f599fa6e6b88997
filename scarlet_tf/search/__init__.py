"""Multi-objective evolutionary architecture search (NSGA-II) as a keras-tuner Oracle.

``nsga2`` (the pure algorithm) and ``problem`` (objectives, constraints, analytic costs)
import no Keras; ``EvolutionOracle``, ``SearchTuner`` and ``run_search`` load
keras-tuner on first use.
"""

from scarlet_tf.search.problem import Objective, SearchProblem, parse_objectives

_LAZY = {"EvolutionOracle": "scarlet_tf.search.oracle", "SearchTuner": "scarlet_tf.search.tuner",
         "run_search": "scarlet_tf.search.tuner", "SyntheticScorer": "scarlet_tf.search.synthetic"}

__all__ = ["Objective", "SearchProblem", "parse_objectives", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'scarlet_tf.search' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)
