"""Issue 12 item 6: a group value whose escaped directory name would exceed the file-name limit
is written under a shortened directory ``key=<first <=100 escaped bytes>%7eh<16 hex of sha256>``
(read back by pyarrow/DuckDB as ``<prefix>~h<hash>``), with the full value in the manifest, so
``where``, provenance, the generator and ``arrow_dataset`` see the true value; ``verify`` and the
manifest rules accept the shortened path and only it."""

import hashlib
from urllib.parse import quote, unquote

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings, strategies as st

from datagen import DataGenerator
from datagen.contract.errors import ManifestError
from gen_fixtures import stamps, write_parquet
from datagen.contract.hive import MAX_SEGMENT_BYTES, encode_segment, group_dir
from datagen.contract.longvalues import MAX_DIR_BYTES
from datagen.contract.manifest import read_manifest
from datagen.dataset import arrow_dataset
from cli_checks import fails
from manifest_edit import dump, load  # shards as entries, written back as the format's table


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def _split(tmp_path, run_split, values, name="c", extra=()):
    n = len(values)
    src = write_parquet(tmp_path / "src" / "p.parquet",
                        {"t": stamps(n, step_s=1), name: values, "x": np.arange(n, dtype=np.float32)})
    out = tmp_path / "out"
    r = run_split(src, "--out", out, "--time-column", "t", "--group-by", name, *extra)
    return r, out


def test_long_values_split_with_shortened_directories(tmp_path, run_split, run_datagen):
    values = ["a" * 300, "b" * 1000, "a" * 200 + "X" * 100, "a" * 200 + "Y" * 100, "short", "a" * 300]
    r, out = _split(tmp_path, run_split, values)
    assert r.exit_code == 0, r.stderr
    assert "note: 4 of 5 group directories are shortened" in r.stderr and "manifest keeps the full values" in r.stderr
    m = read_manifest(out)
    by_value = {s.group["c"]: s for s in m.shards}
    assert sorted(by_value) == sorted(set(values))
    for value, shard in by_value.items():
        segment = shard.path.split("/")[0]
        assert len(segment.encode()) <= MAX_SEGMENT_BYTES
        if value == "short":
            assert segment == "c=short"
        else:
            assert segment == f"c={value[:100]}%7eh{_hash(value)}"
    assert len({s.path.split("/")[0] for s in m.shards}) == 5, "values sharing 200 characters get their own directory"
    assert run_datagen("verify", out).exit_code == 0
    # datagen's readers see the full value
    table = arrow_dataset(out).to_table().sort_by("x")
    assert table.column("c").to_pylist() == values
    gen = DataGenerator(out, ["x"], batch_size=8, where=f"c == '{'b' * 1000}'")
    assert gen[0][0][:, 0].tolist() == [1.0]
    gen = DataGenerator(out, ["x"], batch_size=8, where="c in ['" + "a" * 300 + "', 'short']")
    assert sorted(gen[0][0][:, 0].tolist()) == [0.0, 4.0, 5.0]
    prov = gen.provenance(0)
    assert sorted(prov["c"]) == ["a" * 300, "a" * 300, "short"]
    # DuckDB (and pyarrow's own hive reader) decode the shortened key from the path
    got = duckdb.sql(f"select x, c from read_parquet('{out}/**/*.parquet', hive_partitioning=true) order by x").fetchall()
    assert got[1] == (1.0, "b" * 100 + "~h" + _hash("b" * 1000))
    assert got[4] == (4.0, "short")


@pytest.mark.parametrize("char,fits", [("é", 33), ("€", 22), ("😀", 16), ("a", 198)])
def test_multibyte_values_at_the_limit(tmp_path, run_split, char, fits):
    """``fits`` characters give exactly the longest plain segment or just under; one more is shortened,
    and the prefix ends on a whole character (it decodes as valid UTF-8)."""
    at, over = char * fits, char * (fits + 1)
    assert len(f"c={quote(at, safe='')}".encode()) <= MAX_SEGMENT_BYTES < len(f"c={quote(over, safe='')}".encode())
    r, out = _split(tmp_path, run_split, [at, over])
    assert r.exit_code == 0, r.stderr
    segments = {s.group["c"]: s.path.split("/")[0] for s in read_manifest(out).shards}
    assert segments[at] == f"c={quote(at, safe='')}"
    short = segments[over]
    prefix = unquote(short[2:short.index("%7eh")], errors="strict")
    assert over.startswith(prefix) and len(quote(prefix, safe="")) <= 100 < len(quote(prefix + char, safe=""))
    hive = ds.dataset(out, format="parquet", partitioning="hive", exclude_invalid_files=True).to_table()
    assert sorted(hive.column("c").to_pylist()) == sorted([at, prefix + "~h" + _hash(over)])
    assert sorted(arrow_dataset(out).to_table().column("c").to_pylist()) == sorted([at, over])


