"""A cheap stand-in for the supernet evaluator, over a real space and cost model.

For tests, benchmarks and dry runs of the search: the same interface as the
:class:`~scarlet_tf.evaluation.evaluator.Evaluator` (``score(arch)``, ``score_path(path)``
-> ``{"accuracy", "loss"}``) at microseconds per call.
"""

from __future__ import annotations

import math

import numpy as np

from scarlet_tf.search.problem import SearchProblem
from scarlet_tf.space.spaces import SearchSpace


class SyntheticScorer:
    """Accuracy that grows with log mult-adds, plus seeded per-layer choice effects and
    interactions between neighbouring layers, so that equal costs differ in accuracy.

    ``accuracy = 0.98 * sigmoid(3 * capacity - 1 + effects)``, ``capacity`` in [0, 1] the
    position of log mult-adds between the space's smallest and largest architecture.
    """

    def __init__(self, space: SearchSpace, seed: int = 0):
        rng = np.random.default_rng(seed)
        width = max(space.num_choices)
        self.problem = SearchProblem(space, "madds")
        self.effects = rng.normal(0.0, 0.15, (len(space.layers), width))
        self.pairs = rng.normal(0.0, 0.1, (len(space.layers) - 1, width, width))
        self.log_low, self.log_high = (math.log(v) for v in self.problem.bounds["madds"])

    def score(self, arch) -> dict:
        """``{"accuracy": float in (0, 0.98), "loss": float}`` of an Architecture."""
        return self.score_path(self.problem.space.encode(arch))

    def score_path(self, path) -> dict:
        """:meth:`score` of a path (ints ``[num_layers]``)."""
        madds = self.problem.costs(path)["madds"]
        capacity = (math.log(madds) - self.log_low) / max(self.log_high - self.log_low, 1e-9)
        logit = 3.0 * capacity - 1.0 + sum(self.effects[i, j] for i, j in enumerate(path))
        logit += sum(self.pairs[i, a, b] for i, (a, b) in enumerate(zip(path, path[1:])))
        accuracy = 0.98 / (1.0 + math.exp(-logit))
        return {"accuracy": accuracy, "loss": -math.log(accuracy)}
