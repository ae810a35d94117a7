"""The command-line edge: every exception -> one line on stderr and an exit code.

DatagenError -> ``error: <message>`` and its own exit code (2 for usage, 1 otherwise).
Anything else is a bug or a fault we did not foresee: as a last resort it becomes
``error: internal error: <type>: <message> (set DATAGEN_DEBUG=1 for a traceback)``,
exit 1. SIGTERM and SIGHUP are handled like Ctrl-C (clean-up runs; exit 128 + signal).
click's own exceptions (usage errors exit 2, ``--help``, ``Abort``) pass through
to click. ``DATAGEN_DEBUG=1`` re-raises unexpected exceptions with their traceback.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading

import click

from datagen.contract.errors import DatagenError

DEBUG_ENV = "DATAGEN_DEBUG"
# a command run as a child of datagen (datagen/app/child.py) finds here the pipe on which it says that it
# handles signals itself; until then its parent holds the signals it would forward
READY_FD_ENV = "DATAGEN_CHILD_READY_FD"


def tell_parent_ready() -> None:
    """Say to a parent datagen (``run_child``) that signals now reach ``report_errors``'s handling: a Ctrl-C
    before this point, while the interpreter starts or imports, would end the child with a traceback or a
    fatal error. Without such a parent, nothing to do."""
    fd = os.environ.pop(READY_FD_ENV, "")
    if not fd.isdigit():
        return
    try:
        os.write(int(fd), b"1")
    except OSError:   # the parent is gone: the kernel's death signal ends us
        pass
    finally:
        with contextlib.suppress(OSError):
            os.close(int(fd))


def one_line(text: str, limit: int = 2000) -> str:
    """Collapse ``text`` onto one line (at most ``limit`` characters)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


class Terminated(BaseException):
    """SIGTERM or SIGHUP (``kill``, ``timeout``, a batch scheduler, a closed terminal): raised in the
    main thread, so the same clean-up runs as for Ctrl-C (a failed split removes what it wrote)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _terminate(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def _signals_as_exceptions():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _terminate) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def report_errors(fn):
    """Decorate a click command so that no exception ends it with a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with _signals_as_exceptions():
                return fn(*args, **kwargs)
        except Terminated as exc:
            click.echo(f"terminated ({exc})", err=True)
            sys.exit(128 + exc.signum)
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


class OneLineErrors:
    """Mixin for the top-level click command/group: click's own errors (unknown option,
    bad value, missing argument) become one ``error:`` line too, exit 2 (1 for an abort)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `datagen`: click's help, as click shows it
                exc.show()
                sys.exit(exc.exit_code)
            hint = ""
            ctx = getattr(exc, "ctx", None)
            if ctx is not None and ctx.command.get_help_option(ctx) is not None:
                hint = f" (see '{ctx.command_path} --help')"
            click.echo(f"error: {one_line(exc.format_message())}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)


class Command(OneLineErrors, click.Command):
    """``click.Command`` with one-line errors."""


class Group(OneLineErrors, click.Group):
    """``click.Group`` with one-line errors."""
