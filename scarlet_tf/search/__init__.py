"""Multi-objective evolutionary search (NSGA-II) as keras-tuner Oracles.

``ParetoOracle`` searches any keras-tuner HyperModel (``Limit`` bounds a metric;
``hypervolume``, ``pareto_front`` and ``plot_front`` take trials; ``ParamCount`` logs a
model's parameter count as a metric); ``EvolutionOracle`` is its architecture-search
client. ``nsga2`` (the pure algorithm) and ``problem`` (objectives, constraints, analytic
costs) import no Keras; the rest loads keras-tuner on first use.
"""

from scarlet_tf.lazy import lazy_exports
from scarlet_tf.search.problem import Objective, SearchProblem, parse_objectives

_LAZY = {"EvolutionOracle": "scarlet_tf.search.oracle", "SearchTuner": "scarlet_tf.search.tuner",
         "ParetoOracle": "scarlet_tf.search.pareto", "Limit": "scarlet_tf.search.pareto",
         "hypervolume": "scarlet_tf.search.front", "pareto_front": "scarlet_tf.search.front",
         "plot_front": "scarlet_tf.search.front", "ParamCount": "scarlet_tf.search.callbacks",
         "run_search": "scarlet_tf.search.tuner", "SyntheticScorer": "scarlet_tf.search.synthetic"}

__all__ = ["Objective", "SearchProblem", "parse_objectives", *_LAZY]

__getattr__ = lazy_exports(__name__, _LAZY)
