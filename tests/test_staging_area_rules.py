"""staging_area.py's pure rules, property-tested against simple references: a staging URL overlaps --out
exactly when one key path is a prefix (by whole segments) of the other (pathlib's parents); a run name
is recognised as one, and a dead run is only one of this host whose pid is not alive."""

from pathlib import PurePosixPath

from hypothesis import given, settings, strategies as st

from splitters.staging_area import dead_run, is_run_name, overlap, run_name

SEG = st.sampled_from(["a", "ab", "b", "a-b", "x.y", "0"])
PATHS = st.lists(SEG, min_size=1, max_size=4)


def _reference(s: list[str], o: list[str]) -> str | None:
    sp, op = PurePosixPath(*s), PurePosixPath(*o)
    if sp == op:
        return "is --out"
    if op in sp.parents:
        return "lies inside --out"
    if sp in op.parents:
        return "lies above --out"
    return None


@settings(deadline=None, max_examples=60)
@given(PATHS, PATHS, st.booleans(), st.booleans())
def test_overlap_matches_path_prefixes(s, o, slash_s, slash_o):
    staging = "s3://" + "/".join(s) + ("/" if slash_s else "")
    out = "s3://" + "/".join(o) + ("/" if slash_o else "")
    assert overlap(staging, out, {}) == _reference(s, o)
    assert overlap("s3a://" + "/".join(s), out, {}) == _reference(s, o)  # the same store, another spelling


def test_run_names():
    mine = run_name()
    assert is_run_name(mine) and mine != run_name()  # a fresh token each run
    assert not dead_run(mine)  # this process is alive
    host = mine.split("-")[2:-2]
    dead = f"datagen-staging-{'-'.join(host)}-999999999-{'ab' * 8}"
    assert is_run_name(dead) and dead_run(dead)  # no such pid
    assert not dead_run(f"datagen-staging-otherhost-999999999-{'ab' * 8}")  # another host's: left alone
    assert dead_run(f"datagen-staging-otherhost-999999999-{'ab' * 8}", any_host=True)
    for name in ("datagen-staging-abc123", "u000000-0000.arrow", "datagen-staging-h-1-XYZ", ".datagen-staging"):
        assert not is_run_name(name) and not dead_run(name, any_host=True)
