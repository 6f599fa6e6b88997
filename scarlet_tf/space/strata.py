"""Stratified architecture samples: the corners a constrained search visits.

Uniform draws of a space all look alike (about a third of each kernel, few skips), while
a latency- or mult-add-limited search goes to the corners (all kernel 3, all kernel 7,
many skips). Latency tables calibrate and validate on these strata.
"""

from __future__ import annotations

import numpy as np

from scarlet_tf.space.choices import ALL_CHOICES, MBCONV_CHOICES, SKIP, Choice
from scarlet_tf.space.spaces import Architecture, SearchSpace

STRATA = ("uniform", "all-k3", "all-k7", "skip-heavy", "mixed")


def stratified_archs(space: SearchSpace, count: int, seed: int) -> list[Architecture]:
    """``count`` architectures of ``space`` drawn from :data:`STRATA` in turn: uniform per
    layer; every block kernel 3 (or 7); 4 or more skips; and per-architecture random
    preferences among the choices (Dirichlet, any skip rate). A stratum the space cannot
    make (no k7 choice) falls back to uniform."""
    rng = np.random.default_rng(seed)
    return [Architecture(tuple(_draw(rng, STRATA[i % len(STRATA)], space)))
            for i in range(count)]


def _draw(rng, stratum: str, space: SearchSpace) -> list[Choice]:
    """One architecture's choices (one per layer) of ``stratum``."""
    skips = np.zeros(len(space.layers), bool)
    skippable = [layer.index for layer in space.layers if SKIP in layer.choices]
    if stratum == "skip-heavy" and len(skippable) >= 4:
        skips[rng.choice(skippable, rng.integers(4, len(skippable) + 1), replace=False)] = True
    weights = rng.dirichlet(np.full(len(MBCONV_CHOICES), 0.3)) if stratum == "mixed" else None
    skip_rate = rng.uniform(0, 0.5) if stratum == "mixed" else 1 / len(ALL_CHOICES)
    kernel = {"all-k3": 3, "all-k7": 7}.get(stratum)
    chosen = []
    for layer in space.layers:
        blocks = [c for c in layer.choices if not c.is_skip]
        pool = [c for c in blocks if c.kernel == kernel] or blocks
        if skips[layer.index] or (stratum != "skip-heavy" and layer.index in skippable
                                  and rng.random() < skip_rate):
            chosen.append(SKIP)
        elif weights is not None:
            p = np.array([weights[MBCONV_CHOICES.index(c)] for c in pool])
            chosen.append(pool[rng.choice(len(pool), p=p / p.sum())])
        else:
            chosen.append(pool[rng.integers(len(pool))])
    return chosen
