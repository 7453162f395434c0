"""Progress bars: drawn only on a terminal and never with --json; their totals are the Parquet
row counts (from the footers) or train's stages; a real pseudo-terminal shows one."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from modelcycle import open_project
from modelcycle import score as score_module
from modelcycle.data import resolve
from modelcycle.progress import Bar, advance, expect, parquet_rows, shows_bar
from rich.console import Console

from tests.conftest import write_settings

ROWS = 3000


def frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": (x[:, 0] + x[:, 1] > 0).astype(int)})


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Model m trained on train.parquet; new.parquet has ROWS rows in 7 row groups."""
    folder = tmp_path_factory.mktemp("progress")
    frame(400).to_parquet(folder / "train.parquet", index=False)
    table = pa.Table.from_pandas(frame(ROWS, seed=1), preserve_index=False)
    pq.write_table(table, folder / "new.parquet", row_group_size=450)
    frame(ROWS, seed=1).to_csv(folder / "new.csv", index=False)
    write_settings(
        folder,
        '[project]\nname = "p"\n[datasets.d]\nurl = "train.parquet"\n[datasets.new]\nurl = "new.parquet"\n'
        '[models.m]\ndataset = "d"\ntarget = "y"\nparams = { max_iter = 20 }\nthreads = 1\n',
    )
    open_project(folder).train("m")
    return folder


def terminal_bar() -> tuple[Bar, io.StringIO]:
    out = io.StringIO()
    return Bar(Console(file=out, force_terminal=True, width=120)), out


# -- when a bar is drawn ------------------------------------------------------------------


def test_a_bar_only_on_a_terminal_and_never_with_json() -> None:
    leader, follower = os.openpty()
    with open(follower, "w") as terminal:
        assert shows_bar(False, terminal) is True
        assert shows_bar(True, terminal) is False  # --json
    os.close(leader)
    assert shows_bar(False, io.StringIO()) is False  # piped or captured
    with open(os.devnull, "w") as null:
        assert shows_bar(False, null) is False  # redirected to a file
    closed = io.StringIO()
    closed.close()
    assert shows_bar(False, closed) is False
    assert shows_bar(False, None) is False


def test_a_plain_callable_gets_stage_texts_only() -> None:
    seen: list[str] = []
    expect(seen.append, 10, stage="scoring")
    advance(seen.append, 5)
    assert seen == []


# -- the totals ----------------------------------------------------------------------------


def test_parquet_rows_come_from_the_footers_of_every_file(project_dir: Path, tmp_path: Path) -> None:
    settings = open_project(project_dir).settings
    assert parquet_rows(resolve(settings, "new")) == ROWS
    for i, rows in enumerate([100, 250, 7]):
        pq.write_table(pa.Table.from_pandas(frame(rows), preserve_index=False), tmp_path / f"part{i}.parquet")
    assert parquet_rows(resolve(settings, str(tmp_path / "part*.parquet"))) == 357
    assert parquet_rows(resolve(settings, str(project_dir / "new.csv"))) is None  # CSV: no count without reading
    assert parquet_rows(None) is None


def test_scoring_parquet_the_bar_counts_to_the_footer_rows(project_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(score_module, "BATCH_ROWS", 500)
    project = open_project(project_dir)
    bar, out = terminal_bar()
    counts: list[float] = []
    real = bar.advance

    def advance_and_see(done: int) -> None:
        real(done)
        counts.append(bar._progress.tasks[0].completed)

    monkeypatch.setattr(bar, "advance", advance_and_see)
    with bar:
        summary = project.score("m", "new", tmp_path / "out.parquet", progress=bar)
    assert summary["rows"] == ROWS and bar.total == ROWS
    assert counts[-1] == ROWS and counts == sorted(counts) and len(counts) > 5  # row by batch, up to the total
    assert f"{ROWS:,}/{ROWS:,} rows" in out.getvalue() and "scoring" in out.getvalue()


def test_scoring_csv_counts_rows_without_a_total(project_dir: Path, tmp_path: Path) -> None:
    bar, out = terminal_bar()
    with bar:
        open_project(project_dir).score("m", str(project_dir / "new.csv"), tmp_path / "out.csv", progress=bar)
    assert bar.total is None and f"{ROWS:,} rows" in out.getvalue() and "ETA" not in out.getvalue()


def test_evaluating_parquet_and_a_dataframe_the_totals_are_their_rows(project_dir: Path) -> None:
    project = open_project(project_dir)
    for source, rows in (("new", ROWS), (frame(1234, seed=2), 1234)):
        bar, out = terminal_bar()
        with bar:
            record = project.evaluate("m", source, progress=bar)
        assert record["rows"] == rows and bar.total == rows
        assert bar._progress.tasks[0].completed == rows and f"{rows:,}/{rows:,} rows" in out.getvalue()


def test_training_the_bar_counts_stages(project_dir: Path) -> None:
    bar, out = terminal_bar()
    with bar:
        project = open_project(project_dir)
        project.train("m", progress=bar)
    assert bar.total == 5 and "stage 5/5" in out.getvalue()


# -- a real terminal -----------------------------------------------------------------------


def _run_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run the command line with stdout and stderr on a pseudo-terminal; what it showed there."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm-256color", "PYTHONPATH": os.pathsep.join(sys.path)}
    code = "from modelcycle.cli import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=cwd, stdin=follower, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    shown = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the command ended
                break
            if not chunk:
                break
            shown += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    return process.wait(timeout=30), shown.decode("utf-8", "replace")


def test_a_bar_appears_on_a_terminal_and_not_with_json(project_dir: Path, tmp_path: Path) -> None:
    code, shown = _run_on_a_terminal(["score", "m", "new.parquet", str(tmp_path / "a.parquet")], project_dir)
    assert code == 0, shown
    assert "━" in shown and f"{ROWS:,}/{ROWS:,} rows" in shown and "scoring" in shown
    assert f"scored {ROWS:,} rows with m version " in shown
    code, shown = _run_on_a_terminal(["score", "m", "new.parquet", str(tmp_path / "b.parquet"), "--json"], project_dir)
    assert code == 0 and "━" not in shown and " rows" not in shown and '"rows": 3000' in shown


def test_no_bar_when_stderr_is_piped(project_dir: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from modelcycle.cli import main; main()", "score", "m", "new", str(tmp_path / "c.csv")],
        cwd=project_dir,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith(f"scored {ROWS:,} rows")
