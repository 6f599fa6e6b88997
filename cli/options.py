"""Options shared by several commands."""

from __future__ import annotations

import click

from scarlet_tf.space import SPACE_NAMES


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


zero_init_option = click.option(
    "--zero-init-residual/--no-zero-init-residual", default=True, show_default=True,
    help="Start every residual MBConv as the identity (projection BatchNorm gamma 0): "
         "faster early training, and in a supernet all paths agree at initialization.")
