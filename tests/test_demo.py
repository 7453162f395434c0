"""`modelcycle demo` plays the whole lifecycle offline and tells the story it promises."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelcycle.cli import main
from modelcycle.demo import run_demo


def test_the_demo_tells_the_whole_story(tmp_path: Path) -> None:
    lines: list[str] = []
    story = run_demo(tmp_path / "demo", say=lines.append)
    auc = [month["auc_floor"] for month in story["checks"]]
    assert auc[:4] == ["OK", "OK", "WARNING", "ERROR"]  # performance falls as the data drifts
    assert story["activated"] == [True, False]  # the retrain helps; the same retrain again does not
    assert story["versions"] == 3 and story["alerts"] >= 3 and story["scenario"] in ("SUCCESS", "WARNING")
    outbox = (tmp_path / "demo" / "outbox.txt").read_text()
    assert "check auc_floor is ERROR for churn v1" in outbox
    text = "\n".join(lines)
    assert "rolled back to v1" in text and "Done in" in text
    assert "logging the 2,000 predictions by customer_id" in text and "(2,000 matched)" in text
    page = Path(story["dashboard"]).read_text()
    assert "churn" in page and "<svg" in page


def test_the_demo_refuses_a_folder_in_use(tmp_path: Path, capsys) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(SystemExit) as info:
        main(["demo", str(tmp_path)])
    assert info.value.code == 2
    assert capsys.readouterr().err == f"error: {tmp_path} is not empty: give 'modelcycle demo' a new or empty folder\n"


def test_the_demo_runs_in_its_default_folder_from_any_current_folder(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["demo"])
    out, err = capsys.readouterr()
    assert info.value.code in (0, None), out
    assert err == ""  # step 8 tells the scenario's outcome: no log line says it again
    folder = tmp_path / "modelcycle-demo"
    assert "2. scored 2,000 customers of month 1" in out and (folder / "data" / "scored-month-1.parquet").is_file()
    assert f"The project is in {folder}" in out and (folder / "dashboard.html").is_file()
    assert not (folder / "modelcycle-demo").exists()
