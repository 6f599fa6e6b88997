"""``scarlet-tf rank --truth nas-bench-macro``: the supernet against NAS-Bench-Macro."""

from __future__ import annotations

import math
import time
from pathlib import Path

import click

from scarlet_tf.errors import ScarletError

ROWS = (("supernet", "supernet"), ("depth", "kept layers"), ("flops", "FLOPs"),
        ("params", "params"), ("seed", "seed vs seed"))


def sample_size(archs: str) -> int | None:
    """``--archs``: a positive count, or None for 'all'."""
    if archs.strip().lower() == "all":
        return None
    try:
        count = int(archs)
    except ValueError:
        count = 0
    if count < 1:
        raise click.BadParameter(f"{archs!r}: give a positive number of networks or 'all'",
                                 param_hint="--archs")
    return count


def check_source(out: Path, source: dict) -> None:
    """Refuse to resume scores made with other settings (another supernet checkpoint,
    sample, recalibration or scored images): they would mix two rankers in one file."""
    from scarlet_tf.files import read_json, write_json

    stored = read_json(out / "source.json")
    if stored is not None and stored != source:
        changed = sorted(k for k in source if stored.get(k) != source[k])
        raise ScarletError(f"{out} holds scores made with other settings ({', '.join(changed)}"
                           f" differ); give another --out, or delete {out} to start over")
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "source.json", source)


def rank_nas_bench_macro(run, out: Path, *, dataset, recal_batches, max_images, archs,
                         siblings, seed, quiet) -> None:
    """Rank a nas-bench-macro supernet run against the shipped benchmark truth (resumable)."""
    from scarlet_tf.evaluation import nas_bench_macro
    from scarlet_tf.evaluation.evaluator import describe_scored
    from scarlet_tf.evaluation.macro_ranking import benchmark_report, rank_on_benchmark, scatter
    from scarlet_tf.files import write_json
    from scarlet_tf.training.checkpoints import read_state

    if run.space.name != nas_bench_macro.SPACE:
        raise ScarletError(f"{run.directory} is a supernet of {run.space.name}; --truth "
                           f"nas-bench-macro needs one trained with --space nas-bench-macro")
    codes = nas_bench_macro.depth_stratified(sample_size(archs), seed)
    state = read_state(run.directory / "state.json") or {}
    evaluator = run.evaluator(dataset, recal_batches=recal_batches, max_images=max_images)
    source = {"supernet": str(run.directory), "step": state.get("step"), "dataset": dataset,
              "recal_batches": recal_batches, "max_images": max_images,
              "archs": len(codes), "seed": seed, "siblings": siblings,
              "scored": evaluator.scored}
    check_source(out, source)
    progress = None if quiet else Progress()
    rows, sibling_rows = rank_on_benchmark(evaluator, codes, out, siblings=siblings, seed=seed,
                                           progress=progress)
    report = benchmark_report(rows, sibling_rows, seed=seed)
    stabilizer = run.settings["stabilizer"]
    write_json(out / "rank.json", {**source, "stabilizer": stabilizer, **report})
    scatter(rows, out / "rank.png", f"stabilizer {stabilizer}, step {state.get('step')}")
    click.echo(f"{report_table(report)}\nscored on {describe_scored(evaluator.scored)}; "
               f"report in {out}")


class Progress:
    """A line after the first network (its time includes tracing), then one at most
    every 30 s with the rate and the time left."""

    def __init__(self):
        self.created, self.first = time.perf_counter(), None

    def __call__(self, done: int, total: int, row: dict) -> None:
        now = time.perf_counter()
        if self.first is None:
            click.echo(f"ranked {done}/{total} networks (the first, traced, in "
                       f"{now - self.created:.0f} s)", err=True)
            self.first, self.start, self.last = done, now, now
            return
        if now - self.last < 30 and done < total:
            return
        self.last = now
        each = (now - self.start) / (done - self.first)
        click.echo(f"ranked {done}/{total} networks ({each:.1f} s each, about "
                   f"{each * (total - done) / 60:.0f} min left)", err=True)


def report_table(report: dict) -> str:
    """The rankers side by side: tau and rho with 95% intervals, tau in the truth's top
    10%, the truth of each ranker's top 1 and top 10 (regret to the benchmark's best)."""
    lines = [(f"{report['networks']} networks of NAS-Bench-Macro; best mean accuracy "
              f"{100 * report['best_truth']:.2f}%"),
             (f"{'ranker':<13} {'Kendall tau [95%]':<22} {'Spearman rho [95%]':<22} "
              f"{'tau top10%':>10} {'top-1 (regret)':>16} {'top-10 (regret)':>16}")]
    for key, name in ROWS:
        r = report["rankers"][key]
        top = lambda k: f"{100 * r[f'top{k}_truth']:.2f} ({100 * r[f'top{k}_regret']:.2f})"  # noqa
        lines.append(f"{name:<13} {_interval(r['kendall_tau'], r['kendall_tau_ci']):<22} "
                     f"{_interval(r['spearman_rho'], r['spearman_rho_ci']):<22} "
                     f"{_number(r['top10pct_kendall_tau']):>10} {top(1):>16} {top(10):>16}")
    siblings = report["siblings"]
    if siblings:
        lines.append(f"two codes of one network ({siblings['pairs']} pairs): supernet scores "
                     f"differ by {100 * siblings['mean_gap']:.2f} points on average (max "
                     f"{100 * siblings['max_gap']:.2f}); two random networks: "
                     f"{100 * siblings['mean_gap_random_pairs']:.2f}")
    return "\n".join(lines)


def _number(value) -> str:
    """A statistic to 3 places; 'n/a' where it is undefined (a constant ranker)."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.3f}"


def _interval(value, interval) -> str:
    return f"{_number(value)} [{_number(interval[0])}, {_number(interval[1])}]"
