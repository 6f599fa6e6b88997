"""Hyperparameter values as NSGA-II genes over a keras-tuner ``HyperParameters`` space.

A candidate is a dict ``{name: value}`` of its *active* hyperparameters only, as in
keras-tuner's own ``trial.hyperparameters.values``: a conditional hyperparameter whose
parent condition fails has no value, so two candidates that differ only in inactive
values are one candidate (one :func:`key`).

Gene kinds, per hyperparameter type:

- numeric (``Int``, ``Float``, ordered ``Choice``): a position in [0, 1) on the
  hyperparameter's own sampling scale (``value_to_prob`` / ``prob_to_value``: linear,
  log or reverse-log, with or without ``step``); simulated binary crossover and
  polynomial mutation act on that position;
- categorical (unordered ``Choice``, ``Boolean``): uniform crossover (a parent's value at
  even odds) and mutation to a different value drawn uniformly;
- ``Fixed``: always its value.

Hyperparameters are visited in space order (keras-tuner keeps parents before their
conditional children); a child's value is drawn afresh when it becomes active and
neither parent had it.
"""

from __future__ import annotations

import json

import keras_tuner as kt
import numpy as np

from scarlet_tf.errors import ScarletError
from scarlet_tf.search import nsga2

_TOP = 1.0 - 1e-9  # positions stay below 1: prob_to_value(1.0) can leave the range
MUTATION_TRIES = 20  # polynomial-mutation draws until a numeric value changes
NUMERIC, CATEGORICAL, FIXED = "numeric", "categorical", "fixed"


def kind(hp) -> str:
    """``"numeric"``, ``"categorical"`` or ``"fixed"`` for a keras-tuner hyperparameter."""
    hps = kt.engine.hyperparameters
    if isinstance(hp, hps.Fixed):
        return FIXED
    if isinstance(hp, (hps.Int, hps.Float)) or (isinstance(hp, hps.Choice) and hp.ordered):
        return NUMERIC
    if isinstance(hp, (hps.Choice, hps.Boolean)):
        return CATEGORICAL
    raise ScarletError(f"hyperparameter {hp.name!r} has type {type(hp).__name__}; "
                       "supported: Int, Float, Choice, Boolean, Fixed")


def is_active(hp, values: dict) -> bool:
    """Whether every parent condition of ``hp`` holds for ``values``."""
    return all(condition.is_active(values) for condition in hp.conditions)


def key(values: dict) -> str:
    """Canonical text of a candidate's active values (equal candidates, equal keys)."""
    return json.dumps(values, sort_keys=True)


class Genome:
    """Sampling and variation of candidates of one hyperparameter space.

    ``eta_crossover`` and ``eta_mutation`` are the SBX and polynomial-mutation
    distribution indices (larger: children nearer their parents).
    """

    def __init__(self, space: kt.HyperParameters, eta_crossover: float = 15.0,
                 eta_mutation: float = 20.0):
        self.hps = list(space.space)
        self.kinds = [kind(hp) for hp in self.hps]
        self.eta_crossover, self.eta_mutation = eta_crossover, eta_mutation

    def size(self, values: dict | None = None) -> int:
        """Number of hyperparameters that vary (all but ``Fixed``), of those active in
        ``values`` when given; at least 1."""
        return max(1, sum(k != FIXED and (values is None or hp.name in values)
                          for hp, k in zip(self.hps, self.kinds)))

    def sample(self, rng: np.random.Generator) -> dict:
        """A random candidate: each active hyperparameter uniform on its sampling scale."""
        return self._build(lambda hp, k: self._random(hp, k, rng))

    def defaults(self) -> dict:
        """The space's default candidate: each active hyperparameter at its ``default``
        (keras-tuner's: the minimum of an ``Int`` or ``Float``, the first ``Choice``)."""
        return self._build(lambda hp, k: hp.value if k == FIXED else hp.default)

    def crossover(self, a: dict, b: dict, rng: np.random.Generator) -> dict:
        """One child of ``a`` and ``b``: per hyperparameter SBX (numeric) or a parent's
        value (categorical); the one parent's value where only one has it."""
        def gene(hp, k):
            if hp.name in a and hp.name in b:
                return self._cross(hp, k, a[hp.name], b[hp.name], rng)
            if hp.name in a or hp.name in b:
                return a[hp.name] if hp.name in a else b[hp.name]
            return self._random(hp, k, rng)

        return self._build(gene)

    def mutate(self, values: dict, rng: np.random.Generator, rate: float) -> dict:
        """Each active hyperparameter mutates with probability ``rate``: polynomial
        mutation (numeric; redrawn until the value changes, up to ``MUTATION_TRIES``, so
        that a few-valued ``Int`` or ordered ``Choice`` moves) or a different random value
        (categorical)."""
        def gene(hp, k):
            if hp.name not in values:
                return self._random(hp, k, rng)
            if k == FIXED or rng.random() >= rate:
                return values[hp.name]
            return self._mutate(hp, k, values[hp.name], rng)

        return self._build(gene)

    def _build(self, gene) -> dict:
        """``{name: gene(hp, kind)}`` over the hyperparameters active in the result."""
        values = {}
        for hp, k in zip(self.hps, self.kinds):
            if hp.name not in values and is_active(hp, values):
                values[hp.name] = gene(hp, k)
        return values

    def _random(self, hp, k: str, rng: np.random.Generator):
        if k == FIXED:
            return hp.value
        if k == CATEGORICAL:
            options = list(hp.values)
            return options[int(rng.integers(len(options)))]
        return hp.prob_to_value(float(rng.random()) * _TOP)

    def _cross(self, hp, k: str, a, b, rng: np.random.Generator):
        if k == FIXED:
            return hp.value
        if k == CATEGORICAL:
            return a if rng.random() < 0.5 else b
        x = nsga2.sbx([hp.value_to_prob(a)], [hp.value_to_prob(b)], rng, self.eta_crossover)
        return hp.prob_to_value(min(float(x[0]), _TOP))

    def _mutate(self, hp, k: str, value, rng: np.random.Generator):
        if k == CATEGORICAL:
            options = list(hp.values)
            index = nsga2.mutate([options.index(value)], [len(options)], rng, rate=1.0)
            return options[int(index[0])]
        position = [hp.value_to_prob(value)]
        for _ in range(MUTATION_TRIES):  # a step within one of few values is no mutation
            x = nsga2.polynomial_mutation(position, rng, 1.0, self.eta_mutation)
            mutant = hp.prob_to_value(min(float(x[0]), _TOP))
            if mutant != value:
                return mutant
        return mutant
