"""An evaluation's name and the period its data covers (as_of): given on the command line, in
Python or by the dataset's settings; shown by history, usable as the dashboard's time axis;
a bad one is one line, exit status 2, and nothing recorded."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import open_project
from modelcycle.cli import main
from modelcycle.dashboard.build import render
from modelcycle.errors import ModelcycleError, NameError_, SettingsError

from tests.conftest import write_settings


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pd.DataFrame({"x": x, "w": rng.normal(size=rows), "y": (x + rng.normal(size=rows) > 0).astype(int)})


def _project(tmp_path: Path, extra: str = "", dataset: str = ""):
    _frame(600, 0).to_parquet(tmp_path / "train.parquet", index=False)
    _frame(200, 1).to_parquet(tmp_path / "feedback.parquet", index=False)
    write_settings(
        tmp_path,
        f"""
[datasets.d]
url = "train.parquet"
[datasets.feedback]
url = "feedback.parquet"
{dataset}
[models.m]
dataset = "d"
target = "y"
params = {{ max_iter = 50 }}
threads = 1
{extra}
""",
    )
    project = open_project(tmp_path)
    project.train("m")
    return project


@pytest.fixture(autouse=True)
def wide(monkeypatch) -> None:
    """Tables as on a wide terminal: these tests read columns, not how a narrow one fits them."""
    monkeypatch.setenv("COLUMNS", "250")


def _run(project, *args: str, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["--project", str(project.settings.root), *args])
    out, err = capsys.readouterr()
    return info.value.code, out, err


def _table(out: str) -> list[list[str]]:
    lines = [line for line in out.splitlines() if "┃" in line or "│" in line]
    return [[cell.strip() for cell in line.replace("┃", "│").split("│")] for line in lines]


def test_evaluate_name_and_as_of_are_recorded_and_shown_by_history(tmp_path: Path, capsys) -> None:
    project = _project(tmp_path)
    code, out, _ = _run(
        project, "evaluate", "m", "feedback", "--name", "october", "--as-of", "2026-10-31", capsys=capsys
    )
    assert code == 0 and "evaluation 1 on 200 rows (200 labelled), named october, data as of 2026-10-31" in out
    code, out, _ = _run(project, "evaluate", "m", "feedback", "--json", capsys=capsys)  # the dataset's name
    record = json.loads(out)
    assert code == 0 and (record["name"], record["as_of"], record["dataset"]["name"]) == ("feedback", None, "feedback")
    project.evaluate("m", _frame(100, 2))  # a DataFrame, unnamed
    project.evaluate("m", _frame(100, 3), name="week-44", as_of="2026-11-01T12:00:00+01:00")

    code, out, _ = _run(project, "history", "m", "--json", capsys=capsys)
    records = json.loads(out)
    assert [(r["name"], r["as_of"]) for r in records] == [
        ("october", "2026-10-31"),
        ("feedback", None),
        (None, None),
        ("week-44", "2026-11-01T12:00:00+01:00"),
    ]
    frame = project.history("m")
    assert [None if pd.isna(v) else v for v in frame["dataset"]] == ["october", "feedback", None, "week-44"]
    assert [None if pd.isna(v) else v for v in frame["as_of"]] == [
        "2026-10-31",
        None,
        None,
        "2026-11-01T12:00:00+01:00",
    ]

    code, out, _ = _run(project, "history", "m", capsys=capsys)
    header, *rows = _table(out)
    assert code == 0 and {"version", "dataset", "as_of"} <= set(header)
    shown = [(r[header.index("version")], r[header.index("dataset")], r[header.index("as_of")]) for r in rows]
    assert shown[:3] == [("1", "october", "2026-10-31"), ("1", "feedback", "-"), ("1", "-", "-")]
    version, name, as_of = shown[3]  # a long cell may be cut to fit
    assert (version, name) == ("1", "week-44") and "2026-11-01T12:00:00+01:00".startswith(as_of.rstrip("…"))


def test_history_leaves_out_the_as_of_column_when_no_evaluation_has_one(tmp_path: Path, capsys) -> None:
    project = _project(tmp_path)
    project.evaluate("m", "feedback")
    code, out, _ = _run(project, "history", "m", capsys=capsys)
    header, row = _table(out)
    assert code == 0 and "as_of" not in header and row[header.index("dataset")] == "feedback"


def test_history_names_a_path_by_its_file_and_shows_challenger_only_when_there_is_one(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    project = _project(tmp_path)
    project.evaluate("m", str(tmp_path / "feedback.parquet"))
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = _run(project, "history", "m", capsys=capsys)
    header, row = _table(out)
    assert code == 0 and "challenger" not in header and row[header.index("dataset")] == "feedback.parquet"
    assert "dataset" not in out.split("not shown")[-1]  # the dataset comes before the other numbers
    project.train("m")  # version 2 active: an evaluation of version 1 is a challenger's
    project.evaluate("m", "feedback", version=1)
    code, out, _ = _run(project, "history", "m", capsys=capsys)
    header, *rows = _table(out)
    assert [r[header.index("challenger")] for r in rows] == ["", "yes"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://bucket/feedback/october.parquet?versionId=3", "october.parquet"),
        ("data/feedback-month-6.parquet", "feedback-month-6.parquet"),
        ("C:\\data\\week.csv", "week.csv"),
        ("s3://bucket/parts/", "parts"),
        ("", None),
        (None, None),
    ],
)
def test_the_file_name_of_a_path_or_url(url, expected) -> None:
    from modelcycle.evaluation_label import file_name

    assert file_name(url) == expected


def test_a_dataset_gives_its_period_and_the_command_line_overrides_it(tmp_path: Path) -> None:
    project = _project(tmp_path, dataset="as_of = 2026-09-30")  # a TOML date
    assert project.settings.datasets["feedback"].as_of == "2026-09-30"
    assert project.evaluate("m", "feedback")["as_of"] == "2026-09-30"
    assert project.evaluate("m", "feedback", as_of="2026-10-01")["as_of"] == "2026-10-01"
    assert project.evaluate("m", str(tmp_path / "feedback.parquet"))["as_of"] is None  # a path: no settings


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--as-of", "2026-13-01"],
            "error: invalid value for '--as-of': '2026-13-01' is not a date: give YYYY-MM-DD or an ISO time "
            "such as 2026-10-31T23:00:00Z; see 'modelcycle evaluate --help'\n",
        ),
        (
            ["--as-of", "last month"],
            "error: invalid value for '--as-of': 'last month' is not a date: give YYYY-MM-DD or an ISO time "
            "such as 2026-10-31T23:00:00Z; see 'modelcycle evaluate --help'\n",
        ),
        (
            ["--name", "oct 2026"],
            "error: invalid value for '--name': evaluation name 'oct 2026' is not allowed: use 1-100 letters, "
            "digits, '-', '_' or '.', starting with a letter or digit (no spaces, slashes or '..'); "
            "see 'modelcycle evaluate --help'\n",
        ),
        (
            ["--name", ""],
            "error: invalid value for '--name': evaluation name is empty: use letters, digits, '-', '_' or '.'; "
            "see 'modelcycle evaluate --help'\n",
        ),
    ],
)
def test_a_bad_name_or_date_is_one_line_exit_2_and_records_nothing(tmp_path: Path, capsys, args, expected) -> None:
    project = _project(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / ".modelcycle").rglob("*"))
    code, out, err = _run(project, "evaluate", "m", "feedback", *args, capsys=capsys)
    assert (code, out, err) == (2, "", expected)
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / ".modelcycle").rglob("*")) == before
    assert project.evaluations("m") == []


def test_a_bad_name_or_date_in_python_and_in_the_settings(tmp_path: Path) -> None:
    project = _project(tmp_path)
    with pytest.raises(ModelcycleError, match=r"^as_of '31/10/2026' is not a date: give YYYY-MM-DD or an ISO time"):
        project.evaluate("m", "feedback", as_of="31/10/2026")
    with pytest.raises(NameError_, match=r"^evaluation name 'a/b' is not allowed"):
        project.evaluate("m", "feedback", name="a/b")
    assert project.evaluations("m") == []
    (tmp_path / "modelcycle.toml").write_text(
        (tmp_path / "modelcycle.toml")
        .read_text()
        .replace('url = "feedback.parquet"', 'url = "f.parquet"\nas_of = "soon"')
    )
    with pytest.raises(
        SettingsError,
        match=r"^modelcycle.toml: datasets\.feedback\.as_of: value error, 'soon' is not a date: give YYYY-MM-DD",
    ):
        open_project(tmp_path)


def test_the_dashboard_time_axis_can_be_the_period_the_data_covers(tmp_path: Path) -> None:
    project = _project(tmp_path)
    for month in ("2020-01-31", "2020-04-30", "2020-07-31"):
        project.evaluate("m", "feedback", as_of=month)
    by_run = render(project)
    (tmp_path / "modelcycle.toml").write_text(
        (tmp_path / "modelcycle.toml").read_text() + '\n[dashboard]\ntime_axis = "as_of"\n'
    )
    by_period = render(open_project(tmp_path))
    ticks = re.compile(r">(20\d\d-\d\d-\d\d)<")  # the time axis' labels, by day over a span of months
    assert ticks.findall(by_run) == []  # the evaluations ran seconds apart: the axis shows times of day
    assert sorted(set(ticks.findall(by_period))) == [
        "2020-01-31",
        "2020-03-16",
        "2020-05-01",
        "2020-06-15",
        "2020-07-31",
    ]
    assert "data as of 2020-04-30" in by_period and "data as of 2020-04-30" in by_run  # the hover says both
    assert 'id="drift-m"' in by_run  # where an alert about drift points
    assert ">feedback (as of 2020-04-30)</td>" in by_run  # the evaluations table names the data and its period


def test_labels_that_arrive_later_are_named_and_dated_too(tmp_path: Path, capsys) -> None:
    from tests.test_prediction_log import frame, make

    project = make(tmp_path / "p")
    project.train("m")
    new = frame(200, 1, start=10_000)
    project.score("m", new.drop(columns="y"))
    new[["customer", "y"]].to_csv(tmp_path / "labels.csv", index=False)
    code, out, _ = _run(
        project, "evaluate", "m", "--labels", str(tmp_path / "labels.csv"), "--name", "late-october",
        "--as-of", "2026-10-31", "--json", capsys=capsys,
    )  # fmt: skip
    record = json.loads(out)
    assert code == 0 and record["mode"] == "labels" and record["labeled_rows"] == 200
    assert (record["name"], record["as_of"]) == ("late-october", "2026-10-31")
    unnamed = project.evaluate("m", labels=new[["customer", "y"]])
    assert (unnamed["name"], unnamed["as_of"], unnamed["dataset"]) == (None, None, None)
