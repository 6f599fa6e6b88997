"""Surrogate-assisted pre-screening of offspring (scikit-learn models of the objectives).

Each generation the oracle breeds ``screening`` times more children than it evaluates,
fits a cheap model of every objective (and of the limits' violation, when some trial
broke a limit) on all the evaluated trials, and evaluates the ``population`` children
that NSGA-II's environmental selection would keep next to the current survivors, judged
by their *optimistic* predictions (mean minus ``kappa`` standard deviations across the
model's trees: a lower confidence bound, so uncertain regions are explored too).

Features (:class:`Encoder`): a numeric hyperparameter (``Int``, ``Float``, ordered
``Choice``) is its position in [0, 1] on its own sampling scale, an unordered ``Choice``
or ``Boolean`` one-hot columns, an inactive conditional value :data:`INACTIVE` (numeric)
or all zeros (one-hot); ``Fixed`` ones are left out.

Models: :class:`Process`, a Gaussian process per target (ARD Matern 5/2 plus noise;
its posterior standard deviation is the uncertainty): the most sample-efficient on
smooth objectives, at a fit cost cubic in the trials. :class:`Forest`, extremely
randomized trees (Geurts et al. 2006), one regressor per target, seeded: fast to fit on
thousands of trials, indifferent to scales, mixed types and inactive values, and their
per-tree spread is the uncertainty.
"""

from __future__ import annotations

import warnings

import numpy as np

from scarlet_tf.search import nsga2
from scarlet_tf.search.genome import CATEGORICAL, NUMERIC

INACTIVE = -1.0  # feature of an inactive numeric hyperparameter (outside [0, 1])
KAPPA = 1.0  # standard deviations of optimism in the screened predictions


class Encoder:
    """Candidates (``{name: value}`` of their active hyperparameters) as float rows."""

    def __init__(self, genome):
        self.columns = [(hp, k) for hp, k in zip(genome.hps, genome.kinds)
                        if k in (NUMERIC, CATEGORICAL)]

    def __call__(self, candidates) -> np.ndarray:
        """Float ``[N, D]`` for ``N`` candidates."""
        return np.array([np.concatenate([self._encode(hp, k, values) for hp, k in
                                         self.columns] or [np.zeros(0)])
                         for values in candidates], float).reshape(len(candidates), -1)

    @staticmethod
    def _encode(hp, k, values) -> list[float]:
        if k == NUMERIC:
            return [hp.value_to_prob(values[hp.name]) if hp.name in values else INACTIVE]
        return [float(hp.name in values and values[hp.name] == option)
                for option in hp.values]


class Forest:
    """One extra-trees regressor per target column; mean and spread over the trees."""

    def __init__(self, seed: int, trees: int = 64):
        self.seed, self.trees, self.models = seed, trees, []

    def fit(self, X, Y) -> Forest:
        from sklearn.ensemble import ExtraTreesRegressor

        self.models = [ExtraTreesRegressor(self.trees, random_state=self.seed).fit(X, y)
                       for y in np.asarray(Y, float).T]
        return self

    def predict(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation across trees, float ``[N, targets]`` each."""
        per_tree = np.array([[tree.predict(X) for tree in model.estimators_]
                             for model in self.models])  # [targets, trees, N]
        return per_tree.mean(1).T, per_tree.std(1).T


class Process:
    """One Gaussian-process regressor per target (ARD Matern 5/2 plus noise)."""

    def __init__(self, seed: int):
        self.seed, self.models = seed, []

    def fit(self, X, Y):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        X = np.asarray(X, float)
        kernel = ConstantKernel() * Matern(np.ones(X.shape[1]), (1e-2, 1e3), nu=2.5) + \
            WhiteKernel(1e-3, (1e-8, 1e-1))
        with warnings.catch_warnings():  # L-BFGS-B may stop short; the fit still serves
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.models = [GaussianProcessRegressor(kernel, normalize_y=True,
                                                    random_state=self.seed).fit(X, y)
                           for y in np.asarray(Y, float).T]
        return self

    def predict(self, X):
        found = [model.predict(X, return_std=True) for model in self.models]
        return np.array([f[0] for f in found]).T, np.array([f[1] for f in found]).T


def screen(model, candidates, parents_F, parents_v, k: int, weights=None):
    """The ``k`` ``candidates`` (float ``[C, D]``) that NSGA-II would keep first next to
    the parents (objectives ``[P, M]``, violations ``[P]``), judged by their lower
    confidence bounds: (indices ``[k]``, their optimistic objectives ``[k, M]`` and
    predicted violations ``[k]``). ``model`` predicts ``M`` objectives, plus the violation
    when it has ``M + 1`` targets."""
    mean, spread = model.predict(candidates)
    m = parents_F.shape[1]
    optimistic = mean[:, :m] - KAPPA * spread[:, :m]
    violation = (np.maximum(mean[:, m], 0.0) if mean.shape[1] > m
                 else np.zeros(len(candidates)))
    rank, crowd = nsga2.rank_and_crowding(np.vstack([parents_F, optimistic]),
                                          np.concatenate([parents_v, violation]), weights)
    p = len(parents_F)
    kept = np.lexsort((-crowd[p:], rank[p:]))[:k]
    return kept, optimistic[kept], violation[kept]


MODELS = {"forest": Forest, "gp": Process}
SURROGATES = tuple(MODELS)
