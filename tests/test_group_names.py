"""Group column names are exact (a column ' carrier ' from an Excel export can be a group column):
a list (YAML --config, Python) keeps every character, the comma-separated --group-by flag strips
spaces around names; "not found" errors list the first 10 columns, quoted so spaces show."""

import pyarrow as pa
import pyarrow.parquet as pq

from cli_checks import fails
from datagen.contract.manifest import read_manifest
from splitters.config import SplitConfig


def _csv(tmp_path):
    src = tmp_path / "export.csv"
    src.write_text("ts, carrier ,v\n2024-01-01T00:00:00Z,AA,1\n2024-01-02T00:00:00Z,BB,2\n2024-01-02T01:00:00Z,AA,3\n")
    return src


def test_spaced_column_through_a_yaml_list(tmp_path, run_split):
    cfg = tmp_path / "split.yaml"
    cfg.write_text("group_by: [' carrier ', day]\n")
    out = tmp_path / "ds"
    r = run_split(_csv(tmp_path), "--out", out, "--time-column", "ts", "--config", cfg)
    assert r.exit_code == 0, r.output
    m = read_manifest(out)
    assert [g.name for g in m.group_columns] == [" carrier ", "day"]
    assert sorted((s.group[" carrier "], s.group["day"], s.rows) for s in m.shards) == [("AA", 1, 1), ("AA", 2, 1),
                                                                                         ("BB", 2, 1)]
    assert m.config["group_by"] == [" carrier ", "day"]
    assert all(s.path.startswith("%20carrier%20=") for s in m.shards)
    more = tmp_path / "more.csv"
    more.write_text("ts, carrier ,v\n2024-01-03T00:00:00Z,CC,4\n")
    r = run_split(more, "--out", out, "--append")   # the stored exact names are used again
    assert r.exit_code == 0, r.output
    assert ("CC", 3) in {(s.group[" carrier "], s.group["day"]) for s in read_manifest(out).shards}


def test_flag_strips_and_the_error_says_how(tmp_path, run_split):
    r = run_split(_csv(tmp_path), "--out", tmp_path / "ds", "--time-column", "ts", "--group-by", " carrier , day")
    fails(r, 2, "group column 'carrier' not found", "did you mean ' carrier '?", "group_by: [' carrier ']",
          "(columns: 'ts', ' carrier ', 'v')")
    assert SplitConfig(inputs=["a"], out="o", group_by="month, day").group_by == ["month", "day"]
    assert SplitConfig(inputs=["a"], out="o", group_by=[" a", "b "]).group_by == [" a", "b "]


def test_not_found_lists_the_first_ten_columns(tmp_path, run_split):
    src = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": [i] for i in range(15)}), src)
    out = tmp_path / "ds"
    line = fails(run_split(src, "--out", out, "--group-by", "carrier"), 2, "group column 'carrier' not found",
                 "(columns: 'c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9' and 5 more)")
    assert "c10" not in line
    fails(run_split(src, "--out", out, "--group-by", "c0", "--label", "y"), 2, "label column 'y' not found",
          "and 5 more")
    fails(run_split(src, "--out", out, "--group-by", "c0", "--time-column", "t"), 2, "time column 't' not found",
          "'c9' and 5 more")
