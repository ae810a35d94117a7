"""The generator's served data can be trusted (issue #10, generator side): a batch is the
caller's own copy (editing it never changes later batches), a flipped byte in a checksummed page is an error, text counts its real size against
memory_budget, what the footers' statistics show is refused at construction, bools are not indices."""

import os
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagen import DataGenerator
from datagen.contract.errors import ColumnError, ConfigError, ShardError
from datagen.contract.hashing import sha256_file
from datagen.contract.manifest import read_manifest
from datagen.reader.decode import text_values
from manifest_edit import dump, load  # shards as entries, written back as the format's table


def _split(src_dir, out, *extra):
    from click.testing import CliRunner

    from splitters.cli import main

    r = CliRunner().invoke(main, [str(src_dir), "--out", str(out), "--time-column", "ts", "--no-progress", *extra])
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """60 rows in 3 shards (grouped by ``g``): ``f`` float, ``i`` int64 0..59, label ``lab`` int64 0..2,
    text ``s`` (7 values repeated, some nulls)."""
    src = tmp_path_factory.mktemp("trust-src")
    n = 60
    pq.write_table(pa.table({"ts": pa.array(np.arange(n) * 10**9, type=pa.timestamp("ns")),
                             "f": pa.array(np.arange(n) / 7, type=pa.float64()),
                             "i": pa.array(np.arange(n), type=pa.int64()),
                             "lab": pa.array(np.arange(n) % 3, type=pa.int64()),
                             "s": [None if k % 11 == 0 else f"s{k % 7}" for k in range(n)],
                             "g": np.arange(n) % 3}), src / "a.parquet")
    return _split(src, tmp_path_factory.mktemp("trust-ds") / "ds", "--label", "lab", "--group-by", "g")


# -- 1: a batch is the caller's own copy -------------------------------------------------------------
@pytest.mark.parametrize("shuffle", [False, True])
def test_in_place_edits_of_a_batch_never_change_later_batches_or_epochs(small, shuffle):
    gen = DataGenerator(small, ["f", "i"], label="lab", batch_size=8, shuffle=shuffle)
    first = [tuple(a.copy() for a in gen[k]) for k in range(len(gen))]
    for k in range(len(gen)):  # the caller owns what it gets: edit every batch in place
        x, y = gen[k]
        x -= 100
        y[:] = 99
    for epoch in (0, 1):  # a later epoch without shuffling serves the same cached window
        gen.set_epoch(epoch)
        if epoch == 0 or not shuffle:
            for k in range(len(gen)):
                assert all(np.array_equal(a, b) for a, b in zip(gen[k], first[k]))


def test_a_transform_still_gets_writable_copies(small):
    def shift(batch):
        x, y = batch
        x -= 100  # in place: allowed on the copies a transform receives
        return x, y

    plain = DataGenerator(small, ["f"], label="lab", batch_size=8)
    moved = DataGenerator(small, ["f"], label="lab", batch_size=8, transform=shift)
    for _ in range(2):
        assert np.array_equal(moved[0][0], plain[0][0] - 100)


# -- 2: page checksums ---------------------------------------------------------------------------
def _rewrite_with_checksums(directory):
    """Rewrite the first shard with CRC page checksums, uncompressed and plain-encoded (so a flipped
    byte would otherwise decode to a wrong value), keeping its row groups; update the manifest."""
    m = read_manifest(directory)
    shard = m.shards[0]
    path = os.path.join(directory, *shard.path.split("/"))
    pf = pq.ParquetFile(path)
    with pq.ParquetWriter(path + ".tmp", pf.schema_arrow, compression="none", use_dictionary=False,
                          write_page_checksum=True, write_statistics=True) as w:
        for rg in range(pf.num_row_groups):
            w.write_table(pf.read_row_group(rg))
    pf.close()
    os.replace(path + ".tmp", path)
    data = load((directory / "manifest.json"))
    entry = data["shards"][0]
    old = entry["bytes"]
    entry["bytes"], entry["sha256"] = os.path.getsize(path), sha256_file(path)
    data["totals"]["bytes"] += entry["bytes"] - old
    (directory / "manifest.json").write_text(dump(data, indent=2))
    return path


