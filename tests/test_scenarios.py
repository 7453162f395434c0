"""Scenarios and the scheduler: every step type, run_if and retries, every trigger with
injected times, two schedulers on one store, SIGTERM mid-run, alerts through a real SMTP
server on loopback, and the JSON shapes of the CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from modelcycle import NotFoundError, SettingsError, hookimpl, open_project, scheduler
from modelcycle.cli import main
from modelcycle.scheduler import lease_prefix, tick

from tests.conftest import write_settings

BASE = """
[project]
name = "sc"
[datasets.d]
url = "train.parquet"
[datasets.incoming]
url = "incoming.csv"
[models.m]
dataset = "d"
target = "target"
params = { max_iter = 20 }
threads = 1
[checks.fine]
model = "m"
metric = "roc_auc"
min = 0.5
[checks.warn]
model = "m"
metric = "roc_auc"
min = 0.5
soft_min = 0.999
[checks.err]
model = "m"
metric = "roc_auc"
min = 0.999
[notifiers.box]
type = "file"
"""

JOBS = '''
import os
import time

from modelcycle.interfaces import StepResult


def rebuild(project, rows=10):
    """The feedback-rebuild recipe: gather labelled rows into the feedback dataset."""
    import pandas as pd

    frame = pd.read_parquet(project.settings.root / "feedback.parquet").head(rows)
    frame.to_parquet(project.settings.root / "rebuilt.parquet", index=False)
    return f"feedback rebuilt: {len(frame)} rows"


def flaky(project, marker="flaky.txt"):
    path = project.settings.root / marker
    if not path.exists():
        path.write_text("tried")
        raise RuntimeError("first attempt fails")
    return "second attempt worked"


def boom(project, token=""):
    raise RuntimeError(f"boom with {token}\\nand a second line")


def warn(project):
    return StepResult("WARNING", "careful")


def ok(project):
    return None


def maybe_fail(project):
    if os.environ.get("SCENARIO_FAIL"):
        raise RuntimeError("asked to fail")
    return "fine"


def slow(project, seconds=2.0, marker="started.txt"):
    (project.settings.root / marker).write_text(str(os.getpid()))
    time.sleep(seconds)
    return "slept"


def record(project, marker="ran.txt", seconds=0.0):
    time.sleep(seconds)
    with open(project.settings.root / marker, "a", encoding="utf-8") as f:
        f.write(f"{os.getpid()}\\n")
    return "recorded"
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(smtp_sink):
    """A real SMTP server on loopback (modelcycle.testing's smtp_sink)."""
    return smtp_sink


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder with data, jobs.py and model m trained once (version 1, active)."""
    from sklearn.datasets import load_breast_cancer

    folder = tmp_path_factory.mktemp("scenario-base")
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    frame.iloc[:400].to_parquet(folder / "train.parquet", index=False)
    frame.iloc[400:].to_parquet(folder / "feedback.parquet", index=False)
    frame.iloc[:20].to_csv(folder / "incoming.csv", index=False)
    (folder / "jobs.py").write_text(JOBS, encoding="utf-8")
    write_settings(folder, BASE)
    project = open_project(folder)
    project.train("m")
    project.evaluate("m", "feedback.parquet")
    return folder


@pytest.fixture
def make(base: Path, tmp_path: Path):
    """make(extra_settings) → a fresh copy of the trained project with `extra` appended to its settings."""

    def make_project(extra: str, **kwargs):
        folder = tmp_path / "proj"
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(base, folder)
        write_settings(folder, BASE + extra)
        return open_project(folder, **kwargs)

    return make_project


def cli(*args: str, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def modelcycle_command() -> list[str]:
    script = Path(sys.executable).parent / "modelcycle"
    return [str(script)] if script.exists() else [sys.executable, "-m", "modelcycle.cli"]


RUN_KEYS = {"id", "scenario", "trigger", "started_at", "finished_at", "outcome", "steps"}
STEP_KEYS = {"type", "outcome", "started_at", "finished_at", "message"}


# -- steps ---------------------------------------------------------------------------------


class Recorder:
    __name__ = "recorder"

    def __init__(self) -> None:
        self.runs: list[dict] = []

    @hookimpl
    def after_scenario_finished(self, project, run):
        self.runs.append(run)


def test_every_step_type(make) -> None:
    recorder = Recorder()
    project = make(
        """
[scenarios.all]
steps = [
  { type = "python", callable = "jobs.py:rebuild", rows = 50 },
  { type = "retrain", model = "m", activate = false },
  { type = "evaluate", model = "m", dataset = "rebuilt.parquet" },
  { type = "check", checks = ["fine", "warn"] },
  { type = "score", model = "m", input = "feedback.parquet", output = "out/scored.parquet" },
  { type = "python", callable = "jobs:ok" },
  { type = "notify", notifiers = ["box"], message = "{scenario} in {project}: {outcome_so_far}: {summary}" },
]
""",
        plugins=[recorder],
    )
    run = project.run_scenario("all")
    assert set(run) >= RUN_KEYS and all(set(s) >= STEP_KEYS for s in run["steps"])
    steps = {s["type"] + str(i): s for i, s in enumerate(run["steps"])}
    assert [s["outcome"] for s in run["steps"]] == [
        "SUCCESS",
        "SUCCESS",
        "SUCCESS",
        "WARNING",
        "SUCCESS",
        "SUCCESS",
        "SUCCESS",
    ]
    assert run["outcome"] == "WARNING" and run["trigger"] == "manual" and run["id"] == 1
    assert steps["python0"]["message"] == "feedback rebuilt: 50 rows"
    assert steps["retrain1"]["message"].startswith("m version 2: not activated")
    assert project.active_version("m") == 1  # activate = false overrode the policy
    assert steps["evaluate2"]["message"].startswith("m v1: evaluation 2 on 50 rows (50 labelled), roc_auc 0.9")
    assert "drift" in steps["evaluate2"]["message"]
    from modelcycle_scenarios.steps import evaluation_summary

    record = project.evaluations("m")[-1]
    for drifted, named in ((["a", "b", "c", "d"], "drift 50% of columns (a, b, c and 1 more)"), ([], "drift 0% of columns")):
        shifted = {**record, "drift": {**record["drift"], "share": len(drifted) / 8, "drifted_columns": drifted}}
        assert evaluation_summary(project, shifted).endswith(named)
    assert steps["check3"]["message"].startswith("1 of 2 checks OK; warn WARNING: roc_auc = 0.9")
    assert steps["score4"]["message"] == "169 rows scored by m v1 into out/scored.parquet"
    assert (project.settings.root / "out" / "scored.parquet").is_file()
    assert steps["python5"]["message"] == ""
    assert steps["notify6"]["message"] == "sent to box"
    [sent] = [json.loads(project.store.get(k)) for k in project.store.list("outbox/box")]
    assert sent["text"].startswith("all in sc: WARNING: python SUCCESS (feedback rebuilt: 50 rows); retrain SUCCESS")
    assert recorder.runs == [run]
    assert project.scenario_runs("all") == recorder.runs and project.scenario_runs() == recorder.runs


def test_run_if_retries_and_failures(make, monkeypatch) -> None:
    monkeypatch.setenv("API_TOKEN", "tok-very-secret")
    project = make(
        """
[scenarios.flow]
steps = [
  { type = "python", callable = "jobs.py:flaky", retries = 1 },
  { type = "python", callable = "jobs.py:warn" },
  { type = "check", checks = ["err"] },
  { type = "python", callable = "jobs.py:ok" },
  { type = "python", callable = "jobs.py:boom", run_if = "failure", retries = 2, token = "${API_TOKEN}" },
  { type = "python", callable = "jobs.py:ok", run_if = "always" },
]
[scenarios.fine]
steps = [
  { type = "python", callable = "jobs.py:ok" },
  { type = "python", callable = "jobs.py:ok", run_if = "failure" },
]
"""
    )
    run = project.run_scenario("flow")
    outcomes = [(s["type"], s["outcome"], s.get("attempts")) for s in run["steps"]]
    assert outcomes == [
        ("python", "SUCCESS", 2),  # failed once, the retry worked
        ("python", "WARNING", 1),
        ("check", "FAILED", 1),  # a check in ERROR fails its step
        ("python", "SKIPPED", None),  # run_if = success after a failure
        ("python", "FAILED", 3),  # run_if = failure: it ran, 1 + 2 retries
        ("python", "SUCCESS", 1),  # always
    ]
    assert run["outcome"] == "FAILED"
    assert run["steps"][0]["message"] == "second attempt worked"
    assert run["steps"][2]["message"].startswith("0 of 1 checks OK; err ERROR: roc_auc = 0.9")
    boom = run["steps"][4]["message"]
    assert boom == "RuntimeError: boom with ${API_TOKEN} and a second line"  # one line, secret redacted
    assert "tok-very-secret" not in json.dumps(project.scenario_runs("flow"))
    fine = project.run_scenario("fine")
    assert fine["outcome"] == "SUCCESS" and [s["outcome"] for s in fine["steps"]] == ["SUCCESS", "SKIPPED"]


def test_stop_and_injected_clock(make) -> None:
    from modelcycle.scenarios import run_scenario

    project = make(
        """
[scenarios.three]
steps = [
  { type = "python", callable = "jobs.py:ok" },
  { type = "python", callable = "jobs.py:ok" },
  { type = "python", callable = "jobs.py:ok" },
]
"""
    )
    ticks = iter(at("2024-05-01T00:00:00") + timedelta(seconds=i) for i in range(100))
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 1  # looked at before each step: set once the first step ran

    run = run_scenario(project, "three", stop=stop, clock=lambda: next(ticks))
    assert run["outcome"] == "ABORTED" and [s["outcome"] for s in run["steps"]] == ["SUCCESS"]
    assert run["started_at"] == "2024-05-01T00:00:00+00:00" and run["steps"][0]["started_at"].startswith("2024-05-01")
    assert project.scenario_runs("three")[-1]["outcome"] == "ABORTED"


def test_unknown_scenario_and_bad_step_settings(make, capsys) -> None:
    project = make('[scenarios.nightly]\nsteps = [{ type = "python", callable = "jobs.py:ok" }]\n')
    with pytest.raises(NotFoundError, match=r"unknown scenario 'nightli'; did you mean 'nightly'\? scenarios in"):
        project.run_scenario("nightli")
    code, _, err = cli("--project", str(project.settings.root), "scenario", "run", "nope", capsys=capsys)
    assert code == 2 and err.startswith("error: unknown scenario 'nope'")
    cases = [
        (
            '{ type = "retrain", modle = "m" }',
            "modelcycle.toml: scenarios.s.steps[0].modle: unknown key; did you mean 'model'?",
        ),
        ('{ type = "retrain", model = "x" }', "modelcycle.toml: scenarios.s.steps[0].model: unknown model 'x'"),
        ('{ type = "check", checks = ["nope"] }', "modelcycle.toml: scenarios.s.steps[0].checks[0]: unknown check"),
        ('{ type = "notify", notifiers = ["pager"] }', "modelcycle.toml: scenarios.s.steps[0].notifiers[0]: unknown"),
        ('{ type = "python", callable = "nofunction" }', "modelcycle.toml: scenarios.s.steps[0].callable: 'nofun"),
        ('{ type = "python", callable = "missing.py:f" }', "modelcycle.toml: scenarios.s.steps[0].callable: no file"),
        ('{ type = "evaluate", model = "m" }', "modelcycle.toml: scenarios.s.steps[0].dataset: required key"),
    ]
    for step, expected in cases:
        project = make(f"[scenarios.s]\nsteps = [{step}]\n")
        with pytest.raises(SettingsError) as info:
            project.run_scenario("s")
        assert str(info.value).startswith(expected), str(info.value)
        assert project.scenario_runs("s") == []  # nothing ran, nothing recorded
    for trigger, expected in [
        ('{ type = "cron", schedule = "0 2 * *" }', "scenarios.s.triggers[0].schedule: '0 2 * *' is not a 5-field"),
        ('{ type = "cron", schedule = "0 2 * * *", timezone = "Mars/Base" }', "triggers[0].timezone: unknown time"),
        ('{ type = "dataset-changed", dataset = "dd" }', "triggers[0].dataset: unknown dataset 'dd'; did you mean 'd'"),
        ('{ type = "after-scenario", scenario = "s" }', "triggers[0].scenario: a scenario cannot trigger itself"),
        ('{ type = "after-scenario", scenario = "x", outcomes = ["FINE"] }', "triggers[0].outcomes[0]: input should"),
    ]:
        project = make(
            f'[scenarios.s]\ntriggers = [{trigger}]\nsteps = [{{ type = "python", callable = "jobs:ok" }}]\n'
        )
        with pytest.raises(SettingsError) as info:
            tick(project)
        assert expected in str(info.value), str(info.value)


# -- triggers ------------------------------------------------------------------------------


def test_cron_fires_once_per_slot_and_catches_up_once(make) -> None:
    project = make(
        """
[scenarios.nightly]
triggers = [{ type = "cron", schedule = "0 2 * * *" }]
steps = [{ type = "python", callable = "jobs.py:ok" }]
[scenarios.strict]
triggers = [{ type = "cron", schedule = "0 2 * * *", catch_up = false }]
steps = [{ type = "python", callable = "jobs.py:ok" }]
[scenarios.paris]
triggers = [{ type = "cron", schedule = "0 2 * * *", timezone = "Europe/Paris" }]
steps = [{ type = "python", callable = "jobs.py:ok" }]
"""
    )

    def fired(now: str) -> list[tuple[str, str, str]]:
        return [(r["scenario"], r["slot"], r["trigger"]) for r in tick(project, at(now))]

    assert fired("2024-01-01T00:30:00") == []  # the first evaluation only records the time
    assert fired("2024-01-01T00:59:00") == []
    assert fired("2024-01-01T01:00:30") == [
        ("paris", "2024-01-01T01:00:00+00:00", "cron 0 2 * * * (Europe/Paris)")  # 02:00 in Paris in winter
    ]
    assert fired("2024-01-01T01:59:59") == []
    assert fired("2024-01-01T02:00:40") == [
        ("nightly", "2024-01-01T02:00:00+00:00", "cron 0 2 * * *"),
        ("strict", "2024-01-01T02:00:00+00:00", "cron 0 2 * * *"),
    ]
    assert fired("2024-01-01T02:03:00") == []  # no second run for the same slot
    assert fired("2024-01-01T02:03:00") == []
    # three days down: one catch-up run for the latest slot, none for the skipped ones with catch_up = false
    assert fired("2024-01-04T09:00:00") == [
        ("nightly", "2024-01-04T02:00:00+00:00", "cron 0 2 * * *"),
        ("paris", "2024-01-04T01:00:00+00:00", "cron 0 2 * * * (Europe/Paris)"),
    ]
    assert fired("2024-01-04T09:01:00") == []
    assert fired("2024-01-05T02:00:05") == [
        ("nightly", "2024-01-05T02:00:00+00:00", "cron 0 2 * * *"),
        ("strict", "2024-01-05T02:00:00+00:00", "cron 0 2 * * *"),
        ("paris", "2024-01-05T01:00:00+00:00", "cron 0 2 * * * (Europe/Paris)"),
    ]
    assert [r["id"] for r in project.scenario_runs("nightly")] == [1, 2, 3]
    assert fired("2024-01-05T01:00:00") == []  # a clock going back does not re-fire


def test_dataset_changed_fires_on_a_change_only(make) -> None:
    project = make(
        """
[scenarios.refresh]
triggers = [{ type = "dataset-changed", dataset = "incoming" }]
steps = [{ type = "python", callable = "jobs.py:ok" }]
"""
    )
    incoming = project.settings.root / "incoming.csv"
    original, stat = incoming.read_bytes(), incoming.stat()
    assert tick(project) == []  # records the fingerprint
    first = project.store.get_json("scenarios/refresh/triggers/0.json")["state"]["fingerprint"]
    assert tick(project) == []  # unchanged
    incoming.write_bytes(original + original.splitlines(keepends=True)[1])
    [run] = tick(project)
    assert run["trigger"] == "dataset-changed incoming" and run["slot"].startswith("sha256:")
    assert run["slot"].endswith("#1") and not run["slot"].startswith(first)
    assert tick(project) == []
    incoming.write_bytes(original)  # changing back to the first content is a change too
    os.utime(incoming, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    [again] = tick(project)
    assert again["slot"] == f"{first}#2" and tick(project) == []
    incoming.unlink()
    errors: list[str] = []
    assert tick(project, on_error=errors.append) == []
    assert errors and errors[0].startswith("scenario 'refresh': trigger 0 (dataset-changed incoming): DataError")


def test_after_scenario_with_an_outcome_filter(make, monkeypatch) -> None:
    project = make(
        """
[scenarios.upstream]
steps = [{ type = "python", callable = "jobs.py:maybe_fail" }]
[scenarios.on_failure]
triggers = [{ type = "after-scenario", scenario = "upstream", outcomes = ["FAILED", "ABORTED"] }]
steps = [{ type = "python", callable = "jobs.py:ok" }]
[scenarios.on_success]
triggers = [{ type = "after-scenario", scenario = "upstream" }]
steps = [{ type = "python", callable = "jobs.py:ok" }]
"""
    )
    project.run_scenario("upstream")  # before the first evaluation: only recorded
    assert tick(project) == []
    project.run_scenario("upstream")
    assert [(r["scenario"], r["slot"], r["trigger"]) for r in tick(project)] == [
        ("on_success", "upstream#2", "after-scenario upstream")
    ]
    monkeypatch.setenv("SCENARIO_FAIL", "1")
    assert project.run_scenario("upstream")["outcome"] == "FAILED"
    assert project.run_scenario("upstream")["outcome"] == "FAILED"
    assert [(r["scenario"], r["slot"]) for r in tick(project)] == [("on_failure", "upstream#4")]  # once, the newest
    assert tick(project) == []


def test_a_dead_schedulers_slot_is_taken_over_and_a_live_one_is_left_alone(make) -> None:
    project = make(
        """
[scenarios.nightly]
triggers = [{ type = "cron", schedule = "0 2 * * *" }]
steps = [{ type = "python", callable = "jobs.py:ok" }]
"""
    )
    tick(project, at("2024-03-01T01:00:00"))
    slot = "2024-03-01T02:00:00+00:00"
    prefix = lease_prefix("nightly", slot)
    now = datetime.now(UTC)
    project.store.put_json_if_absent(
        f"{prefix}/0.json", {"owner": "elsewhere:1", "expires_at": (now - timedelta(minutes=5)).isoformat()}
    )
    assert tick(project, at("2024-03-01T02:00:30")) == []  # held by a live scheduler
    assert tick(project, at("2024-03-01T02:01:30")) == []  # the trigger state waits for that slot
    assert tick(project, at("2024-03-01T02:01:45")) == []  # its expires_at is no matter: clocks differ
    lease = project.settings.root / ".modelcycle" / f"{prefix}/0.json"
    os.utime(lease, (time.time() - 301, time.time() - 301))  # not renewed for a whole lease, by the store's clock
    [run] = tick(project, at("2024-03-01T02:02:30"))  # it died: taken over
    assert run["slot"] == slot
    assert project.store.get_json(f"{prefix}/1.json")["owner"].endswith(f":{os.getpid()}")
    assert project.store.get_json(f"{prefix}/done.json")["run"] == run["id"]
    assert tick(project, at("2024-03-01T02:03:30")) == []


NIGHTLY = """
[scenarios.nightly]
triggers = [{ type = "cron", schedule = "0 2 * * *" }]
steps = [{ type = "python", callable = "jobs.py:record" }]
"""


def test_a_winner_paused_past_its_lease_does_not_run_the_slot_a_successor_ran(make, monkeypatch) -> None:
    """Fencing by number: the winner of lease 0, paused (a long GC, SIGSTOP) between winning and
    running until the store's clock says the lease ran out, finds lease 1 and leaves the slot."""
    project = make(NIGHTLY)
    tick(project, at("2024-03-01T01:00:00"))
    prefix = lease_prefix("nightly", "2024-03-01T02:00:00+00:00")
    successor: list[list] = []

    def paused(point: str) -> None:
        assert point == "scheduler:claimed"
        lease = project.settings.root / ".modelcycle" / f"{prefix}/0.json"
        os.utime(lease, (time.time() - 301, time.time() - 301))  # the pause outlasted the lease
        monkeypatch.setattr(scheduler, "between", lambda point: None)
        successor.append(tick(project, at("2024-03-01T02:00:40")))  # another scheduler takes it over

    monkeypatch.setattr(scheduler, "between", paused)
    assert tick(project, at("2024-03-01T02:00:30")) == []  # the paused winner, resumed: fenced off
    assert [r["slot"] for r in successor[0]] == ["2024-03-01T02:00:00+00:00"]
    assert len((project.settings.root / "ran.txt").read_text().split()) == 1
    assert [r["id"] for r in project.scenario_runs("nightly")] == [1]


def _pause_past_the_lease(project, monkeypatch, prefix: str) -> None:
    """The winner of lease 0 stops (a long GC, SIGSTOP) until the store's clock says the lease ran out."""
    lease = project.settings.root / ".modelcycle" / f"{prefix}/0.json"
    os.utime(lease, (time.time() - 301, time.time() - 301))
    real = scheduler.monotonic
    monkeypatch.setattr(scheduler, "monotonic", lambda: real() + 301)


def test_a_winner_paused_past_its_lease_renews_it_before_running_so_a_later_successor_waits(make, monkeypatch) -> None:
    """The successor ticks just after the paused winner resumed and checked it was not taken over: the
    winner, seeing by its monotonic clock that most of its lease passed, renewed it first."""
    project = make(NIGHTLY)
    tick(project, at("2024-03-01T01:00:00"))
    prefix = lease_prefix("nightly", "2024-03-01T02:00:00+00:00")
    successor: list[list] = []

    def paused(point: str) -> None:
        if point == "scheduler:claimed":
            _pause_past_the_lease(project, monkeypatch, prefix)
        elif point == "scheduler:fenced":
            monkeypatch.setattr(scheduler, "between", lambda point: None)
            successor.append(tick(project, at("2024-03-01T02:00:40")))

    monkeypatch.setattr(scheduler, "between", paused)
    [run] = tick(project, at("2024-03-01T02:00:30"))
    assert successor == [[]] and run["slot"] == "2024-03-01T02:00:00+00:00"
    assert len((project.settings.root / "ran.txt").read_text().split()) == 1
    assert [r["id"] for r in project.scenario_runs("nightly")] == [1]


def test_a_winner_paused_past_its_lease_that_cannot_renew_it_leaves_the_slot_to_a_later_tick(
    make, monkeypatch, caplog
) -> None:
    project = make(NIGHTLY)
    tick(project, at("2024-03-01T01:00:00"))
    slot = "2024-03-01T02:00:00+00:00"
    prefix = lease_prefix("nightly", slot)
    real = project.store.write

    def refusing(key: str, data: bytes) -> None:
        if key.endswith("/0.json"):
            raise OSError("the store is unreachable")
        real(key, data)

    def paused(point: str) -> None:
        if point == "scheduler:claimed":
            _pause_past_the_lease(project, monkeypatch, prefix)
            monkeypatch.setattr(project.store, "write", refusing)

    monkeypatch.setattr(scheduler, "between", paused)
    with caplog.at_level("WARNING", logger="modelcycle.scheduler"):
        assert tick(project, at("2024-03-01T02:00:30")) == []
    assert f"lease {prefix}/0.json could not be renewed after a pause: OSError" in caplog.text
    assert not (project.settings.root / "ran.txt").exists()
    monkeypatch.setattr(project.store, "write", real)
    monkeypatch.setattr(scheduler, "between", lambda point: None)
    [run] = tick(project, at("2024-03-01T02:01:30"))  # the slot was kept: taken over from the stale lease
    assert run["slot"] == slot and project.store.get_json(f"{prefix}/1.json") is not None
    assert len((project.settings.root / "ran.txt").read_text().split()) == 1


def test_a_scheduler_whose_clock_is_ahead_leaves_a_live_lease_alone(make, monkeypatch) -> None:
    project = make(NIGHTLY)
    tick(project, at("2024-03-01T01:00:00"))
    real = scheduler.utcnow
    other: list[list] = []

    def skewed(point: str) -> None:  # while the winner holds the lease, a scheduler 6 minutes ahead ticks
        monkeypatch.setattr(scheduler, "between", lambda point: None)
        monkeypatch.setattr(scheduler, "utcnow", lambda: real() + timedelta(minutes=6))
        other.append(tick(project, at("2024-03-01T02:06:30")))
        monkeypatch.setattr(scheduler, "utcnow", real)

    monkeypatch.setattr(scheduler, "between", skewed)
    [run] = tick(project, at("2024-03-01T02:00:30"))
    assert other == [[]] and run["outcome"] == "SUCCESS"
    assert len((project.settings.root / "ran.txt").read_text().split()) == 1


def test_a_scheduler_that_cannot_renew_its_lease_stops_before_it_ends(make, monkeypatch, caplog) -> None:
    project = make(
        """
[scenarios.long]
steps = [
  { type = "python", callable = "jobs.py:record", seconds = 1.5 },
  { type = "python", callable = "jobs.py:record", marker = "second.txt" },
]
"""
    )
    real = project.store.write

    def refusing(key: str, data: bytes) -> None:
        if "/leases/" in key and not key.endswith("clock.json"):
            raise OSError("the store refuses lease renewals")
        real(key, data)

    monkeypatch.setattr(project.store, "write", refusing)
    status, key = scheduler.claim(project, "long", "manual", seconds=0.5)
    assert status == "won"
    with caplog.at_level("WARNING", logger="modelcycle.scheduler"):
        with scheduler.Renewal(project, [key], 0.5) as renewal:
            run = project.run_scenario("long", stop=renewal.lost.is_set)
    assert "leases not renewed for 4/5 of their length: stopping the run" in caplog.text
    assert run["outcome"] == "ABORTED"
    assert not (project.settings.root / "second.txt").exists()


# -- processes -----------------------------------------------------------------------------


def test_two_schedulers_on_one_store_run_a_due_scenario_once(make) -> None:
    project = make(
        """
[scenarios.refresh]
triggers = [{ type = "dataset-changed", dataset = "incoming" }]
steps = [{ type = "python", callable = "jobs.py:record", seconds = 1.5 }]
"""
    )
    root = project.settings.root
    assert tick(project) == []
    with open(root / "incoming.csv", "a", encoding="utf-8") as f:
        f.write(",".join(["1"] * 31) + "\n")
    command = [*modelcycle_command(), "--project", str(root), "scheduler", "--once"]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    assert sum("scenario refresh run 1: SUCCESS" in out for out, _ in outputs) == 1
    assert len((root / "ran.txt").read_text().split()) == 1
    assert [r["trigger"] for r in project.scenario_runs("refresh")] == ["dataset-changed incoming"]


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the step never started"
        time.sleep(0.05)


def test_sigterm_mid_run_records_aborted(make) -> None:
    project = make(
        """
[scenarios.slow]
steps = [
  { type = "python", callable = "jobs.py:slow", seconds = 2.0 },
  { type = "python", callable = "jobs.py:record" },
]
[scenarios.watch]
triggers = [{ type = "dataset-changed", dataset = "incoming" }]
steps = [
  { type = "python", callable = "jobs.py:slow", seconds = 1.5, marker = "watch-started.txt" },
  { type = "python", callable = "jobs.py:record" },
]
"""
    )
    root = project.settings.root
    proc = subprocess.Popen(
        [*modelcycle_command(), "--project", str(root), "scenario", "run", "slow", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(root / "started.txt", proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "SIGTERM: stopping after the current step" in err
    run = json.loads(out)
    assert run["outcome"] == "ABORTED" and [(s["type"], s["outcome"]) for s in run["steps"]] == [("python", "SUCCESS")]
    assert project.scenario_runs("slow") == [run]
    assert not (root / "ran.txt").exists()

    # the scheduler, looping: SIGTERM lets the step finish, records ABORTED, and exits cleanly
    assert tick(project) == []
    with open(root / "incoming.csv", "a", encoding="utf-8") as f:
        f.write(",".join(["2"] * 31) + "\n")
    proc = subprocess.Popen(
        [*modelcycle_command(), "--project", str(root), "scheduler", "--interval", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(root / "watch-started.txt", proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "scenario watch run 1: ABORTED" in out and "scheduler: stopped" in err
    [run] = project.scenario_runs("watch")
    assert run["outcome"] == "ABORTED" and run["trigger"] == "dataset-changed incoming" and len(run["steps"]) == 1


# -- alerts and the command line -------------------------------------------------------------


def test_a_failed_scenario_is_mailed_through_smtp(make, inbox) -> None:
    project = make(
        f"""
[notifiers.mail]
type = "email"
host = "127.0.0.1"
port = {inbox.port}
starttls = false
sender = "ml@example.com"
to = ["oncall@example.com"]
timeout = 3
[scenarios.broken]
steps = [
  {{ type = "python", callable = "jobs.py:boom", token = "t0ken" }},
  {{ type = "python", callable = "jobs.py:ok" }},
]
notify = {{ FAILED = ["mail"], SUCCESS = ["box"] }}
[scenarios.pending]
steps = [{{ type = "notify", notifiers = ["down"], message = "hello" }}]
[notifiers.down]
type = "email"
host = "127.0.0.1"
port = {free_port()}
starttls = false
sender = "ml@example.com"
to = ["oncall@example.com"]
timeout = 2
"""
    )
    run = project.run_scenario("broken")
    assert run["outcome"] == "FAILED" and [a["status"] for a in run["alerts"]] == ["sent"]
    [mail] = inbox.messages
    assert mail["Subject"] == "[modelcycle] sc: scenario broken FAILED"
    part = mail.get_payload(0) if mail.is_multipart() else mail
    body = part.get_payload(decode=True).decode()
    assert "Scenario broken of project sc ended FAILED (run 1, trigger: manual)." in body
    assert "- python: FAILED: RuntimeError: boom with t0ken and a second line" in body
    assert "- python: SKIPPED: an earlier step failed" in body
    assert project.store.list("outbox/box") == []  # SUCCESS routing did not apply
    pending = project.run_scenario("pending")
    assert pending["outcome"] == "WARNING"
    assert pending["steps"][0]["message"].startswith("queued, delivery pending: down: ")
    from modelcycle import alerts

    assert [a["notifier"] for a in alerts.pending(project)] == ["down"]  # kept, to be retried


@pytest.fixture
def stalled_port() -> Iterator[int]:
    """A port on 127.0.0.1 that takes connections and never says a word: an SMTP server that hangs."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)  # the kernel completes every handshake; nothing ever answers
        yield server.getsockname()[1]


def test_a_hanging_notifier_cannot_hold_a_run_past_the_scenario_timeout(make, stalled_port: int) -> None:
    from modelcycle import alerts

    with pytest.raises(SettingsError, match=r"scenarios\.s\.timeout: .*a duration is a number of seconds"):
        make('[scenarios.s]\ntimeout = "soon"\n')
    project = make(
        f"""
[notifiers.stuck]
type = "email"
host = "127.0.0.1"
port = {stalled_port}
starttls = false
sender = "ml@example.com"
to = ["oncall@example.com"]
timeout = 120
[scenarios.hangs]
timeout = "1.5s"
steps = [
  {{ type = "python", callable = "jobs.py:ok" }},
  {{ type = "notify", notifiers = ["stuck", "box"], message = "hello" }},
  {{ type = "python", callable = "jobs.py:record" }},
  {{ type = "python", callable = "jobs.py:record", run_if = "always" }},
]
notify = {{ FAILED = ["box", "stuck"] }}
"""
    )
    root = project.settings.root
    assert project.settings.scenarios["hangs"].timeout == 1.5

    # the command: the notify step hangs on the SMTP greeting (its own timeout is 120 s); the run
    # stops at 1.5 s, is recorded FAILED, and the process exits although a thread is still stuck
    started = time.monotonic()
    proc = subprocess.run(
        [*modelcycle_command(), "--project", str(root), "scenario", "run", "hangs", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    run = json.loads(proc.stdout)
    took = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
    assert timedelta(seconds=1.2) < took < timedelta(seconds=3), took
    assert time.monotonic() - started < 30  # interpreter start-up included
    assert run["outcome"] == "FAILED"
    assert [(s["type"], s["outcome"]) for s in run["steps"]] == [
        ("python", "SUCCESS"),
        ("notify", "FAILED"),
        ("python", "SKIPPED"),
        ("python", "SKIPPED"),  # run_if = "always" cannot run past the timeout either
    ]
    assert run["steps"][1]["message"] == (
        "timed out: the run timed out (timeout 1.5s) while this step ran; it was abandoned, later steps did not run"
    )
    assert [s["message"] for s in run["steps"][2:]] == ["the run timed out (timeout 1.5s)"] * 2
    assert [(a["notifier"], a["status"]) for a in run["alerts"]] == [("box", "pending"), ("stuck", "pending")]
    assert not (root / "ran.txt").exists()
    assert project.scenario_runs("hangs") == [{k: v for k, v in run.items() if k != "alerts"}]
    # nothing is lost: the notify step's two alerts and the FAILED routing's two wait in pending
    waiting = alerts.pending(project)
    assert sorted((a["about"]["kind"], a["notifier"]) for a in waiting) == [
        ("scenario", "box"),
        ("scenario", "stuck"),
        ("scenario-message", "box"),
        ("scenario-message", "stuck"),
    ]

    # in this process: delivering the pending alerts at the start of the next run hangs on the
    # first one it may send (the one the first process's hung send still claims is left alone),
    # so the run times out before its first step
    started = time.monotonic()
    second = project.run_scenario("hangs")
    assert time.monotonic() - started < 1.5 + 1.5
    assert second["outcome"] == "FAILED" and second["id"] == 2
    assert {(s["outcome"], s["message"]) for s in second["steps"]} == {("SKIPPED", "the run timed out (timeout 1.5s)")}
    assert {a["status"] for a in second["alerts"]} == {"pending"}
    waiting = [a["notifier"] for a in alerts.pending(project)]
    assert waiting.count("stuck") == 3 and not (root / "ran.txt").exists()
    # the alerts for a notifier that works are delivered, exactly once, by the next attempt
    for alert in alerts.pending(project):
        if alert["notifier"] == "box":
            assert alerts.deliver(project, alert)["status"] == "sent"
    assert [a["notifier"] for a in alerts.pending(project)] == ["stuck"] * 3
    assert len(project.store.list("outbox/box")) == 3 and len(alerts.sent(project)) == 3


def test_cli_scenario_commands_and_json_shapes(make, capsys) -> None:
    project = make(
        """
[scenarios.good]
triggers = [{ type = "cron", schedule = "*/5 * * * *" }]
steps = [{ type = "python", callable = "jobs.py:ok" }, { type = "check", checks = ["fine"] }]
[scenarios.bad]
steps = [{ type = "python", callable = "jobs.py:boom" }]
"""
    )
    folder = str(project.settings.root)
    code, out, _ = cli("--project", folder, "scenario", "run", "good", "--json", capsys=capsys)
    run = json.loads(out)
    assert code == 0 and set(run) >= RUN_KEYS and run["outcome"] == "SUCCESS"
    assert [set(s) >= STEP_KEYS for s in run["steps"]] == [True, True]
    code, out, _ = cli("--project", folder, "scenario", "run", "bad", capsys=capsys)
    assert code == 1 and out.startswith("scenario bad run 1: FAILED") and "RuntimeError: boom with" in out
    code, out, _ = cli("--project", folder, "scenario", "runs", "--json", capsys=capsys)
    runs = json.loads(out)
    assert code == 0 and [(r["scenario"], r["id"], r["outcome"]) for r in runs] == [
        ("good", 1, "SUCCESS"),
        ("bad", 1, "FAILED"),
    ]
    assert all(set(r) >= RUN_KEYS for r in runs)
    code, out, _ = cli("--project", folder, "scenario", "runs", "good", "--json", capsys=capsys)
    assert code == 0 and json.loads(out) == [runs[0]]
    code, out, _ = cli("--project", folder, "scenario", "list", "--json", capsys=capsys)
    listed = {s["name"]: s for s in json.loads(out)}
    assert code == 0 and listed["good"]["triggers"] == ["cron */5 * * * *"]
    assert listed["good"]["steps"] == ["python", "check"] and listed["good"]["last_run"]["outcome"] == "SUCCESS"
    assert listed["bad"]["triggers"] == [] and listed["bad"]["last_run"]["outcome"] == "FAILED"
    code, out, _ = cli("--project", folder, "scenario", "list", capsys=capsys)
    assert code == 0 and "good" in out and "FAILED" in out
    code, out, _ = cli("--project", folder, "scenario", "runs", capsys=capsys)
    assert code == 0 and "bad" in out
    code, _, err = cli("--project", folder, "scenario", "runs", "../x", capsys=capsys)
    assert code == 2 and err.startswith("error: scenario name '../x' is not allowed")
    code, out, err = cli("--project", folder, "scheduler", "--once", capsys=capsys)
    assert code == 0 and out == ""  # the first tick only records the time
    code, _, err = cli("--project", folder, "scheduler", "--interval", "0", capsys=capsys)
    assert code == 2 and err.startswith("error: invalid value for '--interval'")
