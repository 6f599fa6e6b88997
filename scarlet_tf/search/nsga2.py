"""NSGA-II with constraint-domination, pure numpy (no Keras).

Conventions: ``F`` is float ``[N, M]``, one row per candidate, every objective
*minimized* (negate the ones to maximize); ``violation`` is float ``[N]``, 0 for a
feasible candidate, otherwise its total constraint violation (> 0); a path is int
``[L]``, one choice index per categorical gene (e.g. per searchable layer); a numeric
gene is a float in ``[0, 1)`` (a hyperparameter's position on its sampling scale).

Constraint-domination (Deb 2000): a feasible candidate dominates an infeasible one;
of two infeasible ones the smaller violation dominates; two feasible ones compare by
Pareto dominance.

Weighted preferences (the MoGA / MoreMNAS scheme): optional ``weights`` ``[M]`` >= 0
scale each objective's term of the crowding distance, ``sum_m w_m * gap_m / range_m``,
and only objectives with ``w_m > 0`` give their extreme points infinite distance. Ranks
are untouched (every front member stays a front member); within a front, survival and
tournaments favour spread along the preferred objectives. Equal weights are plain NSGA-II.
"""

from __future__ import annotations

import numpy as np


def domination_matrix(F, violation=None) -> np.ndarray:
    """Bool ``[N, N]``: entry ``[i, j]`` is True when ``i`` constraint-dominates ``j``."""
    F = np.asarray(F, float)
    v = np.zeros(len(F)) if violation is None else np.asarray(violation, float)
    pareto = (F[:, None] <= F[None]).all(-1) & (F[:, None] < F[None]).any(-1)
    feasible = v == 0
    both = feasible[:, None] & feasible[None]
    neither = ~feasible[:, None] & ~feasible[None]
    return np.where(both, pareto, np.where(neither, v[:, None] < v[None],
                                           feasible[:, None] & ~feasible[None]))


def non_dominated_sort(F, violation=None) -> list[np.ndarray]:
    """Fronts of indices into ``F``, best first (front 0 is the non-dominated set)."""
    dominates = domination_matrix(F, violation)
    dominated_by = dominates.sum(0)
    remaining = np.ones(len(dominates), bool)
    fronts = []
    while remaining.any():
        front = np.flatnonzero(remaining & (dominated_by == 0))
        fronts.append(front)
        remaining[front] = False
        dominated_by -= dominates[front].sum(0)
        dominated_by[~remaining] = -1
    return fronts


def crowding_distance(F, weights=None) -> np.ndarray:
    """Float ``[N]``: (weighted) crowding distance of the members of one front."""
    F = np.asarray(F, float)
    n, m = F.shape
    w = np.ones(m) if weights is None else np.asarray(weights, float)
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for k in range(m):
        if w[k] == 0:
            continue
        order = np.argsort(F[:, k], kind="stable")
        values = F[order, k]
        span = values[-1] - values[0]
        distance[order[[0, -1]]] = np.inf
        if span > 0:
            distance[order[1:-1]] += w[k] * (values[2:] - values[:-2]) / span
    return distance


