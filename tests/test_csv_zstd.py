"""``.csv.zst`` inputs: decompressed by fsspec with the ``zstandard`` package (a project dependency),
splitting to the same rows as the plain CSV; without the package, refused by name before any work
(its compressed bytes reached the CSV parser: a decode traceback, then a parse error)."""

import pyarrow.parquet as pq
import zstandard

from cli_checks import fails
from datagen.contract.manifest import read_manifest

ROWS = "VendorID,fare,note\n" + "".join(f"{i % 3},{i * 1.5},\"n, {i}\"\n" for i in range(500))


def _rows(out):
    m = read_manifest(out)
    got = []
    for s in m.shards:
        t = pq.read_table(out / s.path)
        got += [(s.group["VendorID"], r["_source_row"], r["fare"], r["note"]) for r in t.to_pylist()]
    return sorted(got, key=lambda r: r[1])


def test_csv_zst_splits_to_the_rows_of_the_plain_csv(tmp_path, run_split):
    plain, packed = tmp_path / "a" / "taxi.csv", tmp_path / "b" / "taxi.csv.zst"
    plain.parent.mkdir(), packed.parent.mkdir()
    plain.write_text(ROWS)
    packed.write_bytes(zstandard.ZstdCompressor().compress(ROWS.encode()))
    for src, out in ((plain, "o1"), (packed, "o2")):
        r = run_split(src, "--out", tmp_path / out, "--group-by", "VendorID")
        assert r.exit_code == 0, r.output
    rows = _rows(tmp_path / "o2")
    assert rows == _rows(tmp_path / "o1") and len(rows) == 500
    assert rows[7] == (1, 7, 10.5, "n, 7")


def test_csv_zst_without_zstandard_is_refused_by_name(tmp_path, run_split, monkeypatch):
    import fsspec.utils

    monkeypatch.delitem(fsspec.utils.compressions, "zst")
    src = tmp_path / "taxi.csv.zst"
    src.write_bytes(zstandard.ZstdCompressor().compress(ROWS.encode()))
    out = tmp_path / "o"
    fails(run_split(src, "--out", out, "--group-by", "VendorID"), 1,
          "taxi.csv.zst", "'zstandard' is not installed", "pip install zstandard")
    assert not out.exists()