def test_a_flipped_byte_in_a_checksummed_page_is_a_shard_error(small, tmp_path):
    import shutil

    ds = tmp_path / "ds"
    shutil.copytree(small, ds)
    path = _rewrite_with_checksums(ds)
    good = DataGenerator(ds, ["f"], label="lab", batch_size=64)[0][0].copy()  # checksummed files read fine
    meta = pq.read_metadata(path)
    leaves = [meta.schema.column(i).path for i in range(meta.num_columns)]
    chunk = meta.row_group(0).column(leaves.index("f"))
    where = chunk.data_page_offset + chunk.total_compressed_size - 16  # inside the last values of "f"
    with open(path, "r+b") as fh:
        fh.seek(where)
        byte = fh.read(1)
        fh.seek(where)
        fh.write(bytes([byte[0] ^ 0x40]))
    gen = DataGenerator(ds, ["f"], label="lab", batch_size=64)  # same size, same footer: construction passes
    with pytest.raises(ShardError, match=r"shard '.*' is unreadable: row group 0: .*checksum") as info:
        gen[0]
    assert "\n" not in str(info.value)
    assert good.shape[0] == 60


# -- 3: text counts its real size ----------------------------------------------------------------
@pytest.fixture(scope="module")
def long_text(tmp_path_factory):
    """200 rows with a distinct 100 KB string each (``t``) and one 100 KB string repeated (``r``)."""
    src = tmp_path_factory.mktemp("text-src")
    n = 200
    pq.write_table(pa.table({"ts": pa.array(np.arange(n) * 10**9, type=pa.timestamp("ns")),
                             "t": [f"{k:06d}" + "x" * 100_000 for k in range(n)],
                             "r": ["y" * 100_000] * n,
                             "f": np.arange(n, dtype=np.float64)}), src / "a.parquet")
    return _split(src, tmp_path_factory.mktemp("text-ds") / "ds")


def test_long_text_counts_its_size_against_the_budget(long_text):
    with pytest.raises(ConfigError, match=r"memory_budget 1,048,576 bytes is too small: a row group of 200 rows"):
        DataGenerator(long_text, {"t": ["t"]}, batch_size=10, memory_budget=2**20)
    gen = DataGenerator(long_text, {"t": ["t"]}, batch_size=10, memory_budget=2**30)
    assert gen.source.decoded_row_bytes > 100_000
    values = np.concatenate([gen[k][0]["t"][:, 0] for k in range(len(gen))])
    assert values.tolist() == [f"{k:06d}" + "x" * 100_000 for k in range(200)]


def test_a_repeated_value_is_held_once(long_text):
    gen = DataGenerator(long_text, {"r": ["r"]}, batch_size=50, memory_budget=2**22)  # 20 MB if held per row
    assert gen.source.decoded_row_bytes < 2_000
    batch = gen[0][0]["r"][:, 0]
    assert batch.tolist() == ["y" * 100_000] * 50 and len({id(v) for v in batch}) == 1


def test_text_across_row_groups_and_shuffles_keeps_its_values(small):
    truth = sorted(((k / 7), "" if k % 11 == 0 else f"s{k % 7}") for k in range(60))
    for shuffle in (False, True):
        gen = DataGenerator(small, {"f": ["f"], "s": ["s"]}, batch_size=7, shuffle=shuffle, memory_budget=2**18)
        got = [(float(f), s or "") for k in range(len(gen)) for f, s in zip(gen[k][0]["f"][:, 0].astype(float),
                                                                           gen[k][0]["s"][:, 0])]
        assert sorted((round(f, 4), s) for f, s in got) == sorted((round(f, 4), s) for f, s in truth)


@settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.none(), st.text(max_size=300)), min_size=1, max_size=60), st.booleans(),
       st.booleans())
def test_text_values_match_pandas_and_fit_the_footer_estimate(tmp_path, values, dictionary, chunks):
    """Decoded text equals pyarrow's own conversion, and its memory (one pointer a row plus each
    distinct str object once) stays within the footer-based estimate of budget.py."""
    import sys

    from datagen.reader.budget import TEXT_OVERHEAD

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"t": pa.array(values, type=pa.string())}), path, use_dictionary=dictionary,
                   row_group_size=max(1, len(values) // 2) if chunks else None)
    pf = pq.ParquetFile(path, read_dictionary=["t"])
    meta = pf.metadata
    per_row = max(meta.row_group(g).column(0).total_uncompressed_size / meta.row_group(g).num_rows
                  for g in range(meta.num_row_groups))
    col = pf.read(columns=["t"]).column("t")
    got = text_values(col)
    assert got.dtype == object and got.tolist() == values
    used = 8 * len(got) + sum(sys.getsizeof(v) for v in {id(v): v for v in got if v is not None}.values())
    assert used <= len(got) * (per_row + TEXT_OVERHEAD)


# -- 4: refused at construction ------------------------------------------------------------------
def test_footer_statistics_refuse_at_construction(small):
    with pytest.raises(ColumnError, match=r"label column 'i' has value 59 \(Parquet statistics\).*\[0, 10\)"):
        DataGenerator(small, ["f"], label="i", num_classes=10)  # not the split's label: no label_counts
    assert len(DataGenerator(small, ["f"], label="i", num_classes=60, batch_size=64)[0][1][0]) == 60
    with pytest.raises(ConfigError, match=r"batch_size=61 leaves no batch: the selected shards hold only 60 rows"):
        DataGenerator(small, ["f"], batch_size=61, drop_remainder=True)
    assert len(DataGenerator(small, ["f"], batch_size=60, drop_remainder=True)) == 1
    with pytest.raises(ConfigError, match=r"sample_weight='f' needs a label column"):
        DataGenerator(small, ["f"], sample_weight="f")


# -- 5: bools and the float32 warning ------------------------------------------------------------
def test_bools_are_not_batch_indices(small):
    gen = DataGenerator(small, ["f"], label="lab", batch_size=8)
    for bad in (True, False, np.True_):
        with pytest.raises(TypeError, match=f"batch index must be an integer, got {bad!r}"):
            gen[bad]
        with pytest.raises(TypeError, match="batch index must be an integer"):
            gen.provenance(bad)
        with pytest.raises(TypeError, match="batch index must be an integer"):
            gen.source.batch(bad)
    assert len(gen[np.int64(1)][0]) == 8


def test_float32_warning_only_when_the_footers_show_big_integers(small):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DataGenerator(small, ["i", "f"], label="lab", sample_weight="i")  # int64, but all within ±2**24


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.one_of(st.none(), st.integers(-2**40, 2**40)), min_size=1, max_size=12),
                min_size=1, max_size=4), st.booleans())
def test_footer_stats_match_pandas(tmp_path, files, statistics):
    """Null count and min/max over several files and row groups equal pandas' own; without
    statistics the range is unknown (None), so the checks that need it stay per batch."""
    import pandas as pd

    from datagen.reader.footer_stats import footer_stats, value_range

    metas = []
    for k, values in enumerate(files):
        path = tmp_path / f"{k}.parquet"
        pq.write_table(pa.table({"v": pa.array(values, type=pa.int64())}), path, row_group_size=3,
                       write_statistics=statistics)
        metas.append(pq.read_metadata(path))
    s = footer_stats(metas, ["v"])["v"]
    ref = pd.Series([v for values in files for v in values], dtype="Int64")
    if not statistics:
        assert value_range(s) is None
        return
    assert s.nulls == int(ref.isna().sum())
    assert value_range(s) == (None if ref.isna().all() else (int(ref.min()), int(ref.max())))
