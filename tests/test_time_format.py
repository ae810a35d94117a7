"""``--time-format``: text times in a layout other than ISO-8601 (``01/05/2024 10:00:00 PM`` in many
public tables) are read by a strptime format. Random times written in random layouts split into the
same groups and instants as pandas' ``to_datetime(format=...)`` says, with the zone rules of ISO text
(an offset: an instant; no time of day: a date at local midnight in --timezone; otherwise a wall-clock
time in --naive-timezone); an --append reuses the stored format; bad values and bad formats are refused
in one line."""

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_checks import fails
from datagen.contract.manifest import read_manifest

LAYOUTS = {  # format -> its kind (timeformat.format_kind)
    "%m/%d/%Y %I:%M:%S %p": "wall-clock",
    "%d.%m.%Y %H:%M": "wall-clock",
    "%Y%m%d%H%M%S": "wall-clock",
    "%m/%d/%Y": "date",
    "%d-%b-%y": "date",
    "%d/%m/%Y %H:%M:%S %z": "instant",
}
moments = st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2060, 1, 1)).map(
    lambda d: d.replace(microsecond=0))
offsets = st.sampled_from([0, 60, -300, 330, -570])


def reference(stamps: list[dt.datetime], minutes: list[int], fmt: str, zone: str, naive_zone: str) -> pd.Series:
    """The instants (UTC) pandas reads from the written text, with the zone rules of the module doc."""
    kind = LAYOUTS[fmt]
    if kind == "instant":
        text = [s.replace(tzinfo=dt.timezone(dt.timedelta(minutes=m))).strftime(fmt) for s, m in zip(stamps, minutes)]
        return pd.to_datetime(pd.Series(text), format=fmt, utc=True)
    wall = pd.to_datetime(pd.Series([s.strftime(fmt) for s in stamps]), format=fmt)
    local = wall.dt.tz_localize(zone if kind == "date" else naive_zone, ambiguous=True, nonexistent="shift_forward")
    return local.dt.tz_convert("UTC")


def stored(out) -> pd.DataFrame:
    m = read_manifest(out)
    frames = []
    for s in m.shards:
        f = pq.read_table(out / s.path).to_pandas()
        f["hour"] = s.group["hour"]
        frames.append(f)
    return pd.concat(frames).sort_values("k").reset_index(drop=True)


@settings(deadline=None, max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stamps=st.lists(moments, min_size=1, max_size=8), fmt=st.sampled_from(sorted(LAYOUTS)),
       minutes=st.lists(offsets, min_size=8, max_size=8),
       zone=st.sampled_from(["UTC", "America/New_York"]), naive_zone=st.sampled_from(["UTC", "Asia/Kolkata"]))
def test_times_in_a_format_match_pandas(tmp_path_factory, run_split, stamps, fmt, minutes, zone, naive_zone):
    tmp = tmp_path_factory.mktemp("fmt")
    minutes = minutes[:len(stamps)]
    if LAYOUTS[fmt] == "instant":
        text = [s.replace(tzinfo=dt.timezone(dt.timedelta(minutes=m))).strftime(fmt) for s, m in zip(stamps, minutes)]
    else:
        text = [s.strftime(fmt) for s in stamps]
    pd.DataFrame({"when": text, "k": range(len(text))}).to_csv(tmp / "t.csv", index=False)
    out = tmp / "ds"
    r = run_split(tmp / "t.csv", "--out", out, "--time-column", "when", "--group-by", "date,hour",
                  "--time-format", fmt, "--timezone", zone, "--naive-timezone", naive_zone)
    assert r.exit_code == 0, r.output
    got = stored(out)
    want = reference(stamps, minutes, fmt, zone, naive_zone)
    assert list(got["when"].dt.tz_convert("UTC")) == list(want)
    assert list(got["hour"]) == list(want.dt.tz_convert(zone).dt.hour)


