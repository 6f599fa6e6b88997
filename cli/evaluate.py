"""``scarlet-tf eval``: score one architecture on a trained supernet."""

from __future__ import annotations

import json

import click

from scarlet_tf.names import DEFAULT_RECAL_BATCHES


@click.command("eval")
@click.argument("arch")
@click.option("--supernet", "supernet_dir", required=True, type=click.Path(file_okay=False),
              help="A train-supernet output directory.")
@click.option("--dataset", default=None,
              help="Dataset spec [default: the one the supernet was trained on].")
@click.option("--recal-batches", type=int, default=DEFAULT_RECAL_BATCHES, show_default=True,
              help="Training batches whose BatchNorm statistics are averaged.")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--split", type=click.Choice(["search", "test"]), default="search",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
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
    from scarlet_tf.space.costs import costs
    from scarlet_tf.space.spaces import resolve_arch
    from scarlet_tf.training.rundir import SupernetRun

    if recal_batches < 1:
        raise click.BadParameter("must be >= 1", param_hint="--recal-batches")
    run = SupernetRun(supernet_dir)
    arch = resolve_arch(arch, run.space)
    cost = costs(arch, run.space)
    evaluator = run.evaluator(dataset, split=split, recal_batches=recal_batches,
                              batch_size=batch_size)
    return {"arch": str(arch), **evaluator.score(arch), "madds": cost.madds,
            "params": cost.params, "split": split, "scored": evaluator.scored}
