"""Alerts say why: the drifted columns with their effect sizes (or the metric, its value and
its thresholds), the evaluation judged, and the dashboard section, in the mail (a real SMTP
server), the webhook (a real HTTP server, through apprise) and the alert log alike."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from modelcycle import alerts, open_project
from modelcycle.cli import main

from tests.conftest import write_settings


def _frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pd.DataFrame(
        {
            "x": x + shift,
            "z": rng.normal(size=rows) * (1 + shift),
            "calm": rng.normal(size=rows),
            "y": (x + rng.normal(scale=0.5, size=rows) > 0).astype(int),
        }
    )


def _project(tmp_path: Path, inbox, webhook_sink, checks: str, dashboard: str = "", model: str = "") -> object:
    folder = tmp_path / "proj"
    folder.mkdir()
    _frame(1500, 0).to_parquet(folder / "train.parquet", index=False)
    _frame(1000, 1, shift=1.5).to_parquet(folder / "shifted.parquet", index=False)
    write_settings(
        folder,
        f"""
[project]
name = "why"
[datasets.d]
url = "train.parquet"
[datasets.october]
url = "shifted.parquet"
as_of = "2026-10-31"
[models.m]
dataset = "d"
target = "y"
params = {{ max_iter = 50 }}
threads = 1
{model}
{inbox.notifier_settings("mail")}
[notifiers.hook]
type = "apprise"
urls = ["json://127.0.0.1:{webhook_sink.port}/alerts"]
[notifiers.box]
type = "file"
[alerts]
notify = ["mail", "hook", "box"]
{dashboard}
{checks}
""",
    )
    project = open_project(folder)
    project.train("m")
    return project


DRIFT_CHECK = '[checks.drift]\nmodel = "m"\nmetric = "drift.share"\nmax = 0.1\n'


def _mail_text(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_a_drift_alert_names_the_columns_their_effect_sizes_the_evaluation_and_the_dashboard_section(
    tmp_path: Path, smtp_sink, webhook_sink
) -> None:
    project = _project(
        tmp_path, smtp_sink, webhook_sink, DRIFT_CHECK, '[dashboard]\nurl = "https://ml.example.com/dash.html"'
    )
    record = project.evaluate("m", "october")
    assert record["drift"]["drifted_columns"] == ["x", "z"] and record["as_of"] == "2026-10-31"
    [result] = project.run_checks()
    assert result["outcome"] == "ERROR"

    mail = _mail_text(smtp_sink.messages[0])
    hook = webhook_sink.json()["message"]
    texts = {a["notifier"]: a["text"] for a in alerts.sent(project)}  # the alert log
    assert set(texts) == {"mail", "hook", "box"}
    for text in (mail, hook, texts["mail"], texts["box"]):
        assert "drift.share = 0.6667; thresholds: max 0.1" in text
        line = next(ln for ln in text.splitlines() if ln.startswith("Drifted columns"))
        assert line.startswith("Drifted columns (2 of 3): x (wasserstein ")  # most drifted first
        for name in ("x", "z"):  # each with every measure that drifted, against its threshold
            column = record["drift"]["columns"][name]
            for reason in column["reasons"]:
                measure = column["measures"][reason]
                assert f"{reason} {measure['statistic']:.3g} >= {measure['threshold']:.3g}" in line
        assert "calm" not in line
        assert "Judged evaluation 1 of m v1 on october (data as of 2026-10-31), run at 20" in text
        assert text.rstrip().endswith("Dashboard: https://ml.example.com/dash.html#drift-m")


def test_a_metric_alert_names_the_metric_value_and_thresholds_and_the_model_section(
    tmp_path: Path, smtp_sink, webhook_sink
) -> None:
    checks = '[checks.auc]\nmodel = "m"\nmetric = "roc_auc"\nmin = 0.9999\n'
    # the older [alerts] dashboard_url still works when [dashboard] url is not set
    project = _project(tmp_path, smtp_sink, webhook_sink, checks, 'dashboard_url = "/srv/dash.html"')
    frame = _frame(300, 2)
    record = project.evaluate("m", frame, name="week-44", as_of="2026-11-01T00:00:00Z")
    assert (record["name"], record["as_of"], record["dataset"]) == ("week-44", "2026-11-01T00:00:00+00:00", None)
    [result] = project.run_checks()
    value = f"{result['value']:.4g}"
    for text in (_mail_text(smtp_sink.messages[0]), webhook_sink.json()["message"]):
        assert f"roc_auc = {value}; thresholds: min 0.9999" in text
        assert "Drifted columns" not in text
        assert "Judged evaluation 1 of m v1 on week-44 (data as of 2026-11-01T00:00:00+00:00)" in text
        assert text.rstrip().endswith("Dashboard: /srv/dash.html#model-m")


def test_an_unnamed_dataframe_and_no_dashboard_say_so_plainly(tmp_path: Path, smtp_sink, webhook_sink) -> None:
    checks = DRIFT_CHECK.replace("max = 0.1", "max = 1.5\nsoft_max = -1")  # always a WARNING
    project = _project(tmp_path, smtp_sink, webhook_sink, checks)
    record = project.evaluate("m", _frame(300, 3))
    assert record["drift"]["drifted_columns"] == [] and (record["name"], record["as_of"]) == (None, None)
    project.run_checks()
    text = _mail_text(smtp_sink.messages[0])
    assert "\nNo column drifted (of 3).\n" in text
    assert "Judged evaluation 1 of m v1 on unnamed data, run at 20" in text and "data as of" not in text
    assert "Dashboard" not in text


def test_a_path_evaluated_without_a_name_is_named_by_its_file(tmp_path: Path, smtp_sink, webhook_sink) -> None:
    project = _project(tmp_path, smtp_sink, webhook_sink, DRIFT_CHECK)
    record = project.evaluate("m", str(project.settings.root / "shifted.parquet"))
    assert (record["name"], record["dataset"]["name"]) == (None, None)  # the record says what was given
    project.run_checks()
    text = _mail_text(smtp_sink.messages[0])
    assert "Judged evaluation 1 of m v1 on shifted.parquet, run at 20" in text


def test_a_check_on_one_column_names_its_named_test_statistic_and_p_value(
    tmp_path: Path, smtp_sink, webhook_sink
) -> None:
    checks = '[checks.x]\nmodel = "m"\nmetric = "drift.columns.x.statistic"\nmax = 0.2\n'
    project = _project(tmp_path, smtp_sink, webhook_sink, checks, model='[models.m.drift]\nmethod = "psi"')
    column = project.evaluate("m", "october")["drift"]["columns"]["x"]
    project.run_checks()
    text = _mail_text(smtp_sink.messages[0])
    assert column["method"] == "psi" and column["drifted"] is True
    expected = f"Column x: psi {column['statistic']:.3g} vs threshold {column['threshold']:.3g}"
    assert f"\n{expected}, p-value {column['p_value']:.3g}\n" in text


def test_a_template_may_use_the_reason_fields(tmp_path: Path, smtp_sink, webhook_sink) -> None:
    template = (
        'text = "{check}|{drifted}|{data}|{as_of}|{dashboard_url}|{evaluated}"\n'
        '[dashboard]\nurl = "https://d.example.com/"'
    )
    project = _project(tmp_path, smtp_sink, webhook_sink, DRIFT_CHECK, template)
    project.evaluate("m", "october")
    project.run_checks()
    alert = next(a for a in alerts.sent(project) if a["notifier"] == "box")
    check, drifted, data, as_of, link, evaluated = alert["text"].split("|")
    assert (check, data, as_of, link) == ("drift", "october", "2026-10-31", "https://d.example.com/#drift-m")
    assert drifted.startswith("Drifted columns (2 of 3): x (") and evaluated.startswith("evaluation 1 of m v1 on")


def test_the_alerts_command_shows_the_reasons(tmp_path: Path, smtp_sink, webhook_sink, capsys) -> None:
    project = _project(tmp_path, smtp_sink, webhook_sink, DRIFT_CHECK)
    project.evaluate("m", "october")
    project.run_checks()
    with pytest.raises(SystemExit) as info:
        main(["--project", str(project.settings.root), "alerts", "--json"])
    shown = json.loads(capsys.readouterr().out)
    assert info.value.code == 0 and len(shown) == 3
    assert all("Drifted columns (2 of 3): x (" in a["text"] for a in shown)


@pytest.mark.parametrize(
    ("settings", "link"),
    [
        ('[dashboard]\nurl = "https://ml.example.com/d.html"\n', "https://ml.example.com/d.html"),
        ('[alerts]\ndashboard_url = "/srv/d.html"\n', "/srv/d.html"),
        ('[alerts]\ndashboard_url = "/old.html"\n[dashboard]\nurl = "/new.html"\n', "/new.html"),
        ("", None),
    ],
)
def test_scenario_alerts_name_the_dashboard_from_either_key(tmp_path: Path, settings: str, link: str | None) -> None:
    from modelcycle.scenarios import render_run

    write_settings(tmp_path, settings)
    run = {
        "scenario": "nightly",
        "outcome": "FAILED",
        "id": 3,
        "trigger": "manual",
        "started_at": "2026-11-26T04:00:00+00:00",
        "finished_at": "2026-11-26T04:01:00+00:00",
        "steps": [],
    }
    _, text = render_run(open_project(tmp_path), run)
    last = text.splitlines()[-1]
    assert last == (f"Dashboard: {link}" if link else "- no step ran")


@pytest.mark.parametrize(
    ("drift", "expected"),
    [
        ({"share": 0.9, "columns": ["x", "z"]}, "No column drifted (of 0)."),
        (
            {"share": 0.9, "columns": {"x": {"drifted": True, "reasons": "ks", "measures": [1], "method": "auto"}}},
            "Drifted columns (1 of 1): x (auto - vs threshold -)",
        ),
        ({"share": 0.9, "columns": {"x": "drifted"}}, "No column drifted (of 1)."),
    ],
)
def test_a_record_shaped_otherwise_still_alerts(tmp_path: Path, smtp_sink, webhook_sink, drift, expected) -> None:
    project = _project(tmp_path, smtp_sink, webhook_sink, DRIFT_CHECK)
    record = project.evaluate("m", "october")
    project.record_evaluation("m", {**record, "drift": drift, "dataset": "not a table", "name": None})
    [result] = project.run_checks()
    assert result["outcome"] == "ERROR" and result["evaluation"] == 2
    text = _mail_text(smtp_sink.messages[0])
    assert f"drift.share = 0.9; thresholds: max 0.1\n{expected}\n" in text
    assert "Judged evaluation 2 of m v1 on unnamed data (data as of 2026-10-31), run at 20" in text


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (  # past its threshold but within the noise bound: why it is not flagged
            {"method": "auto", "drifted": False, "reasons": [], "measures": {
                "shares": {"statistic": 0.03, "threshold": 0.01, "noise": 0.0448, "drifted": False},
                "missing": {"statistic": 0.0, "threshold": 0.03, "noise": 0.0, "drifted": False},
                "psi": {"statistic": 0.2, "reported": True},
            }},
            "shares 0.03 vs 0.01, within the noise bound 0.0448",
        ),
        (  # below every threshold: the nearest one
            {"method": "auto", "drifted": False, "reasons": [], "measures": {
                "ks": {"statistic": 0.01, "threshold": 0.04, "noise": 0.02},
                "wasserstein": {"statistic": 0.04, "threshold": 0.05, "noise": 0.01},
            }},
            "wasserstein 0.04 < 0.05",
        ),
        (
            {"method": "auto", "drifted": True, "reasons": ["ks"], "measures": {
                "ks": {"statistic": 0.3, "threshold": 0.04, "noise": 0.02, "drifted": True},
            }},
            "ks 0.3 >= 0.04",
        ),
        ({"method": "psi", "statistic": 0.31, "threshold": 0.2, "p_value": 0.001}, "psi 0.31 vs threshold 0.2, p-value 0.001"),
    ],
)  # fmt: skip
def test_an_effect_says_what_decided_the_column(result: dict, expected: str) -> None:
    from modelcycle.alert_reasons import effect

    assert effect(result) == expected
