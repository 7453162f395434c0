"""The CLI is a view: every command prints a record a Project method returns, with --json,
and its tables fit 80 columns with the metrics that matter first."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import click
import pytest
from modelcycle import open_project
from modelcycle.cli import cli, main
from modelcycle.records import Evaluation, Evaluations, Record

from tests.conftest import write_settings

SETTINGS = """
[project]
name = "tables"
[datasets.d]
url = "d.csv"
[models.m]
dataset = "d"
target = "y"
primary_metric = "roc_auc"
[checks.brier_cap]
model = "m"
metric = "brier"
max = 0.3
[notifiers.box]
type = "file"
[notifiers.down]
type = "apprise"
urls = ["json://127.0.0.1:9/alerts"]
"""

#: alphabetically first come accuracy, average_precision…: the primary (roc_auc) and the
#: checked metric (brier) come last, and brier has no value
METRICS = {
    "accuracy": 0.81234,
    "average_precision": 0.7,
    "brier": None,
    "f1": 0.66,
    "log_loss": 0.41,
    "precision": 0.7,
    "recall": 0.61,
    "roc_auc": 0.8512,
}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


def evaluation(day: int, version: int = 3) -> dict[str, object]:
    return {
        "model": "m",
        "version": version,
        "active_version": 3,
        "evaluated_at": f"2026-12-0{day}T10:00:00+00:00",
        "rows": 1000,
        "labeled_rows": 1000,
        "metrics": METRICS,
        "estimated": {"roc_auc": 0.8, "accuracy": 0.8},
        "drift": {"share": 0.2, "columns": {}, "drifted_columns": []},
    }


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Model m: versions 1-3, 3 active, 1 and 2 deleted by gc; three evaluations."""
    root = tmp_path / "proj"
    write_settings(root, SETTINGS)
    project = open_project(root)
    for i in range(3):
        project.record_version(
            "m",
            f"a{i}".encode(),
            artifact_format="joblib",
            metadata={"metrics": METRICS, "dataset": {"name": "d", "url": "d.csv", "fingerprint": "f", "rows": 10}},
        )
    project.activate("m", 3)
    for day in (1, 2, 3):
        project.record_evaluation("m", evaluation(day))
    assert project.gc("m", keep=1)["deleted_versions"] == [1, 2]
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(root)
    return root


def fits(out: str) -> None:
    """Every line within 80 columns, and no cell cut short (rich marks a cut with an ellipsis)."""
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "…" not in out and "..." not in out, out


def test_versions_marks_the_versions_gc_deleted(capsys, folder: Path) -> None:
    code, out, _ = run(capsys, "versions", "m", "--json")
    assert code == 0
    assert [(v["version"], v["deleted"], v["active"]) for v in json.loads(out)] == [
        (1, True, False),
        (2, True, False),
        (3, False, True),
    ]
    code, out, _ = run(capsys, "versions", "m")
    assert code == 0
    fits(out)
    assert "m: 3 versions (2 deleted by gc)" in out
    rows = [line for line in out.splitlines() if "2026-" in line]
    assert [line.split()[0] for line in rows] == ["deleted", "deleted", "*"]


def test_show_marks_a_version_gc_deleted_and_evaluate_refuses_it_as_score_does(capsys, folder: Path) -> None:
    code, out, _ = run(capsys, "show", "m", "1")
    assert code == 0 and out.startswith("m version 1  (deleted by gc: metadata only, it cannot be loaded)\n")
    code, out, _ = run(capsys, "show", "m", "1", "--json")
    assert code == 0 and (json.loads(out)["deleted"], json.loads(out)["active"]) == (True, False)
    code, out, _ = run(capsys, "show", "m", "--json")
    assert code == 0 and (json.loads(out)["deleted"], json.loads(out)["active"]) == (False, True)
    (folder / "d.csv").write_text("x,y\n1,0\n", encoding="utf-8")
    for command in (["evaluate", "m", "d", "--version", "2"], ["score", "m", "d", "out.csv", "--version", "2"]):
        code, out, err = run(capsys, *command)
        assert (code, out, err) == (2, "", "error: model 'm' version 2 was deleted by gc: choose another version\n")


