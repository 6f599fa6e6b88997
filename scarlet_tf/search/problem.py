"""The search problem: a space, objectives, constraints and analytic costs (no Keras).

Costs are analytic (mult-adds and params from the cost model, ``latency_ms`` from a
latency table: its prediction of the latency ``scarlet-tf benchmark`` reports, the
fastest run over fresh interpreters), so feasibility is known before a candidate is
evaluated: every candidate the search proposes is repaired into the feasible region first
(:meth:`SearchProblem.repair`) and none that stays infeasible is ever evaluated.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from scarlet_tf.errors import ScarletError
from scarlet_tf.search import nsga2
from scarlet_tf.space.costs import choice_cost, head_cost, stem_cost
from scarlet_tf.space.spaces import SearchSpace

# objective name -> allowed directions (the first is the default)
DIRECTIONS = {"accuracy": ("max",), "loss": ("min",), "madds": ("min",),
              "params": ("min", "max"), "latency_ms": ("min",)}
SCORES = ("accuracy", "loss")  # what the supernet measures; the rest are analytic costs
COSTS = ("madds", "params", "latency_ms")
LABELS = {"madds": "mult-add", "params": "parameter", "latency_ms": "latency"}
ALLOWED_OBJECTIVES = "accuracy, loss, madds, params (or params:max), latency_ms"


@dataclass(frozen=True)
class Objective:
    """One objective: a metric name and ``"min"`` or ``"max"``."""

    name: str
    direction: str

    def __str__(self) -> str:
        return self.name if self.direction == DIRECTIONS[self.name][0] else \
            f"{self.name}:{self.direction}"


def higher_is_better(name: str) -> bool:
    """Whether objective ``name``'s default direction is ``max`` (accuracy) rather than
    ``min`` (loss, the costs)."""
    return DIRECTIONS[name][0] == "max"


def parse_objectives(spec) -> tuple[Objective, ...]:
    """``"accuracy,madds,params:max"`` (or a list of such tokens) -> Objectives."""
    tokens = spec.split(",") if isinstance(spec, str) else list(spec)
    objectives = []
    for token in (t.strip() for t in tokens):
        name, _, direction = token.partition(":")
        allowed = DIRECTIONS.get(name)
        if allowed is None or (direction and direction not in allowed):
            raise ScarletError(f"unknown objective {token!r}; allowed: {ALLOWED_OBJECTIVES}")
        objectives.append(Objective(name, direction or allowed[0]))
    if len({o.name for o in objectives}) != len(objectives) or not objectives:
        raise ScarletError(f"objectives must be distinct and non-empty, got {spec!r}")
    return tuple(objectives)


def _show(name: str, value: float) -> str:
    """A cost as printed in messages: ms for latency, millions for counts."""
    return f"{value:.3f} ms" if name == "latency_ms" else f"{value / 1e6:.3f}M"


class SearchProblem:
    """What to search: ``space``, objectives, constraints (``max_madds``/``max_params`` as
    counts, ``max_latency_ms`` in ms) and an optional ``latency_table`` (any object with
    ``.predict(arch) -> ms``). ``weights`` ``[M]`` are preferences among the objectives
    (see :mod:`scarlet_tf.search.nsga2`). Raises ScarletError on impossible requests.
    """

    def __init__(self, space: SearchSpace, objectives="accuracy,madds", *, max_madds=None,
                 max_params=None, max_latency_ms=None, latency_table=None, weights=None):
        self.space = space
        self.objectives = parse_objectives(objectives)
        self.limits = {k: float(v) for k, v in zip(COSTS, (max_madds, max_params,
                                                          max_latency_ms)) if v is not None}
        self.latency_table = latency_table
        self.weights = self._check_weights(weights)
        per_layer = [[choice_cost(layer, c) for c in layer.choices] for layer in space.layers]
        fixed = stem_cost(space) + head_cost(space)
        # cost name -> per layer int [n_i]: the cost of each choice; plus stem and head
        self._tables = {k: [np.array([getattr(c, k) for c in row]) for row in per_layer]
                        for k in COSTS[:2]}
        self._fixed = {k: getattr(fixed, k) for k in COSTS[:2]}
        # per layer: token -> choice index, so a candidate is parsed once, at the oracle
        self._index = [{c.token: i for i, c in enumerate(layer.choices)} for layer in space.layers]
        self._check_latency()
        self.bounds = {name: self._bounds(name) for name in self.cost_names}
        self._check_limits()

    @property
    def score(self) -> str:
        """The supernet score that picks the best network: the first of ``accuracy`` (top-1,
        higher is better) and ``loss`` (mean cross-entropy, lower is better) among the
        objectives, ``accuracy`` when neither is."""
        return next((o.name for o in self.objectives if o.name in SCORES), "accuracy")

    @property
    def cost_names(self) -> tuple[str, ...]:
        return COSTS if self.latency_table is not None else COSTS[:2]

    def _check_weights(self, weights):
        if weights is None:
            return None
        weights = [float(w) for w in weights]
        if len(weights) != len(self.objectives) or min(weights) < 0 or sum(weights) <= 0:
            raise ScarletError(f"weights need one non-negative number per objective "
                               f"({len(self.objectives)}), not all zero; got {weights}")
        return weights

    def _check_latency(self):
        wanted = "latency_ms" in self.limits or any(o.name == "latency_ms"
                                                    for o in self.objectives)
        if wanted and self.latency_table is None:
            raise ScarletError("a latency objective or constraint needs a latency table "
                               "(--latency-table FILE from `scarlet-tf latency-table`)")

    def _check_limits(self):
        for name, limit in self.limits.items():
            low = self.bounds[name][0]
            if limit < low:
                raise ScarletError(f"the {LABELS[name]} limit {_show(name, limit)} is below "
                                   f"the smallest architecture of this space "
                                   f"({_show(name, low)}); raise the limit or search a "
                                   "narrower space")

    def idle_limits(self) -> list[str]:
        """One line per limit that excludes nothing (at or above the space's largest)."""
        return [f"the {LABELS[name]} limit {_show(name, limit)} is at or above the largest "
                f"architecture of this space ({_show(name, self.bounds[name][1])}): it "
                "excludes nothing" for name, limit in self.limits.items()
                if limit >= self.bounds[name][1]]

    def costs(self, path) -> dict:
        """Analytic costs of a path: ``madds`` and ``params`` (counts), ``latency_ms``."""
        found = {k: int(self._fixed[k] + sum(t[i][j] for i, j in enumerate(path)))
                 for k, t in self._tables.items()}
        if self.latency_table is not None:
            found["latency_ms"] = float(self.latency_table.predict(self.space.decode(path)))
        return found

    def _alternatives(self, path, i: int) -> dict:
        """Costs of ``path`` with layer ``i`` set to each of its choices: arrays ``[n_i]``."""
        found = self.costs(path)
        options = {k: found[k] - t[i][path[i]] + t[i] for k, t in self._tables.items()}
        if self.latency_table is not None:
            options["latency_ms"] = np.array([self.costs(path[:i] + [j] + path[i + 1:])[
                "latency_ms"] for j in range(len(self._tables["madds"][i]))])
        return options

    def _bounds(self, name: str) -> tuple[float, float]:
        """(smallest, largest) ``name`` over the space; exact for per-layer additive costs.

        One coordinate sweep per bound, each layer set to its extreme choice."""
        bounds = []
        for sign in (1, -1):
            path = [0] * len(self.space.layers)
            for i in range(len(path)):
                path[i] = int(np.argmin(sign * self._alternatives(path, i)[name]))
            bounds.append(self.costs(path)[name])
        return tuple(bounds)

    def _violation(self, found: dict, limits: dict | None):
        """``sum(max(0, cost / limit - 1))`` over ``limits``, elementwise over arrays."""
        limits = self.limits if limits is None else limits
        return sum((np.maximum(0.0, found[k] / v - 1.0) for k, v in limits.items()), 0.0)

    def violation(self, path, limits: dict | None = None) -> float:
        """Total relative violation of ``limits`` (default: the problem's),
        ``sum(max(0, cost / limit - 1))``; 0 when feasible."""
        return float(self._violation(self.costs(path), limits))

    def repair(self, path, rng: np.random.Generator, limits: dict | None = None):
        """A path near ``path`` (int [L]) within ``limits`` (default: the problem's), or
        None when none was reached.

        Random descent: visit layers in random order, move each to a random choice that
        lowers the violation; repeat passes until feasible or no move helps.
        """
        path = [int(i) for i in path]
        worst = self.violation(path, limits)
        while worst > 0:
            before = worst
            for i in rng.permutation(len(path)):
                violations = self._violation(self._alternatives(path, i), limits)
                moves = np.flatnonzero(violations < worst)
                if len(moves):
                    path[i] = int(moves[rng.integers(len(moves))])
                    worst = float(violations[path[i]])
                if worst == 0:
                    break
            if worst == before:
                return None
        return path

    def sample(self, rng: np.random.Generator):
        """A random feasible path (or None): uniform per layer, then repaired under a budget
        drawn uniformly between the space's smallest cost and each limit, so that samples
        spread along the constrained costs instead of piling up at the limits."""
        budget = {k: self.bounds[k][0] + rng.random() * (v - self.bounds[k][0])
                  for k, v in self.limits.items()}
        path = [rng.integers(n) for n in self.space.num_choices]
        return self.repair(path, rng, budget) or self.repair(path, rng)

    def path_of(self, values: dict) -> tuple[int, ...]:
        """Integer path of hyperparameter values ``{"layer01": "e3k3", ...}`` (each the
        token of one of its layer's choices, as the oracle's ``hp.Choice`` allows)."""
        return tuple(self._index[i][values[layer.name]]
                     for i, layer in enumerate(self.space.layers))

    def values_of(self, path) -> dict:
        """Hyperparameter values (``{"layer01": token}``) of an integer path."""
        return {layer.name: layer.choices[i].token for layer, i in zip(self.space.layers, path)}

    def vectors(self, metrics: list[dict]) -> np.ndarray:
        """Float ``[N, M]``: objectives of evaluated candidates, all to minimize."""
        sign = np.array([-1.0 if o.direction == "max" else 1.0 for o in self.objectives])
        return np.array([[m[o.name] for o in self.objectives] for m in metrics],
                        float).reshape(-1, len(sign)) * sign

    def normalized(self, metrics: list[dict]) -> np.ndarray:
        """Float ``[N, M]`` in [0, 1] per objective (0 ideal, 1 worst) for hypervolumes.

        Accuracy spans [1, 0]; a cost spans the space's smallest value to its limit (or
        the largest value when unconstrained); ``params:max`` the other way round.
        """
        ideal, worst = zip(*(self._span(o) for o in self.objectives))
        return (self.vectors(metrics) - np.array(ideal)) / (np.array(worst) - np.array(ideal))

    def _span(self, objective: Objective) -> tuple[float, float]:
        """(ideal, worst) of an objective in minimized units."""
        if objective.name == "accuracy":
            return -1.0, 0.0
        if objective.name == "loss":  # chance level is the worst that counts
            return 0.0, math.log(self.space.num_classes)
        low, high = self.bounds[objective.name]
        high = min(high, self.limits.get(objective.name, high))
        return (-high, -low) if objective.direction == "max" else (low, high)

    def hypervolume(self, metrics: list[dict]) -> float:
        """Normalized hypervolume (in [0, 1]) of the feasible ones among ``metrics``."""
        feasible = [m for m in metrics if self.is_feasible(m)]
        return nsga2.hypervolume(self.normalized(feasible), np.ones(len(self.objectives)))

    def is_feasible(self, metrics: dict) -> bool:
        """Whether the costs in ``metrics`` meet every limit."""
        return all(metrics[k] <= v for k, v in self.limits.items())

    def describe(self) -> dict:
        """JSON-ready settings (compared when a search resumes)."""
        described = {"space": self.space.describe(),
                     "objectives": [str(o) for o in self.objectives],
                     "limits": self.limits, "weights": self.weights,
                     "latency_table": self.latency_table is not None}
        return json.loads(json.dumps(described))
