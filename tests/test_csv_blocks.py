"""Big CSV inputs are cut into byte-range blocks read in parallel, and RFC 4180 CSV (quoted fields
holding commas, quotes and line ends, CRLF, BOM, no final line end) is read row for row as pandas
reads it, with ``_source_row`` the record index whatever the blocks (issue 12 items 7 and 8)."""

import csv
import gzip
import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_checks import fails
from csv_cases import same_as_pandas, shard_hashes, split_rows
from splitters.csvscan import RecordScanner
from splitters.csvtypes import csv_blocks
from splitters.sources import discover

FREE_TEXT = ['plain', 'a, b', 'say "hi"', 'two\nlines', 'crlf\r\ninside', '"', ',', '""', 'x\n\n\ny']


def _free_text_csv(path, rows=120, lineterminator="\n", bom=False, final_newline=True):
    df = pd.DataFrame({
        "t": [f"2024-01-{1 + i % 5:02d}T{i % 24:02d}:00:00Z" for i in range(rows)],
        "id": range(rows),
        "msg": [f"m{i} {FREE_TEXT[i % len(FREE_TEXT)]}" for i in range(rows)],
        "note": [FREE_TEXT[(i * 7) % len(FREE_TEXT)] + "." for i in range(rows)],
    })
    text = df.to_csv(index=False, lineterminator=lineterminator)
    if not final_newline:
        text = text[: -len(lineterminator)]
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


@pytest.mark.parametrize("lineterminator", ["\n", "\r\n"])
@pytest.mark.parametrize("bom,final_newline", [(False, True), (True, False)])
def test_quoted_newlines_in_many_small_blocks(tmp_path, run_split, lineterminator, bom, final_newline):
    src = _free_text_csv(tmp_path / "a.csv", lineterminator=lineterminator, bom=bom, final_newline=final_newline)
    blocks = csv_blocks(discover([str(src)])[0], 300, None)
    assert len(blocks) > 10                   # boundaries fall inside quoted fields too
    got, m = split_rows(run_split, src, tmp_path / "out", "--blocksize", "300")
    same_as_pandas(got, src, ["id", "msg", "note"], encoding="utf-8-sig")
    assert list(m.column_types)[:4] == ["t", "id", "msg", "note"] and m.column_types["msg"] == "string"
    assert shard_hashes(tmp_path / "out") == shard_hashes(_rerun(run_split, src, tmp_path / "whole", "64MB"))


def _rerun(run_split, src, out, blocksize):
    split_rows(run_split, src, out, "--blocksize", blocksize)
    return out


def test_blocks_start_at_record_starts(tmp_path):
    src = _free_text_csv(tmp_path / "a.csv", rows=200, lineterminator="\r\n")
    data = src.read_bytes()
    want = pd.read_csv(src, keep_default_na=False)
    blocks = csv_blocks(discover([str(src)])[0], 256, None)
    assert blocks[0].start == data.index(b"\r\n") + 2 and blocks[-1].end == len(data)
    first = 0
    for b in blocks:                          # each block alone parses as the next rows of the file
        assert b.header == data[: blocks[0].start]
        part = pd.read_csv(io.BytesIO(b.header + data[b.start: b.end]), keep_default_na=False)
        assert part["msg"].tolist() == want["msg"][first: first + len(part)].tolist()
        first += len(part)
    assert first == len(want)


def test_misplaced_quote_file_is_one_block_and_reads_as_before(tmp_path, run_split):
    src = tmp_path / "a.csv"
    values = [str(i) for i in range(2999)] + ["1.5"]        # the float is far beyond Arrow's first block
    src.write_text("t,h,n\n" + "".join(f'2024-01-0{1 + i % 3}T00:00:00Z,5\'{i}",{v}\n' for i, v in enumerate(values)))
    assert len(csv_blocks(discover([str(src)])[0], 256, None)) == 1
    got, m = split_rows(run_split, src, tmp_path / "out", "--blocksize", "256")
    assert got["h"].tolist() == [f'5\'{i}"' for i in range(3000)] and got["_source_row"].tolist() == list(range(3000))
    assert m.column_types["n"] == "double" and got["n"].tolist() == [float(v) for v in values]


def test_gzip_csv_is_one_block_with_quoted_newlines(tmp_path, run_split, monkeypatch):
    import splitters.csvtypes

    monkeypatch.setattr(splitters.csvtypes, "CHUNK_BYTES", 97)   # the type pass cuts the stream in many pieces
    plain = _free_text_csv(tmp_path / "p.csv")
    src = tmp_path / "a.csv.gz"
    src.write_bytes(gzip.compress(plain.read_bytes().replace(b",119,", b",119.5,")))
    assert len(csv_blocks(discover([str(src)])[0], 256, None)) == 1
    got, m = split_rows(run_split, src, tmp_path / "out", "--blocksize", "256")
    same_as_pandas(got, plain, ["msg", "note"])
    assert m.column_types["id"] == "double" and got["id"].tolist() == list(range(119)) + [119.5]


