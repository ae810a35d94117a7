"""Property: whether --out overlaps the inputs is decided the same before and after
the split wrote its shards (a split accepted once is accepted on the identical
rerun, and then never reads its own shards), for random layouts of input
directories, files, globs and symlinks (by real paths)."""

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datagen.contract.errors import ConfigError
from splitters.overlap import check_overlap
from splitters.sources import discover

INPUTS = ["data", "data/sub", "other", "lnk_data", "lnk_sub", "data/a.parquet", "other/c.parquet",
          "data/*.parquet", "data/*/*.parquet", "data/**/*.parquet", "other/*.parquet", "lnk_data/*.parquet",
          "lnk_sub/*.parquet", "*/*.parquet"]
OUTS = ["out", "data/out", "data/sub/out", "data/sub/x/out", "other/out", "lnk_data/out", "lnk_sub/out",
        "out_to_data", "out_to_sub", "out_to_other", "data", "lnk_out/inner"]


def _layout(root: Path) -> None:
    for d in ("data/sub", "other", "elsewhere"):
        (root / d).mkdir(parents=True)
    for f in ("data/a.parquet", "data/sub/b.parquet", "other/c.parquet"):
        (root / f).write_bytes(b"x")
    for link, target in (("lnk_data", "data"), ("lnk_sub", "data/sub"), ("out_to_data", "data"),
                         ("out_to_sub", "data/sub"), ("out_to_other", "other"), ("lnk_out", "elsewhere")):
        (root / link).symlink_to(root / target)


def _decide(out: Path, inputs: list[str]) -> bool:
    try:
        check_overlap(out, inputs, discover(inputs))
        return True
    except ConfigError:
        return False


@settings(max_examples=60, deadline=None)
@given(inputs=st.lists(st.sampled_from(INPUTS), min_size=1, max_size=3, unique=True),
       out=st.sampled_from(OUTS), nested=st.booleans())
def test_overlap_decision_is_the_same_before_and_after_the_shards_exist(inputs, out, nested):
    with tempfile.TemporaryDirectory(prefix="outdir-overlap-") as tmp:
        root = Path(tmp)
        _layout(root)
        given_inputs = [str(root / i) for i in inputs]
        out_path = root / out
        first = _decide(out_path, given_inputs)
        # what a split leaves in --out: shards one level down, or more with more group columns
        shard = out_path / ("g=1/h=2" if nested else "g=1") / "part-00000-0123456789abcdef.parquet"
        shard.parent.mkdir(parents=True, exist_ok=True)
        shard.write_bytes(b"PAR1")
        (out_path / "part-00000-0123456789abcdef.parquet").write_bytes(b"PAR1")
        second = _decide(out_path, given_inputs)
        assert first == second, (inputs, out, first, second)
        if second:
            out_real = os.path.realpath(out_path)
            for src in discover(given_inputs):
                assert not os.path.realpath(src.url).startswith(out_real + os.sep), (src.url, out)


@pytest.mark.parametrize("inputs, out, accepted", [
    (["data"], "data/out", False),
    (["data/*.parquet"], "data/out", True),
    (["data/**/*.parquet"], "data/out", False),
    (["data/*/*.parquet"], "data/out", False),
    (["other"], "out_to_other", False),
    (["lnk_sub"], "data/sub/out", False),
    (["data/a.parquet"], "data/out", True),
    (["other"], "data/out", True),
])
def test_overlap_examples(tmp_path, inputs, out, accepted):
    _layout(tmp_path)
    assert _decide(tmp_path / out, [str(tmp_path / i) for i in inputs]) is accepted
