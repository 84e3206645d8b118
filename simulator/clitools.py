"""Click pieces shared by ``simctl`` and ``imgctl``: one-line errors and count parameters."""
import sys

import click

from simulator.errors import UserError


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
        from simulator.config import parse_count  # here: config loads Keras, imgctl must not

        try:
            return parse_count(value, param.opts[0] if param else "value")
        except UserError as error:
            self.fail(str(error), param, ctx)


COUNT = Count()