def test_header_only_and_blank_lines(tmp_path, run_split):
    src = tmp_path / "h.csv"
    src.write_text("t,v\r\n")
    fails(run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--blocksize", "256"), 1, "no rows")
    src = tmp_path / "b.csv"
    src.write_text("t,v\n" + "".join(f"2024-01-01T00:00:0{i % 10}Z,{i}\n\n" for i in range(100)))
    got, _ = split_rows(run_split, src, tmp_path / "out", "--blocksize", "256")
    assert got["v"].tolist() == list(range(100)) and got["_source_row"].tolist() == list(range(100))


def test_blocksize_is_validated(tmp_path, run_split):
    src = _free_text_csv(tmp_path / "a.csv", rows=5)
    fails(run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--blocksize", "10"), 2,
          "blocksize", "at least 256")
    fails(run_split(src, "--out", tmp_path / "o", "--time-column", "t", "--blocksize", "lots"), 2, "blocksize")


def _python_record_ends(data: bytes) -> list[int]:
    """Reference: where Python's csv module ends each record (byte offsets, ASCII text)."""
    line_ends: list[int] = []
    return [line_ends[-1] for _ in csv.reader(_tracking(io.StringIO(data.decode("ascii"), newline=""), line_ends))]


def _tracking(lines, line_ends):
    pos = 0
    for line in lines:
        pos += len(line)
        line_ends.append(pos)
        yield line


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(FREE_TEXT + ["", "x"]), min_size=2, max_size=2), min_size=1, max_size=30),
       st.sampled_from(["\n", "\r\n"]), st.integers(1, 64), st.booleans())
def test_scanner_finds_the_csv_module_records(rows, terminator, chunk, final_newline):
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator=terminator).writerows([["a", "b"]] + rows)
    data = buf.getvalue().encode()
    if not final_newline:
        data = data[: -len(terminator)]
    scanner, ends = RecordScanner(), []
    for i in range(0, len(data), chunk):
        ends += scanner.feed(data[i: i + chunk]).tolist()
    ends += scanner.feed(b"", final=True).tolist()
    assert scanner.clean
    want = _python_record_ends(data)
    assert ends == (want if final_newline else want[:-1])


TEXT = st.lists(st.sampled_from(list('ab ,"') + ["\n", "\r\n"]), max_size=12).map(lambda s: "x" + "".join(s))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(TEXT, st.integers(-10**6, 10**6), TEXT), min_size=1, max_size=40),
       st.integers(256, 1500), st.sampled_from(["pandas", "csv"]), st.sampled_from(["\n", "\r\n"]))
def test_any_blocksize_reads_what_pandas_reads(tmp_path_factory, run_split, rows, blocksize, writer, terminator):
    tmp = tmp_path_factory.mktemp("prop")
    df = pd.DataFrame(rows, columns=["msg", "n", "note"])
    df.insert(0, "t", [f"2024-0{1 + i % 3}-01T00:00:{i % 60:02d}Z" for i in range(len(df))])
    src = tmp / "a.csv"
    if writer == "pandas":
        df.to_csv(src, index=False, lineterminator=terminator)
    else:
        with open(src, "w", newline="") as fh:
            csv.writer(fh, lineterminator=terminator).writerows([list(df.columns)] + df.values.tolist())
    got, _ = split_rows(run_split, src, tmp / "small", "--blocksize", str(blocksize))
    same_as_pandas(got, src, ["msg", "n", "note"])
    split_rows(run_split, src, tmp / "whole")
    assert shard_hashes(tmp / "small") == shard_hashes(tmp / "whole")


def test_blocks_run_on_every_worker_of_a_cluster(tmp_path, run_split, cluster):
    from distributed import Client, get_task_stream

    src = _free_text_csv(tmp_path / "a.csv", rows=400)
    with Client(cluster) as client:
        with get_task_stream(client) as ts:
            got, _ = split_rows(run_split, src, tmp_path / "out", "--blocksize", "512",
                                "--scheduler", cluster.scheduler_address)
        workers = {}
        for task in ts.data:
            workers.setdefault(task["key"].split("-")[0].strip("('"), set()).add(task["worker"])
    assert len(workers["infer_block"]) == 2 and len(workers["_stage_or_fingerprint"]) == 2, workers
    same_as_pandas(got, src, ["id", "msg", "note"])
    split_rows(run_split, src, tmp_path / "local")
    assert shard_hashes(tmp_path / "out") == shard_hashes(tmp_path / "local")


@pytest.mark.parametrize("encoding,blocks", [("latin-1", "many"), ("utf-16", "one")])
def test_encodings_are_cut_only_where_bytes_are_ascii(tmp_path, run_split, encoding, blocks):
    src = tmp_path / "a.csv"
    rows = [f'2024-01-0{1 + i % 3}T00:00:00Z,"caf\u00e9 {i}\nna\u00efve",{i}' for i in range(60)]
    src.write_bytes(("t,g,v\n" + "\n".join(rows) + "\n").encode(encoding))
    n = len(csv_blocks(discover([str(src)])[0], 256, encoding))
    assert (n > 5) if blocks == "many" else (n == 1)
    got, _ = split_rows(run_split, src, tmp_path / "out", "--blocksize", "256", "--encoding", encoding)
    assert got["g"].tolist() == [f"caf\u00e9 {i}\nna\u00efve" for i in range(60)]
    assert got["_source_row"].tolist() == list(range(60))


def test_old_mac_line_ends(tmp_path, run_split):
    src = tmp_path / "a.csv"
    src.write_bytes(b"t,msg\r" + b"".join(b'2024-01-0%d,"a, ""%d"""\r' % (1 + i % 3, i) for i in range(80)))
    assert len(csv_blocks(discover([str(src)])[0], 256, None)) > 5
    got, _ = split_rows(run_split, src, tmp_path / "out", "--blocksize", "256")
    assert got["msg"].tolist() == [f'a, "{i}"' for i in range(80)] and got["_source_row"].tolist() == list(range(80))
