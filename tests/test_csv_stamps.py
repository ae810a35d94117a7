"""A CSV timestamp column's type is the same whatever --blocksize, and holds every value: seconds
without fractions, ns when its values fit ns's range, us beyond it, text when digits below the
microsecond meet a value beyond ns's range (a 9999 sentinel)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csv_cases import shard_hashes, split_rows

FRACTION_AND_SENTINEL = "".join(f"2024-01-01T00:00:{i % 60:02d}Z,{i % 2},2020-01-02T03:04:05.123456\n"
                                for i in range(150)) + "2024-01-01T00:00:00Z,1,9999-12-31T00:00:00\n"


def _split(tmp_path, run_split, body, blocksize):
    src = tmp_path / "a.csv"
    src.write_text("t,g,x\n" + body)
    out = tmp_path / f"out{blocksize}"
    got, m = split_rows(run_split, src, out, "--blocksize", str(blocksize), group_by="g")
    return got, m, shard_hashes(out)


def test_fractions_and_a_9999_sentinel_give_the_same_split_at_any_blocksize(tmp_path, run_split):
    runs = [_split(tmp_path, run_split, FRACTION_AND_SENTINEL, bs) for bs in (256, 1000, 4096, 64 << 20)]
    assert {r[1].column_types["x"] for r in runs} == {"timestamp[us]"}
    assert len({tuple(sorted(r[2].values())) for r in runs}) == 1
    got = runs[0][0]["x"]
    assert str(got.iloc[-1])[:10] == "9999-12-31" and got.iloc[0].microsecond == 123456


def test_nanoseconds_with_a_9999_sentinel_are_text_at_any_blocksize(tmp_path, run_split):
    body = FRACTION_AND_SENTINEL.replace(".123456", ".123456789")
    for bs in (256, 64 << 20):
        got, m, _ = _split(tmp_path, run_split, body, bs)
        assert m.column_types["x"] == "string"
        assert got["x"].iloc[0] == "2020-01-02T03:04:05.123456789" and got["x"].iloc[-1] == "9999-12-31T00:00:00"


VALUES = {"s": "2020-01-02T03:04:05", "frac": "2020-01-02T03:04:05.5", "us": "2020-01-02T03:04:05.123456",
          "ns": "2020-01-02T03:04:05.123456789", "far": "9999-12-31T00:00:00", "date": "2021-03-04", "none": ""}


def _expected(kinds: set[str]) -> str:
    """The rule, stated over the set of values (not their blocks)."""
    kinds = kinds - {"none"}
    if not kinds - {"date"}:
        return "date32[day]" if kinds else "string"
    if not kinds & {"frac", "us", "ns"}:
        return "timestamp[ms]"             # Parquet stores seconds as ms
    if "far" not in kinds:
        return "timestamp[ns]"
    return "string" if "ns" in kinds else "timestamp[us]"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(sorted(VALUES)), min_size=1, max_size=80), st.sampled_from([256, 600, 2000]))
def test_type_follows_the_values_not_the_blocks(tmp_path_factory, run_split, kinds, blocksize):
    tmp = tmp_path_factory.mktemp("stamps")
    body = "".join(f"2024-01-01T00:00:00Z,{i % 2},{VALUES[k]}\n" for i, k in enumerate(kinds))
    _, small, small_hashes = _split(tmp, run_split, body, blocksize)
    _, whole, whole_hashes = _split(tmp, run_split, body, 64 << 20)
    assert small.column_types["x"] == whole.column_types["x"] == _expected(set(kinds))
    assert sorted(small_hashes.values()) == sorted(whole_hashes.values())
