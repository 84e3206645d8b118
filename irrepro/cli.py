"""Click pieces shared by ``simctl`` and ``imgctl``: one-line errors, count parameters, and
the options both tools spell the same way (--smoke, --scheduler, --workers, --progress,
--set). Nothing here imports TensorFlow, so ``--help`` answers at once."""
import sys

import click

from irrepro.config import parse_count
from irrepro.errors import UserError

CONTEXT = {"help_option_names": ["-h", "--help"]}


class Group(click.Group):
    """A click group whose user errors print as one line, ``PROG: error: MESSAGE``, exit 2.

    Covers both click's usage errors (bad flags) and ``UserError`` raised by the commands;
    anything else is a bug and keeps its traceback.
    """

    def main(self, args=None, prog_name=None, **kwargs):
        prog = prog_name or self.name
        kwargs.pop("standalone_mode", None)  # errors are always handled here
        try:
            return super().main(args=args, prog_name=prog_name, standalone_mode=False,
                                **kwargs)
        except click.exceptions.Abort:
            click.echo(f"{prog}: interrupted", err=True)
            sys.exit(130)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.ClickException as error:
            click.echo(f"{prog}: error: {error.format_message()}", err=True)
            sys.exit(2)
        except UserError as error:
            click.echo(f"{prog}: error: {error}", err=True)
            sys.exit(2)


class Count(click.ParamType):
    """A positive integer written as 1024, 2^10 or 2**10."""

    name = "N|2^k"

    def convert(self, value, param, ctx):
        try:
            return parse_count(value, param.opts[0] if param else "value")
        except UserError as error:
            self.fail(str(error), param, ctx)


COUNT = Count()


def _stack(*decorators):
    def apply(fn):
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn
    return apply


def smoke_option(what="config"):
    return click.option("--smoke", is_flag=True, help=f"Apply the {what}'s tiny 'smoke' scale.")


def executor_options(noun):
    """--scheduler and --workers: where the sweep's units run (irrepro.executors)."""
    return _stack(
        click.option("--scheduler", metavar="tcp://HOST:PORT", default=None,
                     help=f"Send the {noun} to this Dask distributed scheduler."),
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help=f"Start a local Dask cluster of N worker processes for the {noun}."))


progress_option = click.option("--progress/--no-progress", default=None,
                               help="Progress bars [default: on when stderr is a terminal].")

set_option = click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
                          help="Override any parameter of the config, e.g. --set lr=0.01 "
                               "(repeatable; values are YAML scalars).")
