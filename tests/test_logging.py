"""Logging: the scheduler and scenario runs log every failure (a warning shows once per process),
--log-level and MODELCYCLE_LOG_LEVEL choose what the command line prints, and secrets never
reach a log record."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path

import pytest
from modelcycle import open_project, scheduler
from modelcycle.cli import main
from modelcycle.logs import get_logger, warn

from tests.conftest import write_settings

SECRET = "s3cr3t-Token-value-42"

WATCH = """
[project]
name = "logs"
[datasets.d]
url = "${DATA_DIR}/gone.csv"
[scenarios.watch]
triggers = [ { type = "dataset-changed", dataset = "d" } ]
steps = [ { type = "python", callable = "jobs.py:boom" } ]
"""

JOBS = """
def boom(project):
    raise RuntimeError("the feed is down")
"""


@pytest.fixture
def watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose trigger fails at every tick: its dataset's folder (a secret: the whole
    value of DATA_DIR, which holds SECRET) is missing."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path / SECRET))
    folder = tmp_path / "proj"
    write_settings(folder, WATCH)
    (folder / "jobs.py").write_text(JOBS, encoding="utf-8")
    return folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code or 0, out, err


def _lines(caplog: pytest.LogCaptureFixture, logger: str, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and text in r.getMessage()]


def test_a_serving_scheduler_that_fails_the_same_way_three_times_logs_three_lines(watched, caplog) -> None:
    project = open_project(watched)
    stop = threading.Event()

    class StopAfterThree(logging.Handler):
        seen = 0

        def emit(self, record: logging.LogRecord) -> None:
            self.seen += "trigger 0" in record.getMessage()
            if self.seen >= 3:
                stop.set()

    stopper = StopAfterThree()
    logging.getLogger("modelcycle").addHandler(stopper)
    try:
        with caplog.at_level(logging.WARNING, logger="modelcycle"), warnings.catch_warnings():
            warnings.simplefilter("error")  # a Python warning here would be shown once: none is raised
            serve = threading.Thread(target=scheduler.serve, args=(project,), kwargs={"interval": 0.05, "stop": stop})
            serve.start()
            serve.join(timeout=60)
    finally:
        logging.getLogger("modelcycle").removeHandler(stopper)
        stop.set()
    lines = _lines(caplog, "modelcycle.scheduler", "trigger 0")
    assert not serve.is_alive() and len(lines) == 3
    assert len(set(lines)) == 1 and lines[0].startswith("scenario 'watch': trigger 0 (dataset-changed d): ")
    assert SECRET not in caplog.text and "${DATA_DIR}" in lines[0]


def test_a_scenario_that_fails_three_times_logs_three_lines(watched, caplog) -> None:
    project = open_project(watched)
    with caplog.at_level(logging.INFO, logger="modelcycle"):
        for _ in range(3):
            assert project.run_scenario("watch")["outcome"] == "FAILED"
    lines = _lines(caplog, "modelcycle.scenarios", "FAILED")
    assert lines == [
        f"scenario 'watch': run {n} FAILED: step 0 (python): RuntimeError: the feed is down" for n in (1, 2, 3)
    ]
    assert all(r.levelno == logging.ERROR for r in caplog.records if r.name == "modelcycle.scenarios")


def test_the_scheduler_command_prints_each_failure_at_every_tick(capsys, watched) -> None:
    for _ in range(3):
        code, out, err = run(capsys, "--project", str(watched), "scheduler", "--once")
        assert (code, out) == (1, "")
        assert err.startswith("error: scenario 'watch': trigger 0 (dataset-changed d): ") and err.count("\n") == 1
        assert SECRET not in err and "${DATA_DIR}" in err


def test_failures_are_errors_critical_hides_them_and_info_shows_more(capsys, watched, monkeypatch) -> None:
    code, _, err = run(capsys, "--log-level", "ERROR", "--project", str(watched), "scheduler", "--once")
    assert code == 1 and err.startswith("error: scenario 'watch': trigger 0 (dataset-changed d): ")  # cron hears it
    code, _, err = run(capsys, "--log-level", "critical", "--project", str(watched), "scheduler", "--once")
    assert (code, err) == (1, "")  # still exit 1: the failure is not hidden from cron
    monkeypatch.setenv("MODELCYCLE_LOG_LEVEL", "critical")
    code, _, err = run(capsys, "--project", str(watched), "scheduler", "--once")
    assert (code, err) == (1, "")
    monkeypatch.setenv("MODELCYCLE_LOG_LEVEL", "info")
    code, out, err = run(capsys, "--project", str(watched), "scenario", "run", "watch")
    assert code == 1 and out.startswith("scenario watch run 1: FAILED")
    assert "error: scenario 'watch': run 1 FAILED: step 0 (python): RuntimeError: the feed is down\n" in err


def test_a_bad_log_level_is_one_line(capsys, watched, monkeypatch) -> None:
    code, out, err = run(capsys, "--log-level", "loud", "--project", str(watched), "scheduler", "--once")
    assert (code, out) == (2, "")
    assert err.startswith("error: invalid value for '--log-level': 'loud' is not one of") and err.count("\n") == 1
    monkeypatch.setenv("MODELCYCLE_LOG_LEVEL", "chatty")
    code, _, err = run(capsys, "--project", str(watched), "scheduler", "--once")
    assert code == 2 and err.startswith("error: invalid value for MODELCYCLE_LOG_LEVEL: 'chatty' is not one of")
    assert err.count("\n") == 1


def test_secrets_never_reach_a_log_record_whatever_the_handler(watched, caplog) -> None:
    open_project(watched)  # its settings interpolate the secret
    secret = os.environ["DATA_DIR"]
    seen: list[str] = []

    class Keep(logging.Handler):  # an application's own handler, on the root logger
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(logging.Formatter("%(message)s %(exc_text)s").format(record))

    keep = Keep()
    logging.getLogger().addHandler(keep)
    try:
        with caplog.at_level(logging.DEBUG, logger="modelcycle"):
            log = get_logger("anything.deeper")
            log.debug("reading %s/gone.csv", secret)
            try:
                raise OSError(f"cannot open {secret!r}")
            except OSError:
                log.exception("failed: %r", {"url": secret})
    finally:
        logging.getLogger().removeHandler(keep)
    assert len(seen) == 2 and all("${DATA_DIR}" in text for text in seen)
    assert SECRET not in " ".join(seen) and SECRET not in caplog.text
    assert "OSError: cannot open" in seen[1]


def test_warn_logs_every_time_and_warns_a_python_caller(caplog) -> None:
    log = get_logger("test")
    with caplog.at_level(logging.WARNING, logger="modelcycle"), pytest.warns(UserWarning, match="same problem"):
        for _ in range(3):
            warn(log, "same problem")
    assert [r.getMessage() for r in caplog.records] == ["same problem"] * 3


def test_verbose_after_log_level_still_shows_the_traceback(capsys, tmp_path) -> None:
    code, _, err = run(capsys, "--log-level", "info", "-v", "--project", str(tmp_path / "none"), "versions", "m")
    assert code == 2 and "Traceback (most recent call last)" in err
    assert err.rstrip("\n").splitlines()[-1].startswith("error: no settings file at ")


def test_every_failed_delivery_attempt_is_logged_with_its_next_attempt(tmp_path, caplog) -> None:
    from modelcycle import alerts

    folder = tmp_path / "proj"
    write_settings(folder, '[project]\nname = "a"\n[notifiers.box]\ntype = "file"\npath = "blocked"\n')
    (folder / "blocked").mkdir()  # a folder where the outbox file should be: every attempt fails
    project = open_project(folder)
    alert = alerts.queue(project, "box", "subject", "text", {"kind": "test"})
    with caplog.at_level(logging.WARNING, logger="modelcycle.alerts"):
        for _ in range(3):
            [pending] = alerts.retry(project, force=True)
            assert pending["status"] == "pending"
    lines = _lines(caplog, "modelcycle.alerts", "not delivered")
    assert [line.split(": ")[0] for line in lines] == [
        f"alert {alert['id']} to notifier 'box' not delivered (attempt {n})" for n in (1, 2, 3)
    ]
    assert all("IsADirectoryError" in line and "; next attempt after 20" in line for line in lines)
