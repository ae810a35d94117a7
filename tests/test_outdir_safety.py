"""The output directory's safety (issue 10, A3-A6, A14, A15, B, C): only what a
datagen split demonstrably wrote is ever deleted; a failed run leaves the
previous dataset byte-for-byte intact and removes what it created; one split
per directory; up to date means the output verifies and the sources hash the
same; write failures blame the output, not the input."""

import errno
import os
import subprocess

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.contract.errors import ConservationError, ManifestError
from datagen.contract.manifest import atomic_write_text, read_manifest
from datagen.contract.verify import verify_dataset
from datagen.contract.outlock import LOCK_NAME, OutLock
from cli_checks import fails as _fails
from gen_fixtures import stamps, write_parquet
from manifest_edit import dump, load  # shards as entries, written back as the format's table

ARGS = ["--time-column", "t", "--group-by", "year,month"]



def _tree(root):
    """Every entry under root (hidden ones too): file bytes, 'dir', or a symlink's target."""
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                tree[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                tree[rel] = "dir"
            else:
                with open(path, "rb") as fh:
                    tree[rel] = fh.read()
    return tree


def _table(n, start=0, step_hours=7):
    return pa.table({"t": stamps(n, step_hours * 3_600, start), "v": np.arange(n, dtype=np.int64) + start})


@pytest.fixture
def src(tmp_path):
    return write_parquet(tmp_path / "in" / "a.parquet", _table(2000))


@pytest.fixture
def dataset(tmp_path, src, run_split):
    out = tmp_path / "ds"
    assert run_split(src, "--out", out, *ARGS).exit_code == 0
    return out


# --- A3: never delete what a split did not demonstrably write ------------------------------------

@pytest.mark.parametrize("manifest_text", ['{"name": "my app", "version": 3}\n', "not json at all", ""])
def test_overwrite_refuses_a_project_dir_with_an_unrelated_manifest(tmp_path, src, run_split, manifest_text):
    proj = tmp_path / "proj"
    (proj / "src").mkdir(parents=True)
    (proj / "src" / "main.py").write_text("print('hello')\n")
    (proj / "manifest.json").write_text(manifest_text)
    before = _tree(proj)
    for extra in ([], ["--overwrite"]):
        _fails(run_split(src, "--out", proj, *ARGS, *extra), 1, "not a valid datagen manifest", "refusing")
        assert _tree(proj) == before


def test_out_symlinked_to_an_input_directory_is_refused(tmp_path, src, run_split):
    link = tmp_path / "link"
    link.symlink_to(src.parent)
    before = _tree(src.parent)
    for extra in ([], ["--overwrite"]):
        _fails(run_split(src.parent, "--out", link, *ARGS, *extra), 2, "lies inside input directory")
        _fails(run_split(src, "--out", link, *ARGS, *extra), 2, "lies inside --out")
        assert _tree(src.parent) == before


def test_an_input_directory_symlinked_into_out_is_refused(tmp_path, src, dataset, run_split):
    raw = dataset / "raw"
    raw.mkdir()
    pq.write_table(_table(10), raw / "b.parquet")
    (tmp_path / "inp").symlink_to(raw)
    before = _tree(dataset)
    _fails(run_split(tmp_path / "inp", "--out", dataset, *ARGS, "--overwrite"), 2, "lies inside --out")
    assert _tree(dataset) == before


@pytest.mark.parametrize("name, content, needle", [
    (".datagen-split", "a split is being written here; without manifest.json this is not a dataset\n", "not empty"),
    (".datagen-journal", '{"hello": 1}\n', "not a datagen journal"),
    (".datagen-journal", "junk", "not a datagen journal"),
    (LOCK_NAME, "someone else's lock\n", "datagen did not write"),
])
def test_foreign_internal_looking_files_are_refused_and_kept(tmp_path, src, run_split, name, content, needle):
    out = tmp_path / "o"
    out.mkdir()
    (out / name).write_text(content)
    for extra in ([], ["--overwrite"]):
        _fails(run_split(src, "--out", out, *ARGS, *extra), 1, needle)
        assert _tree(out) == {name: content.encode()}


def test_foreign_files_inside_a_dataset_block_an_overwrite_and_are_kept(dataset, src, run_split):
    for name, make in ((".datagen-staging", lambda p: (p.mkdir(), (p / "mine.txt").write_text("x"))),
                       (".datagen-journal", lambda p: p.write_text("[]\n"))):
        make(dataset / name)
        before = _tree(dataset)
        _fails(run_split(src, "--out", dataset, *ARGS, "--group-by", "year", "--overwrite"), 1, name)
        assert _tree(dataset) == before
        os.system(f"rm -rf '{dataset / name}'")


def test_overwrite_deletes_nothing_and_vacuum_deletes_only_the_old_manifests_shards(dataset, src, run_split):
    """Since versions (issue 15, commit design point 3) an overwrite is a commit that deletes no file (the
    old version stays readable); ``datagen vacuum --keep 1`` then deletes exactly the old shards."""
    from click.testing import CliRunner
    from datagen.app.cli import main as datagen

    old = read_manifest(dataset)
    (dataset / "notes.txt").write_text("mine")
    first_dir = old.shards[0].path.rsplit("/", 1)[0]
    (dataset / first_dir / "README").write_text("also mine")
    (dataset / "extra").mkdir()
    r = run_split(src, "--out", dataset, "--time-column", "t", "--group-by", "year", "--overwrite")
    assert r.exit_code == 0 and "replaced" in r.output, r.output
    new = read_manifest(dataset)
    assert verify_dataset(dataset).ok
    assert (dataset / "notes.txt").read_text() == "mine" and (dataset / first_dir / "README").exists()
    assert (dataset / "extra").is_dir()
    assert all((dataset / s.path).exists() for s in old.shards)
    r = CliRunner().invoke(datagen, ["vacuum", str(dataset), "--keep", "1"])
    assert r.exit_code == 0, r.output
    assert not any((dataset / s.path).exists() for s in old.shards)
    # the old hive directories that became empty are gone, the one holding README stays
    remaining = {p.relative_to(dataset).as_posix() for p in dataset.rglob("*")}
    records = {"_versions", "_versions/00000001.json", "_versions/00000002.json"}
    expected = ({"manifest.json", "notes.txt", "extra", first_dir, f"{first_dir}/README"} | records
                | {s.path for s in new.shards} | {s.path.split("/")[0] for s in new.shards})
    assert remaining == expected


def test_a_hand_edited_manifest_entry_that_is_no_shard_is_not_deleted(dataset, src, run_split):

    data = load((dataset / "manifest.json"))
    data["shards"].append({**data["shards"][0], "path": "src/main.py"})
    (dataset / "manifest.json").write_text(dump(data))
    (dataset / "src").mkdir()
    (dataset / "src" / "main.py").write_text("print('mine')\n")
    # the manifest no longer validates (a shard outside its group's directory), so it is not ours to clear
    with pytest.raises(ManifestError, match="src/main.py"):
        read_manifest(dataset)
    r = run_split(src, "--out", dataset, "--time-column", "t", "--group-by", "year", "--overwrite")
    assert r.exit_code == 1 and "not a valid datagen manifest" in r.output
    assert (dataset / "src" / "main.py").read_text() == "print('mine')\n"
    assert load((dataset / "manifest.json")) == data


# --- A4: a failing --overwrite leaves the previous dataset byte-for-byte intact ------------------

def _fail_conservation(monkeypatch):
    def broken(*args, **kwargs):
        raise ConservationError("injected: a row went missing")
    monkeypatch.setattr("splitters.split.check_conservation", broken)
    return "injected"


def _fail_commit(monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr("splitters.publish.atomic_write_text", full)
    return "no space left writing"


def _fail_midway_through_moves(monkeypatch):
    real, calls = os.replace, []

    def replace(a, b, *args, **kwargs):
        calls.append(a)
        if len(calls) == 4:
            raise OSError(errno.EIO, "Input/output error", str(b))
        return real(a, b, *args, **kwargs)
    monkeypatch.setattr(os, "replace", replace)
    return "Input/output error"


@pytest.mark.parametrize("inject", [None, _fail_conservation, _fail_commit, _fail_midway_through_moves])
def test_failed_overwrite_leaves_the_old_dataset_byte_identical(tmp_path, dataset, src, run_split, monkeypatch,
                                                                 inject):
    before = _tree(dataset)
    if inject is None:  # bad times found late, after staging
        bad = tmp_path / "b.csv"
        bad.write_text("t,v\n" + "".join(f"2020-01-{d:02d}T00:00:00Z,{d}\n" for d in range(1, 29)) + "yesterday,2\n")
        args, needle = [bad], "cannot be parsed"
    else:
        b = tmp_path / "in" / "b.parquet"
        pq.write_table(_table(50, start=10**5), b)
        args, needle = [src, b], inject(monkeypatch)
    _fails(run_split(*args, "--out", dataset, *ARGS, "--overwrite"), 1, needle)
    assert _tree(dataset) == before
    assert verify_dataset(dataset).ok


# --- A6: one split per directory --------------------------------------------------------------------

def test_a_held_lock_refuses_a_second_split(dataset, src, run_split):
    before = _tree(dataset)
    with OutLock(dataset):
        for extra in ([], ["--overwrite"]):
            err = _fails(run_split(src, "--out", dataset, *ARGS, *extra), 1)
            assert err == f"error: another split is writing {str(dataset)!r} (pid {os.getpid()}); wait for it to finish"
        assert _tree(dataset)[LOCK_NAME]
    assert _tree(dataset) == before


def test_a_lock_file_left_by_a_killed_split_is_reused(tmp_path, src, run_split):
    out = tmp_path / "o"
    out.mkdir()
    (out / LOCK_NAME).write_text('{"lock": "datagen split lock", "pid": 999999}\n')
    assert run_split(src, "--out", out, *ARGS).exit_code == 0
    assert not (out / LOCK_NAME).exists() and verify_dataset(out).ok


# --- A14: the manifest respects the umask like the shards ---------------------------------------

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_manifest_and_shards_follow_the_umask(tmp_path, src, run_split, umask, mode):
    previous = os.umask(umask)
    try:
        out = tmp_path / "o"
        assert run_split(src, "--out", out, *ARGS).exit_code == 0
        atomic_write_text(tmp_path / "plain.txt", "x")
    finally:
        os.umask(previous)
    assert (out / "manifest.json").stat().st_mode & 0o777 == mode
    assert (out / read_manifest(out).shards[0].path).stat().st_mode & 0o777 == mode
    assert (tmp_path / "plain.txt").stat().st_mode & 0o777 == mode


# --- A15: up to date means the output verifies and the sources are unchanged --------------------

@pytest.mark.parametrize("damage, needle", [
    (lambda p: p.unlink(), "missing shard"),
    (lambda p: p.write_bytes(p.read_bytes()[:-10]), "changed shard"),
])
def test_up_to_date_requires_the_output_to_verify(tmp_path, dataset, src, run_split, damage, needle):
    clean = _tree(dataset)
    damage(dataset / read_manifest(dataset).shards[3].path)
    r = run_split(src, "--out", dataset, *ARGS)
    assert "up to date" not in r.output
    _fails(r, 1, "does not verify", needle, "--overwrite")
    r = run_split(src, "--out", dataset, *ARGS, "--overwrite")
    assert r.exit_code == 0, r.stderr
    repaired = _tree(dataset)
    assert {k: v for k, v in repaired.items() if k != "manifest.json"} == \
        {k: v for k, v in clean.items() if k != "manifest.json"}
    assert "up to date" in run_split(src, "--out", dataset, *ARGS).output


def test_up_to_date_notices_a_source_rewritten_with_the_same_size_and_mtime(tmp_path, run_split):
    src = tmp_path / "a.csv"
    src.write_text("t,v\n2020-01-01T00:00:00Z,111\n2020-02-01T00:00:00Z,222\n")
    out = tmp_path / "o"
    assert run_split(src, "--out", out, *ARGS).exit_code == 0
    assert "up to date" in run_split(src, "--out", out, *ARGS).output
    st = src.stat()
    src.write_text("t,v\n2020-01-01T00:00:00Z,999\n2020-02-01T00:00:00Z,222\n")
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert src.stat().st_size == st.st_size and src.stat().st_mtime_ns == st.st_mtime_ns
    _fails(run_split(src, "--out", out, *ARGS), 1, "changed sources", "sha256", "--overwrite")


# --- C: a failed split removes the directories it created; overlap decided the same every time ----

@pytest.mark.parametrize("late", [True, False])
def test_failed_split_removes_the_directories_it_created(tmp_path, src, run_split, late):
    args = [tmp_path / "bad.csv"] if late else [src]
    (tmp_path / "bad.csv").write_text("t,v\nyesterday,1\n")
    _fails(run_split(*args, "--out", tmp_path / "a" / "b" / "c", *(ARGS if late else ["--time-column", "when"])),
           1 if late else 2)
    assert not (tmp_path / "a").exists()
    (tmp_path / "a").mkdir()
    _fails(run_split(*args, "--out", tmp_path / "a" / "b" / "c", *(ARGS if late else ["--time-column", "when"])),
           1 if late else 2)
    assert list((tmp_path / "a").iterdir()) == []


def test_a_glob_that_cannot_reach_out_is_accepted_every_time(tmp_path, src, run_split):
    out = src.parent / "by-month"
    pattern = str(src.parent / "*.parquet")
    assert run_split(pattern, "--out", out, *ARGS).exit_code == 0
    assert "up to date" in run_split(pattern, "--out", out, *ARGS).output
    deep = str(src.parent / "**" / "*.parquet")
    for _ in range(2):
        _fails(run_split(deep, "--out", src.parent / "other", *ARGS), 2, "would find the shards")
    assert not (src.parent / "other").exists()


# --- B: unwritable or full --out: one line, exit 1, nothing half-written ------------------------

def test_out_that_cannot_be_created(tmp_path, src, run_split):
    _fails(run_split(src, "--out", "/proc/self/x", *ARGS), 1, "cannot create --out '/proc/")
    (tmp_path / "file.txt").write_text("x")
    _fails(run_split(src, "--out", tmp_path / "file.txt" / "sub", *ARGS), 1, "cannot create --out", "Not a directory")
    _fails(run_split(src, "--out", tmp_path / "file.txt", *ARGS), 1, "exists and is not a directory")
    assert (tmp_path / "file.txt").read_text() == "x"


@pytest.fixture
def tmpfs(tmp_path):
    mounts = []

    def mount(size, readonly=False):
        d = tmp_path / f"fs{len(mounts)}"
        d.mkdir()
        options = f"size={size}" + (",ro" if readonly else "")
        try:
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(d)], capture_output=True, text=True)
        except OSError as exc:
            pytest.skip(f"cannot run mount here ({exc}); this test needs a small tmpfs")
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}); this test needs root and mount")
        mounts.append(d)
        return d

    yield mount
    import gc

    gc.collect()  # files a failed in-process split still holds open (through its traceback) keep a mount busy
    for d in mounts:
        if subprocess.run(["umount", str(d)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(d)], capture_output=True)


