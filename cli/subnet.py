"""``scarlet-tf train-subnet``, ``rank`` and ``analyze``: stand-alone training, the
supernet's ranking quality, and the feature consistency of one layer's choices."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scarlet_tf.names import DECAYS, DEFAULT_RECAL_BATCHES
from scarlet_tf.training.configs import SubnetConfig, defaults

from .options import DATASET_HELP, training_options

SUBNET = defaults(SubnetConfig)


@click.command("train-subnet")
@click.argument("arch")
@training_options(SubnetConfig, "Run directory (created; an unfinished run there is resumed).")
@click.option("--decay", type=click.Choice(DECAYS), default=SUBNET["decay"], show_default=True,
              help="After warm-up: cosine to 0, or x0.97 every 2.4 epochs.")
@click.option("--dropout", type=float, default=SUBNET["dropout"], show_default=True)
@click.option("--ema/--no-ema", default=SUBNET["ema"], show_default=True,
              help="Keep an exponential moving average of the weights; save and score it.")
@click.option("--ema-momentum", type=float, default=SUBNET["ema_momentum"], show_default=True)
@click.option("--init-from-supernet", type=click.Path(file_okay=False, exists=True),
              default=SUBNET["init_from_supernet"],
              help="Fine-tune from this supernet's weights (its space is used).")
def train_subnet(quiet, **settings):
    """Train architecture ARCH (name, string or JSON file) stand-alone."""
    from scarlet_tf.training.subnet import train_subnet as train

    result = train(SubnetConfig(**settings), verbose=not quiet)
    click.echo(f"done: search accuracy {result['search_accuracy']:.4f}, test accuracy "
               f"{result['test_accuracy']:.4f}; outputs in {settings['out']}")


def supernet_option(command):
    """The required ``--supernet`` option (an existing train-supernet directory)."""
    return click.option("--supernet", "supernet_dir", required=True,
                        type=click.Path(file_okay=False, exists=True),
                        help="A train-supernet output directory.")(command)


def dataset_option(command):
    """The ``--dataset`` option (default: the one the supernet was trained on)."""
    return click.option("--dataset", default=None,
                        help=f"{DATASET_HELP} [default: the supernet's]")(command)


@click.command()
@supernet_option
@click.option("--truth", required=True, multiple=True,
              help="nas-bench-macro (the shipped benchmark), or a CSV 'arch,accuracy' or a "
                   "train-subnet directory (repeatable).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Report directory [default: SUPERNET/rank].")
@dataset_option
@click.option("--recal-batches", type=int, default=DEFAULT_RECAL_BATCHES, show_default=True,
              help="Training batches for BatchNorm recalibration per architecture.")
@click.option("--max-images", type=int, default=None, help="Score on at most this many images.")
@click.option("--top-k", type=int, default=None, help="[default: max(1, n // 4)]")
@click.option("--archs", default="1000", show_default=True,
              help="nas-bench-macro: how many of the 3,969 networks (depth-stratified), "
                   "or 'all'.")
@click.option("--siblings", type=int, default=50, show_default=True,
              help="nas-bench-macro: networks also scored through another code of theirs.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="nas-bench-macro: seed of the sample.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def rank(supernet_dir, truth, out, dataset, recal_batches, max_images, top_k, archs,
         siblings, seed, quiet):
    """Rank correlation of supernet scores with stand-alone accuracies.

    With --truth nas-bench-macro the supernet (of the nas-bench-macro space) is ranked
    against NAS-Bench-Macro's 3,969 networks, each trained three times: scores are saved
    as they come (a rerun resumes), and the report sets the supernet beside counting
    layers, FLOPs and the seed-to-seed ceiling.
    """
    from scarlet_tf.training.rundir import SupernetRun

    run = SupernetRun(supernet_dir)
    dataset = dataset or run.dataset
    out = Path(out or run.directory / "rank")
    if "nas-bench-macro" in truth:
        if len(truth) > 1:
            raise click.BadParameter("nas-bench-macro is a truth of its own; give it alone",
                                     param_hint="--truth")
        from .benchmark import rank_nas_bench_macro

        return rank_nas_bench_macro(run, out, dataset=dataset, recal_batches=recal_batches,
                                    max_images=max_images, archs=archs, siblings=siblings,
                                    seed=seed, quiet=quiet)
    rank_csv(run, truth, out, dataset, recal_batches, max_images, top_k)


def rank_csv(run, truth, out, dataset, recal_batches, max_images, top_k) -> None:
    """``rank`` against CSV files and train-subnet directories."""
    from scarlet_tf.evaluation.evaluator import describe_scored
    from scarlet_tf.evaluation.ranking import rank_report, read_truth, scatter_plot, write_truth
    from scarlet_tf.files import write_json

    missing = [t for t in truth if not Path(t).exists()]
    if missing:
        raise click.BadParameter(f"{missing[0]}: no such file or directory (give a CSV, a "
                                 f"train-subnet directory or nas-bench-macro)",
                                 param_hint="--truth")
    pairs = read_truth(truth, run.space)
    evaluator = run.evaluator(dataset, recal_batches=recal_batches, max_images=max_images)
    report = rank_report(evaluator, pairs, top_k)
    out.mkdir(parents=True, exist_ok=True)
    stabilizer = run.settings["stabilizer"]
    write_json(out / "rank.json", {"supernet": str(run.directory), "dataset": dataset,
                                   "stabilizer": stabilizer, "scored": evaluator.scored,
                                   **report})
    write_truth(pairs, out / "truth.csv")
    scatter_plot(report, out / "rank.png", stabilizer)
    s = report["statistics"]
    click.echo(f"n={s['n']} kendall_tau={s['kendall_tau']} spearman_rho={s['spearman_rho']} "
               f"pearson_r={s['pearson_r']} top{s['top_k']}_overlap={s['top_k_overlap']}; "
               f"scored on {describe_scored(evaluator.scored)}; report in {out}")


@click.command()
@supernet_option
@click.option("--layer", type=int, required=True, help="1-based searchable layer that can skip.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Report directory [default: SUPERNET/analysis].")
@dataset_option
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--prefix-seed", type=int, default=None,
              help="Path of the earlier layers: sampled with this seed [default: first choices].")
@click.option("--recal-batches", type=int, default=DEFAULT_RECAL_BATCHES, show_default=True,
              help="Recalibrate BatchNorm per path first (0: use stored statistics).")
def analyze(supernet_dir, layer, out, dataset, batch_size, prefix_seed, recal_batches):
    """Cosine similarity of the features of every choice of one layer."""
    from scarlet_tf import data
    from scarlet_tf.evaluation.analysis import feature_consistency, heatmap, skippable_layer
    from scarlet_tf.files import write_json
    from scarlet_tf.training.rundir import SupernetRun

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
