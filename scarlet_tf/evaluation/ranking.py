"""How well a supernet ranks architectures: rank statistics against stand-alone accuracy.

The "truth" is the accuracy of each architecture trained stand-alone: a CSV with
columns ``arch,accuracy`` (the arch string quoted, it holds commas) or the directories
of ``train-subnet`` runs (their ``result.json``, ``test_accuracy``). :func:`rank_report`
scores every architecture on the supernet (:class:`scarlet_tf.evaluation.evaluator.Evaluator`)
and compares the two orderings (:func:`rank_statistics`).
"""

from __future__ import annotations

import csv
import json
import os
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

from scarlet_tf.errors import ScarletError
from scarlet_tf.plots import figure
from scarlet_tf.space.spaces import resolve_arch


def top_k_overlap(predicted, truth, k: int) -> float:
    """Fraction of the ``k`` best by ``truth`` that are also among the ``k`` best by
    ``predicted`` (both 1-D, higher is better; ties broken by position)."""
    best = lambda scores: set(np.argsort(-np.asarray(scores), kind="stable")[:k])  # noqa
    return len(best(predicted) & best(truth)) / k


def rank_statistics(predicted, truth, top_k: int | None = None) -> dict:
    """Kendall tau (tau-b), Spearman rho, Pearson r and top-k overlap of two score lists.

    ``predicted``, ``truth``: 1-D sequences of n >= 2 accuracies of the same
    architectures (supernet, stand-alone). ``top_k`` defaults to ``max(1, n // 4)``.
    """
    predicted, truth = np.asarray(predicted, float), np.asarray(truth, float)
    n = len(truth)
    if n < 2 or predicted.shape != truth.shape:
        raise ScarletError(f"need two equally long lists of at least 2 scores, got "
                           f"{predicted.shape} and {truth.shape}")
    k = top_k or max(1, n // 4)
    if not 1 <= k <= n:
        raise ScarletError(f"--top-k must be in 1..{n}, got {k}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        correlations = {name: _finite(f(predicted, truth).statistic) for name, f in (
            ("kendall_tau", stats.kendalltau), ("spearman_rho", stats.spearmanr),
            ("pearson_r", stats.pearsonr))}
    return {"n": n, **correlations, "top_k": k,
            "top_k_overlap": top_k_overlap(predicted, truth, k)}


def bootstrap_intervals(predicted, truth, *, resamples: int = 2000, level: float = 0.95,
                        seed: int = 0) -> dict:
    """Percentile bootstrap intervals of Kendall tau and Spearman rho.

    The architectures (pairs of ``predicted`` and ``truth`` scores, 1-D, n >= 3) are
    resampled with replacement ``resamples`` times; resamples where a statistic is
    undefined (a constant input) are dropped. Returns ``{"kendall_tau": [low, high],
    "spearman_rho": [low, high], "level": level, "resamples": resamples}``.
    """
    intervals = {name: _interval(_bootstrap(lambda p, t, f=f: f(p, t).statistic,
                                            (predicted, truth), resamples, seed), level)
                 for name, f in (("kendall_tau", stats.kendalltau),
                                 ("spearman_rho", stats.spearmanr))}
    return {**intervals, "level": level, "resamples": resamples}


def bootstrap_tau_difference(first, second, truth, *, resamples: int = 2000,
                             level: float = 0.95, seed: int = 0) -> dict:
    """Paired bootstrap of tau(first, truth) - tau(second, truth).

    ``first``, ``second``: two rankers' scores of the same architectures as ``truth``
    (1-D, n >= 3), resampled together. Returns ``{"difference", "interval": [low, high],
    "level", "resamples", "share_above_zero"}`` (the share of resamples where
    ``first`` ranks better).
    """
    tau = lambda a, b, t: stats.kendalltau(a, t).statistic - stats.kendalltau(b, t).statistic  # noqa
    draws = _bootstrap(tau, (first, second, truth), resamples, seed)
    return {"difference": float(tau(*(np.asarray(x, float) for x in (first, second, truth)))),
            "interval": _interval(draws, level), "level": level, "resamples": resamples,
            "share_above_zero": float(np.mean(draws[np.isfinite(draws)] > 0))}


def top_k_truth(predicted, truth, k: int) -> float:
    """The best ``truth`` among the ``k`` best by ``predicted`` (ties by position): what a
    user who trains the ranker's top ``k`` gets."""
    best = np.argsort(-np.asarray(predicted, float), kind="stable")[:k]
    return float(np.max(np.asarray(truth, float)[best]))


