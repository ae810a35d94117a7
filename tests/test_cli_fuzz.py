"""Random option values through split-datasets and datagen: whatever the value, the
command either succeeds or ends with exactly one ``error:`` line (exit 1, or 2 for a
usage error), never a traceback or an "internal error", and a failed split leaves no
``--out`` behind."""


import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from cli_checks import split_cli
from gen_fixtures import stamps, write_parquet

OPTIONS = ["--memory-limit", "--scheduler", "--timezone", "--group-by", "--label", "--time-unit", "--row-group-size",
           "--max-rows-per-shard", "--min-compression-saving", "--workers", "--on-bad-time", "--compression"]
values = st.one_of(
    st.text(max_size=12).filter(lambda s: "\x00" not in s),
    st.sampled_from(["0", "-1", "1", "1e400", "nan", "inf", "-inf", "1e-300", "9" * 30, "infMB", "4GB", "-4GB",
                     "tcp://", "tcp://:1", "tcp://localhost:notaport", "local", "UTC", "month", "day,month",
                     "v", "t", "s", "ns", ",", "month,,day", "true", "false", "0.5", "1.0", "drop", "lz4"]),
)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    write_parquet(d / "in.parquet", {"t": stamps(30), "v": np.arange(30), "y": np.arange(30) % 2})
    return d


def _one_error_line(result):
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        return
    assert result.exit_code in (1, 2), (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "internal error" not in lines[0], result.stderr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(OPTIONS), values), min_size=1, max_size=3))
def test_split_options_never_give_a_traceback(source, tmp_path_factory, pairs):
    import dask

    from splitters.cli import main

    out = tmp_path_factory.mktemp("out") / "o"
    args = [str(source / "in.parquet"), "--out", str(out), "--time-column", "t", "--no-progress"]
    for option, value in pairs:
        args += [option, value]
    with dask.config.set({"datagen.connect-timeout": "1s"}):
        result = CliRunner().invoke(main, args, catch_exceptions=True)
    _one_error_line(result)
    if result.exit_code:
        assert not out.exists()
    else:
        assert (out / "manifest.json").is_file()


GEN_OPTIONS = ["--epoch", "--features", "--label", "--batch-size", "--seed", "--memory-budget", "--format"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(GEN_OPTIONS), values), min_size=1, max_size=3))
def test_provenance_options_never_give_a_traceback(source, tmp_path_factory, pairs):
    from datagen.app.cli import main as datagen_main

    ds = source / "ds"
    if not ds.exists():
        r = split_cli(source / "in.parquet", "--out", ds, "--time-column", "t")
        assert r.exit_code == 0, r.stderr
    args = ["provenance", str(ds), "--batch", "0", "--features", "v"]
    for option, value in pairs:
        args += [option, value]
    result = CliRunner().invoke(datagen_main, args, catch_exceptions=True)
    _one_error_line(result)
