"""Options shared by several commands."""

from __future__ import annotations

import functools

import click

from scarlet_tf.names import DEFAULT_RECAL_BATCHES, OPTIMIZERS
from scarlet_tf.space.spaces import SPACE_NAMES
from scarlet_tf.training.configs import RECIPE, defaults


def space_options(default: str = "scarlet"):
    """``--space``, ``--width``, ``--num-classes``, ``--input-size`` for a search space."""

    def decorate(command):
        for option in reversed([
            click.option("--space", type=click.Choice(SPACE_NAMES), default=default,
                         show_default=True, help="Search space."),
            click.option("--width", type=float, default=1.0, show_default=True,
                         help="Channel multiplier (channels rounded to multiples of 8)."),
            click.option("--num-classes", type=int, default=None,
                         help="Classifier width [default: the space's or the dataset's]."),
            click.option("--input-size", type=int, default=None,
                         help="Image side in pixels [default: 224 for scarlet, 32 for "
                              "scarlet-cifar]."),
        ]):
            command = option(command)
        return command

    return decorate


DATASET_HELP = "digits, a folder/.tar.gz with train/ and test/, or tfds:NAME."


def by_space(key: str) -> str:
    """The help suffix of a setting whose default is the space's (configs.RECIPE), e.g.
    ``[default: 64; nas-bench-macro: 128]``."""
    spaces = "; ".join(f"{space}: {values[key]}" for space, values in RECIPE.items()
                       if space != "default")
    return f" [default: {RECIPE['default'][key]}; {spaces}]"


def training_options(config_class, out_help: str):
    """The options every training command shares, defaults read from ``config_class``
    (a :mod:`scarlet_tf.training.configs` dataclass), then ``--quiet``."""
    d = defaults(config_class)
    shown = {"show_default": True}
    options = [
        click.option("--out", required=True, type=click.Path(file_okay=False), help=out_help),
        click.option("--space", type=click.Choice(SPACE_NAMES), default=d["space"], **shown),
        click.option("--width", type=float, default=d["width"], help="Channel multiplier.",
                     **shown),
        click.option("--input-size", type=int, default=d["input_size"],
                     help="Image side in pixels [default: the space's]."),
        click.option("--dataset", default=d["dataset"], help=DATASET_HELP, **shown),
        click.option("--epochs", type=int, default=d["epochs"], **shown),
        click.option("--steps-per-epoch", type=int, default=d["steps_per_epoch"],
                     help="Cap on steps per epoch [default: one pass over the train split]."),
        click.option("--batch-size", type=int, default=None,
                     help="Global batch size, split across replicas." + by_space("batch_size")),
        click.option("--lr", type=float, default=d["lr"],
                     help="Peak learning rate (after linear warm-up).", **shown),
        click.option("--warmup-epochs", type=float, default=None,
                     help="Linear learning-rate warm-up." + by_space("warmup_epochs")),
        click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=d["optimizer"],
                     help="sgd: Nesterov momentum 0.9; rmsprop: rho 0.9, momentum 0.9.",
                     **shown),
        click.option("--weight-decay", type=float, default=None,
                     help="L2 on kernels." + by_space("weight_decay")),
        click.option("--label-smoothing", type=float, default=None,
                     help="Label smoothing." + by_space("label_smoothing")),
        click.option("--zero-init-residual/--no-zero-init-residual",
                     default=d["zero_init_residual"],
                     help="Start every residual MBConv as the identity (projection "
                          "BatchNorm gamma 0): faster early training, and in a supernet "
                          "all paths agree at initialization.", **shown),
        click.option("--replicas", type=int, default=d["replicas"],
                     help="CPU only: split the CPU into N devices for MirroredStrategy "
                          "(GPUs are all used automatically; TF_CONFIG selects "
                          "multi-worker).", **shown),
        click.option("--seed", type=int, default=d["seed"], **shown),
        click.option("--overwrite", is_flag=True, help="Delete an existing run in --out first."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def supernet_option(help="A train-supernet output directory."):
    """The required ``--supernet`` run directory (checked by the run reader, one way)."""
    return click.option("--supernet", "supernet_dir", required=True,
                        type=click.Path(file_okay=False), help=help)


def dataset_option(help=f"{DATASET_HELP} [default: the supernet's]"):
    """``--dataset`` to score on (None: the one the supernet was trained on)."""
    return click.option("--dataset", default=None, help=help)


def recal_batches_option(help, minimum=1):
    """``--recal-batches``: training batches averaged into each path's BatchNorm statistics
    (``minimum=0`` where 0 means the stored statistics)."""
    return click.option("--recal-batches", type=click.IntRange(min=minimum),
                        default=DEFAULT_RECAL_BATCHES, show_default=True, help=help)


def max_images_option(help):
    """``--max-images``: score on at most this many images of the split (a fair prefix)."""
    return click.option("--max-images", type=click.IntRange(min=1), default=None, help=help)


def fast_first_trace(command):
    """Opt ``command`` into :func:`scarlet_tf.network.handles.fast_first_run` (Grappler's
    rewrites off for the process) before it runs: for the commands that trace the
    switched supernet, whose first step they lengthen several-fold."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        from scarlet_tf.network.handles import fast_first_run

        fast_first_run()
        return command(*args, **kwargs)

    return run