def test_append_reuses_the_stored_format(tmp_path, run_split):
    fmt = "%m/%d/%Y %I:%M:%S %p"
    pd.DataFrame({"when": ["01/05/2024 10:00:00 PM", "01/06/2024 01:30:00 AM"], "x": [1.0, 2.0]}).to_csv(
        tmp_path / "a.csv", index=False)
    pd.DataFrame({"when": ["01/07/2024 12:00:00 AM", "01/07/2024 12:00:00 PM"], "x": [3.0, 4.0]}).to_csv(
        tmp_path / "b.csv", index=False)
    out = tmp_path / "ds"
    assert run_split(tmp_path / "a.csv", "--out", out, "--time-column", "when", "--group-by", "day",
                     "--time-format", fmt).exit_code == 0
    fails(run_split(tmp_path / "b.csv", "--out", out, "--append", "--time-format", "%d/%m/%Y %I:%M:%S %p"), 2,
          "--time-format", "was split with")
    r = run_split(tmp_path / "b.csv", "--out", out, "--append")
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    assert m.config["time_format"] == fmt
    times = pd.concat([pq.read_table(out / s.path).to_pandas() for s in m.shards])["when"]
    assert sorted(times.dt.strftime("%Y-%m-%d %H:%M")) == ["2024-01-05 22:00", "2024-01-06 01:30",
                                                           "2024-01-07 00:00", "2024-01-07 12:00"]


def test_values_that_do_not_match_are_bad_times(tmp_path, run_split):
    (tmp_path / "a.csv").write_text("when,x\n01/05/2024 10:00:00 PM,1\n2024-01-06T01:30:00,2\n\n")
    out = tmp_path / "ds"
    args = ("--out", out, "--time-column", "when", "--group-by", "day", "--time-format", "%m/%d/%Y %I:%M:%S %p")
    fails(run_split(tmp_path / "a.csv", *args), 1, "does not match --time-format", "a.csv:row 1",
          "2024-01-06T01:30:00")
    assert not out.exists() or not (out / "manifest.json").exists()
    r = run_split(tmp_path / "a.csv", *args, "--on-bad-time", "drop")
    assert r.exit_code == 0 and read_manifest(out).totals.rows_written == 1


def test_without_a_format_the_error_points_to_it(tmp_path, run_split):
    (tmp_path / "a.csv").write_text("when,x\n01/05/2024 10:00:00 PM,1\n")
    fails(run_split(tmp_path / "a.csv", "--out", tmp_path / "ds", "--time-column", "when", "--group-by", "day"),
          1, "cannot be parsed", "pass --time-format")


@pytest.mark.parametrize("fmt, message", [
    ("%m/%d", "with a year"), ("%Y-%Q", "not a format pandas can read"), ("", "expected a strptime format")])
def test_bad_formats_are_refused(tmp_path, run_split, fmt, message):
    (tmp_path / "a.csv").write_text("when,x\n2024,1\n")
    fails(run_split(tmp_path / "a.csv", "--out", tmp_path / "ds", "--time-column", "when", "--group-by", "day",
                    "--time-format", fmt), 2, "time_format", message)
    fails(run_split(tmp_path / "a.csv", "--out", tmp_path / "ds2", "--group-by", "x", "--time-format", "%Y"), 2,
          "--time-format given without --time-column")
    assert np.all([not (tmp_path / d).exists() for d in ("ds", "ds2")])


