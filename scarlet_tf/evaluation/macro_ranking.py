"""Ranking a supernet against NAS-Bench-Macro: resumable scores, baselines and report.

:func:`rank_on_benchmark` scores canonical codes of the benchmark on a ``nas-bench-macro``
supernet (BatchNorm recalibrated per path, accuracy on the ``search`` split), one row
of ``scores.csv`` per network, flushed as it goes: an interrupted run continues where
it stopped. A few non-canonical siblings (another code of the same network, a different
path of the supernet) are scored into ``siblings.csv``. :func:`benchmark_report` then
compares the supernet's ordering with the benchmark's mean accuracy beside the free
baselines (number of kept layers, FLOPs, parameters) and the seed-to-seed ceiling.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from scarlet_tf.errors import ScarletError
from scarlet_tf.evaluation import nas_bench_macro as bench
from scarlet_tf.evaluation.ranking import rank_statistics, ranking_summary
from scarlet_tf.files import RowWriter, read_rows
from scarlet_tf.plots import figure

SCORE_FIELDS = ("code", "canonical", "depth", "flops", "params", "truth", "seed0", "seed1",
                "seed2", "supernet", "supernet_loss")


SIBLING_FIELDS = ("code", "canonical", "supernet", "canonical_supernet")


def score_row(evaluator, code: str) -> dict:
    """``code``'s benchmark record and its supernet score (accuracy, loss)."""
    entry = bench.entries()[code]
    score = evaluator.score(code)
    return {"code": code, "canonical": bench.canonical(code), "depth": entry.depth,
            "flops": entry.flops, "params": entry.params, "truth": entry.mean,
            **{f"seed{i}": a for i, a in enumerate(entry.seeds)},
            "supernet": score["accuracy"], "supernet_loss": score["loss"]}


def rank_on_benchmark(evaluator, codes: list[str], out: Path, *, siblings: int = 50,
                      seed: int = 0, progress=None) -> tuple[list[dict], list[dict]]:
    """Score ``codes`` (canonical) and up to ``siblings`` of their non-canonical
    siblings on ``evaluator``'s supernet, resuming from ``out``'s CSVs.

    Returns (score rows, sibling rows). ``progress(done, total, row)`` is called after
    each network scored in this call.
    """
    out.mkdir(parents=True, exist_ok=True)
    rows = read_rows(out / "scores.csv")
    unknown = {r["code"] for r in rows} - set(codes)
    if unknown:
        raise ScarletError(f"{out / 'scores.csv'} holds networks outside this sample (e.g. "
                           f"{min(unknown)}): it was ranked with other --archs/--seed; "
                           f"use another --out")
    twins = _sibling_pairs(codes, siblings, seed)
    sibling_rows = read_rows(out / "siblings.csv")
    done = {r["code"] for r in rows} | {r["code"] for r in sibling_rows}
    total, count = len(codes) + len(twins), len(done)
    scores = RowWriter(out / "scores.csv", SCORE_FIELDS, rows)
    pairs = RowWriter(out / "siblings.csv", SIBLING_FIELDS, sibling_rows)
    try:
        by_code = {r["code"]: r for r in rows}
        for code in codes:
            if code not in by_code:
                by_code[code] = score_row(evaluator, code)
                scores.write(by_code[code])
                rows.append(by_code[code])
                count += 1
                if progress:
                    progress(count, total, by_code[code])
        for code, canonical in twins:
            if code not in done:
                row = {"code": code, "canonical": canonical,
                       "supernet": evaluator.score(code)["accuracy"],
                       "canonical_supernet": by_code[canonical]["supernet"]}
                pairs.write(row)
                sibling_rows.append(row)
                count += 1
                if progress:
                    progress(count, total, row)
    finally:
        scores.close()
        pairs.close()
    return [_typed(r) for r in rows], [_typed(r) for r in sibling_rows]


def _sibling_pairs(codes: list[str], count: int, seed: int) -> list[tuple[str, str]]:
    """(non-canonical sibling, its canonical code) for up to ``count`` of ``codes`` that
    have siblings, one sibling each, chosen with ``seed``."""
    rng = np.random.default_rng(seed + 1)
    with_twins = [c for c in codes if len(bench.siblings(c)) > 1]
    picked = sorted(rng.choice(len(with_twins), min(count, len(with_twins)), replace=False))
    pairs = []
    for i in picked:
        others = [c for c in bench.siblings(with_twins[i]) if c != with_twins[i]]
        pairs.append((others[rng.integers(len(others))], with_twins[i]))
    return pairs


def _typed(row: dict) -> dict:
    """A CSV row with its numbers as numbers (codes stay strings)."""
    return {k: v if k in ("code", "canonical") else float(v) for k, v in row.items()}


def read_scores(path: Path | str) -> list[dict]:
    """The rows of a ``scores.csv`` (or ``siblings.csv``) with numbers as numbers."""
    return [_typed(r) for r in read_rows(Path(path))]


