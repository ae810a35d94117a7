"""Shared assertion for CLI tests: a command failed with one ``error:`` line and the given exit code."""


def fails(result, code, *needles):
    """``result`` (click's) exited ``code`` with exactly one ``error: ...`` line on stderr containing
    every needle, and no traceback anywhere; returns that line."""
    assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
    err = result.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in result.output, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err
