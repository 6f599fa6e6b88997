"""Entry point: the ``scarlet-tf`` click group and its one-line error handling."""

from __future__ import annotations

import os
import sys

import click

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ notices off stderr

from scarlet_tf.errors import ScarletError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="scarlet-tf")
def cli():
    """SCARLET-NAS in Keras: train a stabilized supernet, search it, export to TFLite."""


def _register():
    from cli import evaluate, export, info, quickstart, search, subnet, train

    for module in (quickstart, info, train, evaluate, search, subnet, export):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv=None) -> None:
    """Run the CLI; bad input prints one ``error: ...`` line and exits with status 2."""
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
