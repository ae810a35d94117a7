"""An object-store ``--out`` is checked before any request (moto S3 on 127.0.0.1): a URL that is not a
plain prefix (``//``, ``?versionId=``, ``.``/``..``, glob characters) and an ``--out`` inside an input
prefix or where an input glob reaches are refused in one line (exit 2), leaving the bucket untouched,
the first time as on any rerun."""

import pytest
import s3fs
from hypothesis import given, settings
from hypothesis import strategies as st

from cli_checks import fails
from datagen.app.sample import write_sample
from datagen.contract.errors import ConfigError
from splitters.url_overlap import check_out_url, check_url_overlap

ARGS = ("--time-column", "event_time", "--group-by", "month", "--label", "label")


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    d = tmp_path_factory.mktemp("outurl-src")
    write_sample(d, files=1, rows_per_file=300, seed=6, features=2)
    return d


def _keys(fs, bucket):
    return sorted(fs.find(bucket))


@pytest.mark.parametrize("suffix, needle", [("/p2//x", "empty path segment"), ("//p2", "empty path segment"),
                                            ("/p6?versionId=1", "query or fragment"), ("/a/../b", "'..'"),
                                            ("/p*", "glob character")])
def test_odd_out_urls_are_refused_up_front(src, s3_bucket, run_split, suffix, needle):
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    url = f"s3://{s3_bucket}{suffix}"
    r = run_split(src, "--out", url, *ARGS)
    fails(r, 2, needle, "not a usable object-store prefix")
    fs.invalidate_cache()
    assert _keys(fs, s3_bucket) == []  # no shard, no lock


def test_out_inside_an_input_prefix_is_refused_the_first_time(src, s3_bucket, run_split):
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.put_file(str(next(src.glob("*.parquet"))), f"{s3_bucket}/in2/e.parquet")
    for spelled in (f"s3://{s3_bucket}/in2/", f"s3://{s3_bucket}/in2", f"s3://{s3_bucket}/in2/**"):
        r = run_split(spelled, "--out", f"s3://{s3_bucket}/in2/ds", *ARGS)
        fails(r, 2, "write the split outside its inputs")
    fs.invalidate_cache()
    assert _keys(fs, s3_bucket) == [f"{s3_bucket}/in2/e.parquet"]
    assert run_split(f"s3://{s3_bucket}/in2/*.parquet", "--out", f"s3://{s3_bucket}/in2/ds", *ARGS).exit_code == 0


SEG = st.text("ab", min_size=1, max_size=2)


@settings(max_examples=50, deadline=None)
@given(st.lists(SEG, min_size=1, max_size=3), st.lists(SEG, min_size=0, max_size=3))
def test_an_out_under_a_literal_input_is_refused_exactly_when_it_is_under_it(inp, out):
    """Reference: --out is refused iff its segments start with the input's segments."""
    given_url, out_url = "s3://b/" + "/".join(inp), "s3://b/" + "/".join(out)
    inside = out[:len(inp)] == inp
    if not out:
        out_url = "s3://b"
    try:
        check_url_overlap(out_url, [given_url, given_url + "/"][len(out) % 2:][:1])
        refused = False
    except ConfigError:
        refused = True
    assert refused == inside


def test_plain_prefixes_pass():
    for url in ("s3://b", "s3://b/", "s3://b/a/b-c_d.e/f", "gs://b/x/"):
        check_out_url(url)
