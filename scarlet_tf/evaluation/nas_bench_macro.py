"""NAS-Bench-Macro as ground truth: its codes, distinct networks and trained accuracies.

The benchmark (Su et al., CVPR 2021; Apache-2.0, shipped in ``scarlet_tf/benchmarks``)
trained every network of the ``nas-bench-macro`` space stand-alone on CIFAR-10 three
times. A code has one digit per layer (0 skip, 1 e3k3, 2 e6k5). A skip in a stage's
later layers only removes that layer, so ``10 1 0`` and ``10 0 1`` (stage 2) are one
network: the benchmark trained each network once, in its *canonical* code (each stage's
first digit kept, its later skips moved to the stage's end), and copied the result to
the other codes. 3,969 of the 6,561 codes are canonical. In a supernet the codes of one
network are different paths.
"""

from __future__ import annotations

import functools
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scarlet_tf.errors import ScarletError
from scarlet_tf.space.spaces import get_family

SPACE = "nas-bench-macro"
DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "nas-bench-macro_cifar10.json"


@dataclass(frozen=True)
class Entry:
    """One code's record: accuracies in [0, 1] (mean and the three seeds), trainable
    parameters and mult-adds (the benchmark's ``flops``)."""

    code: str
    mean: float
    seeds: tuple[float, float, float]
    params: int
    flops: int

    @property
    def depth(self) -> int:
        """Layers that are not skipped (the free baseline 'count the layers')."""
        return sum(d != "0" for d in self.code)


@functools.cache
def entries() -> dict[str, Entry]:
    """Every code's :class:`Entry`, read once from the shipped file."""
    try:
        raw = json.loads(DATA.read_text())
    except (OSError, ValueError) as err:
        raise ScarletError(f"cannot read the NAS-Bench-Macro file {DATA}: {err}") from None
    return {code: Entry(code, r["mean_acc"] / 100, tuple(a / 100 for a in r["test_acc"]),
                        int(r["params"]), int(r["flops"])) for code, r in raw.items()}


def stage_slices() -> list[slice]:
    """The code positions of each stage (layers 1-2, 3-5, 6-8)."""
    bounds = np.cumsum([0] + [n for _, n, _ in get_family(SPACE).stages])
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


def canonical(code: str) -> str:
    """The benchmark's canonical code of ``code``: per stage, the first digit, then the
    later non-skip digits in order, then the later skips."""
    code = get_family(SPACE).code(get_family(SPACE).parse(code))  # checks it
    parts = []
    for part in (code[s] for s in stage_slices()):
        rest = part[1:]
        parts.append(part[0] + rest.replace("0", "") + "0" * rest.count("0"))
    return "".join(parts)


def distinct_codes() -> list[str]:
    """The 3,969 canonical codes, sorted."""
    return sorted(_groups())


def depth_stratified(count: int | None, seed: int = 0) -> list[str]:
    """``count`` canonical codes spread over depth (0-8 kept layers): each depth gets an
    equal share (as far as it has networks; the rest goes to the others), drawn at
    random; None or a count of 3,969 or more gives all, in order of depth then code."""
    codes = distinct_codes()
    by_depth = {}
    for code in codes:
        by_depth.setdefault(entries()[code].depth, []).append(code)
    if count is None or count >= len(codes):
        return [c for d in sorted(by_depth) for c in by_depth[d]]
    if count < 1:
        raise ScarletError(f"--archs must be at least 1, got {count}")
    rng = np.random.default_rng(seed)
    shares, left = {}, count
    for depth in sorted(by_depth, key=lambda d: len(by_depth[d])):
        open_depths = len(by_depth) - len(shares)
        shares[depth] = min(len(by_depth[depth]), left // open_depths)
        left -= shares[depth]
    for depth in sorted(by_depth, key=lambda d: -len(by_depth[d])):  # the remainder
        extra = min(left, len(by_depth[depth]) - shares[depth])
        shares[depth] += extra
        left -= extra
    chosen = []
    for depth in sorted(by_depth):
        picked = rng.choice(len(by_depth[depth]), shares[depth], replace=False)
        chosen += [by_depth[depth][i] for i in sorted(picked)]
    return chosen


def siblings(code: str) -> list[str]:
    """Every code whose canonical code is ``code``'s (itself included), sorted."""
    return list(_groups()[canonical(code)])


@functools.cache
def _groups() -> dict[str, tuple[str, ...]]:
    """Canonical code -> its codes, sorted (computed once)."""
    groups = {}
    for code in sorted(entries()):
        groups.setdefault(canonical(code), []).append(code)
    return {key: tuple(codes) for key, codes in groups.items()}
