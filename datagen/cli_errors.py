"""The command-line edge: DatagenError -> one line on stderr and its exit code."""

from __future__ import annotations

import functools
import sys

import click

from .errors import DatagenError


def report_errors(fn):
    """Decorate a click command so our errors end it cleanly, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DatagenError as exc:
            message = " ".join(str(exc).split("\n"))
            click.echo(f"error: {message}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper
