"""The command-line edge: every exception -> one line on stderr and an exit code.

DatagenError -> ``error: <message>`` and its own exit code (2 for usage, 1 otherwise).
Anything else is a bug or a fault we did not foresee: as a last resort it becomes
``error: internal error: <type>: <message> (set DATAGEN_DEBUG=1 for a traceback)``,
exit 1. click's own exceptions (usage errors exit 2, ``--help``, ``Abort``) pass through
to click. ``DATAGEN_DEBUG=1`` re-raises unexpected exceptions with their traceback.
"""

from __future__ import annotations

import functools
import os
import sys

import click

from .errors import DatagenError

DEBUG_ENV = "DATAGEN_DEBUG"


def one_line(text: str, limit: int = 2000) -> str:
    """Collapse ``text`` onto one line (at most ``limit`` characters)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def report_errors(fn):
    """Decorate a click command so that no exception ends it with a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DatagenError as exc:
            click.echo(f"error: {one_line(exc)}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except (SystemExit, click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except BrokenPipeError:
            # stdout closed by the reader (e.g. `| head`): nothing more to say, and nowhere to say it
            try:
                sys.stdout = open(os.devnull, "w")
            except OSError:
                pass
            sys.exit(1)
        except Exception as exc:  # the last resort: never a traceback for a user
            if os.environ.get(DEBUG_ENV, "").strip() not in ("", "0"):
                raise
            detail = one_line(exc) or "(no message)"
            click.echo(f"error: internal error: {type(exc).__name__}: {detail} "
                       f"(set {DEBUG_ENV}=1 for a traceback)", err=True)
            sys.exit(1)

    return wrapper
