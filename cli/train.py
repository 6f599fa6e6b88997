"""``scarlet-tf train-supernet``: train a stabilized supernet (resumable, distributed)."""

from __future__ import annotations

import click

from scarlet_tf.names import OPTIMIZERS, SAMPLERS, STABILIZER_INITS, STABILIZERS
from scarlet_tf.space import SPACE_NAMES

from .options import zero_init_option


@click.command("train-supernet")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Run directory (created; an existing run there is resumed).")
@click.option("--space", type=click.Choice(SPACE_NAMES), default="scarlet-cifar",
              show_default=True)
@click.option("--width", type=float, default=1.0, show_default=True,
              help="Channel multiplier.")
@click.option("--choices", default=None,
              help="Restrict every layer to these choices, e.g. 'e3k3,e6k5se,skip' "
                   "[default: all 13].")
@click.option("--input-size", type=int, default=None, help="Image side in pixels.")
@click.option("--dataset", default="digits", show_default=True,
              help="digits, a folder/.tar.gz with train/ and test/, or tfds:NAME.")
@click.option("--epochs", type=int, default=10, show_default=True)
@click.option("--steps-per-epoch", type=int, default=None,
              help="Cap on steps per epoch [default: one pass over the train split].")
@click.option("--batch-size", type=int, default=64, show_default=True,
              help="Global batch size, split across replicas.")
@click.option("--lr", type=float, default=0.05, show_default=True,
              help="Peak learning rate (linear warm-up, then cosine decay).")
@click.option("--warmup-epochs", type=float, default=1.0, show_default=True)
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="sgd", show_default=True,
              help="sgd: Nesterov momentum 0.9; rmsprop: rho 0.9, momentum 0.9.")
@click.option("--weight-decay", type=float, default=4e-5, show_default=True)
@click.option("--label-smoothing", type=float, default=0.1, show_default=True)
@click.option("--stabilizer", type=click.Choice(STABILIZERS), default="learnable",
              show_default=True, help="Skip choice: learnable 1x1 stabilizer or identity.")
@click.option("--stabilizer-init", type=click.Choice(STABILIZER_INITS), default="identity",
              show_default=True)
@zero_init_option
@click.option("--sampler", type=click.Choice(SAMPLERS), default="uniform", show_default=True,
              help="uniform: one path per step (SPOS); fair: FairNAS strict fairness.")
@click.option("--replicas", type=int, default=1, show_default=True,
              help="CPU only: split the CPU into N devices for MirroredStrategy (GPUs are "
                   "all used automatically; TF_CONFIG selects multi-worker).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--save-every", type=int, default=100, show_default=True,
              help="Checkpoint every N steps (and at every epoch end).")
@click.option("--overwrite", is_flag=True, help="Delete an existing run in --out first.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_supernet(quiet, **settings):
    """Train a stabilized weight-sharing supernet with single-path sampling."""
    from scarlet_tf.training import SupernetConfig
    from scarlet_tf.training import train_supernet as train

    _, history = train(SupernetConfig(**settings), verbose=not quiet)
    if history:
        last = history[-1]
        click.echo(f"done: epoch {last['epoch']} loss {last['loss']:.4f} "
                   f"accuracy {last['accuracy']:.4f}; outputs in {settings['out']}")
