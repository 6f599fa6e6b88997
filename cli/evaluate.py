"""``scarlet-tf eval``, ``rank`` and ``analyze``: one architecture scored on a supernet,
the supernet's ranking against a truth, and the feature consistency of one layer's choices."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from .options import (
    dataset_option,
    fast_first_trace,
    max_images_option,
    recal_batches_option,
    supernet_option,
)


@click.command("eval")
@click.argument("arch")
@supernet_option()
@dataset_option("Dataset spec [default: the one the supernet was trained on].")
@recal_batches_option("Training batches whose BatchNorm statistics are averaged.")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--split", type=click.Choice(["search", "test"]), default="search",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@fast_first_trace
def evaluate(arch, supernet_dir, dataset, recal_batches, batch_size, split, as_json):
    """Score ARCH with weights inherited from a supernet (BN recalibrated)."""
    from scarlet_tf.evaluation.evaluator import describe_scored

    record = evaluate_arch(arch, supernet_dir, dataset, recal_batches, batch_size, split)
    if as_json:
        click.echo(json.dumps(record))
    else:
        click.echo(f"{record['arch']}\naccuracy {record['accuracy']:.4f}  loss "
                   f"{record['loss']:.4f}  on {describe_scored(record['scored'])}\nmult-adds "
                   f"{record['madds'] / 1e6:.2f}M  params {record['params'] / 1e6:.3f}M")


def evaluate_arch(arch, supernet_dir, dataset, recal_batches, batch_size, split) -> dict:
    """Score ``arch`` on a supernet run: accuracy, loss and its analytic costs, as a dict."""
    from scarlet_tf.evaluation.runs import SupernetRun
    from scarlet_tf.space.costs import costs
    from scarlet_tf.space.spaces import resolve_arch

    run = SupernetRun(supernet_dir)
    arch = resolve_arch(arch, run.space)
    cost = costs(arch, run.space)
    evaluator = run.evaluator(dataset, split=split, recal_batches=recal_batches,
                              batch_size=batch_size)
    return {"arch": str(arch), **evaluator.score(arch), "madds": cost.madds,
            "params": cost.params, "split": split, "scored": evaluator.scored}


@click.command()
@supernet_option()
@click.option("--truth", required=True, multiple=True,
              help="nas-bench-macro (the shipped benchmark), or a CSV 'arch,accuracy' or a "
                   "train-subnet directory (repeatable).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Report directory [default: SUPERNET/rank].")
@dataset_option()
@recal_batches_option("Training batches for BatchNorm recalibration per architecture.")
@max_images_option("Score on at most this many images.")
@click.option("--top-k", type=int, default=None, help="[default: max(1, n // 4)]")
@click.option("--archs", default="1000", show_default=True,
              help="nas-bench-macro: how many of the 3,969 networks (depth-stratified), "
                   "or 'all'.")
@click.option("--siblings", type=int, default=50, show_default=True,
              help="nas-bench-macro: networks also scored through another code of theirs.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="nas-bench-macro: seed of the sample.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@fast_first_trace
def rank(supernet_dir, truth, out, dataset, recal_batches, max_images, top_k, archs,
         siblings, seed, quiet):
    """Rank correlation of supernet scores with stand-alone accuracies.

    With --truth nas-bench-macro the supernet (of the nas-bench-macro space) is ranked
    against NAS-Bench-Macro's 3,969 networks, each trained three times: scores are saved
    as they come (a rerun resumes), and the report sets the supernet beside counting
    layers, FLOPs and the seed-to-seed ceiling.
    """
    from scarlet_tf.evaluation.evaluator import describe_scored
    from scarlet_tf.evaluation.rank_runs import (
        rank_on_nas_bench_macro,
        rank_on_truths,
        report_table,
    )
    from scarlet_tf.evaluation.runs import SupernetRun

    run = SupernetRun(supernet_dir)
    out = Path(out or run.directory / "rank")
    options = {"dataset": dataset, "recal_batches": recal_batches, "max_images": max_images}
    if "nas-bench-macro" in truth:
        if len(truth) > 1:
            raise click.BadParameter("nas-bench-macro is a truth of its own; give it alone",
                                     param_hint="--truth")
        report = rank_on_nas_bench_macro(run, out, archs=sample_size(archs), siblings=siblings,
                                         seed=seed, progress=None if quiet else Progress(),
                                         **options)
        click.echo(f"{report_table(report)}\nscored on {describe_scored(report['scored'])}; "
                   f"report in {out}")
        return
    missing = [t for t in truth if not Path(t).exists()]
    if missing:
        raise click.BadParameter(f"{missing[0]}: no such file or directory (give a CSV, a "
                                 f"train-subnet directory or nas-bench-macro)",
                                 param_hint="--truth")
    report = rank_on_truths(run, truth, out, top_k=top_k, **options)
    s = report["statistics"]
    click.echo(f"n={s['n']} kendall_tau={s['kendall_tau']} spearman_rho={s['spearman_rho']} "
               f"pearson_r={s['pearson_r']} top{s['top_k']}_overlap={s['top_k_overlap']}; "
               f"scored on {describe_scored(report['scored'])}; report in {out}")


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


@click.command()
@supernet_option()
@click.option("--layer", type=int, required=True, help="1-based searchable layer that can skip.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Report directory [default: SUPERNET/analysis].")
@dataset_option()
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--prefix-seed", type=int, default=None,
              help="Path of the earlier layers: sampled with this seed [default: first choices].")
@recal_batches_option("Recalibrate BatchNorm per path first (0: use stored statistics).",
                      minimum=0)
@fast_first_trace
def analyze(supernet_dir, layer, out, dataset, batch_size, prefix_seed, recal_batches):
    """Cosine similarity of the features of every choice of one layer."""
    from scarlet_tf import data
    from scarlet_tf.evaluation.analysis import feature_consistency, heatmap, skippable_layer
    from scarlet_tf.evaluation.runs import SupernetRun
    from scarlet_tf.files import write_json

    run = SupernetRun(supernet_dir)
    dataset = dataset or run.dataset
    skippable_layer(run.space, layer)
    images, _ = next(iter(data.load(dataset, "search", batch_size=batch_size,
                                    image_size=run.space.input_size)[0]))
    evaluator = run.evaluator(dataset, recal_batches=recal_batches, batch_size=batch_size,
                              max_images=1) if recal_batches else None
    report = feature_consistency(run.supernet, images, layer, prefix_seed, evaluator)
    out = Path(out or run.directory / "analysis")
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / f"layer{layer:02d}.json", {"supernet": str(supernet_dir), **report})
    heatmap(report, out / f"layer{layer:02d}.png")
    click.echo(json.dumps({k: report[k] for k in ("layer", "stabilizer", "skip_vs_others",
                                                  "among_others")}))
