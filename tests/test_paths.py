"""One path rule: a relative path on the command line starts at the current folder, one in
modelcycle.toml at the settings file's folder; a missing file is named by its absolute path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import open_project
from modelcycle.cli import main

from tests.conftest import write_settings

SETTINGS = """\
[project]
name = "paths"

[datasets.train]
url = "data/train.csv"

[datasets.feedback]
url = "data/feedback.csv"

[models.m]
dataset = "train"
target = "y"
params = { max_iter = 10 }
threads = 1
"""


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pd.DataFrame({"x": x, "z": rng.normal(size=rows), "y": (x + rng.normal(size=rows) > 0).astype(int)})


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A trained project in tmp/project, and the current folder tmp/work, each with its own data/."""
    project, work = tmp_path / "project", tmp_path / "work"
    (project / "data").mkdir(parents=True)
    (work / "data").mkdir(parents=True)
    write_settings(project, SETTINGS)
    frame(300, 0).to_csv(project / "data" / "train.csv", index=False)
    frame(100, 1).to_csv(project / "data" / "feedback.csv", index=False)
    frame(40, 2).to_csv(work / "data" / "feedback.csv", index=False)  # same relative name, other rows
    open_project(project).train("m")
    monkeypatch.chdir(work)
    return project, work


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_score_paths(places, capsys) -> None:
    project, work = places
    code, out, _ = run(capsys, "--project", str(project), "score", "m", "data/feedback.csv", "out/s.csv", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["rows"] == 40 and summary["output"] == str(work / "out" / "s.csv")
    assert len(pd.read_csv(work / "out" / "s.csv")) == 40 and not (project / "out").exists()
    code, out, _ = run(capsys, "--project", str(project), "score", "m", "feedback", "named.csv", "--json")
    assert code == 0 and json.loads(out)["rows"] == 100  # the dataset's url starts at modelcycle.toml
    code, _, err = run(capsys, "--project", str(project), "score", "m", "data/nothere.csv", "o.csv")
    assert code == 2 and f"no file at {work / 'data' / 'nothere.csv'}: check the path" in err


def test_evaluate_paths(places, capsys) -> None:
    project, work = places
    code, out, _ = run(capsys, "--project", str(project), "evaluate", "m", "data/feedback.csv", "--json")
    assert code == 0 and json.loads(out)["rows"] == 40  # the current folder's file
    code, out, _ = run(capsys, "--project", str(project), "evaluate", "m", "feedback", "--json")
    assert code == 0 and json.loads(out)["rows"] == 100  # the project's file, by the dataset's name
    code, _, err = run(capsys, "--project", str(project), "evaluate", "m", "data/nothere.csv")
    assert code == 2 and err == (
        f"error: data {work / 'data' / 'nothere.csv'}: no file at {work / 'data' / 'nothere.csv'}: check the path "
        "(a relative path in modelcycle.toml starts at its folder, one on the command line at the current folder)\n"
    )
    (project / "data" / "feedback.csv").unlink()
    code, _, err = run(capsys, "--project", str(project), "evaluate", "m", "feedback")
    assert code == 2 and f"dataset 'feedback': no file at {(project / 'data' / 'feedback.csv').resolve()}:" in err


def test_dashboard_build_paths(places, capsys) -> None:
    project, work = places
    code, out, _ = run(capsys, "--project", str(project), "dashboard", "build", "boards/d.html")
    assert code == 0 and (work / "boards" / "d.html").is_file() and str(work / "boards" / "d.html") in out
    code, out, _ = run(capsys, "--project", str(project), "dashboard", "build")
    assert code == 0 and (project / "dashboard.html").is_file() and not (work / "dashboard.html").exists()


def test_the_python_api_starts_relative_paths_at_the_project_folder(places) -> None:
    project, work = places
    opened = open_project(project)
    assert len(opened.score("m", "data/feedback.csv")) == 100  # the project's file, not the current folder's
    summary = opened.score("m", "data/feedback.csv", output="out/api.csv")
    assert summary["output"] == str((project / "out" / "api.csv").resolve())
