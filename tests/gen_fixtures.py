"""Data the tests share: small time-stamped Parquet tables (``stamps``, ``write_parquet``) and the small split
dataset of the generator tests (made once per session)."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.app.sample import write_sample

FEATURES = [f"f{i}" for i in range(4)]
ROWS = 12_000


def stamps(n: int, step_s: int = 3_600, start: int = 0) -> pa.Array:
    """``n`` UTC nanosecond timestamps ``step_s`` seconds apart, the first ``start`` steps after the epoch."""
    return pa.array((np.arange(n) + start) * step_s * 10**9, type=pa.timestamp("ns", "UTC"))


def write_parquet(path, columns, **write_options):
    """Write ``columns`` (a table or a dict of columns) to ``path``, making its folder; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(columns if isinstance(columns, pa.Table) else pa.table(columns), path, **write_options)
    return path


@pytest.fixture(scope="session")
def dataset(tmp_path_factory):
    """12,000 rows in 3 Parquet files, split by month into 12 shards with 1,024-row row groups."""
    from cli_checks import split_cli

    src = tmp_path_factory.mktemp("gen-src")
    write_sample(src, files=3, rows_per_file=ROWS // 3, seed=5, features=4, row_group_size=1_000)
    out = tmp_path_factory.mktemp("gen-ds") / "by-month"
    r = split_cli(src, "--out", out, "--time-column", "event_time", "--group-by", "month", "--label", "label",
                  "--row-group-size", "1024")
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="session")
def sources(dataset):
    """Source path -> the source file as a DataFrame (row i = source record i)."""
    from datagen.contract.manifest import read_manifest

    return {s.path: pq.read_table(s.path).to_pandas() for s in read_manifest(dataset).sources}


def source_rows(sources, prov: pd.DataFrame) -> pd.DataFrame:
    """The source records a provenance table points at, in its order."""
    return pd.DataFrame([sources[p].iloc[r] for p, r in zip(prov["source"], prov["source_row"])])
