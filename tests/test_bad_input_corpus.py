"""A corpus of bad inputs run through every CLI command (``split-datasets`` and each
``datagen`` subcommand). For every case: the exit code is 1 (2 for a usage error),
stderr is exactly one line starting with ``error:``, no ``Traceback`` anywhere, and
nothing is left behind: the working directory (inputs, an existing dataset, a would-be
``--out``) is exactly as it was before, byte for byte.

Add a case by appending a ``Case`` to ``CASES`` (and, if it needs a new input file, a
line to ``_build_corpus``). Most cases run in-process through click's CliRunner; the
ones marked ``subprocess=True`` also run as real processes, proving that no traceback
reaches the terminal.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from cli_checks import cli_process, error_line, split_cli
from gen_fixtures import stamps
from manifest_edit import dump, load  # shards as entries, written back as the format's table

ROOT = Path(__file__).resolve().parent.parent
SPLIT = "split-datasets"
DATAGEN = "datagen"


@dataclass(frozen=True)
class Case:
    id: str
    prog: str                    # SPLIT or DATAGEN
    args: tuple[str, ...]        # run with the corpus directory as the working directory
    code: int                    # 1, or 2 for a usage error
    needles: tuple[str, ...] = ()
    subprocess: bool = False     # also run as a real process (python -m ...)


def split(id, *args, code=1, needles=(), sub=False, out="out", time="t"):
    """A split-datasets case; ``--out``/``--time-column`` are added unless given."""
    extra = []
    if "--out" not in args and out:
        extra += ["--out", out]
    if "--time-column" not in args and time:
        extra += ["--time-column", time]
    return Case(id, SPLIT, tuple(args) + tuple(extra), code, tuple(needles), sub)


def dg(id, *args, code=1, needles=(), sub=False):
    return Case(id, DATAGEN, tuple(args), code, tuple(needles), sub)


CASES = [
    # --- inputs (item 5, A13) ---
    split("truncated-csv-gz", "trunc.csv.gz", needles=("trunc.csv.gz", "truncated"), sub=True),
    split("not-gzip-csv-gz", "junk.csv.gz", needles=("junk.csv.gz", "corrupt")),
    split("not-parquet", "fake.parquet", needles=("fake.parquet",)),
    split("empty-csv", "empty.csv", needles=("empty.csv", "empty")),
    split("empty-parquet", "empty.parquet", needles=("empty.parquet", "empty")),
    split("empty-csv-gz", "emptygz.csv.gz", needles=("emptygz.csv.gz",)),
    split("header-only-csv", "header.csv", needles=("no rows",)),
    split("csv-without-header", "noheader.csv", code=2, needles=("time column 't' not found", "noheader.csv")),
    split("duplicate-column-parquet", "dup.parquet", needles=("dup.parquet", "'v' more than once")),
    split("duplicate-column-csv", "dup.csv", needles=("dup.csv", "'v' more than once")),
    split("csv-latin1", "latin1.csv", needles=("latin1.csv", "column 'g' is not UTF-8")),
    split("csv-trailing-comma-header", "trail.csv", needles=("trail.csv", "column 3 has an empty name")),
    split("broken-symlink-in-dir", "brokendir", needles=("dangling.parquet", "broken symbolic link")),
    split("broken-symlink-given", "brokendir/dangling.parquet", needles=("broken symbolic link",)),
    split("symlink-loop", "loopdir", needles=("self.parquet",)),
    split("dir-without-data", "nodata", needles=("nodata", "no .csv")),
    split("no-such-input", "missing.parquet", needles=("missing.parquet", "no such file")),
    split("glob-matches-nothing", "*.orc", needles=("no file matches",)),
    split("unknown-format", "notes.txt", needles=("notes.txt", "unknown format")),
    split("text-vs-int-column", "mismatch", needles=("schema mismatch: column 'v'", "a.parquet", "b.parquet")),
    split("int-too-big-for-float", "lossy", needles=("big.parquet", "column 'v'", "does not fit double")),
    split("missing-column-in-one-file", "lacks", needles=("lacks column 'v'",)),
    # --- split options and config files (items 1, 2, 6) ---
    split("memory-limit-1e400", "good.parquet", "--memory-limit", "1e400", code=2, needles=("memory_limit", "1e400"),
          sub=True),
    split("memory-limit-infMB", "good.parquet", "--memory-limit", "infMB", code=2, needles=("memory_limit",)),
    split("memory-limit-negative", "good.parquet", "--memory-limit", "-4GB", code=2, needles=("memory_limit",)),
    split("memory-limit-huge", "good.parquet", "--memory-limit", "99999999999TB", code=2, needles=("memory_limit",)),
    split("yaml-memory-limit-inf", "good.parquet", "--config", "mem-inf.yaml", code=2, needles=("memory_limit",)),
    split("yaml-label-list", "good.parquet", "--config", "label-list.yaml", code=2,
          needles=("label: expected a string",), sub=True),
    split("yaml-overwrite-string-keeps-dataset", "good.parquet", "--out", "ds", "--config", "overwrite-str.yaml",
          code=2, needles=("overwrite: expected true or false",)),
    split("yaml-compact-no", "good.parquet", "--config", "compact-no.yaml", code=2, needles=("compact",)),
    split("yaml-group-by-nested", "good.parquet", "--config", "groupby-nested.yaml", code=2, needles=("group_by",)),
    split("yaml-workers-float", "good.parquet", "--config", "workers-float.yaml", code=2, needles=("workers",)),
    split("yaml-unknown-key", "good.parquet", "--config", "unknown-key.yaml", code=2, needles=("unknown key 'colour'",)),
    split("yaml-key-twice", "good.parquet", "--config", "twice.yaml", code=2, needles=("given twice",)),
    split("yaml-not-a-mapping", "good.parquet", "--config", "list.yaml", code=2, needles=("expected a mapping",)),
    split("yaml-invalid", "good.parquet", "--config", "broken.yaml", code=2, needles=("not valid YAML",)),
    split("yaml-too-deep", "good.parquet", "--config", "deep.yaml", code=2, needles=("deep.yaml",)),
    split("yaml-not-utf8", "good.parquet", "--config", "binary.yaml", code=2, needles=("binary.yaml",)),
    split("yaml-duplicate-key", "good.parquet", "--config", "dupkey.yaml", code=2,
          needles=("'group_by' is given more than once",)),
    split("config-dev-null", "good.parquet", "--config", "/dev/null", code=2, needles=("not a regular file",)),
    dg("prov-config-both-spellings", "provenance", "ds", "--batch", "0", "--config", "g-spellings.yaml", code=2,
       needles=("given twice",)),
    dg("prov-config-duplicate-key", "provenance", "ds", "--batch", "0", "--config", "g-dupkey.yaml", code=2,
       needles=("'features' is given more than once",)),
    split("config-missing", "good.parquet", "--config", "nope.yaml", code=2, needles=("nope.yaml",)),
    split("config-is-a-directory", "good.parquet", "--config", "nodata", code=2, needles=("nodata",)),
    split("scheduler-not-a-port", "good.parquet", "--scheduler", "tcp://localhost:notaport", code=2,
          needles=("scheduler", "notaport"), sub=True),
    split("scheduler-port-zero", "good.parquet", "--scheduler", "tcp://localhost:0", code=2, needles=("scheduler",)),
    split("scheduler-not-tcp", "good.parquet", "--scheduler", "http://x:1", code=2, needles=("scheduler",)),
    split("scheduler-unreachable", "good.parquet", "--scheduler", "tcp://127.0.0.1:9", code=1,
          needles=("cannot reach the Dask scheduler", "127.0.0.1:9")),
    split("workers-zero", "good.parquet", "--workers", "0", code=2, needles=("workers",)),
    split("row-group-size-small", "good.parquet", "--row-group-size", "5", code=2, needles=("row_group_size",)),
    split("min-saving-nan", "good.parquet", "--min-compression-saving", "nan", code=2,
          needles=("min_compression_saving",)),
    split("timezone-unknown", "good.parquet", "--timezone", "Mars/Base", code=2, needles=("Mars/Base",)),
    split("group-by-empty-name", "good.parquet", "--group-by", "month,,day", code=2, needles=("group_by",)),
    split("missing-out", "good.parquet", code=2, out=None, needles=("--out",)),
    split("missing-time-column", "good.parquet", code=2, time=None, needles=("--time-column",)),
    split("missing-inputs", code=2, needles=("INPUTS",)),
    split("click-bad-choice", "good.parquet", "--compression", "gzip", code=2, needles=("--compression",)),
    split("click-unknown-option", "good.parquet", "--colour", "blue", code=2, needles=("--colour",)),
    split("click-not-an-int", "good.parquet", "--workers", "many", code=2, needles=("--workers",)),
    # --- datagen show / verify ---
    dg("show-missing-dir", "show", "missing", needles=("missing",)),
    dg("show-a-file", "show", "afile", needles=("afile",)),
    dg("show-no-manifest", "show", "nodata", needles=("manifest.json",)),
    dg("show-garbage-manifest", "show", "garbage", needles=("garbage", "JSON")),
    dg("verify-missing-dir", "verify", "missing", needles=("missing",)),
    dg("verify-no-manifest", "verify", "nodata", needles=("manifest.json",)),
    dg("verify-garbage-manifest", "verify", "garbage", needles=("JSON",)),
    dg("show-no-argument", "show", code=2, needles=("DIRECTORY",)),
    # --- datagen log / vacuum (versions) ---
    dg("log-missing-dir", "log", "missing", needles=("missing",)),
    dg("log-garbage-manifest", "log", "garbage", needles=("JSON",)),
    dg("vacuum-no-manifest", "vacuum", "nodata", "--keep", "1", needles=("manifest.json",)),
    dg("vacuum-keep-zero", "vacuum", "ds", "--keep", "0", code=2, needles=("--keep",)),
    dg("vacuum-no-keep", "vacuum", "ds", code=2, needles=("--keep",)),
    dg("compact-no-manifest", "compact", "nodata", needles=("manifest.json",)),
    dg("show-version-absent", "show", "ds", "--version", "9", code=2, needles=("versions are 1..",)),
    # --- datagen provenance ---
    dg("prov-config-label-list", "provenance", "ds", "--batch", "0", "--config", "g-label-list.yaml", code=2,
       needles=("label",), sub=True),
    dg("prov-config-shuffle-no", "provenance", "ds", "--batch", "0", "--config", "g-shuffle-no.yaml", code=2,
       needles=("shuffle",)),
    dg("prov-config-budget-inf", "provenance", "ds", "--batch", "0", "--config", "g-budget-inf.yaml", code=2,
       needles=("memory_budget",)),
    dg("prov-config-features-nested", "provenance", "ds", "--batch", "0", "--config", "g-features-nested.yaml",
       code=2, needles=("features",)),
    dg("prov-config-unknown-key", "provenance", "ds", "--batch", "0", "--config", "g-unknown.yaml", code=2,
       needles=("unknown key 'colour'",)),
    dg("prov-config-missing", "provenance", "ds", "--batch", "0", "--config", "nope.yaml", code=2,
       needles=("nope.yaml",)),
    dg("prov-memory-budget-infMB", "provenance", "ds", "--batch", "0", "--features", "v", "--memory-budget", "infMB",
       code=2, needles=("memory_budget",)),
    dg("prov-batch-out-of-range", "provenance", "ds", "--batch", "99", "--features", "v", code=2, needles=("--batch",)),
    dg("prov-negative-epoch", "provenance", "ds", "--batch", "0", "--epoch", "-1", "--features", "v", code=2,
       needles=("--epoch",)),
    dg("prov-no-features", "provenance", "ds", "--batch", "0", code=2, needles=("--features",)),
    dg("prov-batch-not-int", "provenance", "ds", "--batch", "x", "--features", "v", code=2, needles=("--batch",)),
    dg("prov-missing-batch", "provenance", "ds", "--features", "v", code=2, needles=("--batch",)),
    dg("prov-missing-dataset", "provenance", "missing", "--batch", "0", "--features", "v", needles=("missing",)),
    # --- datagen sample / demo (item 7) ---
    dg("sample-out-is-a-file", "sample", "--out", "afile", needles=("afile", "not a directory"), sub=True),
    dg("sample-out-not-empty", "sample", "--out", "nodata", needles=("not empty",)),
    dg("sample-rows-zero", "sample", "--out", "s", "--rows", "0", code=2, needles=("--rows",)),
    dg("sample-files-zero", "sample", "--out", "s", "--files", "0", code=2, needles=("--files",)),
    dg("sample-negative-seed", "sample", "--out", "s", "--seed", "-1", code=2, needles=("--seed",)),
    dg("sample-bad-format", "sample", "--out", "s", "--format", "orc", code=2, needles=("--format",)),
    dg("sample-out-in-proc", "sample", "--out", "/proc/self/x", needles=("/proc/self/x",)),
    dg("sample-out-under-a-file", "sample", "--out", "afile/x", needles=("afile/x", "Not a directory")),
    dg("sample-out-name-too-long", "sample", "--out", "x" * 300, needles=("too long",)),
    dg("sample-rows-huge", "sample", "--out", "s", "--rows", "99999999999999999999", code=2, needles=("--rows",)),
    dg("sample-out-empty", "sample", "--out", "", code=2, needles=("--out",)),
    dg("demo-out-in-proc", "demo", "--out", "/proc/self/x", needles=("/proc/",)),
    dg("demo-rows-huge", "demo", "--rows", "99999999999999999999", "--out", "d", code=2, needles=("--rows",)),
    dg("demo-too-few-rows", "demo", "--rows", "2000", "--out", "d", code=2, needles=("--rows",), sub=True),
    dg("demo-zero-epochs", "demo", "--epochs", "0", "--out", "d", code=2, needles=("--epochs",)),
    dg("demo-out-is-a-file", "demo", "--out", "afile", needles=("afile",)),
    dg("demo-out-not-empty", "demo", "--out", "nodata", needles=("nodata",)),
    dg("unknown-command", "frobnicate", code=2, needles=("frobnicate",)),
    # --- times, grouping and paths (the grouping workstream) ---
    split("iso-year-1600-ns", "old.csv", "--time-unit", "ns", needles=("cannot be parsed or represented", "1600-01-01"),
          sub=True),
    split("iso-year-2300-ns-drop-all", "future.csv", "--time-unit", "ns", "--on-bad-time", "drop",
          needles=("dropped",)),
    split("iso-year-10000-offset", "beyond.csv", needles=("cannot be parsed or represented", "9999-12-31T23:00:00-05:00")),
    split("csv-epoch-without-unit", "epochs.csv", code=2, needles=("holds numbers", "--time-unit")),
    split("group-by-list-column", "nested.parquet", "--group-by", "tags", code=2, needles=("'tags'", "list")),
    split("group-by-struct-column", "nested.parquet", "--group-by", "pt", code=2, needles=("'pt'", "struct")),
    split("label-struct-column", "nested.parquet", "--label", "pt", code=2, needles=("label column 'pt'", "struct")),
    split("group-path-too-long", "longvals.parquet", "--group-by", ",".join(f"c{i}" for i in range(40)),
          needles=("PATH_MAX",)),
    # --- the output directory (the outdir workstream) ---
    split("out-is-a-symlink-to-inputs", "indir", "--out", "link-to-indir", code=2, needles=("inside",)),
    split("out-in-proc", "good.parquet", "--out", "/proc/self/x", needles=("cannot create --out", "/proc/")),
    split("overwrite-non-dataset-dir", "good.parquet", "--out", "project", "--overwrite",
          needles=("project", "not a valid datagen manifest")),
    split("out-holds-only-a-marker", "good.parquet", "--out", "markeronly", needles=("markeronly",)),
    # --- where filters (the generator workstream) ---
    dg("prov-where-negated-string", "provenance", "ds", "--batch", "0", "--features", "v", "--where",
       "day == -'a'", code=2, needles=("where",)),
    dg("prov-where-3000-nots", "provenance", "ds", "--batch", "0", "--features", "v", "--where",
       "not " * 3000 + "day == 1", code=2, needles=("where", "characters"), sub=True),
    dg("prov-where-1000-nots", "provenance", "ds", "--batch", "0", "--features", "v", "--where",
       "not " * 1000 + "day == 1", code=2, needles=("nested",)),
    # --- damaged manifests and shards (the manifest workstream) ---
    *[dg(f"{cmd}-manifest-{name}", *cmd.split(), f"m-{name}", *(("--batch", "0", "--features", "v")
         if cmd == "provenance" else ()), needles=("manifest.json",))
      for cmd in ("show", "verify", "provenance") for name in ("bytes-huge", "row-groups-str", "path-int",
                                                                "path-nul", "path-long", "deep-json")],
    dg("provenance-corrupt-footer", "provenance", "corrupt-shard", "--batch", "0", "--features", "v",
       needles=("unreadable",)),
]


def _build_corpus(d: Path) -> None:
    good = pa.table({"t": stamps(48), "v": np.arange(48)})
    pq.write_table(good, d / "good.parquet")
    text = pa.table({"t": [f"2024-01-0{1 + i % 3}T00:00:00Z" for i in range(40)], "v": np.arange(40)})
    pacsv.write_csv(text, d / "good.csv")
    csv_bytes = (d / "good.csv").read_bytes()
    gz = gzip.compress(csv_bytes * 300)
    (d / "trunc.csv.gz").write_bytes(gz[: len(gz) // 2])
    (d / "junk.csv.gz").write_bytes(b"this is not gzip data" * 20)
    (d / "fake.parquet").write_bytes(b"this is not parquet" * 20)
    (d / "empty.csv").write_bytes(b"")
    (d / "empty.parquet").write_bytes(b"")
    (d / "emptygz.csv.gz").write_bytes(gzip.compress(b""))
    (d / "header.csv").write_text("t,v\n")
    (d / "noheader.csv").write_text("2024-01-01T00:00:00Z,1\n2024-01-02T00:00:00Z,2\n")
    pq.write_table(pa.Table.from_arrays([good["t"], good["v"], good["v"]], names=["t", "v", "v"]), d / "dup.parquet")
    (d / "dup.csv").write_text("t,v,v\n2024-01-01T00:00:00Z,1,2\n")
    (d / "trail.csv").write_text("t,v,\n2024-01-01T00:00:00Z,1,\n")
    (d / "latin1.csv").write_bytes("t,g\n2024-01-01T00:00:00Z,caf\u00e9\n".encode("latin-1"))
    (d / "brokendir").mkdir()
    pq.write_table(good, d / "brokendir" / "a.parquet")
    os.symlink(d / "no-such-target.parquet", d / "brokendir" / "dangling.parquet")
    (d / "loopdir").mkdir()
    pq.write_table(good, d / "loopdir" / "a.parquet")
    os.symlink("self.parquet", d / "loopdir" / "self.parquet")
    (d / "nodata").mkdir()
    (d / "nodata" / "readme.txt").write_text("no data here\n")
    (d / "notes.txt").write_text("hello\n")
    (d / "afile").write_text("a plain file\n")
    for sub, tables in {
        "mismatch": {"a": {"v": np.arange(4)}, "b": {"v": ["x", "y", "z", "w"]}},
        "lossy": {"big": {"v": np.full(4, 2**53 + 1)}, "small": {"v": np.full(4, 0.5)}},
        "lacks": {"a": {"v": np.arange(4)}, "b": {"w": np.arange(4)}},
    }.items():
        (d / sub).mkdir()
        for name, cols in tables.items():
            pq.write_table(pa.table({"t": stamps(4), **cols}), d / sub / f"{name}.parquet")
    (d / "garbage").mkdir()
    (d / "garbage" / "manifest.json").write_text("{not json")
    configs = {
        "mem-inf.yaml": "memory_limit: .inf\n",
        "label-list.yaml": "label: [x]\n",
        "overwrite-str.yaml": "overwrite: \"false\"\n",
        "compact-no.yaml": "compact: \"no\"\n",
        "groupby-nested.yaml": "group_by: [[month]]\n",
        "workers-float.yaml": "workers: 2.5\n",
        "unknown-key.yaml": "colour: blue\n",
        "twice.yaml": "group-by: month\ngroup_by: day\n",
        "list.yaml": "- a\n- b\n",
        "broken.yaml": "a: [unclosed\n",
        "deep.yaml": "[" * 20_000,
        "g-label-list.yaml": "generator:\n  features: [v]\n  label: [x]\n",
        "g-shuffle-no.yaml": "features: [v]\nshuffle: \"no\"\n",
        "g-budget-inf.yaml": "features: [v]\nmemory_budget: .inf\n",
        "g-features-nested.yaml": "features: [[v]]\n",
        "g-unknown.yaml": "features: [v]\ncolour: blue\n",
        "dupkey.yaml": "group_by: [day]\ngroup_by: [month]\n",
        "g-dupkey.yaml": "features: [v]\nfeatures: [t]\n",
        "g-spellings.yaml": "features: [v]\nbatch-size: 7\nbatch_size: 8\n",
    }
    for name, body in configs.items():
        (d / name).write_text(body)
    (d / "binary.yaml").write_bytes(b"\xff\xfe\x00\x01label: x")
    (d / "old.csv").write_text("t,v\n1600-01-01T00:00:00Z,1\n2024-01-01T00:00:00Z,2\n")
    (d / "future.csv").write_text("t,v\n2300-01-01T00:00:00Z,1\n2301-01-01T00:00:00Z,2\n")
    (d / "beyond.csv").write_text("t,v\n9999-12-31T23:00:00-05:00,1\n2024-01-01T00:00:00Z,2\n")
    (d / "epochs.csv").write_text("t,v\n1700000000,1\n1700003600,2\n")
    pq.write_table(pa.table({"t": stamps(2), "tags": [["a"], ["b"]], "pt": [{"x": 1}, {"x": 2}]}), d / "nested.parquet")
    pq.write_table(pa.table({"t": stamps(1), **{f"c{i}": ["v" * 150] for i in range(40)}}), d / "longvals.parquet")
    (d / "indir").mkdir()
    pq.write_table(good, d / "indir" / "a.parquet")
    os.symlink("indir", d / "link-to-indir")
    (d / "project").mkdir()
    (d / "project" / "manifest.json").write_text('{"name": "my-project", "version": 1}\n')
    (d / "project" / "src").mkdir()
    (d / "project" / "src" / "main.py").write_text("print('mine')\n")
    (d / "markeronly").mkdir()
    (d / "markeronly" / ".datagen-split").write_text("not ours\n")


def _damaged_copies(d: Path) -> None:
    """Copies of the corpus dataset ``ds`` with a damaged manifest or shard."""
    import shutil

    def copy(name: str, edit) -> None:
        shutil.copytree(d / "ds", d / name)
        data = load((d / name / "manifest.json"))
        text = edit(data)
        (d / name / "manifest.json").write_text(text if isinstance(text, str) else dump(data))

    copy("m-bytes-huge", lambda m: m["shards"][0].update(bytes=10**400))
    copy("m-row-groups-str", lambda m: m["shards"][0].update(row_groups="x"))
    copy("m-path-int", lambda m: m["shards"][0].update(path=5))
    copy("m-path-nul", lambda m: m["shards"][0].update(path="day=01/a\x00b.parquet"))
    copy("m-path-long", lambda m: m["shards"][0].update(path="day=01/" + "a" * 300 + ".parquet"))
    copy("m-deep-json", lambda m: "[" * 100_000 + "]" * 100_000)
    shutil.copytree(d / "ds", d / "corrupt-shard")
    shard = load((d / "corrupt-shard" / "manifest.json"))["shards"][0]["path"]
    target = d / "corrupt-shard" / shard
    size = target.stat().st_size
    target.write_bytes(target.read_bytes()[: size - 8] + b"XXXXXXXX")  # same size, footer magic gone


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    _build_corpus(d)
    os.chdir(d)
    try:
        r = split_cli("good.parquet", "--out", "ds", "--time-column", "t", "--group-by", "day")
    finally:
        os.chdir(ROOT)
    assert r.exit_code == 0, r.output
    _damaged_copies(d)
    return d


def _snapshot(root: Path) -> dict:
    """Every entry under root: kind, size, mode and a hash of its bytes (links: their target)."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = os.lstat(p)
            if os.path.islink(p):
                snap[str(p.relative_to(root))] = ("link", os.readlink(p))
            elif p.is_dir():
                snap[str(p.relative_to(root))] = ("dir", st.st_mode)
            else:
                snap[str(p.relative_to(root))] = ("file", st.st_size, st.st_mode,
                                                  hashlib.sha256(p.read_bytes()).hexdigest())
    return snap