def test_a_real_value_spelled_like_a_shortened_one_stays_apart(tmp_path, run_split, run_datagen):
    long = "z" * 300
    lookalike = "z" * 100 + "~h" + _hash(long)   # what readers decode the shortened directory to
    lookalike2 = "z" * 100 + "%7eh" + _hash(long)   # the shortened directory's own spelling
    r, out = _split(tmp_path, run_split, [long, lookalike, lookalike2])
    assert r.exit_code == 0, r.stderr
    m = read_manifest(out)
    dirs = {s.group["c"]: s.path.split("/")[0] for s in m.shards}
    assert len(set(dirs.values())) == 3
    assert dirs[lookalike] == f"c={lookalike}" and dirs[lookalike2] == "c=" + quote(lookalike2, safe="")
    assert run_datagen("verify", out).exit_code == 0
    assert sorted(arrow_dataset(out).to_table().sort_by("x").column("c").to_pylist()) == sorted([long, lookalike,
                                                                                                   lookalike2])


def test_manifest_rules_tie_a_shortened_directory_to_its_value(tmp_path, run_split):
    r, out = _split(tmp_path, run_split, ["q" * 300, "q" * 301])
    assert r.exit_code == 0
    data = load((out / "manifest.json"))
    data["shards"][0]["group"]["c"], data["shards"][1]["group"]["c"] = (data["shards"][1]["group"]["c"],
                                                                        data["shards"][0]["group"]["c"])
    (out / "manifest.json").write_text(dump(data))
    with pytest.raises(ManifestError, match="shard lies in directory"):
        read_manifest(out)


def test_plain_directories_of_older_splits_are_still_accepted():
    """A directory longer than MAX_DIR_BYTES that an older split wrote plain still matches its group."""
    from datagen.contract.hive import plain_dir

    keys = [f"k{i}" for i in range(20)]
    values = tuple("v" * 180 for _ in keys)
    assert len(group_dir(keys, values)) <= MAX_DIR_BYTES < len(plain_dir(keys, values))


def test_many_long_columns_fit_the_path_limit(tmp_path, run_split, run_datagen):
    """20 columns of 190-character values make a 3.9 KB directory: the longest segments are shortened
    until it fits MAX_DIR_BYTES, so the shard path fits PATH_MAX."""
    cols = {f"c{i:02d}": [chr(97 + i % 26) * 190, chr(97 + i % 26) * 189] for i in range(20)}
    src = tmp_path / "w.parquet"
    pq.write_table(pa.table({"t": stamps(2, step_s=1), **cols, "x": [1.0, 2.0]}), src)
    r = run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--group-by", ",".join(cols))
    assert r.exit_code == 0, r.stderr
    m = read_manifest(tmp_path / "o")
    for s in m.shards:
        assert len(s.path.rsplit("/", 1)[0].encode()) <= MAX_DIR_BYTES
        assert "%7eh" in s.path
    assert run_datagen("verify", tmp_path / "o").exit_code == 0
    t = arrow_dataset(tmp_path / "o").to_table().sort_by("x")
    assert t.column("c05").to_pylist() == cols["c05"]


def test_a_value_longer_than_the_manifest_holds_is_refused(tmp_path, run_split):
    r, out = _split(tmp_path, run_split, ["w" * 70_000, "ok"])
    fails(r, 2, "group column 'c' holds a value of 70,000 characters", "at most 65,536")
    assert not out.exists()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(min_size=0, max_size=300),
                          st.text(alphabet=st.sampled_from("a~h%7eéZ0"), min_size=90, max_size=260)),
                min_size=1, max_size=12, unique=True))
def test_segments_are_short_injective_and_decode(values):
    """Against the plain encoding: a value keeps it when it fits 200 bytes; otherwise the segment is
    the plain encoding's first whole characters (<= 100 bytes), the marker and the hash. No two values
    share a segment, and every segment fits and decodes as UTF-8."""
    segments = [encode_segment("c", v) for v in values]
    assert len(set(segments)) == len(values)
    for v, seg in zip(values, segments):
        plain = "c=" + quote(v, safe="")
        if v == "__HIVE_DEFAULT_PARTITION__":
            continue
        assert len(seg.encode()) <= MAX_SEGMENT_BYTES
        if len(plain) <= MAX_SEGMENT_BYTES:
            assert seg == plain
        else:
            head, digest = seg[2:].split("%7eh")
            assert digest == hashlib.sha256(v.encode("utf-8", "surrogatepass")).hexdigest()[:16]
            assert plain[2:].startswith(head) and len(head) <= 100
            assert v.startswith(unquote(head, errors="strict"))
