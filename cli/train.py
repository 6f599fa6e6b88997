"""``scarlet-tf train-supernet`` and ``train-subnet``: a stabilized supernet (resumable,
distributed) and one architecture stand-alone."""

from __future__ import annotations

import click

from scarlet_tf.names import DECAYS, SAMPLERS, STABILIZER_INITS, STABILIZERS
from scarlet_tf.training.configs import SubnetConfig, SupernetConfig, defaults

from .options import fast_first_trace, training_options

DEFAULTS = defaults(SupernetConfig)
SUBNET = defaults(SubnetConfig)


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
@fast_first_trace
def train_supernet(quiet, **settings):
    """Train a stabilized weight-sharing supernet with single-path sampling.

    The run states its budget before training (steps, choices with weights per layer,
    updates per choice, the steps the budget rule asks for) and warns below it; the rule
    and the measurements behind it are in studies/supernet_law. That rule says when
    scores leave chance, not when they rank architectures: on NAS-Bench-Macro the
    ranking still improved from 3 to 10 and from 10 to 30 epochs of CIFAR-10, each far
    past the rule (studies/nas_bench_macro); check a supernet with `scarlet-tf rank`
    before a search."""
    from scarlet_tf.training.supernet import train_supernet as train

    _, history = train(SupernetConfig(**settings), verbose=not quiet)
    if history:
        last = history[-1]
        click.echo(f"done: epoch {last['epoch']} loss {last['loss']:.4f} "
                   f"accuracy {last['accuracy']:.4f}; outputs in {settings['out']}")


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
    from scarlet_tf.standalone.training import train_subnet as train

    result = train(SubnetConfig(**settings), verbose=not quiet)
    click.echo(f"done: search accuracy {result['search_accuracy']:.4f}, test accuracy "
               f"{result['test_accuracy']:.4f}; outputs in {settings['out']}")