def rank_and_crowding(F, violation=None, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """Front index (int ``[N]``, 0 = best) and crowding distance within the front."""
    F = np.asarray(F, float)
    rank, crowd = np.zeros(len(F), int), np.zeros(len(F))
    for r, front in enumerate(non_dominated_sort(F, violation)):
        rank[front] = r
        crowd[front] = crowding_distance(F[front], weights)
    return rank, crowd


def select(F, violation=None, k: int = 1, weights=None) -> np.ndarray:
    """Environmental selection: indices of the ``k`` best by (rank, -crowding), stable."""
    rank, crowd = rank_and_crowding(F, violation, weights)
    return np.lexsort((-crowd, rank))[:k]


def tournament(rank, crowd, rng: np.random.Generator) -> int:
    """Binary tournament: the lower rank wins, then the larger crowding, then the first."""
    a, b = rng.choice(len(rank), size=2, replace=len(rank) < 2)
    if (rank[b], -crowd[b]) < (rank[a], -crowd[a]):
        return int(b)
    return int(a)


def crossover(a, b, rng: np.random.Generator) -> np.ndarray:
    """Per-layer uniform crossover: each layer's choice from ``a`` or ``b`` at even odds."""
    a, b = np.asarray(a), np.asarray(b)
    return np.where(rng.random(len(a)) < 0.5, a, b)


def mutate(path, num_choices, rng: np.random.Generator, rate: float) -> np.ndarray:
    """Per-layer mutation: with probability ``rate`` a layer moves to another of its
    ``num_choices[i]`` choices (uniformly); single-choice layers never change."""
    path, n = np.array(path), np.asarray(num_choices)
    hit = (rng.random(len(path)) < rate) & (n > 1)
    shift = rng.integers(1, np.maximum(n, 2))
    path[hit] = (path[hit] + shift[hit]) % n[hit]
    return path


def sbx(a, b, rng: np.random.Generator, eta: float = 15.0) -> np.ndarray:
    """Simulated binary crossover (Deb & Agrawal 1995, bounded form) of two parents
    ``a``, ``b`` float ``[K]`` in [0, 1]: one child ``[K]`` in [0, 1], each gene from a
    random one of the pair of SBX children, or a parent's gene at even odds where they
    are equal. Larger ``eta`` keeps children nearer their parents."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    low, high = np.minimum(a, b), np.maximum(a, b)
    gap = np.maximum(high - low, 1e-12)
    u = rng.random(len(a))
    children = []
    for room in (low, 1.0 - high):  # distance to the bound beyond each parent
        alpha = 2.0 - (1.0 + 2.0 * room / gap) ** -(eta + 1.0)
        beta = np.where(u <= 1.0 / alpha, (u * alpha) ** (1.0 / (eta + 1.0)),
                        (1.0 / np.maximum(2.0 - u * alpha, 1e-12)) ** (1.0 / (eta + 1.0)))
        children.append(beta)
    first = 0.5 * (low + high - children[0] * (high - low))
    second = 0.5 * (low + high + children[1] * (high - low))
    child = np.where(rng.random(len(a)) < 0.5, first, second)
    child = np.where(high - low > 1e-12, child, np.where(rng.random(len(a)) < 0.5, a, b))
    return np.clip(child, 0.0, 1.0)


def polynomial_mutation(x, rng: np.random.Generator, rate: float,
                        eta: float = 20.0) -> np.ndarray:
    """Polynomial mutation (Deb & Goyal 1996, bounded form) of float ``[K]`` in [0, 1]:
    each gene mutates with probability ``rate``; the result stays in [0, 1]."""
    x = np.array(x, float)
    hit = rng.random(len(x)) < rate
    u = rng.random(len(x))
    power = 1.0 / (eta + 1.0)
    down = (2 * u + (1 - 2 * u) * (1 - x) ** (eta + 1)) ** power - 1
    up = 1 - (2 * (1 - u) + 2 * (u - 0.5) * x ** (eta + 1)) ** power
    x[hit] += np.where(u < 0.5, down, up)[hit]
    return np.clip(x, 0.0, 1.0)


def hypervolume(F, reference) -> float:
    """Volume dominated by the points ``F`` ``[N, M]`` (minimized) up to ``reference`` ``[M]``.

    Points not strictly better than the reference in every objective add nothing.
    Exact, by slicing along the last objective (fine for fronts of a few hundred points).
    """
    F, ref = np.asarray(F, float).reshape(-1, len(reference)), np.asarray(reference, float)
    F = F[(F < ref).all(1)]
    if len(F) == 0:
        return 0.0
    if F.shape[1] == 1:
        return float(ref[0] - F[:, 0].min())
    F = F[np.argsort(F[:, -1], kind="stable")]
    cuts = np.append(F[:, -1], ref[-1])
    return float(sum(hypervolume(F[:i + 1, :-1], ref[:-1]) * (cuts[i + 1] - cuts[i])
                     for i in range(len(F)) if cuts[i + 1] > cuts[i]))
