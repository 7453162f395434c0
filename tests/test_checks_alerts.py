"""Checks, model status, and alerts that are never lost: real SMTP and HTTP servers on
loopback, a server that is down and comes back, a webhook answering 500, cooldown,
every outcome, and no secret anywhere in the store or the output."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from modelcycle import hookimpl, open_project
from modelcycle.cli import main
from modelcycle.errors import SettingsError
from modelcycle.interfaces import CheckType
from sklearn.datasets import load_breast_cancer

from tests.conftest import write_settings

SMTP_PASSWORD = "smtp-pa55-very-secret"
HOOK_TOKEN = "hooktoken-very-secret"


@pytest.fixture
def inbox(smtp_sink):
    """A real SMTP server on loopback (modelcycle.testing's smtp_sink)."""
    return smtp_sink


@pytest.fixture
def webhook():
    """A JSON webhook on 127.0.0.1; set `.status` to answer something else than 200."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        status = 200

        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "body": json.loads(body or b"{}")})
            self.send_response(server.status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.status = 200
    server.received = received
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def cancer() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    return frame


def project_for(tmp_path: Path, checks: str, inbox_port: int, hook_port: int, extra: str = "", **kwargs):
    folder = tmp_path / "proj"
    folder.mkdir(parents=True, exist_ok=True)
    frame = cancer().sample(frac=1.0, random_state=0).reset_index(drop=True)
    frame.iloc[:400].to_parquet(folder / "train.parquet", index=False)
    frame.iloc[400:].to_parquet(folder / "feedback.parquet", index=False)
    write_settings(
        folder,
        f"""
[project]
name = "alerting"
[datasets.d]
url = "train.parquet"
[models.m]
dataset = "d"
target = "target"
params = {{ max_iter = 20 }}
threads = 1
[notifiers.mail]
type = "email"
host = "127.0.0.1"
port = {inbox_port}
starttls = false
sender = "ml@example.com"
to = ["oncall@example.com"]
timeout = 3
[notifiers.hook]
type = "apprise"
urls = ["json://user:${{HOOK_TOKEN}}@127.0.0.1:{hook_port}/alerts"]
[notifiers.box]
type = "file"
{extra}
{checks}
""",
    )
    return open_project(folder, **kwargs)


@pytest.fixture(autouse=True)
def secrets(monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", HOOK_TOKEN)
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)


AUC_CHECK = """
[alerts]
notify = ["mail"]
cooldown = "1h"
[checks.auc]
model = "m"
metric = "roc_auc"
min = {min}
soft_min = {soft}
"""


def trained(project):
    project.train("m")
    project.evaluate("m", str(project.settings.root / "feedback.parquet"))
    return project


def test_every_outcome(tmp_path: Path, inbox, webhook) -> None:
    checks = """
[alerts]
on = []
[checks.ok]
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
metric = "drift.share"
max = -1
[checks.empty]
model = "m"
metric = "estimated.log_loss"
min = 0
"""
    project = project_for(tmp_path, checks, inbox.port, webhook.server_port)
    assert [r["outcome"] for r in project.run_checks()] == ["EMPTY"] * 4  # no evaluation yet
    assert project.status("m")[0]["status"] == "EMPTY"
    trained(project)
    results = {r["check"]: r for r in project.run_checks()}
    assert {k: r["outcome"] for k, r in results.items()} == {
        "ok": "OK",
        "warn": "WARNING",
        "err": "ERROR",
        "empty": "EMPTY",
    }
    assert (
        results["warn"]["message"].startswith("roc_auc = 0.9") and "below soft_min 0.999" in results["warn"]["message"]
    )
    assert results["err"]["message"].startswith("drift.share = 0") and "above max -1" in results["err"]["message"]
    assert results["empty"]["message"].startswith(
        "evaluation 1 (version 1) has no estimate 'log_loss' for this version (estimated: accuracy,"
    )
    status = project.status("m")[0]
    assert status["status"] == "ERROR" and status["active_version"] == 1 and status["latest_evaluation"]["id"] == 1


def test_check_command_json_and_exit_codes(tmp_path: Path, inbox, webhook, capsys) -> None:
    project = trained(
        project_for(tmp_path, AUC_CHECK.format(min=0.9999, soft=0.99995), inbox.port, webhook.server_port)
    )
    folder = str(project.settings.root)
    with pytest.raises(SystemExit) as info:
        main(["--project", folder, "check", "--json"])
    results = json.loads(capsys.readouterr().out)
    assert info.value.code == 1
    assert set(results[0]) >= {"check", "model", "metric", "value", "outcome", "message", "at", "active_version"}
    assert results[0]["outcome"] == "ERROR" and results[0]["active_version"] == 1
    with pytest.raises(SystemExit) as info:
        main(["--project", folder, "status", "--json"])
    status = json.loads(capsys.readouterr().out)
    assert info.value.code == 0 and status[0]["status"] == "ERROR"
    assert set(status[0]) >= {"model", "active_version", "latest_evaluation", "status"}
    with pytest.raises(SystemExit) as info:
        main(["--project", folder, "check", "nope"])
    assert info.value.code == 2 and capsys.readouterr().err.startswith("error: unknown check 'nope'; checks in")


def test_an_error_is_mailed_with_the_right_subject_and_body(tmp_path: Path, inbox, webhook) -> None:
    project = trained(
        project_for(tmp_path, AUC_CHECK.format(min=0.9999, soft=0.99995), inbox.port, webhook.server_port)
    )
    project.run_checks()
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["Subject"] == "[modelcycle] alerting: check auc is ERROR for m v1"
    body = (
        mail.get_payload(decode=True).decode()
        if not mail.is_multipart()
        else mail.get_payload(0).get_payload(decode=True).decode()
    )
    assert "Check auc on model m (version 1) is ERROR: roc_auc = 0.9" in body and "thresholds: min 0.9999" in body


def test_smtp_down_keeps_the_alert_pending_until_retry_delivers_it_once(tmp_path: Path, inbox, webhook, capsys) -> None:
    project = trained(
        project_for(tmp_path, AUC_CHECK.format(min=0.9999, soft=0.99995), inbox.port, webhook.server_port)
    )
    inbox.stop()
    project.run_checks()
    from modelcycle import alerts

    waiting = alerts.pending(project)
    assert len(waiting) == 1 and waiting[0]["attempts"] == 1 and "127.0.0.1" in waiting[0]["last_error"]
    assert project.run_checks()[0]["outcome"] == "ERROR"  # cooldown: no second alert for the same outcome
    assert len(alerts.pending(project)) == 1
    inbox.start()
    folder = str(project.settings.root)
    with pytest.raises(SystemExit) as info:
        main(["--project", folder, "alerts", "retry"])
    assert info.value.code == 0 and capsys.readouterr().out == "1 of 1 pending alerts delivered\n"
    with pytest.raises(SystemExit):
        main(["--project", folder, "alerts", "retry"])
    assert capsys.readouterr().out == "0 of 0 pending alerts delivered\n"
    assert len(inbox.messages) == 1 and alerts.pending(project) == []
    with pytest.raises(SystemExit):
        main(["--project", folder, "alerts", "--json"])
    shown = json.loads(capsys.readouterr().out)
    assert [a["status"] for a in shown] == ["sent"] and shown[0]["attempts"] == 2


def test_a_webhook_answering_500_keeps_the_alert_pending(tmp_path: Path, inbox, webhook) -> None:
    checks = AUC_CHECK.format(min=0.9999, soft=0.99995).replace('notify = ["mail"]', 'notify = ["hook"]')
    project = trained(project_for(tmp_path, checks, inbox.port, webhook.server_port))
    webhook.status = 500
    project.run_checks()
    from modelcycle import alerts

    assert len(alerts.pending(project)) == 1 and len(webhook.received) >= 1
    webhook.status = 200
    delivered = alerts.retry(project, force=True)
    assert [a["status"] for a in delivered] == ["sent"]
    assert webhook.received[-1]["body"]["title"].startswith("[modelcycle] alerting: check auc is ERROR")


def test_cooldown_and_routing(tmp_path: Path, inbox, webhook) -> None:
    checks = (
        AUC_CHECK.format(min=0.5, soft=0.995) + '[checks.per_check]\nmodel = "m"\nmetric = "roc_auc"\n'
        'min = 0.999\nnotify = ["box"]\n'
    )
    project = trained(project_for(tmp_path, checks, inbox.port, webhook.server_port))
    first = project.run_checks()
    assert [r["outcome"] for r in first] == ["WARNING", "ERROR"]
    assert len(inbox.messages) == 1  # the WARNING goes by the default route
    outbox = project.store.list("outbox/box")
    assert len(outbox) == 1  # the check's own routing replaces the default
    second = project.run_checks()
    assert [r.get("alert") for r in second] == ["suppressed: cooldown"] * 2
    assert len(inbox.messages) == 1 and len(project.store.list("outbox/box")) == 1


def test_no_secret_reaches_the_store_or_the_output(tmp_path: Path, inbox, webhook, capsys) -> None:
    checks = AUC_CHECK.format(min=0.9999, soft=0.99995).replace('notify = ["mail"]', 'notify = ["hook", "mail"]')
    extra = (
        '[notifiers.authmail]\ntype = "email"\nhost = "127.0.0.1"\nport = 9\nstarttls = false\n'
        'username = "u"\npassword = "${SMTP_PASSWORD}"\nsender = "a@b.c"\nto = ["d@e.f"]\ntimeout = 2\n'
    )
    project = trained(project_for(tmp_path, checks, inbox.port, webhook.server_port, extra=extra))
    webhook.status = 500
    folder = str(project.settings.root)
    for args in (
        ["check"],
        ["alerts", "--json"],
        ["alerts", "retry"],
        ["notify", "hook", "hello"],
        ["notify", "authmail", "hello"],
        ["plugins"],
        ["status", "--json"],
    ):
        with pytest.raises(SystemExit):
            main(["--project", folder, *args])
    captured = capsys.readouterr()
    stored = b"".join(p.read_bytes() for p in Path(folder, ".modelcycle").rglob("*") if p.is_file())
    for secret in (HOOK_TOKEN, SMTP_PASSWORD):
        assert secret not in captured.out + captured.err
        assert secret.encode() not in stored


def test_the_notify_command(tmp_path: Path, inbox, webhook, capsys) -> None:
    project = project_for(tmp_path, "", inbox.port, webhook.server_port)
    folder = str(project.settings.root)
    with pytest.raises(SystemExit) as info:
        main(["--project", folder, "notify", "mail", "hello there"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("sent to ")
    assert inbox.messages[-1]["Subject"] == "[modelcycle] alerting: test message"
    inbox.stop()
    with pytest.raises(SystemExit) as info:
        main(["--project", folder, "notify", "mail", "hello again"])
    assert info.value.code == 1 and capsys.readouterr().err.startswith("error: notifier 'mail' did not deliver: ")
    with pytest.raises(SystemExit) as info:
        main(["--project", folder, "notify", "pager", "x"])
    assert info.value.code == 2 and capsys.readouterr().err.startswith("error: unknown notifier 'pager'")


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        ('[checks.c]\nmodel = "m"\nmetric = "roc_auc"\n', "modelcycle.toml: checks.c: no threshold: set min,"),
        (
            '[checks.c]\nmodel = "m"\nmetric = "roc_auc"\nmin = 0.8\nsoft_min = 0.7\n',
            "modelcycle.toml: checks.c.soft_min: is below min: warn before the error",
        ),
        (
            '[checks.c]\nmodel = "m"\nmetric = "roc_auc"\ntype = "band"\nmin = 1\n',
            "modelcycle.toml: checks.c.type: unknown check type 'band'; registered: threshold",
        ),
        ('[notifiers.x]\ntype = "email"\nhost = "h"\n', "modelcycle.toml: notifiers.x.sender: required key is missing"),
    ],
)
def test_bad_check_and_notifier_settings(tmp_path: Path, checks: str, expected: str) -> None:
    with pytest.raises(SettingsError) as info:
        project_for(tmp_path, checks, 1, 1)
    assert str(info.value).startswith(expected)


class BandCheck(CheckType):
    name = "band"

    def judge(self, value, check, *, baseline):
        return ("OK", "inside the band") if 0.9 <= value <= 1.0 else ("ERROR", "outside the band")


class BandPlugin:
    __name__ = "band"

    @hookimpl
    def register_check_types(self):
        return [BandCheck]


def test_a_plugin_check_type_is_used_by_name(tmp_path: Path, inbox, webhook) -> None:
    checks = '[checks.c]\nmodel = "m"\nmetric = "roc_auc"\ntype = "band"\nmin = 0\n'
    project = trained(project_for(tmp_path, checks, inbox.port, webhook.server_port, plugins=[BandPlugin()]))
    assert project.run_checks()[0]["message"] == "inside the band"


def test_max_drop_against_training_and_previous(tmp_path: Path, inbox, webhook) -> None:
    checks = (
        '[checks.drop]\nmodel = "m"\nmetric = "accuracy"\nmax_drop = 0.0001\nbaseline = "previous"\n'
        '[checks.vs_training]\nmodel = "m"\nmetric = "accuracy"\nmax_drop = 0.5\n'
    )
    project = trained(project_for(tmp_path, checks, inbox.port, webhook.server_port))
    first = {r["check"]: r for r in project.run_checks()}
    assert first["drop"]["outcome"] == "EMPTY" and first["vs_training"]["outcome"] == "OK"
    assert first["drop"]["message"].endswith(
        "no baseline to compare with yet (no earlier evaluation of the version to compare with yet)"
    )
    feedback = pd.read_parquet(project.settings.root / "feedback.parquet")
    feedback["target"] = 1 - feedback["target"]  # the world flipped: accuracy collapses
    project.evaluate("m", feedback)
    second = {r["check"]: r for r in project.run_checks()}
    assert second["drop"]["outcome"] == "ERROR" and "dropped" in second["drop"]["message"]
    assert second["vs_training"]["outcome"] == "ERROR"
    project.train("m")  # version 2, active: its first evaluation has no earlier one of its own
    project.evaluate("m", str(project.settings.root / "feedback.parquet"))
    third = {r["check"]: r for r in project.run_checks()}
    assert (third["drop"]["outcome"], third["drop"]["version"]) == ("EMPTY", 2)


def test_a_broken_alert_template_fails_when_the_project_opens(tmp_path: Path) -> None:
    checks = AUC_CHECK.format(min=0.5, soft=0.6).replace('cooldown = "1h"', 'cooldown = "1h"\nsubject = "{value:.2f"')
    with pytest.raises(SettingsError, match=r"^modelcycle.toml: alerts: a template is not valid: "):
        project_for(tmp_path, checks, 1, 1)


# -- checks and status follow the active version; EMPTY says why ----------------------------------

FOLLOW_CHECKS = """
[alerts]
on = []
[checks.auc]
model = "m"
metric = "roc_auc"
min = 0.9
[checks.auc_any]
model = "m"
metric = "roc_auc"
version = "any"
min = 0.9
"""


def flipped(project) -> pd.DataFrame:
    """The feedback with every label wrong: any version scores an roc_auc far below 0.9 on it."""
    feedback = pd.read_parquet(project.settings.root / "feedback.parquet")
    return feedback.assign(target=1 - feedback["target"])


def test_a_challenger_evaluation_changes_neither_status_nor_checks(tmp_path: Path, capsys) -> None:
    project = project_for(tmp_path, FOLLOW_CHECKS, 1, 1)
    project.train("m")
    project.train("m")  # version 2, active ("always")
    active = project.evaluate("m", str(project.settings.root / "feedback.parquet"))
    assert active["version"] == 2 and active["active_version"] == 2
    before = project.run_checks(["auc"])[0]
    assert (before["outcome"], before["version"], before["evaluation"]) == ("OK", 2, active["id"])
    status_before = project.status("m")[0]

    challenger = project.evaluate("m", flipped(project), version=1)  # as `evaluate m FILE --version 1`
    assert challenger["version"] == 1 and challenger["active_version"] == 2 and challenger["metrics"]["roc_auc"] < 0.9
    after = project.run_checks(["auc"])[0]
    assert (after["outcome"], after["version"], after["evaluation"], after["value"]) == (
        "OK",
        2,
        active["id"],
        before["value"],
    )
    status = project.status("m")[0]
    assert status["status"] == status_before["status"] == "OK"
    assert status["latest_evaluation"] == status_before["latest_evaluation"]
    assert status["latest_evaluation"]["id"] == active["id"] and status["latest_evaluation"]["version"] == 2

    seen = project.run_checks(["auc_any"])[0]  # opted in: the challenger's evaluation is judged
    assert (seen["outcome"], seen["version"], seen["evaluation"]) == ("ERROR", 1, challenger["id"])
    assert project.status("m")[0]["status"] == "ERROR"

    history = project.history("m")
    assert history[["id", "version", "challenger"]].to_dict("records") == [
        {"id": active["id"], "version": 2, "challenger": False},
        {"id": challenger["id"], "version": 1, "challenger": True},
    ]
    with pytest.raises(SystemExit) as info:
        main(["--project", str(project.settings.root), "history", "m", "--metric", "roc_auc"])
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "version" in line)
    assert info.value.code == 0 and "challenger" in header
    rows = [[cell.strip() for cell in line.split("│")] for line in out.splitlines() if line.strip().startswith("20")]
    assert [(r[1], r[2]) for r in rows] == [("2", ""), ("1", "yes")]


def test_after_an_activation_a_result_about_the_old_version_no_longer_sets_the_status(tmp_path: Path) -> None:
    project = project_for(tmp_path, FOLLOW_CHECKS, 1, 1)
    project.train("m")
    project.train("m")
    project.evaluate("m", flipped(project))  # version 2 is bad
    assert project.run_checks(["auc"])[0]["outcome"] == "ERROR"
    project.activate("m", 1, reason="roll back the bad one")
    shown = project.status("m")[0]["checks"][0]
    assert (shown["outcome"], shown["message"]) == (
        "EMPTY",
        "judged version 2, which is no longer active: run the check again",
    )
    again = project.run_checks(["auc"])[0]
    assert again["outcome"] == "EMPTY"
    assert again["message"] == (
        "no evaluation yet of the active version 1: model 'm' has only evaluations of other versions "
        '(challengers; set version = "any" to judge them)'
    )
    assert project.status("m")[0]["latest_evaluation"] is None


def test_empty_says_there_is_no_evaluation_yet(tmp_path: Path) -> None:
    project = project_for(tmp_path, FOLLOW_CHECKS, 1, 1)
    assert (
        project.run_checks()[0]["message"] == "no evaluation yet: model 'm' has none (run 'modelcycle evaluate m DATA')"
    )
    project.train("m")
    result = project.run_checks(["auc"])[0]
    assert (result["outcome"], result["message"]) == (
        "EMPTY",
        "no evaluation yet: model 'm' has none (run 'modelcycle evaluate m DATA')",
    )


def test_empty_says_the_active_version_has_no_such_metric(tmp_path: Path) -> None:
    # the task is inferred at training, so a regression metric is accepted when the project opens
    checks = '[alerts]\non = []\n[checks.err]\nmodel = "m"\nmetric = "rmse"\nmax = 1\n'
    project = trained(project_for(tmp_path, checks, 1, 1))
    result = project.run_checks()[0]
    assert result["outcome"] == "EMPTY" and result["version"] == 1
    assert result["message"].startswith("evaluation 1 (version 1): the version has no metric 'rmse' (it measured: ")
    assert "roc_auc" in result["message"]


def test_empty_says_the_evaluated_data_has_no_labels(tmp_path: Path) -> None:
    project = project_for(tmp_path, FOLLOW_CHECKS, 1, 1)
    project.train("m")
    unlabelled = pd.read_parquet(project.settings.root / "feedback.parquet").drop(columns=["target"])
    record = project.evaluate("m", unlabelled)
    assert record["labeled_rows"] == 0
    result = project.run_checks(["auc"])[0]
    assert result["outcome"] == "EMPTY" and result["evaluation"] == record["id"]
    assert result["message"] == (
        f"evaluation {record['id']} (version 1): no labels in the evaluated data (0 labelled rows), "
        "so no 'roc_auc' was measured"
    )


def test_empty_says_a_metric_is_undefined_on_the_evaluated_rows(tmp_path: Path) -> None:
    project = project_for(tmp_path, FOLLOW_CHECKS, 1, 1)
    project.train("m")
    feedback = pd.read_parquet(project.settings.root / "feedback.parquet")
    one_class = feedback[feedback["target"] == 1]
    record = project.evaluate("m", one_class)
    assert record["metrics"]["roc_auc"] is None
    result = project.run_checks(["auc"])[0]
    assert (result["outcome"], result["message"]) == (
        "EMPTY",
        f"evaluation {record['id']} (version 1): 'roc_auc' is undefined on its {len(one_class)} labelled rows "
        "(one class only, or no probabilities in the data)",
    )


def test_alerts_on_empty_are_sent_only_when_asked_for(tmp_path: Path) -> None:
    checks = FOLLOW_CHECKS.replace("on = []", 'on = ["EMPTY"]\nnotify = ["box"]')
    project = project_for(tmp_path, checks, 1, 1)
    project.train("m")
    results = project.run_checks(["auc"])
    assert results[0]["outcome"] == "EMPTY"
    sent = [json.loads(project.store.get(key)) for key in project.store.list("outbox/box")]
    assert len(sent) == 1 and "is EMPTY" in sent[0]["subject"]
    assert "no evaluation yet: model 'm' has none" in sent[0]["text"]
    default = project_for(tmp_path / "default", FOLLOW_CHECKS.replace("on = []", 'notify = ["box"]'), 1, 1)
    default.train("m")
    assert default.run_checks(["auc"])[0]["outcome"] == "EMPTY"
    assert default.store.list("outbox/box") == []  # ERROR and WARNING only, by default


@pytest.mark.parametrize(
    "metric",
    [
        "roc_auc",
        "metrics.f1",
        "training.accuracy",
        "estimated.roc_auc",
        "estimated.rmse",  # any registered metric's estimate: the task is left to be inferred
        "estimated_bands.roc_auc.high",
        "drift.share",
        "drift.drifted_columns",
        "drift.columns.mean_radius.statistic",
        "drift.columns.mean_radius.any_new_field",
        "drift.prediction.statistic",
        "labeled_rows",
    ],
)
def test_a_check_may_name_what_an_evaluation_can_hold(tmp_path: Path, metric: str) -> None:
    project = project_for(tmp_path, f'[checks.c]\nmodel = "m"\nmetric = "{metric}"\nmax = 1e9\n', 1, 1)
    assert project.settings.checks["c"].metric == metric


@pytest.mark.parametrize(
    ("metric", "task", "expected"),
    [
        (
            "rocauc",
            None,
            "names 'rocauc', which no metric, drift result or estimate produces; did you mean 'roc_auc'? ",
        ),
        ("estimated.nothing", None, "names 'estimated.nothing', which no metric"),
        ("drift.columns.age", None, "names 'drift.columns.age', which no metric"),
        ("drift.sharee", None, "did you mean 'drift.share'? "),
        ("roc_auc", "regression", "names 'roc_auc', which no metric, drift result or estimate produces; "),
    ],
)
def test_a_check_naming_what_nothing_produces_is_a_settings_error(
    tmp_path: Path, metric: str, task: str | None, expected: str
) -> None:
    checks = f'[checks.typo]\nmodel = "m"\nmetric = "{metric}"\nmin = 0\n'
    folder = project_for(tmp_path, "", 1, 1).settings.root
    text = (folder / "modelcycle.toml").read_text()
    if task is not None:
        text = text.replace("threads = 1", f'threads = 1\ntask = "{task}"')
    (folder / "modelcycle.toml").write_text(text + checks)
    with pytest.raises(SettingsError) as info:
        open_project(folder)
    message = str(info.value)
    assert message.startswith("modelcycle.toml: checks.typo.metric: check 'typo' names ") and expected in message
    assert "\n" not in message


def test_the_init_template_shows_the_version_opt_in_and_empty_alerts() -> None:
    from importlib.resources import files

    lines = files("modelcycle").joinpath("template.toml").read_text(encoding="utf-8").splitlines()
    check = lines.index("# [checks.auc_floor]")
    alerts = lines.index("# [alerts]")
    assert any(line.startswith('# version = "any"') for line in lines[check : check + 6])
    on = next(line for line in lines[alerts:] if line.startswith("# on = "))
    assert '"EMPTY"' in on


def test_the_check_table_prints_a_dash_for_a_missing_value(tmp_path: Path, capsys) -> None:
    project = project_for(tmp_path, '[checks.auc]\nmodel = "m"\nmetric = "roc_auc"\nmin = 0.9\n', 1, 1)  # untrained
    with pytest.raises(SystemExit) as info:
        main(["--project", str(project.settings.root), "check"])
    assert info.value.code == 0
    rows = [[cell.strip() for cell in line.split("│")] for line in capsys.readouterr().out.splitlines() if "│" in line]
    assert (rows[0][0], rows[0][3], rows[0][4]) == ("auc", "-", "EMPTY")


def test_history_prints_a_dash_for_a_metric_an_evaluation_lacks(tmp_path: Path, capsys) -> None:
    project = trained(project_for(tmp_path, "", 1, 1))
    frame = pd.read_parquet(project.settings.root / "feedback.parquet")
    project.evaluate("m", frame.drop(columns="target"))  # no labels: no roc_auc
    with pytest.raises(SystemExit) as info:
        main(["--project", str(project.settings.root), "history", "m", "--metric", "roc_auc"])
    out = capsys.readouterr().out
    rows = [[cell.strip() for cell in line.split("│")] for line in out.splitlines() if line.strip().startswith("20")]
    assert info.value.code == 0 and "challenger" not in out  # no challenger among them: no column for it
    assert [(r[1], r[2] == "-") for r in rows] == [("1", False), ("1", True)]