def test_read_only_out(tmp_path, src, run_split, tmpfs):
    ro = tmpfs("1m", readonly=True)
    _fails(run_split(src, "--out", ro, *ARGS), 1, str(ro), "read-only file system")
    _fails(run_split(src, "--out", ro / "sub", *ARGS), 1, "cannot create --out", "Read-only file system")


def test_a_dataset_on_a_read_only_filesystem_is_checked_not_written(tmp_path, src, run_split, tmpfs):
    fs = tmpfs("4m")
    assert run_split(src, "--out", fs / "ds", *ARGS).exit_code == 0
    before = _tree(fs)
    r = subprocess.run(["mount", "-o", "remount,ro", str(fs)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot remount read-only here ({r.stderr.strip()})")
    assert "up to date" in run_split(src, "--out", fs / "ds", *ARGS).output
    _fails(run_split(src, "--out", fs / "ds", *ARGS, "--overwrite"), 1, "read-only file system")
    assert _tree(fs) == before


def _big_input(tmp_path):
    n = 200_000
    rng = np.random.default_rng(0)
    path = tmp_path / "big.parquet"
    t = stamps(n, 600)
    pq.write_table(pa.table({"t": t, "x": rng.random(n), "y": rng.random(n)}), path)
    return path


def _staging_and_shard_bytes(tmp_path, big, run_split, monkeypatch, args=ARGS):
    """Measure, on an ordinary directory, how much the staged batches and the shards take."""
    import splitters.publish as publish_module
    import splitters.split as split_module

    seen = {}
    real = publish_module.publish

    def measuring(out, shard_root, staged, build, **kwargs):
        seen["shards"] = sum(s.bytes for s in staged)
        return real(out, shard_root, staged, build, **kwargs)

    real_drop = split_module.StagedDrop

    def dropping(paths):   # the staged files on disk after the write step, before their deletion (staged_drop.py)
        seen["staging"] = sum(os.path.getsize(p) for p in paths if os.path.exists(p))
        return real_drop(paths)

    with monkeypatch.context() as m:
        m.setattr(split_module, "publish", measuring)
        m.setattr(split_module, "StagedDrop", dropping)
        assert run_split(big, "--out", tmp_path / "measure", *args).exit_code == 0
    return seen["staging"], seen["shards"]


def test_an_already_full_disk_leaves_no_lock_or_journal(tmp_path, src, run_split, tmpfs):
    fs = tmpfs("64k")
    with open(fs / "filler", "wb") as fh:
        try:
            fh.write(b"x" * (1 << 20))
        except OSError:
            pass
    _fails(run_split(src, "--out", fs / "o", *ARGS), 1, "no space left writing")
    assert [p.name for p in fs.iterdir()] == ["filler"]


@pytest.mark.parametrize("phase", ["staging", "shards", "shards, staged in memory"])
def test_disk_full_blames_the_output(tmp_path, run_split, tmpfs, monkeypatch, phase):
    big = _big_input(tmp_path)
    # staged files on disk (the default), or staged batches kept in memory (--staging-memory, stage_memory.py)
    args = (*ARGS, "--staging-memory", "64MiB") if phase.endswith("in memory") else ARGS
    staging, shards = _staging_and_shard_bytes(tmp_path, big, run_split, monkeypatch, args)
    assert (staging == 0) == phase.endswith("in memory")
    size = staging // 3 if phase == "staging" else staging + shards // 3
    fs = tmpfs(str(size // 4096 * 4096))
    err = _fails(run_split(big, "--out", fs, *args), 1, "no space left writing", str(fs))
    assert "big.parquet" not in err, "a full disk is not the input's fault"
    assert list(fs.iterdir()) == [], "nothing half-written is left"
    out = fs / "a" / "b"
    _fails(run_split(big, "--out", out, *args), 1, "no space left writing")
    assert list(fs.iterdir()) == []