def benchmark_report(rows: list[dict], sibling_rows: list[dict], *, resamples: int = 1000,
                     seed: int = 0) -> dict:
    """Rank statistics of the supernet and of the free rankers against the benchmark's
    mean accuracy (see :func:`scarlet_tf.evaluation.ranking.ranking_summary`), regret measured
    against the best network of the whole benchmark; the seed-to-seed ceiling (seed 0
    ranking seed 1's accuracies, regret against seed 1's best, and the mean tau over the
    three pairs of seeds); Kendall tau inside each depth (kept layers, which cannot order
    networks of one depth) with 10 or more networks; and how far apart the supernet
    scores two codes of one network. The supernet ranks by accuracy (``supernet``) and by
    minus its loss (``supernet_loss``, the finer score on the same images)."""
    if len(rows) < 3:
        raise ScarletError(f"need at least 3 scored networks for a report, got {len(rows)}")
    truth = np.array([r["truth"] for r in rows])
    best = max(e.mean for e in bench.entries().values())

    def summary(predicted, target=truth):
        return ranking_summary(predicted, target, best=best, resamples=resamples, seed=seed)

    rankers = {name: summary([r[key] for r in rows]) for name, key in (
        ("supernet", "supernet"), ("depth", "depth"), ("flops", "flops"), ("params", "params"))}
    rankers["supernet_loss"] = summary([-r["supernet_loss"] for r in rows])
    seeds = np.array([[r[f"seed{i}"] for i in range(3)] for r in rows])
    best_seed = max(e.seeds[1] for e in bench.entries().values())
    rankers["seed"] = ranking_summary(seeds[:, 0], seeds[:, 1], best=best_seed,
                                      resamples=resamples, seed=seed)
    pair_taus = [ranking_summary(seeds[:, a], seeds[:, b], resamples=1)["kendall_tau"]
                 for a, b in ((0, 1), (0, 2), (1, 2))]
    rankers["seed"]["mean_pair_kendall_tau"] = float(np.mean(pair_taus))
    return {"networks": len(rows), "best_truth": best, "rankers": rankers,
            "within_depth": within_depth(rows), "pair_kinds": pair_kinds(rows, seed=seed),
            "siblings": sibling_spread(rows, sibling_rows)}


def within_depth(rows: list[dict], smallest: int = 10) -> dict:
    """Per depth with at least ``smallest`` networks: their count and the Kendall tau
    against the truth of the supernet's accuracy (``supernet``), of minus its loss
    (``supernet_loss``) and of FLOPs (``flops``, the free ranker left inside one depth);
    and ``seed``, seed 0's accuracies against seed 1's: how much of the order inside a
    depth survives the benchmark's own training noise (the truth, a mean of three seeds,
    is less noisy than one seed, so a ranker can pass this)."""
    table = {}
    for depth in sorted({r["depth"] for r in rows}):
        chosen = [r for r in rows if r["depth"] == depth]
        if len(chosen) >= smallest:
            truth = [r["truth"] for r in chosen]
            table[str(int(depth))] = {"networks": len(chosen), **{
                name: rank_statistics(sign * np.array([r[name] for r in chosen]),
                                      truth)["kendall_tau"]
                for name, sign in (("supernet", 1), ("supernet_loss", -1), ("flops", 1))},
                "seed": rank_statistics([r["seed0"] for r in chosen],
                                        [r["seed1"] for r in chosen])["kendall_tau"]}
    return table


PAIR_RANKERS = (("supernet_loss", -1), ("supernet", 1), ("flops", 1), ("depth", 1))


def pair_kinds(rows: list[dict], *, resamples: int = 500, level: float = 0.95,
               seed: int = 0) -> dict:
    """Where a ranker agrees with the truth, by kind of pair of networks: the same kept
    layers (they differ only in their blocks), the same depth with other kept layers, two
    depths, and all pairs. Per kind: its number of pairs and, per ranker of
    ``PAIR_RANKERS``, for ``depth_then_loss`` (kept layers, ties broken by the supernet's
    loss) and for ``seed`` (seed 0 ranking seed 1's accuracies), the mean over its pairs
    of sign(score difference) x sign(truth difference) (Kendall's tau-a; a tie of the
    ranker counts 0, ties of the truth are left out), with percentile intervals over
    ``resamples`` bootstrap resamples of the networks of it and of its difference from
    kept layers' (``minus_depth_ci``, paired). Over all pairs, tau-a is what a ranker
    forced to choose scores: kept layers' Kendall tau-b is higher, as it leaves the pairs
    of one depth out of its denominator."""
    kept = np.array([[c != "0" for c in r["canonical"]] for r in rows])
    first, second = np.triu_indices(len(rows), 1)
    same_depth = kept[first].sum(1) == kept[second].sum(1)
    same_layers = (kept[first] == kept[second]).all(1)
    kinds = {"same_layers": same_layers, "same_depth": same_depth & ~same_layers,
             "across_depths": ~same_depth}

    def order(key: str, s: int = 1) -> np.ndarray:
        column = s * np.array([r[key] for r in rows])
        return np.sign(column[first] - column[second])

    truth = order("truth")
    orders = {key: order(key, s) for key, s in PAIR_RANKERS}
    orders["depth_then_loss"] = np.where(orders["depth"] != 0, orders["depth"],
                                         orders["supernet_loss"])
    agree = {key: o * truth for key, o in orders.items()}
    agree["seed"] = order("seed0") * order("seed1")
    counts = np.random.default_rng(seed).multinomial(len(rows), np.full(len(rows), 1 / len(
        rows)), size=resamples).astype(np.float32)
    sums = {kind: _PairSums.of(agree, mask & (truth != 0), first, second, counts)
            for kind, mask in kinds.items() if mask.any()}
    sums["all_pairs"] = sum(sums.values(), start=_PairSums.zero(agree))
    return {kind: kind_sums.summary(level) for kind, kind_sums in sums.items()}