def top_fraction_tau(predicted, truth, fraction: float = 0.1) -> float | None:
    """Kendall tau within the best ``fraction`` of the architectures by ``truth``: how
    well the ranker orders the networks a search ends among."""
    truth = np.asarray(truth, float)
    top = np.argsort(-truth, kind="stable")[:max(2, round(fraction * len(truth)))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return _finite(stats.kendalltau(np.asarray(predicted, float)[top], truth[top]).statistic)


def ranking_summary(predicted, truth, *, best: float | None = None, resamples: int = 1000,
                    seed: int = 0) -> dict:
    """What a ranker (``predicted``, 1-D, higher is better) is worth against ``truth``
    (1-D accuracies in [0, 1], n >= 3): Kendall tau and Spearman rho with percentile
    bootstrap 95% intervals, tau within the truth's top 10%, and the truth of the
    ranker's top 1 and top 10 with their regret against ``best`` (default: the best
    truth given)."""
    predicted, truth = np.asarray(predicted, float), np.asarray(truth, float)
    plain = rank_statistics(predicted, truth)
    intervals = bootstrap_intervals(predicted, truth, resamples=resamples, seed=seed)
    best = float(truth.max()) if best is None else best
    summary = {"n": plain["n"], "kendall_tau": plain["kendall_tau"],
               "kendall_tau_ci": intervals["kendall_tau"], "spearman_rho": plain["spearman_rho"],
               "spearman_rho_ci": intervals["spearman_rho"],
               "top10pct_kendall_tau": top_fraction_tau(predicted, truth)}
    for k in (1, 10):
        found = top_k_truth(predicted, truth, min(k, len(truth)))
        summary[f"top{k}_truth"], summary[f"top{k}_regret"] = found, best - found
    return summary


def _bootstrap(statistic, arrays, resamples: int, seed: int) -> np.ndarray:
    """``statistic(*resampled arrays)`` for ``resamples`` paired resamples (float [R])."""
    arrays = [np.asarray(a, float) for a in arrays]
    n = len(arrays[-1])
    if n < 3 or any(a.shape != (n,) for a in arrays):
        raise ScarletError(f"need equally long lists of at least 3 scores for an interval, "
                           f"got shapes {[a.shape for a in arrays]}")
    rng = np.random.default_rng(seed)
    draws = np.empty(resamples)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        for i in range(resamples):
            pick = rng.integers(n, size=n)
            draws[i] = statistic(*(a[pick] for a in arrays))
    return draws


def _interval(draws: np.ndarray, level: float) -> list[float]:
    """The central ``level`` percentile interval of the finite draws."""
    tail = 100 * (1 - level) / 2
    return [float(q) for q in np.nanpercentile(draws, [tail, 100 - tail])]


def _finite(value) -> float | None:
    """A float, or None where the statistic is undefined (a constant input)."""
    value = float(value)
    return value if np.isfinite(value) else None


def read_truth(sources, space="scarlet") -> list[tuple[str, float]]:
    """(canonical arch, accuracy in [0, 1]) pairs from CSV files and train-subnet dirs;
    architectures are read in ``space`` (a name or SearchSpace)."""
    pairs = []
    for source in [sources] if isinstance(sources, (str, os.PathLike)) else sources:
        path = Path(source)
        if path.is_dir():
            if not (path / "result.json").is_file():
                raise ScarletError(f"{path} has no result.json (not a finished train-subnet run)")
            result = json.loads((path / "result.json").read_text())
            pairs.append((result["arch"], float(result["test_accuracy"])))
        elif path.is_file():
            pairs += _read_csv(path, space)
        else:
            raise ScarletError(f"--truth {path}: no such CSV file or train-subnet directory")
    if len({arch for arch, _ in pairs}) != len(pairs):
        raise ScarletError("--truth lists an architecture more than once")
    return pairs


def _read_csv(path: Path, space) -> list[tuple[str, float]]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"arch", "accuracy"} <= set(rows[0]):
        raise ScarletError(f"{path}: expected a CSV with header 'arch,accuracy' and rows")
    try:
        return [(str(resolve_arch(r["arch"], space)), float(r["accuracy"])) for r in rows]
    except ValueError as err:
        raise ScarletError(f"{path}: {err}") from None


def write_truth(pairs, path) -> None:
    """Write (arch, accuracy) pairs as the ``arch,accuracy`` CSV :func:`read_truth` reads."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["arch", "accuracy"])
        writer.writerows(pairs)


def rank_report(evaluator, truth, top_k: int | None = None) -> dict:
    """Score each architecture of ``truth`` (pairs) with ``evaluator``; returns
    ``{"statistics": rank_statistics(...), "entries": [{arch, standalone, supernet,
    supernet_loss}]}`` (accuracies in [0, 1])."""
    entries = []
    for arch, accuracy in truth:
        score = evaluator.score(arch)
        entries.append({"arch": arch, "standalone": accuracy, "supernet": score["accuracy"],
                        "supernet_loss": score["loss"]})
    statistics = rank_statistics([e["supernet"] for e in entries],
                                 [e["standalone"] for e in entries], top_k)
    return {"statistics": statistics, "entries": entries}


def scatter_plot(report: dict, path, title: str = "") -> None:
    """PNG: supernet accuracy (y) against stand-alone accuracy (x), tau in the title."""
    x = [100 * e["standalone"] for e in report["entries"]]
    y = [100 * e["supernet"] for e in report["entries"]]
    tau = report["statistics"]["kendall_tau"]
    with figure(path, size=(4.5, 4)) as (_, ax):
        ax.scatter(x, y, s=24)
        ax.set(xlabel="stand-alone top-1 (%)", ylabel="supernet top-1 (%)",
               title=f"{title} Kendall tau = {'n/a' if tau is None else f'{tau:.3f}'}".strip())
