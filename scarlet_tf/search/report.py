"""Search reports: pareto.json, history.csv, pareto.png and best.json.

``records`` are :meth:`EvolutionOracle.records` dicts: ``trial``, ``generation``,
``arch`` (canonical string), metrics (``accuracy``, ``loss``, ``madds``, ``params``,
``latency_ms`` with a latency table), ``feasible`` and ``pareto`` (front member).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from scarlet_tf.plots import figure, front_panel, legend
from scarlet_tf.search.problem import higher_is_better
from scarlet_tf.space.spaces import Architecture

FILES = ("pareto.json", "history.csv", "pareto.png", "best.json")
COLUMNS = ("trial", "generation", "arch", "accuracy", "loss", "madds", "params",
           "latency_ms", "feasible", "pareto", "code", "truth")


def write(out, records: list[dict], problem, scored: dict | None = None,
          judged: dict | None = None) -> None:
    """Write every report of a finished (or stopped) search to directory ``out``;
    ``scored`` (what the scores were computed on) and ``judged`` (a benchmark's
    judgement, :func:`scarlet_tf.search.truth.judge`) go into pareto.json when given."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    front = sorted((r for r in records if r["pareto"]), key=lambda r: -r.get("accuracy", 0))
    (out / "pareto.json").write_text(json.dumps(
        {**problem.describe(), **({"scored": scored} if scored else {}),
         **({"judged": judged} if judged else {}), "evaluated": len(records),
         "hypervolume": problem.hypervolume(records), "front": front}, indent=1) + "\n")
    write_history(out / "history.csv", records)
    plot(out / "pareto.png", records, problem, judged)
    best = best_record(records, problem.score)
    if best is not None:
        Architecture.parse(best["arch"], problem.space).save(out / "best.json", **{
            k: v for k, v in best.items() if k != "arch"})


def remove(out) -> None:
    """Delete the reports of an earlier search in ``out``."""
    for name in FILES:
        Path(out, name).unlink(missing_ok=True)


def best_record(records: list[dict], score: str = "accuracy") -> dict | None:
    """The feasible record with the best ``score`` (highest ``accuracy`` or lowest
    ``loss``: :attr:`SearchProblem.score`), a front member among equals; None when there
    is none."""
    sign = 1.0 if higher_is_better(score) else -1.0
    return max((r for r in records if r["feasible"]),
               key=lambda r: (sign * r[score], r["pareto"]), default=None)


def write_history(path, records: list[dict]) -> None:
    """history.csv: one row per evaluated candidate, in trial order."""
    columns = [c for c in COLUMNS if any(c in r for r in records)] or list(COLUMNS)
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)


def plot(path, records: list[dict], problem, judged: dict | None = None) -> None:
    """Accuracy against mult-adds (M): every candidate, the front, the mult-add limit; with
    a benchmark's judgement, a second panel of the same networks' true accuracy with the
    pick and the benchmark's best network within the limits."""
    panels = [(problem.score, f"{problem.score} (search split)")]
    if judged:
        panels.append(("truth", f"accuracy in {judged['truth']}"))
    with figure(path, panels=len(panels)) as (_, axes):
        axes = axes if judged else [axes]
        for ax, (key, label) in zip(axes, panels):
            _panel(ax, records, problem, key, label)
        if judged:
            _truth_marks(axes[-1], judged)
        for ax in axes:
            legend(ax)


def _panel(ax, records: list[dict], problem, key: str, label: str) -> None:
    """One panel: ``key`` of every record and of the front against mult-adds."""
    def points(of):
        return [(r["madds"] / 1e6, r[key]) for r in of]

    front_panel(ax, points(records), points(r for r in records if r["pareto"]),
                xlabel="mult-adds (M)", ylabel=label, title=f"{problem.space.name} search: "
                f"{', '.join(problem.describe()['objectives'])}")
    if "madds" in problem.limits:
        ax.axvline(problem.limits["madds"] / 1e6, color="k", ls="--", lw=1,
                   label=f"limit {problem.limits['madds'] / 1e6:g}M")


def _truth_marks(ax, judged: dict) -> None:
    """The benchmark's true front, its best network within the limits and the pick."""
    bench_front = judged["benchmark_front"]
    ax.step([r["madds"] / 1e6 for r in bench_front], [r["truth"] for r in bench_front],
            "k-", where="post", lw=1, label="benchmark's true front")
    for name, marker in (("best", "k*"), ("pick", "bD")):
        if judged[name]:
            r = judged[name]
            ax.plot(r["madds"] / 1e6, r["truth"], marker, ms=9,
                    label=f"{name} {r['code']} ({100 * r['truth']:.2f}%)")