def test_digits_are_read_by_the_format_and_times_are_refused(tmp_path, run_split):
    """Integer digits (20240105) are read by the format, in CSV (even with --time-unit, which then only sets
    the resolution) and Parquet; a timestamp or float time column with --time-format is refused (the
    format would read nothing; digits with --time-unit alone were filed in 1970)."""
    import pyarrow as pa

    (tmp_path / "d.csv").write_text("t,x\n20240105,0\n20240106,1\n20231231,2\n")
    pq.write_table(pa.table({"t": pa.array([20240105, 20231231]), "x": [0, 1]}), tmp_path / "d.parquet")
    for source, extra in (("d.csv", ()), ("d.csv", ("--time-unit", "s")), ("d.parquet", ())):
        out = tmp_path / f"out-{source}-{len(extra)}"
        r = run_split(tmp_path / source, "--out", out, "--time-column", "t", "--group-by", "date",
                      "--time-format", "%Y%m%d", *extra)
        assert r.exit_code == 0, r.output
        dates = sorted(s.group["date"] for s in read_manifest(out).shards)
        assert dates == (["2023-12-31", "2024-01-05", "2024-01-06"] if source == "d.csv" else ["2023-12-31", "2024-01-05"])
    pq.write_table(pa.table({"t": pa.array([dt.datetime(2024, 1, 5)]), "x": [0]}), tmp_path / "ts.parquet")
    pq.write_table(pa.table({"t": pa.array([1.5]), "x": [0]}), tmp_path / "f.parquet")
    for source in ("ts.parquet", "f.parquet"):
        fails(run_split(tmp_path / source, "--out", tmp_path / "no", "--time-column", "t", "--group-by", "date",
                        "--time-format", "%Y%m%d"), 2, "--time-format reads times written as text", "leave --time-format out")


def test_escaped_percent_signs_are_text(tmp_path, run_split):
    from splitters.timeformat import format_kind

    assert format_kind("%Y-%m-%d %%H") == "date" and format_kind("%Y-%m-%d %H:%M") == "wall-clock"
    (tmp_path / "a.csv").write_text("when,x\n2024,1\n")
    fails(run_split(tmp_path / "a.csv", "--out", tmp_path / "ds", "--time-column", "when", "--group-by", "day",
                    "--time-format", "%%Y-%m-%d"), 2, "with a year")


def test_a_rows_fate_never_hangs_on_its_block(tmp_path, run_split):
    """One value with 7 fraction digits made pandas parse its whole block at nanoseconds, so a valid year-9999
    row in the same block was bad: the result depended on --blocksize."""
    rows = ["05/01/2024 10:00:00.1234567"] + [f"05/01/2024 10:{i % 60:02d}:00.5" for i in range(1, 2999)]
    rows.append("31/12/9999 00:00:00.0")
    (tmp_path / "bs.csv").write_text("t,x\n" + "".join(f"{r},{i}\n" for i, r in enumerate(rows)))
    kept = []
    for blocksize in ("64MB", "16KB"):
        out = tmp_path / f"o{blocksize}"
        r = run_split(tmp_path / "bs.csv", "--out", out, "--time-column", "t", "--group-by", "year", "--time-format",
                      "%d/%m/%Y %H:%M:%S.%f", "--on-bad-time", "drop", "--blocksize", blocksize)
        assert r.exit_code == 0, r.output
        kept.append(read_manifest(out).totals.rows_written)
    assert kept == [2999, 2999]   # only the 7-digit fraction is bad (finer than a microsecond)


def test_append_into_an_iso_dataset_names_what_it_was_split_with(tmp_path, run_split):
    (tmp_path / "a.csv").write_text("when,x\n2024-01-05T10:00:00,1\n")
    assert run_split(tmp_path / "a.csv", "--out", tmp_path / "ds", "--time-column", "when", "--group-by", "day").exit_code == 0
    fails(run_split(tmp_path / "a.csv", "--out", tmp_path / "ds", "--append", "--time-format", "%Y-%m-%d"), 2,
          "was split with no --time-format (ISO-8601 times)")


def test_a_categorical_time_column_has_missing_times(tmp_path, run_split):
    import pyarrow as pa

    times = pa.array(["2024-01-05T10:00:00", None, "", "NA", " "]).cast(pa.dictionary(pa.int32(), pa.string()))
    pq.write_table(pa.table({"t": times, "x": range(5)}), tmp_path / "c.parquet")
    r = run_split(tmp_path / "c.parquet", "--out", tmp_path / "ds", "--time-column", "t", "--group-by", "date")
    assert r.exit_code == 0, r.output
    assert read_manifest(tmp_path / "ds").totals.missing_times == 4