def _check(code: int, stdout: str, stderr: str, case: Case) -> None:
    line = error_line(code, stdout, stderr, case.code, *case.needles)
    assert "internal error" not in line, (case.id, line)


def _main(prog: str):
    if prog == SPLIT:
        from splitters.cli import main
    else:
        from datagen.app.cli import main
    return main


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_in_process(case, corpus, monkeypatch):
    import dask

    monkeypatch.chdir(corpus)
    before = _snapshot(corpus)
    with dask.config.set({"datagen.connect-timeout": "1s"}):
        result = CliRunner().invoke(_main(case.prog), list(case.args), catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), (case.id, repr(result.exception))
    _check(result.exit_code, result.stdout, result.stderr, case)
    assert _snapshot(corpus) == before, f"{case.id}: the working directory changed"


SUBPROCESS_CASES = [c for c in CASES if c.subprocess]


@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=[c.id for c in SUBPROCESS_CASES])
def test_bad_input_as_a_real_process(case, corpus):
    module = "splitters.cli" if case.prog == SPLIT else "datagen.app.cli"
    before = _snapshot(corpus)
    proc = cli_process(module, *case.args, cwd=corpus, env={"DASK_DATAGEN__CONNECT_TIMEOUT": "1s"})
    _check(proc.returncode, proc.stdout, proc.stderr, case)
    assert _snapshot(corpus) == before, f"{case.id}: the working directory changed"


