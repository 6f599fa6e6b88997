"""Does the supernet rank NAS-Bench-Macro's networks, and does the stabilizer help?

A resumable driver: supernets of the ``nas-bench-macro`` space on CIFAR-10, identical but
for the stabilizer, are trained to each budget in turn (``BUDGETS`` epochs of one
``EPOCHS``-epoch cosine schedule, stopped at the budget by a callback and resumed for the
next) and ranked there with the installed ``scarlet-tf rank --truth nas-bench-macro``
(which resumes its own scores). Every piece is skipped when its output exists, so the
same command continues after a kill:

    python studies/nas_bench_macro/study.py                  # train, rank, report
    python studies/nas_bench_macro/study.py --only report    # tables and plot so far

Numbers go to ``--out`` (committed: scores, reports, plots); weights to ``--runs``
(derived from CIFAR-10: never committed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import keras

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
# The benchmark trained with SGD (momentum 0.9, weight decay 5e-4, batch 256, lr 0.1,
# cosine), crop and flip; the supernet keeps those but batch 128 (lr 0.1 still: each
# path sees few steps) and Nesterov momentum (the package's SGD).
TRAIN = {"space": "nas-bench-macro", "width": 1.0, "epochs": 10, "batch_size": 128, "lr": 0.1,
         "warmup_epochs": 0.5, "weight_decay": 5e-4, "optimizer": "sgd", "seed": 0}
VARIANTS = {"learnable": {"stabilizer": "learnable", "stabilizer_init": "identity"},
            "none": {"stabilizer": "none", "stabilizer_init": "identity"}}
BUDGETS = (1, 3, 10)
RANK = ["--archs", "1000", "--siblings", "50", "--seed", "0", "--recal-batches", "5",
        "--max-images", "512"]


class StopAtEpoch(keras.callbacks.Callback):
    """Stop training (with a checkpoint) at the end of epoch ``epochs``."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True


def epochs_done(run: Path) -> int:
    """Epochs the run in ``run`` has finished (0 before its first)."""
    history = run / "history.json"
    return len(json.loads(history.read_text())) if history.is_file() else 0


def train(variant: str, budget: int, runs: Path) -> None:
    """Train ``variant`` to ``budget`` epochs (in this process; resumes)."""
    from scarlet_tf.training.configs import SupernetConfig
    from scarlet_tf.training.supernet import train_supernet

    config = SupernetConfig(out=str(runs / variant), dataset=str(ARCHIVE), **TRAIN,
                            **VARIANTS[variant])
    train_supernet(config, callbacks=[StopAtEpoch(budget)])


def rank(variant: str, budget: int, runs: Path, out: Path) -> None:
    """Rank ``variant``'s supernet as it stands with the installed CLI (resumes; skipped
    when its rank.json exists)."""
    folder = out / f"{variant}-e{budget}"
    if (folder / "rank.json").is_file():
        return
    subprocess.run(["scarlet-tf", "rank", "--supernet", str(runs / variant), "--truth",
                    "nas-bench-macro", "--out", str(folder), *RANK], check=True)


def run_all(runs: Path, out: Path) -> None:
    """Each budget in turn: train each variant to it (a subprocess), rank, report."""
    for budget in BUDGETS:
        for variant in VARIANTS:
            if epochs_done(runs / variant) < budget and not (out / f"{variant}-e{budget}"
                                                             / "rank.json").is_file():
                subprocess.run([sys.executable, __file__, "--train", variant, "--budget",
                                str(budget), "--runs", str(runs), "--out", str(out)],
                               check=True)
            if epochs_done(runs / variant) == budget:
                rank(variant, budget, runs, out)
        report(out)


def report(out: Path) -> None:
    """summary.json and table.md from every finished ranking so far: per budget, each
    supernet, the free rankers and the seed ceiling once, and the paired bootstrap
    difference in tau between the two supernets (same networks)."""
    rows = []
    for path in sorted(out.glob("*-e*/rank.json")):
        variant, budget = path.parent.name.rsplit("-e", 1)
        rows.append({"variant": variant, "epochs": int(budget),
                     **json.loads(path.read_text())})
    rows.sort(key=lambda r: (r["epochs"], r["variant"]))
    differences = {budget: tau_difference(out, budget) for budget in BUDGETS
                   if all((out / f"{v}-e{budget}" / "rank.json").is_file() for v in VARIANTS)}
    (out / "summary.json").write_text(json.dumps(
        {"rankings": rows, "tau_difference_none_minus_learnable": differences}, indent=1) + "\n")
    lines = [("| ranker | epochs | networks | Kendall tau [95%] | Spearman rho [95%] | "
              "tau top 10% | top-1 acc (regret) | top-10 acc (regret) |"), "|---" * 8 + "|"]
    for budget in sorted({r["epochs"] for r in rows}):
        ranked = [r for r in rows if r["epochs"] == budget]
        lines += [table_row(f"supernet, stabilizer {r['variant']}", r, r["rankers"]["supernet"])
                  for r in ranked]
        lines += [table_row(name, ranked[0], ranked[0]["rankers"][key]) for key, name in (
            ("depth", "kept layers"), ("flops", "FLOPs"), ("seed", "seed vs seed"))]
    for budget, d in differences.items():
        lines.append(f"\nAfter {budget} epoch(s), tau(none) - tau(learnable) = "
                     f"{d['difference']:.3f} [{d['interval'][0]:.3f}, {d['interval'][1]:.3f}] "
                     f"(paired bootstrap, {d['resamples']} resamples).")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def table_row(name: str, ranking: dict, s: dict) -> str:
    """One markdown row of ranker ``s``'s figures in ``ranking``."""
    def fmt(v):
        return "n/a" if v is None else f"{v:.3f}"

    return (f"| {name} | {ranking['epochs']} | {ranking['networks']} | {fmt(s['kendall_tau'])} "
            f"[{fmt(s['kendall_tau_ci'][0])}, {fmt(s['kendall_tau_ci'][1])}] | "
            f"{fmt(s['spearman_rho'])} [{fmt(s['spearman_rho_ci'][0])}, "
            f"{fmt(s['spearman_rho_ci'][1])}] | {fmt(s['top10pct_kendall_tau'])} | "
            f"{100 * s['top1_truth']:.2f} ({100 * s['top1_regret']:.2f}) | "
            f"{100 * s['top10_truth']:.2f} ({100 * s['top10_regret']:.2f}) |")


def tau_difference(out: Path, budget: int) -> dict:
    """Paired bootstrap of tau(none) - tau(learnable) on the networks both scored."""
    from scarlet_tf.evaluation.ranking import bootstrap_tau_difference
    from scarlet_tf.files import read_rows

    scores = {v: {r["code"]: r for r in read_rows(out / f"{v}-e{budget}" / "scores.csv")}
              for v in VARIANTS}
    codes = sorted(set(scores["none"]) & set(scores["learnable"]))
    def column(v, key):
        return [float(scores[v][c][key]) for c in codes]

    return bootstrap_tau_difference(column("none", "supernet"), column("learnable", "supernet"),
                                    column("none", "truth"), resamples=1000)


def main() -> None:
    """Command line: everything, or only the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "nas_bench_macro")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "nas_bench_macro")
    parser.add_argument("--only", choices=("report",), default=None)
    parser.add_argument("--train", choices=tuple(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.train:
        train(args.train, args.budget, args.runs)
    elif args.only == "report":
        report(args.out)
    else:
        if not ARCHIVE.is_file():
            sys.exit(f"error: the CIFAR-10 archive {ARCHIVE} is missing")
        run_all(args.runs, args.out)


if __name__ == "__main__":
    main()
