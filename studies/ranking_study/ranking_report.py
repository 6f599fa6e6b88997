"""The ranking study's report: statistics with intervals, the seed ceiling, cost-only
baselines (mult-adds, parameters: a ranking that needs no supernet) and plots.

Used by ``studies/ranking_study/study.py``; rebuilt from whatever pieces are finished.
Writes ``summary.json``, ``table.md`` and ``scatter.png``, ``curves.png`` and
``similarity.png`` into the results folder.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from scarlet_tf.evaluation.ranking import (
    bootstrap_intervals,
    bootstrap_tau_difference,
    rank_statistics,
)


def write_report(results: Path, arch_rows, truth, curves, settings) -> dict:
    """Summarize ``results/scores.csv`` against ``truth`` rows (index, arch, seed,
    test_accuracy); ``curves``: {variant: supernet history}. Returns the summary."""
    scores = _scores(results / "scores.csv")
    seed0 = {t["arch"]: float(t["test_accuracy"]) for t in truth if int(t["seed"]) == 0}
    seed1 = {t["arch"]: float(t["test_accuracy"]) for t in truth if int(t["seed"]) == 1}
    summary = {"settings": settings, "architectures": len(arch_rows),
               "trained": {"seed0": len(seed0), "seed1": len(seed1)},
               "ceiling": _compare(seed1, seed0), "supernets": {},
               "baselines": {cost: _compare({r["arch"]: float(r[cost]) for r in arch_rows}, seed0)
                             for cost in ("madds", "params")}}
    for variant, by_arch in scores.items():
        summary["supernets"][variant] = {
            "all": _compare(by_arch, seed0),
            "reseeded_subset": _compare({a: by_arch[a] for a in seed1 if a in by_arch}, seed0),
            "final_train_accuracy": curves.get(variant, [{}])[-1].get("accuracy")}
    summary["differences"] = _differences(scores, seed0)
    summary["similarity"] = _similarity(results / "analysis")
    (results / "summary.json").write_text(json.dumps(summary, indent=2))
    (results / "table.md").write_text(table(summary))
    _plots(results, scores, seed0, curves, summary)
    return summary


def _scores(path: Path) -> dict:
    """{variant: {arch: supernet accuracy}} from scores.csv (empty if absent)."""
    scores = {}
    if path.exists():
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                scores.setdefault(row["variant"], {})[row["arch"]] = float(row["accuracy"])
    return scores


def _compare(predicted: dict, truth: dict) -> dict | None:
    """Rank statistics (with 95% bootstrap intervals) of ``predicted`` against ``truth``
    over the architectures both have; None with fewer than 4."""
    common = [a for a in predicted if a in truth]
    if len(common) < 4:
        return None
    x, y = [predicted[a] for a in common], [truth[a] for a in common]
    return {**rank_statistics(x, y), "interval": bootstrap_intervals(x, y)}


def _differences(scores: dict, truth: dict) -> dict:
    """{"<variant> - none": paired bootstrap of the tau difference} for each stabilized
    supernet against the one without a stabilizer (architectures all three have)."""
    if "none" not in scores:
        return {}
    found = {}
    for variant in (v for v in scores if v != "none"):
        common = [a for a in scores[variant] if a in scores["none"] and a in truth]
        if len(common) >= 4:
            found[f"{variant} - none"] = bootstrap_tau_difference(
                *([by_arch[a] for a in common] for by_arch in (scores[variant], scores["none"],
                                                                truth)))
    return found


def _similarity(folder: Path) -> dict:
    """{variant: {layer: {skip_vs_others, among_others}}} from the analyze reports."""
    found = {}
    for path in sorted(folder.glob("*/layer*.json")):
        report = json.loads(path.read_text())
        found.setdefault(path.parent.name, {})[report["layer"]] = {
            k: report[k] for k in ("skip_vs_others", "among_others")}
    return found


def table(summary: dict) -> str:
    """Markdown table: one row per supernet, per cost baseline and one for the
    seed-to-seed ceiling."""
    lines = ["| ranking by | n | Kendall tau [95% CI] | Spearman rho [95% CI] | top-k overlap |",
             "|---|---|---|---|---|"]
    rows = [(f"supernet, {v}", s["all"]) for v, s in summary["supernets"].items()]
    rows += [(f"supernet, {v}, reseeded subset", s["reseeded_subset"])
             for v, s in summary["supernets"].items()]
    rows += [(f"{cost} alone (no supernet)", stats)
             for cost, stats in summary.get("baselines", {}).items()]
    rows.append(("stand-alone seed 1 (ceiling)", summary["ceiling"]))
    for name, stats in rows:
        if stats is None:
            continue
        ci = stats["interval"]
        lines.append(f"| {name} | {stats['n']} | {_fmt(stats['kendall_tau'], ci['kendall_tau'])} "
                     f"| {_fmt(stats['spearman_rho'], ci['spearman_rho'])} "
                     f"| {stats['top_k_overlap']:.2f} (k={stats['top_k']}) |")
    for name, d in summary["differences"].items():
        lines.append(f"\nKendall tau difference, {name}: {d['difference']:+.3f} "
                     f"[{d['interval'][0]:+.2f}, {d['interval'][1]:+.2f}] (paired bootstrap, "
                     f"{100 * d['level']:.0f}%); above zero in {100 * d['share_above_zero']:.0f}% "
                     f"of resamples")
    return "\n".join(lines) + "\n"


def _fmt(value, interval) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f} [{interval[0]:.2f}, {interval[1]:.2f}]"


def _plots(results: Path, scores, seed0, curves, summary) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    if scores and seed0:
        fig, axes = plt.subplots(1, len(scores), figsize=(4.2 * len(scores), 4), squeeze=False)
        for ax, (variant, by_arch) in zip(axes[0], scores.items()):
            common = [a for a in by_arch if a in seed0]
            ax.scatter([100 * seed0[a] for a in common], [100 * by_arch[a] for a in common], s=18)
            stats = summary["supernets"][variant]["all"]
            tau = ("n/a" if not stats or stats["kendall_tau"] is None
                   else f"{stats['kendall_tau']:.2f}")
            ax.set(title=f"stabilizer {variant}: tau {tau}", xlabel="stand-alone test top-1 (%)",
                   ylabel="supernet search top-1 (%)")
        fig.tight_layout()
        fig.savefig(results / "scatter.png", dpi=110)
        plt.close(fig)
    if curves:
        fig, ax = plt.subplots(figsize=(5, 3.6))
        for variant, history in curves.items():
            ax.plot([h["epoch"] for h in history], [100 * h["accuracy"] for h in history],
                    marker="o", label=variant)
        ax.set(xlabel="epoch", ylabel="training top-1 on sampled paths (%)",
               title="supernet training")
        ax.legend()
        fig.tight_layout()
        fig.savefig(results / "curves.png", dpi=110)
        plt.close(fig)
    if summary["similarity"]:
        fig, ax = plt.subplots(figsize=(5, 3.6))
        variants = list(summary["similarity"])
        layers = sorted({layer for v in variants for layer in summary["similarity"][v]})
        width = 0.8 / len(variants)
        for i, variant in enumerate(variants):
            values = [summary["similarity"][variant].get(layer, {}).get("skip_vs_others", np.nan)
                      for layer in layers]
            ax.bar(np.arange(len(layers)) + i * width, values, width, label=variant)
        ax.set_xticks(np.arange(len(layers)) + 0.4 - width / 2, [f"layer {n}" for n in layers])
        ax.set(ylabel="cosine similarity, skip vs other choices")
        ax.legend()
        fig.tight_layout()
        fig.savefig(results / "similarity.png", dpi=110)
        plt.close(fig)