def test_every_command_is_covered():
    from datagen.app.cli import main as datagen_main

    covered = {c.args[0] for c in CASES if c.prog == DATAGEN}
    assert set(datagen_main.commands) <= covered, set(datagen_main.commands) - covered
    assert any(c.prog == SPLIT for c in CASES)


def test_every_command_goes_through_the_error_edge():
    from datagen.app.cli import main as datagen_main
    from datagen.contract.cli_edge import OneLineErrors, report_errors
    from splitters.cli import main as split_main

    edge = report_errors(lambda: None).__code__
    commands = [split_main, *datagen_main.commands.values()]
    for cmd in commands:
        assert cmd.callback.__code__ is edge, cmd.name
    assert isinstance(split_main, OneLineErrors) and isinstance(datagen_main, OneLineErrors)


# --- the last resort: an unexpected exception is still one line -----------------------------------------


@pytest.mark.parametrize("prog,args,target", [
    (SPLIT, ["good.parquet", "--out", "out", "--time-column", "t"], "splitters.split.run_split"),
    (DATAGEN, ["show", "ds"], "datagen.app.show.render"),
    (DATAGEN, ["verify", "ds"], "datagen.contract.verify.verify_dataset"),
])
def test_unexpected_exception_becomes_one_internal_error_line(prog, args, target, corpus, monkeypatch):
    def boom(*a, **k):
        raise ZeroDivisionError("something nobody foresaw\nsecond line")

    monkeypatch.chdir(corpus)
    monkeypatch.setattr(target, boom)
    monkeypatch.delenv("DATAGEN_DEBUG", raising=False)
    result = CliRunner().invoke(_main(prog), args, catch_exceptions=True)
    assert result.exit_code == 1
    assert result.stderr == ("error: internal error: ZeroDivisionError: something nobody foresaw second line "
                             "(set DATAGEN_DEBUG=1 for a traceback)\n")
    monkeypatch.setenv("DATAGEN_DEBUG", "1")
    result = CliRunner().invoke(_main(prog), args, catch_exceptions=True)
    assert isinstance(result.exception, ZeroDivisionError)


def test_eof_error_is_not_reported_as_aborted(corpus, monkeypatch):
    """An EOFError escaping a command used to print only click's 'Aborted!'."""
    def eof(*a, **k):
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")

    monkeypatch.chdir(corpus)
    monkeypatch.setattr("splitters.split.run_split", eof)
    result = CliRunner().invoke(_main(SPLIT), ["good.parquet", "--out", "out", "--time-column", "t"])
    assert result.exit_code == 1 and result.stderr.startswith("error: internal error: EOFError")
    assert "Aborted" not in result.output
