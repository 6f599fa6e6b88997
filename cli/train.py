"""``scarlet-tf train-supernet``: train a stabilized supernet (resumable, distributed)."""

from __future__ import annotations

import click

from scarlet_tf.names import SAMPLERS, STABILIZER_INITS, STABILIZERS
from scarlet_tf.training.configs import SupernetConfig, defaults

from .options import training_options

DEFAULTS = defaults(SupernetConfig)


@click.command("train-supernet")
@training_options(SupernetConfig, "Run directory (created; an existing run there is resumed).")
@click.option("--choices", default=DEFAULTS["choices"],
              help="Restrict every layer to these choices, e.g. 'e3k3,e6k5se,skip' "
                   "[default: all 13].")
@click.option("--stabilizer", type=click.Choice(STABILIZERS), default=DEFAULTS["stabilizer"],
              show_default=True, help="Skip choice: learnable 1x1 stabilizer or identity.")
@click.option("--stabilizer-init", type=click.Choice(STABILIZER_INITS),
              default=DEFAULTS["stabilizer_init"], show_default=True)
@click.option("--matched-init/--no-matched-init", default=DEFAULTS["matched_init"],
              show_default=True,
              help="Start every choice of a layer that changes stride or channels as the "
                   "same function (copies of its smallest choice), so the next layer sees "
                   "the same features whichever is sampled.")
@click.option("--firsts-warmup", type=float, default=DEFAULTS["firsts_warmup"],
              show_default=True,
              help="Fraction of the steps in which each layer that changes stride or "
                   "channels trains only its smallest choice; then its other choices start "
                   "as copies of it and all are sampled. 0: sample them from the start.")
@click.option("--sampler", type=click.Choice(SAMPLERS), default=DEFAULTS["sampler"],
              show_default=True,
              help="uniform: one path per step (SPOS); fair: FairNAS strict fairness.")
@click.option("--save-every", type=int, default=DEFAULTS["save_every"], show_default=True,
              help="Checkpoint every N steps (and at every epoch end).")
def train_supernet(quiet, **settings):
    """Train a stabilized weight-sharing supernet with single-path sampling.

    Budget: with W choices with weights per layer (skip has none), supernet scores leave
    chance after about 20 x W steps at batch 64 and approach one path's after about four
    times that: 240 and 960 steps for all 13 choices (measured on digits,
    studies/supernet_law). With --no-matched-init it takes about 20 x W^2 (2,880 for all
    13). The run states its budget before training and warns below it. The rule was
    measured without --firsts-warmup, which brought all 13 choices to one path's level
    within 160 steps on digits."""
    from scarlet_tf.training.supernet import train_supernet as train

    _, history = train(SupernetConfig(**settings), verbose=not quiet)
    if history:
        last = history[-1]
        click.echo(f"done: epoch {last['epoch']} loss {last['loss']:.4f} "
                   f"accuracy {last['accuracy']:.4f}; outputs in {settings['out']}")
