"""Shared assertions for CLI tests: a command failed with one ``error:`` line and the given exit code,
whether it ran in-process (click's ``Result``: ``fails``) or as a real process (``error_line``)."""


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
