"""Mult-add limit against latency limit: one supernet, one search budget, two searches.

The budget is SCARLET-A's cost in the supernet's space: its mult-adds for the first
search (objectives accuracy, madds) and its latency for the second (accuracy, latency_ms,
predicted by ``--latency-table``; the limit is SCARLET-A's own prediction, so a table
measured on a faster or slower day of a shared machine still asks for "as fast as
SCARLET-A"). SCARLET-A is also timed for real in the same run as the fronts, and a front
member counts as over budget when it measures slower than it. Both searches score candidates
with the same Evaluator, seed, population and generations. Every Pareto member of both
fronts is then converted and timed for real (LiteRT + XNNPACK, float32, 1 thread, the
latency of :func:`scarlet_tf.latency.timing.measure`: the fastest run over fresh interpreters),
and the fronts are printed side by side with their supernet accuracy (search split). Writes
``OUT/latency_search.json`` and ``OUT/fronts.csv``. The study's supernet was trained with
``scarlet-tf train-supernet --out runs/digits30 --epochs 30 --steps-per-epoch 20
--batch-size 64 --lr 0.02``. Time it pinned on a shared machine:

    taskset -c 1 nice -n -10 /usr/bin/time -v python studies/latency_search/study.py \
        --supernet runs/digits30 --latency-table results/latency/scarlet-cifar.json \
        --out results/latency_search
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import tempfile
import time
from pathlib import Path

import scarlet_tf
from scarlet_tf.evaluation.runs import SupernetRun
from scarlet_tf.latency.builder import measure_archs
from scarlet_tf.latency.table import LatencyTable
from scarlet_tf.search import SearchProblem, run_search
from scarlet_tf.space.costs import costs
from scarlet_tf.space.spaces import Architecture

REFERENCE = "scarlet-a"


def fronts(run, table, args) -> tuple[dict, dict]:
    """The budget (SCARLET-A's mult-adds and measured ms) and each search's Pareto front."""
    reference = Architecture.parse(REFERENCE)
    budget = {"madds": costs(reference, run.space).madds,
              "predicted_ms": table.predict(reference, run.space)}
    problems = {
        "mult-adds": SearchProblem(run.space, "accuracy,madds", max_madds=budget["madds"]),
        "latency": SearchProblem(run.space, "accuracy,latency_ms", latency_table=table,
                                 max_latency_ms=budget["predicted_ms"]),
    }
    evaluator = run.evaluator(recal_batches=args.recal_batches, max_images=args.max_images)
    found = {}
    with tempfile.TemporaryDirectory() as work:
        for name, problem in problems.items():
            start = time.perf_counter()
            records = run_search(problem, evaluator.score_path, Path(work) / name,
                                 population=args.population, generations=args.generations,
                                 seed=args.seed, log=generation_lines(name))
            front = [r for r in records if r["pareto"]]
            print(f"{name} search: {len(records)} evaluated, {len(front)} on the front, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
            found[name] = front
    return budget, found


def generation_lines(name: str):
    """A search log that prints the per-generation progress lines, not every trial's."""
    def log(line: str) -> None:
        if not line.startswith("  trial"):
            print(f"{name} search, {line}", flush=True)
    return log


def timed(run, table, found) -> tuple[float, dict]:
    """SCARLET-A's measured ms and each front's members with mult-adds, predicted and
    measured ms, fastest first (all timed in the same passes)."""
    archs = {name: [Architecture.parse(r["arch"]) for r in front] for name, front in found.items()}
    everything = [Architecture.parse(REFERENCE), *itertools.chain(*archs.values())]
    measured = iter(measure_archs(everything, run.space, progress=print))
    reference_ms = next(measured)
    members = {}
    for name, front in found.items():
        rows = [{"arch": str(a), "accuracy": r["accuracy"], "madds": int(r["madds"]),
                 "predicted_ms": table.predict(a), "measured_ms": next(measured)}
                for a, r in zip(archs[name], front)]
        members[name] = sorted(rows, key=lambda row: row["measured_ms"])
    return reference_ms, members


def summary(name, rows, budget) -> dict:
    """Best accuracy, its measured ms, and the measured ms range of one front."""
    best = max(rows, key=lambda row: (row["accuracy"], -row["measured_ms"]))
    return {"limit": name, "members": len(rows), "best_accuracy": best["accuracy"],
            "best_measured_ms": best["measured_ms"], "best_madds": best["madds"],
            "fastest_ms": rows[0]["measured_ms"], "slowest_ms": rows[-1]["measured_ms"],
            "over_budget": sum(row["measured_ms"] > budget["measured_ms"] for row in rows)}


def print_report(budget, summaries, members) -> None:
    """Print the budget, both fronts' summaries and their members."""
    print(f"budget: {REFERENCE} = {budget['madds'] / 1e6:.1f}M mult-adds, measured "
          f"{budget['measured_ms']:.3f} ms (table predicts {budget['predicted_ms']:.3f} ms)")
    print(f"{'limit':10} {'members':>7} {'best acc':>8} {'its ms':>7} {'its MAdds':>9} "
          f"{'front ms range':>15} {'over budget':>11}")
    for s in summaries:
        print(f"{s['limit']:10} {s['members']:7d} {s['best_accuracy']:8.3f} "
              f"{s['best_measured_ms']:7.3f} {s['best_madds'] / 1e6:8.1f}M "
              f"{s['fastest_ms']:7.3f}-{s['slowest_ms']:<7.3f} {s['over_budget']:11d}")
    for name, rows in members.items():
        print(f"{name} front (accuracy, measured ms, predicted ms, MAdds):")
        for row in rows:
            print(f"  {row['accuracy']:.3f} {row['measured_ms']:7.3f} {row['predicted_ms']:7.3f} "
                  f"{row['madds'] / 1e6:6.1f}M {row['arch']}")


def main() -> None:
    """Run both searches, time every front member, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supernet", required=True, help="train-supernet run directory.")
    parser.add_argument("--latency-table", required=True, help="Table of the supernet's space.")
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recal-batches", type=int, default=4)
    parser.add_argument("--max-images", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("results/latency_search"))
    args = parser.parse_args()
    scarlet_tf.fast_first_run()  # Grappler off: the supernet's first trace is faster
    run, table = SupernetRun(args.supernet), LatencyTable.load(args.latency_table)
    table.check_space(run.space)
    budget, found = fronts(run, table, args)
    budget["measured_ms"], members = timed(run, table, found)
    summaries = [summary(name, rows, budget) for name, rows in members.items()]
    print_report(budget, summaries, members)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latency_search.json").write_text(json.dumps(
        {"supernet": str(args.supernet), "supernet_config": run.config,
         "space": run.space.describe(), "table_settings": table.settings,
         "search": {k: getattr(args, k) for k in ("population", "generations", "seed",
                                                  "recal_batches", "max_images")},
         "budget": budget, "summary": summaries, "fronts": members}, indent=1) + "\n")
    with open(args.out / "fronts.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["limit", "arch", "accuracy", "madds", "predicted_ms",
                                    "measured_ms"])
        writer.writeheader()
        writer.writerows({"limit": name, **row} for name, rows in members.items() for row in rows)


if __name__ == "__main__":
    main()
