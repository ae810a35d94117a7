"""A CSV read as UTF-8 that is not (a cp1252 Excel export, a misnamed gzip): one error line naming
the file, its data row and column and the --encoding way out; never Arrow's "Exception ignored"
decode traceback (its invalid-row handler decodes a ragged record as UTF-8), whatever the path."""

import gzip

import pytest

from cli_checks import cli_process, error_line, fails
from splitters.csvrows import find_bad_record, not_utf8

RAGGED = b"a,b\nx,1\ncaf\xe9,2,3\ny,4\n"


@pytest.mark.parametrize("name, data, needles", [
    ("rag.csv", RAGGED, ("data row 1", "column 'a' is not UTF-8 text", "--encoding")),
    ("rag.csv.gz", gzip.compress(RAGGED, mtime=0), ("data row 1", "column 'a' is not UTF-8 text", "--encoding")),
    ("blank.csv", b"a,b\nx,1\n  \n\ny,caf\xe9\n", ("data row 1", "column 'b' is not UTF-8", "--encoding")),
    ("head.csv", b"a,\xe9b\nx,1\n", ("the header", "column 2 is not UTF-8", "--encoding")),
    # a quote inside an unquoted field: Arrow's own parser reads the file (csvtypes._restated)
    ("unclean.csv", b"a,b\nx,5'10\"\ncaf\xe9,2,3\ny,4\n", ("not UTF-8 text", "--encoding")),
    ("unclean2.csv", b"a,b\nx,5'10\"\ncaf\xe9,2\ny,4\n", ("not UTF-8 text", "--encoding")),
])
def test_undecodable_csv_is_one_error_line_without_exception_ignored(tmp_path, name, data, needles):
    src = tmp_path / name
    src.write_bytes(data)
    r = cli_process("splitters.cli", src, "--out", tmp_path / "o", "--group-by", "a", "--no-progress")
    assert "Exception ignored" not in r.stderr, r.stderr
    error_line(r.returncode, r.stdout, r.stderr, 1, name, *needles)


def test_ragged_record_is_shown_in_the_given_encoding(tmp_path, run_split):
    src = tmp_path / "rag.csv"
    src.write_bytes(RAGGED)
    line = fails(run_split(src, "--out", tmp_path / "o", "--group-by", "a", "--encoding", "cp1252"), 1,
                 "data row 1", "got 3: 'café,2,3'")
    assert "\ufffd" not in line


def test_not_utf8_names_row_and_column_and_passes_valid_text():
    assert not_utf8("a,b\ncafé,1\n".encode(), None) is None
    assert not_utf8(RAGGED, "latin-1") is None
    bad = not_utf8(b'a,"b,c"\n"x,\n",1\n\n y ,caf\xe9\n', None)
    assert (bad.row, bad.detail) == (1, "column 'b,c' is not UTF-8 text (byte 0xe9)")
    assert find_bad_record(RAGGED, "cp1252")[1].endswith("'café,2,3'")


@pytest.mark.parametrize("kind, suffix", [("gzip", ".csv.gz"), ("bzip2", ".csv.bz2"), ("xz", ".csv.xz"),
                                          ("zstd", ".csv.zst")])
def test_compressed_file_named_as_plain_csv_is_named_as_such(tmp_path, kind, suffix):
    import bz2
    import lzma

    import zstandard

    text = ("VendorID,fare\n" + "".join(f"{i % 2},{i}.5\n" for i in range(2000))).encode()
    pack = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress,
            "zstd": zstandard.ZstdCompressor().compress}[kind]
    src = tmp_path / f"taxi.{kind}.csv"
    src.write_bytes(pack(text))
    r = cli_process("splitters.cli", src, "--out", tmp_path / "o", "--group-by", "VendorID", "--no-progress")
    assert "Exception ignored" not in r.stderr, r.stderr
    error_line(r.returncode, r.stdout, r.stderr, 1, src.name, f"is {kind}-compressed", f"end in {suffix}")


def test_not_utf8_finds_the_row_and_column_of_the_first_bad_byte_property():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    field = st.text(alphabet="ab ,\n\"", max_size=4).map(lambda s: '"' + s.replace('"', '""') + '"' if s else s)
    rows = st.lists(st.one_of(st.just(None), st.lists(field, min_size=3, max_size=3)), min_size=1, max_size=12)

    @settings(deadline=None, max_examples=50)
    @given(rows, st.data())
    def check(records, data):
        real = [i for i, r in enumerate(records) if r is not None]
        if not real:
            return
        pick = data.draw(st.sampled_from(real))
        col = data.draw(st.integers(0, 2))
        lines = ["h1,\"h,2\",h3"]
        for i, r in enumerate(records):
            if r is None:
                lines.append(data.draw(st.sampled_from(["", "  ", "\t"])))
                continue
            r = list(r)
            if i == pick:
                r[col] = "caf\xe9" + r[col]
            lines.append(",".join(r))
        text = ("\n".join(lines) + "\n").encode("cp1252")
        bad = not_utf8(text, None)
        want_row = sum(1 for i in real if i < pick)
        want_name = ["h1", "h,2", "h3"][col]
        assert (bad.row, bad.detail) == (want_row, f"column {want_name!r} is not UTF-8 text (byte 0xe9)")

    check()


def test_text_not_in_the_given_encoding_names_that_encoding(tmp_path, run_split):
    src = tmp_path / "rag.csv"
    src.write_bytes(RAGGED)
    line = fails(run_split(src, "--out", tmp_path / "o", "--group-by", "a", "--encoding", "ascii"), 1,
                 "rag.csv", "not ascii text", "--encoding")
    assert "UTF-8" not in line
