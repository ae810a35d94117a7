"""Shard files are checked against the manifest, by DataGenerator and datagen verify alike:
a corrupt footer, a same-size replacement with another schema, other row groups or unknown
_source_id, a symlink out of DIR or a FIFO give one line naming the shard, never a traceback
and never a hang; verify says OK only where the generator accepts."""

import io
import os
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from datagen import DataGenerator
from datagen.contract.errors import DatagenError, ShardError
from datagen.contract.manifest import read_manifest
from datagen.contract.verify import verify_dataset
from gen_fixtures import FEATURES
from manifest_edit import dump, load  # shards as entries, written back as the format's table


@pytest.fixture
def copy(dataset, tmp_path):
    out = tmp_path / "ds"
    shutil.copytree(dataset, out)
    return out


def _victim(copy):
    return copy / read_manifest(copy).shards[0].path


def _same_size(table: pa.Table, size: int, row_group_size=None, **kwargs) -> bytes:
    """``table`` as Parquet of exactly ``size`` bytes (padded with key-value metadata; rows are
    cut only if the file would otherwise be too big)."""
    def write(t: pa.Table, pad: int) -> bytes:
        buf = io.BytesIO()
        options = {"compression": "zstd", "use_dictionary": ["category"], **kwargs}
        with pq.ParquetWriter(buf, t.schema, store_schema=False, **options) as writer:
            writer.write_table(t, row_group_size=row_group_size)
            if pad:
                writer.add_key_value_metadata({"pad": "x" * pad})
        return buf.getvalue()

    while len(write(table, 0)) > size - 40:
        table = table.slice(0, len(table) * 9 // 10)
    base = len(write(table, 0))
    for pad in range(max(1, size - base - 40), size - base + 1):  # a pad of n adds 10 + n bytes
        data = write(table, pad)
        if len(data) == size:
            return data
    raise AssertionError("could not pad the replacement to the shard's size")


def _replace(copy, change):
    victim = _victim(copy)
    size = victim.stat().st_size
    table = pq.read_table(victim)
    table, kwargs = change(table)
    victim.write_bytes(_same_size(table, size, **kwargs))
    assert victim.stat().st_size == size


def _drop_column(t):
    return t.drop_columns(["f0"]), {}


def _retype_column(t):
    return t.set_column(t.column_names.index("f0"), "f0", pc.cast(t.column("f0"), pa.float64())).slice(0, 300), {}


def _extra_column(t):
    return t.append_column("extra", pa.array(np.zeros(len(t), np.int8))), {}


def _unknown_source_id(t):
    i = t.column_names.index("_source_id")
    return t.set_column(i, "_source_id", pa.array(np.full(len(t), 99, np.int32))), {}


def _other_row_groups(t):
    return t, {"row_group_size": 100}


def _no_statistics(t):
    return t, {"write_statistics": False}


def _corrupt_footer(copy):
    victim = _victim(copy)
    data = bytearray(victim.read_bytes())
    footer_len = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - footer_len
    data[start:start + footer_len] = bytes([0xFF]) * footer_len
    victim.write_bytes(bytes(data))


def _huge_footer_length(copy):
    victim = _victim(copy)
    data = bytearray(victim.read_bytes())
    data[-8:-4] = (2**31 - 1).to_bytes(4, "little")
    victim.write_bytes(bytes(data))


def _not_parquet(copy):
    victim = _victim(copy)
    victim.write_bytes(b"\0" * victim.stat().st_size)


def _symlinked_dir_outside(copy):
    victim = _victim(copy)
    outside = copy.parent / "elsewhere"
    shutil.move(victim.parent, outside)  # identical, valid files, but outside DIR
    victim.parent.symlink_to(outside, target_is_directory=True)


def _symlinked_file_outside(copy):
    victim = _victim(copy)
    outside = copy.parent / "elsewhere.parquet"
    shutil.move(victim, outside)
    victim.symlink_to(outside)


def _fifo(copy):
    victim = _victim(copy)
    victim.unlink()
    os.mkfifo(victim)


def _directory(copy):
    victim = _victim(copy)
    victim.unlink()
    victim.mkdir()


CASES = [
    ("missing-column", lambda c: _replace(c, _drop_column), "column 'f0' is missing"),
    ("other-type", lambda c: _replace(c, _retype_column), "column 'f0' has type double"),
    ("extra-column", lambda c: _replace(c, _extra_column), "column 'extra'"),
    ("unknown-source-id", lambda c: _replace(c, _unknown_source_id), "_source_id values 99..99"),
    ("other-row-groups", lambda c: _replace(c, _other_row_groups), "row groups"),
    ("no-statistics", lambda c: _replace(c, _no_statistics), "no statistics"),
    ("corrupt-footer", _corrupt_footer, "Parquet"),
    ("huge-footer-length", _huge_footer_length, "Parquet"),
    ("zeros", _not_parquet, "Parquet"),
    ("dir-symlink-outside", _symlinked_dir_outside, "outside"),
    ("file-symlink-outside", _symlinked_file_outside, "outside"),
    ("fifo", _fifo, "not a regular file"),
    ("directory", _directory, "not a regular file"),
]


@pytest.mark.parametrize("damage,needle", [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_shard_is_one_line_and_verify_agrees(copy, run_datagen, damage, needle):
    shard = read_manifest(copy).shards[0].path
    damage(copy)
    for args in (("verify",), ("verify", "--quick")):
        r = run_datagen(args[0], copy, *args[1:])
        assert r.exit_code == 1 and "Traceback" not in r.output
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 2 and f"shard {shard}:" in lines[0] and lines[1].startswith("FAILED: 1 of 12"), r.stderr
        if args == ("verify", "--quick"):
            assert needle in lines[0], lines[0]
    r = run_datagen("provenance", copy, "--features", "f0,f1", "--batch", "0")
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and shard in r.stderr and needle in r.stderr, r.stderr
    assert run_datagen("show", copy).exit_code == 0  # show reads the manifest only
    with pytest.raises(ShardError, match=needle) as info:
        DataGenerator(copy, FEATURES, label="label")
    assert shard in str(info.value) and "\n" not in str(info.value)
    # a filter that leaves the shard out never touches it
    DataGenerator(copy, FEATURES, label="label", where="month > 1")


def test_verify_lists_every_problem(copy, run_datagen):
    m = read_manifest(copy)
    _replace(copy, _drop_column)
    (copy / m.shards[4].path).unlink()
    other = copy / m.shards[7].path
    other.write_bytes(other.read_bytes() + b"x")
    report = verify_dataset(copy, full_hash=False)
    assert len(report.problems) == 3 and report.checked == 12
    assert [p.split(":")[0] for p in report.problems] == [f"mismatched shard {m.shards[0].path}",
                                                           f"missing shard {m.shards[4].path}",
                                                           f"changed shard {m.shards[7].path}"]


def test_verify_ok_means_the_generator_accepts(copy, run_datagen):
    assert run_datagen("verify", copy).exit_code == 0
    assert run_datagen("verify", "--quick", copy).exit_code == 0
    DataGenerator(copy, FEATURES, label="label", verify="sha256")
    # a symlink that stays inside DIR is fine for both
    victim = _victim(copy)
    inside = copy / "kept.parquet"
    shutil.move(victim, inside)
    victim.symlink_to(inside)
    assert run_datagen("verify", copy).exit_code == 0
    gen = DataGenerator(copy, FEATURES, label="label")
    assert sum(len(gen[i][0]) for i in range(len(gen))) == gen.num_rows


def test_full_verify_catches_a_same_size_change_the_footer_cannot_see(copy, run_datagen):
    victim = _victim(copy)
    data = bytearray(victim.read_bytes())
    data[len(data) // 3] ^= 0x01  # inside a data page
    victim.write_bytes(bytes(data))
    assert run_datagen("verify", "--quick", copy).exit_code == 0  # the footer still matches
    DataGenerator(copy, FEATURES)
    r = run_datagen("verify", copy)
    assert r.exit_code == 1 and "sha256" in r.stderr
    with pytest.raises(ShardError, match="sha256"):
        DataGenerator(copy, FEATURES, verify="sha256")


def test_shard_changed_after_construction_fails_on_open_with_shard_error(copy):
    gen = DataGenerator(copy, FEATURES, label="label", batch_size=100)
    _replace(copy, _drop_column)
    with pytest.raises(ShardError, match="column 'f0' is missing"):
        gen[0]
    with pytest.raises(ShardError):
        gen.provenance(0)


def test_row_group_read_failure_after_construction_is_shard_error(copy):
    gen = DataGenerator(copy, FEATURES, label="label", batch_size=100)
    gen[0]  # the footer is now cached: the file is read with it
    victim = _victim(copy)
    victim.write_bytes(b"\xff" * victim.stat().st_size)
    gen.source.windows.clear()
    with pytest.raises(DatagenError, match=read_manifest(copy).shards[0].path):
        gen[0]


def test_manifest_row_groups_that_disagree_with_the_file(copy, run_datagen):
    path = copy / "manifest.json"
    data = load(path)
    rows = data["shards"][0]["rows"]
    data["shards"][0]["row_groups"] = [rows - 1, 1]  # consistent with rows, not with the file
    path.write_text(dump(data))
    r = run_datagen("verify", "--quick", copy)
    assert r.exit_code == 1 and "row groups" in r.stderr
    with pytest.raises(ShardError, match="row groups"):
        DataGenerator(copy, FEATURES)


def test_arrow_dataset_refuses_a_symlink_out_of_dir_and_reads_a_good_copy(copy):
    from datagen.dataset import arrow_dataset

    assert arrow_dataset(copy).to_table().num_rows == sum(s.rows for s in read_manifest(copy).shards)
    _symlinked_dir_outside(copy)
    with pytest.raises(ShardError, match="outside"):
        arrow_dataset(copy)


# -- property: damage inside a shard's data never escapes as anything but a DatagenError ----------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@pytest.fixture(scope="module")
def damaged_copy(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("damage") / "ds"
    shutil.copytree(dataset, out)
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_same_size_damage_is_caught_or_harmless(damaged_copy, data):
    m = read_manifest(damaged_copy)
    index = data.draw(st.integers(0, len(m.shards) - 1))
    victim = damaged_copy / m.shards[index].path
    original = victim.read_bytes()
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 20))):
        at = data.draw(st.integers(4, len(damaged) - 9))  # keep the magic bytes and the footer length
        damaged[at] = data.draw(st.integers(0, 255))
    victim.write_bytes(bytes(damaged))
    try:
        report = verify_dataset(damaged_copy, full_hash=True)  # never raises; the damage is a finding
        assert [p.split(":")[0] for p in report.problems] in ([], [f"changed shard {m.shards[index].path}"])
        try:
            gen = DataGenerator(damaged_copy, FEATURES, label="label", batch_size=2000, where=f"month == {index + 1}")
            for i in range(len(gen)):
                gen[i]
                gen.provenance(i)
        except DatagenError as exc:
            assert "\n" not in str(exc)
    finally:
        victim.write_bytes(original)


@pytest.mark.parametrize("damage", [_corrupt_footer, _fifo, _symlinked_dir_outside], ids=["footer", "fifo", "symlink"])
def test_bad_shard_subprocess_prints_no_traceback_and_does_not_hang(copy, damage):
    from cli_checks import cli_process

    damage(copy)
    for args in (["verify", copy], ["provenance", copy, "--features", "f0", "--batch", "0"]):
        r = cli_process("datagen.app.cli", *args, timeout=120)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert read_manifest(copy).shards[0].path in r.stderr
