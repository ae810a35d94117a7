"""The user surface: example configs, README examples, the quickstart notebook, and the demo."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _env():
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "TF_CPP_MIN_LOG_LEVEL": "3"}


def test_every_config_is_valid_and_usable(tmp_path, monkeypatch):
    from cli_checks import datagen_cli, split_cli
    from datagen import DataGenerator
    from datagen.reader.options import load_config_file as load_gen, options_from_config
    from datagen.app.sample import write_sample
    from splitters.config import SplitConfig, load_config_file as load_split

    files = sorted((ROOT / "configs").glob("*.y*ml"))
    assert {f.name for f in files} >= {"split-example.yaml", "train-example.yaml"}
    for f in files:
        if f.name.startswith("split"):
            SplitConfig(**load_split(f))
        elif f.name.startswith("train"):
            options_from_config(load_gen(f))
        else:
            pytest.fail(f"unclassified config {f.name}")
    # and they work as shipped, from a project directory holding events/
    monkeypatch.chdir(tmp_path)
    write_sample(tmp_path / "events", files=2, rows_per_file=5_000, seed=1)
    r = split_cli("--config", ROOT / "configs/split-example.yaml")
    assert r.exit_code == 0, r.output + r.stderr
    gen = DataGenerator.from_config(str(ROOT / "configs/train-example.yaml"))
    assert len(gen) > 0 and gen[0][0].shape[1] == 16
    r = datagen_cli("provenance", "data/events-by-day", "--batch", "1", "--epoch", "1",
                    "--config", ROOT / "configs/train-example.yaml", "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert r.output.count('"source_row"') == 1024


def _readme_blocks():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"<!-- run -->\s*```(bash|python)\n(.*?)```", text, flags=re.S)


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    text = (ROOT / "README.md").read_text()
    fences = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    demo, tests = fences[0].strip(), fences[1].strip()
    assert "datagen demo" in demo and "python3 -m venv" in demo
    assert "pytest" in tests and "[dev]" in tests
    assert tests in (ROOT / ".ci/run").read_text(), ".ci/run must run the README's test command"
    assert text.index(demo) < text.index("## ")


def test_readme_examples_run(tmp_path):
    blocks = _readme_blocks()
    assert len(blocks) >= 5
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for kind, body in blocks:
            if kind == "bash":
                r = subprocess.run(["bash", "-euo", "pipefail", "-c", body], capture_output=True, text=True,
                                   env=_env(), timeout=600)
                assert r.returncode == 0, f"README block failed:\n{body}\n{r.stdout}\n{r.stderr}"
            else:
                exec(compile(body, "README.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    assert (tmp_path / "data/events-by-day/manifest.json").exists()
    assert len(namespace["prov"]) == 1024


def test_quickstart_notebook_executes(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "notebooks/quickstart.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "outputs are not committed"
    os.environ["QUICKSTART_ROWS"], os.environ["QUICKSTART_DIR"] = "40000", str(tmp_path / "work")
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        del os.environ["QUICKSTART_ROWS"], os.environ["QUICKSTART_DIR"]
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "match their source records" in text and "OK: 366 shards" in text
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 2


def test_demo_runs_end_to_end(tmp_path):
    r = subprocess.run([str(BIN / "datagen"), "demo", "--rows", "40000", "--out", str(tmp_path / "demo")],
                       capture_output=True, text=True, env=_env(), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    for needle in ("1. writing a synthetic sample", "written: 40,000 rows in 366 shards", "epoch 1: loss",
                   "verified: all 1,024 rows", "next: datagen show"):
        assert needle in out, (needle, out)
    assert (tmp_path / "demo/dataset/manifest.json").exists()
    # running it again replaces its own output; a foreign non-empty directory is refused
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("x")
    r = subprocess.run([str(BIN / "datagen"), "demo", "--rows", "40000", "--out", str(tmp_path / "mine")],
                       capture_output=True, text=True, env=_env(), timeout=600)
    assert r.returncode == 1 and "not empty" in r.stderr and (tmp_path / "mine/keep.txt").exists()


@pytest.mark.parametrize("rows, files", [(4000, 3), (10, 4), (7, 7), (300_000, 4)])
def test_sample_writes_exactly_the_rows_asked_for(run_datagen, tmp_path, rows, files):
    """--rows is the total: the rows that do not divide evenly go one each to the first files (4,000 rows
    in 3 files used to give 3,999); ids run on across the files."""
    import pyarrow.dataset as pads

    out = tmp_path / "s"
    assert run_datagen("sample", "--out", out, "--rows", rows, "--files", files).exit_code == 0
    table = pads.dataset(out).to_table(columns=["id"])
    assert table.num_rows == rows and sorted(table.column("id").to_pylist()) == list(range(rows))
    counts = sorted(pads.dataset(p).count_rows() for p in out.iterdir())
    assert counts[-1] - counts[0] <= 1 and len(counts) == files