def test_versions_show_the_primary_and_checked_metrics_first_and_no_none(capsys, folder: Path) -> None:
    code, out, _ = run(capsys, "versions", "m")
    assert code == 0 and "None" not in out
    active = [line for line in out.splitlines() if line.lstrip().startswith("*")][0]
    assert active.split("│")[-1].split()[:2] == ["roc_auc=0.8512", "brier=-"], out


def test_one_version_is_singular(capsys, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "one"
    write_settings(root, SETTINGS)
    open_project(root).record_version("m", b"x", artifact_format="joblib", metadata={"metrics": {"roc_auc": 0.7}})
    monkeypatch.chdir(root)
    code, out, _ = run(capsys, "versions", "m")
    assert code == 0 and "m: 1 version" in out and "1 versions" not in out


def test_history_fits_80_columns_and_names_the_columns_left_out(capsys, folder: Path) -> None:
    code, out, _ = run(capsys, "history", "m")
    assert code == 0
    fits(out)
    header = out.splitlines()[1]
    assert header.split()[:5] == ["evaluated_at", "┃", "version", "┃", "roc_auc"]  # no challenger: no column
    assert header.index("roc_auc") < header.index("brier") < header.index("rows")
    assert "2026-12-03T10:00:00" in out  # whole timestamps, never "2…"
    note = " ".join(out.split("not shown at 80 columns: ")[1].split())
    assert note.startswith("labeled_rows, average_precision, f1, log_loss, precision, recall, drift.share")
    assert "--metric NAME (repeatable)" in note


def test_metric_is_repeatable(capsys, folder: Path) -> None:
    code, out, _ = run(capsys, "history", "m", "--metric", "recall", "--metric", "brier")
    assert code == 0
    header = out.splitlines()[1]
    assert header.index("recall") < header.index("brier") and "roc_auc" not in header
    assert "not shown" not in out and "None" not in out
    code, out, _ = run(capsys, "history", "m", "--metric", "recall", "--metric", "brier", "--json")
    assert [r["values"] for r in json.loads(out)] == [{"recall": 0.61, "brier": None}] * 3
    code, out, _ = run(capsys, "history", "m", "--metric", "recall", "--json")  # one metric: "value" as before
    assert [r["value"] for r in json.loads(out)] == [0.61] * 3


def test_metric_takes_the_tables_other_columns_but_not_those_always_shown(capsys, folder: Path) -> None:
    code, out, _ = run(capsys, "history", "m", "--metric", "roc_auc", "--metric", "dataset", "--metric", "as_of")
    header = out.splitlines()[1].split()
    assert code == 0 and [c for c in header if c != "┃"] == ["evaluated_at", "version", "roc_auc", "dataset", "as_of"]
    for column in ("version", "evaluated_at", "challenger"):
        code, out, err = run(capsys, "history", "m", "--metric", column)
        assert (code, out) == (2, "")
        assert err == f"error: '{column}' is always shown: give --metric a metric, such as roc_auc or drift.share\n"


def test_an_unknown_metric_among_several_is_named(capsys, folder: Path) -> None:
    code, _, err = run(capsys, "history", "m", "--metric", "recall", "--metric", "nope")
    assert code == 2 and err.startswith("error: no metric 'nope' in the history; recorded: rows, labeled_rows")


def test_status_shows_the_primary_and_checked_metrics(capsys, folder: Path) -> None:
    code, out, _ = run(capsys, "status")
    assert code == 0
    fits(out)
    assert "roc_auc=0.8512 brier=-" in out and "None" not in out


def test_status_shows_a_checked_drift_share_or_estimate_under_the_checks_name(
    capsys, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line per model: the order of the metrics is what is tested
    settings = folder / "modelcycle.toml"
    extra = '[checks.drift]\nmodel = "m"\nmetric = "drift.share"\nmax = 0.5\n'
    for metric, shown in (("drift.share", "drift.share=0.2"), ("estimated.accuracy", "estimated.accuracy=0.8")):
        settings.write_text(SETTINGS + extra.replace("drift.share", metric), encoding="utf-8")
        code, out, _ = run(capsys, "status")
        assert code == 0 and f"roc_auc=0.8512 brier=- {shown}" in " ".join(out.split()), out
    code, out, _ = run(capsys, "status", "--json")
    assert json.loads(out)[0]["latest_evaluation"]["estimated"] == {"roc_auc": 0.8, "accuracy": 0.8}


def test_train_and_evaluate_print_the_primary_then_the_checked_metrics_first(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    frame = pd.DataFrame({"x": x, "y": (x + rng.normal(size=600) > 0).astype(int)})
    frame.to_csv(tmp_path / "d.csv", index=False)
    settings = SETTINGS.replace('primary_metric = "roc_auc"', 'primary_metric = "f1"\nparams = { max_iter = 20 }')
    write_settings(tmp_path, settings)
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "train", "m")
    trained = out.split("trained")[1].split()
    assert code == 0 and [m.split("=")[0] for m in trained[:2]] == ["f1", "brier"]  # primary, then checked
    code, out, _ = run(capsys, "evaluate", "m", "d")
    metrics = out.split("metrics")[1].split()
    assert code == 0 and [m.split("=")[0] for m in metrics[:3]] == ["f1", "brier", "accuracy"]


def test_status_with_no_models_says_how_to_add_one(capsys, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "modelcycle.toml").write_text('[project]\nname = "bare"\n')
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "status")
    assert code == 0
    assert out == "no models yet: add a [models.NAME] table to modelcycle.toml, then `modelcycle train NAME`\n"
    code, out, _ = run(capsys, "status", "--json")
    assert code == 0 and json.loads(out) == []


def test_every_command_takes_json() -> None:
    def leaves(group: click.Group, path: str) -> list[tuple[str, click.Command]]:
        found = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += leaves(command, f"{path} {name}")
                if not command.invoke_without_command:
                    continue
            found.append((f"{path} {name}", command))
        return found

    commands = leaves(cli, "modelcycle")
    assert len(commands) >= 20
    missing = [name for name, command in commands if "--json" not in {o for p in command.params for o in p.opts}]
    assert missing == []


def test_notify_goes_through_the_alert_log_and_its_hook(capsys, folder: Path) -> None:
    sent: list[dict[str, object]] = []

    class Recorder:
        from modelcycle import hookimpl

        @hookimpl
        def after_alert_sent(self, project: object, alert: dict[str, object]) -> None:
            sent.append(alert)

    project = open_project(folder, plugins=[Recorder()])
    result = project.notify("box", "hello")
    assert result.delivered and result.error is None and result.target
    assert [a["about"]["kind"] for a in sent] == ["test"] and sent[0]["text"] == "hello"
    assert [a.subject for a in project.alerts().alerts] == ["[modelcycle] tables: test message"]
    code, out, _ = run(capsys, "notify", "box", "again", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["delivered"] is True and shown["alert"]["status"] == "sent"
    assert len(open_project(folder).alerts().alerts) == 2


def test_a_test_message_that_fails_is_not_kept_pending(capsys, folder: Path) -> None:
    code, _, err = run(capsys, "notify", "down", "hello")
    assert code == 1 and err.splitlines()[-1].startswith("error: notifier 'down' did not deliver: ")
    code, out, _ = run(capsys, "notify", "down", "hello", "--json")
    assert code == 1 and json.loads(out)["delivered"] is False
    project = open_project(folder)
    assert project.alerts(pending_only=True).alerts == [] and project.alerts().alerts == []


def test_evaluate_returns_one_type_that_still_reads_as_the_record() -> None:
    one = Evaluations([{**evaluation(1), "id": 1}])
    assert isinstance(one[0], Evaluation) and isinstance(one[0], Record)
    assert one["metrics"]["roc_auc"] == 0.8512 and one.version == 3 and "drift" in one
    assert one == {**evaluation(1), "id": 1} and json.loads(json.dumps(one[0]))["id"] == 1
    assert one.to_json()["id"] == 1  # one version: the record's JSON, as `evaluate --json` printed
    two = Evaluations([{**evaluation(1), "id": 1}, {**evaluation(2, version=2), "id": 2}])
    assert [r.version for r in two] == [3, 2] and [r["id"] for r in two.to_json()] == [1, 2]
    with pytest.raises(TypeError, match=r"holds 2 records \(versions 3, 2\): index it by position, result\[0\]"):
        two["metrics"]


def test_init_and_dashboard_build_print_json(capsys, folder: Path, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "init", str(tmp_path / "new"), "--json")
    assert code == 0 and json.loads(out)["path"] == str(tmp_path / "new" / "modelcycle.toml")
    code, out, _ = run(capsys, "dashboard", "build", str(tmp_path / "d.html"), "--json")
    built = json.loads(out)
    assert code == 0 and built["path"] == str(tmp_path / "d.html")
    assert built["bytes"] == (tmp_path / "d.html").stat().st_size


def test_scheduler_once_json(capsys, folder: Path) -> None:
    code, out, _ = run(capsys, "scheduler", "--once", "--json")
    assert code == 0 and json.loads(out) == {"runs": [], "problems": [], "triggers": 0}


def _cli(folder: Path, *args: str) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{root / 'core'}{os.pathsep}{root / 'plugins'}"}
    return subprocess.Popen(
        [sys.executable, "-m", "modelcycle.cli", "--project", str(folder), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _stopped(process: subprocess.Popen[str], signum: int) -> str:
    """What `process` printed once `signum` stopped it; its stderr in the failure if it did not stop."""
    process.send_signal(signum)
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"still running 30 s after {signal.Signals(signum).name}; its stderr:\n{err}") from None
    return out


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_long_running_commands_print_one_json_line_per_event(folder: Path, signum: int) -> None:
    server = _cli(folder, "dashboard", "serve", "--port", "0", "--json")
    try:
        listening = json.loads(server.stdout.readline())
        assert listening["event"] == "listening" and listening["loopback"] is True
        with urllib.request.urlopen(listening["url"], timeout=10) as page:
            assert page.status == 200
    finally:
        out = _stopped(server, signum)
    stopped = json.loads(out.splitlines()[-1])
    assert (stopped["event"], stopped["url"], server.returncode) == ("stopped", listening["url"], 0)

    scheduler = _cli(folder, "scheduler", "--interval", "1", "--json")
    try:
        assert json.loads(scheduler.stdout.readline()) == {
            "event": "started",
            "scenarios": 0,
            "triggers": 0,
            "interval": 1.0,
        }
    finally:
        out = _stopped(scheduler, signum)
    assert [json.loads(line)["event"] for line in out.splitlines()] == ["stopped"]
    assert scheduler.returncode == 0


def test_hook_payloads_are_documented_from_their_records() -> None:
    import dataclasses

    from modelcycle.records import HOOK_PAYLOADS

    text = (Path(__file__).resolve().parents[1] / "docs" / "hooks.md").read_text(encoding="utf-8")
    for argument, record in HOOK_PAYLOADS.items():
        assert f"`{argument}` is a `modelcycle.records.{record.__name__}`" in text
        for f in dataclasses.fields(record):
            assert (f"| `{f.name}` |" in text) is f.repr, (record.__name__, f.name)


def test_demo_json_tells_the_story_on_stderr_and_prints_what_happened(tmp_path: Path, capsys) -> None:
    code, out, err = run(capsys, "demo", str(tmp_path / "demo"), "--json")
    story = json.loads(out)
    assert code == 0 and story["folder"] == str((tmp_path / "demo").resolve())
    assert story["checks"] and "1. trained churn v1 on 6,000 customers" in err
