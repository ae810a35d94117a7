"""Versions as a rule (issue 15 item 2): after any sequence of commits (split, append, overwrite,
compact), every version N replays to exactly the manifest.json that was current at N; a manifest
from before versions reads as version 1 and gains its record on the next commit."""

import hashlib
import json
import shutil

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datagen.contract.manifest import read_manifest, read_manifest_with_hash
from datagen.contract.verify import verify_dataset
from test_append import ARGS, day_file

OPS = st.lists(st.sampled_from(["append", "append-known", "overwrite", "compact"]), min_size=1, max_size=4)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(OPS, st.integers(0, 1000))
def test_every_version_replays_to_the_manifest_it_was(tmp_path_factory, ops, seed):
    from datagen.app.cli import main as datagen
    from splitters.cli import main as split

    d = tmp_path_factory.mktemp("ops")
    out = d / "ds"
    runner = CliRunner()
    files = [day_file(d / "f0.parquet", seed % 50, 40, 120, seed)]
    assert runner.invoke(split, [str(files[0]), *ARGS, "--out", str(out), "--no-progress"]).exit_code == 0
    texts = [(out / "manifest.json").read_bytes()]
    for i, op in enumerate(ops, start=1):
        if op == "append":
            files.append(day_file(d / f"f{i}.parquet", (seed + 17 * i) % 80, 30, 90, seed + i))
            r = runner.invoke(split, [str(files[-1]), "--out", str(out), "--append", "--no-progress"])
        elif op == "append-known":
            r = runner.invoke(split, [str(files[0]), "--out", str(out), "--append", "--no-progress"])
        elif op == "overwrite":
            r = runner.invoke(split, [*map(str, files[::-1]), *ARGS, "--out", str(out), "--overwrite", "--no-progress"])
        else:
            r = runner.invoke(datagen, ["compact", str(out)])
        assert r.exit_code == 0, (op, r.output)
        text = (out / "manifest.json").read_bytes()
        if text != texts[-1]:
            texts.append(text)
    assert read_manifest(out).number == len(texts)       # one version per commit that changed something
    for n, text in enumerate(texts, start=1):
        m, sha = read_manifest_with_hash(out, n)
        assert sha == hashlib.sha256(text).hexdigest() and m.version == n
        assert verify_dataset(out, m).ok                  # no commit deleted a shard an old version lists


def test_a_manifest_from_before_versions_reads_as_version_1_and_keeps_it(tmp_path, run_split, run_datagen):
    a = day_file(tmp_path / "a.parquet", 0, 30, 200, 1)
    b = day_file(tmp_path / "b.parquet", 20, 30, 200, 2)
    out = tmp_path / "ds"
    assert run_split(a, *ARGS, "--out", out).exit_code == 0
    data = json.loads((out / "manifest.json").read_text())
    del data["version"], data["version_record"]
    legacy = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    (out / "manifest.json").write_text(legacy)
    shutil.rmtree(out / "_versions")
    m = read_manifest(out)
    assert m.version is None and m.number == 1
    assert "1  " in run_datagen("log", out).output
    from datagen import DataGenerator
    gen = DataGenerator(out, ["x", "f"], label="y", batch_size=32)
    cfg = gen.config
    assert cfg["version"] == 1
    assert run_split(b, "--out", out, "--append").exit_code == 0
    assert sorted(p.name for p in (out / "_versions").iterdir()) == ["00000001.json", "00000002.json"]
    old, sha = read_manifest_with_hash(out, 1)
    assert sha == hashlib.sha256(legacy.encode()).hexdigest()
    assert DataGenerator.from_config(cfg).num_rows == 200
    assert len(run_datagen("log", out).output.strip().splitlines()) == 2
