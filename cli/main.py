"""Entry point: the ``scarlet-tf`` click group and its one-line error handling.

Commands are registered by name and their modules imported only when that command runs
or shows its help, so ``--help``, ``info`` and argument errors never load TensorFlow.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from pathlib import Path

import click

import scarlet_tf
from scarlet_tf.errors import ScarletError
from scarlet_tf.quiet import quiet_tensorflow

# command name -> "module:attribute", modules relative to this package
COMMANDS = {
    "quickstart": ".quickstart:quickstart",
    "info": ".info:info",
    "train-supernet": ".train:train_supernet",
    "eval": ".evaluate:evaluate",
    "search": ".search:search",
    "train-subnet": ".train:train_subnet",
    "rank": ".evaluate:rank",
    "analyze": ".evaluate:analyze",
    "export-tflite": ".export:export_tflite",
    "benchmark": ".latency:benchmark",
    "latency-table": ".latency:latency_table",
}


class LazyGroup(click.Group):
    """A group whose commands are imported from :data:`COMMANDS` on first use."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module, __package__), attribute)


@click.group(cls=LazyGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="scarlet-tf")
def cli():
    """SCARLET-NAS in Keras: train a stabilized supernet, search it, export to TFLite."""


def show_warning(message, category, filename, lineno, file=None, line=None):
    """scarlet_tf's own warnings as one ``warning: ...`` line; other libraries' are dropped."""
    if Path(filename).resolve().is_relative_to(Path(scarlet_tf.__file__).resolve().parent):
        click.echo(f"warning: {message}", err=True)


def main(argv=None) -> None:
    """Run the CLI; bad input prints one ``error: ...`` line and exits with status 2."""
    quiet_tensorflow()
    warnings.showwarning = show_warning
    try:
        result = cli.main(args=argv, prog_name="scarlet-tf", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        click.echo(f"error: {err.format_message()}", err=True)
        sys.exit(2)
    except ScarletError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("error: interrupted; finished work is saved and the command resumes "
                   "when run again", err=True)
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