class _PairSums(NamedTuple):
    """One kind of pair's sums for :func:`pair_kinds`; kinds add up to their union."""

    pairs: int
    totals: dict  # ranker -> sum of agreement over the pairs
    draws: dict  # ranker -> [R] weighted sums of agreement, per resample of the networks
    weights: np.ndarray | float  # [R] sums of the pairs' weights

    @classmethod
    def of(cls, agree: dict, mask, first, second, counts) -> _PairSums:
        """The sums over the pairs in ``mask``, per resample of ``counts`` [R, networks]
        (a pair weighs the product of its two networks' counts)."""
        first, second = first[mask], second[mask]
        agree = {key: a[mask].astype(np.float32) for key, a in agree.items()}
        draws = {key: np.empty(len(counts)) for key in agree}
        weights = np.empty(len(counts))
        for r, count in enumerate(counts):
            weight = count[first] * count[second]
            weights[r] = weight.sum()
            for key, a in agree.items():
                draws[key][r] = weight @ a
        return cls(int(mask.sum()), {k: float(a.sum()) for k, a in agree.items()}, draws,
                   weights)

    @classmethod
    def zero(cls, agree: dict) -> _PairSums:
        return cls(0, dict.fromkeys(agree, 0.0), dict.fromkeys(agree, 0.0), 0.0)

    def __add__(self, other: _PairSums) -> _PairSums:
        return _PairSums(self.pairs + other.pairs,
                        {k: v + other.totals[k] for k, v in self.totals.items()},
                        {k: v + other.draws[k] for k, v in self.draws.items()},
                        self.weights + other.weights)

    def summary(self, level: float) -> dict:
        """Its pairs and, per ranker, tau-a with its percentile interval and that of its
        paired difference from kept layers'."""
        tail = 100 * (1 - level) / 2

        def ci(values) -> list[float]:
            return [float(q) for q in np.nanpercentile(values, [tail, 100 - tail])]

        with np.errstate(invalid="ignore", divide="ignore"):
            means = {key: d / self.weights for key, d in self.draws.items()}
        return {"pairs": self.pairs, **{
            key: {"tau": total / self.pairs, "ci": ci(means[key]),
                  "minus_depth_ci": ci(means[key] - means["depth"])}
            for key, total in self.totals.items()}}


def sibling_spread(rows: list[dict], sibling_rows: list[dict]) -> dict | None:
    """Mean and largest |supernet score difference| between two codes of one network,
    beside the mean difference between two random networks of the sample (scale)."""
    if not sibling_rows:
        return None
    gaps = np.abs([s["supernet"] - s["canonical_supernet"] for s in sibling_rows])
    scores = np.array([r["supernet"] for r in rows])
    rng = np.random.default_rng(0)
    random_gaps = np.abs(scores[rng.integers(len(scores), size=2000)]
                         - scores[rng.integers(len(scores), size=2000)])
    return {"pairs": len(gaps), "mean_gap": float(gaps.mean()), "max_gap": float(gaps.max()),
            "mean_gap_random_pairs": float(random_gaps.mean())}


def scatter(rows: list[dict], path, title: str = "") -> None:
    """PNG: supernet accuracy (y) against the benchmark's mean accuracy (x), coloured by
    the number of kept layers."""
    with figure(path, size=(5, 4)) as (fig, ax):
        points = ax.scatter([100 * r["truth"] for r in rows],
                            [100 * r["supernet"] for r in rows],
                            c=[r["depth"] for r in rows], s=8, cmap="viridis")
        fig.colorbar(points, label="kept layers")
        ax.set(xlabel="NAS-Bench-Macro mean test accuracy (%)",
               ylabel="supernet accuracy, search split (%)", title=title)
