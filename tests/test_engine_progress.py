"""The split engine's progress bar: shown when asked for, absent otherwise, and never on a pipe."""

from click.testing import CliRunner

from splitters.cli import main as split_main
from splitters.engine import Engine


def _square(x):
    return x * x


def test_progress_bar_counts_finished_tasks(capsys):
    with Engine("local", workers=2, progress=True) as engine:
        assert engine.map(_square, [1, 2, 3, 4], desc="staging") == [1, 4, 9, 16]
    err = capsys.readouterr().err
    assert "staging" in err and "4/4" in err


def test_no_progress_bar_unless_asked(capsys):
    with Engine("local", workers=2, progress=False) as engine:
        assert engine.map(_square, [5, 6], desc="staging") == [25, 36]
    assert "staging" not in capsys.readouterr().err


def test_cli_keeps_pipes_free_of_progress_bars(sample_parquet, tmp_path):
    # CliRunner's stderr is not a terminal: only the one-line summary may appear.
    r = CliRunner().invoke(split_main, [str(sample_parquet), "--out", str(tmp_path / "out"),
                                        "--time-column", "event_time", "--group-by", "month"])
    assert r.exit_code == 0, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "rows/s" in lines[0], r.output
    assert "task" not in r.output
