"""Running the two command lines in-process (``split_cli``, ``datagen_cli``: what the ``run_split`` and
``run_datagen`` fixtures give), and the shared assertion that a command failed with one ``error:`` line and
the given exit code, whether it ran in-process (click's ``Result``: ``fails``) or as a process (``cli_process``, ``error_line``)."""


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


def cli_process(module, *args, cwd=None, env=None, timeout=300):
    """``python -m MODULE ARGS`` as a real process (so a traceback would reach the terminal) with this
    checkout first on the path, TensorFlow quiet, DATAGEN_DEBUG unset and ``env`` added; its CompletedProcess."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    full = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "TF_CPP_MIN_LOG_LEVEL": "3",
            **(env or {})}
    full.pop("DATAGEN_DEBUG", None)
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=timeout)


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
