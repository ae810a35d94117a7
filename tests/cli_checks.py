"""Running the two command lines in-process (``split_cli``, ``datagen_cli``: what the ``run_split`` and
``run_datagen`` fixtures give), and the shared assertion that a command failed with one ``error:`` line and
the given exit code, whether it ran in-process (click's ``Result``: ``fails``) or as a process (``error_line``)."""


def split_cli(*args):
    """``split-datasets ARGS --no-progress`` through click's CliRunner; returns its Result (an exception
    the command lets escape propagates)."""
    from click.testing import CliRunner

    from splitters.cli import main

    return CliRunner().invoke(main, [str(a) for a in args] + ["--no-progress"], catch_exceptions=False)


def datagen_cli(*args):
    """``datagen ARGS`` through click's CliRunner; returns its Result (exceptions propagate)."""
    from click.testing import CliRunner

    from datagen.app.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def error_line(code, stdout, stderr, want, *needles):
    """A command that exited ``code`` with ``stdout``/``stderr`` exited ``want`` with exactly one
    ``error: ...`` line on stderr containing every needle, and no traceback anywhere; returns that line."""
    assert code == want, (code, stdout, stderr)
    err = stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "Traceback" not in stdout and "Traceback" not in stderr, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def fails(result, code, *needles):
    """``result`` (click's) exited ``code`` with exactly one ``error: ...`` line on stderr containing
    every needle, and no traceback anywhere; returns that line."""
    return error_line(result.exit_code, result.output, result.stderr, code, *needles)
