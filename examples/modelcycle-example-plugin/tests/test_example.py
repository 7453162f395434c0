"""Tests of the example plugin, written with nothing but the fixtures of modelcycle.testing
(installed with modelcycle as a pytest plugin: no conftest.py, no import needed).

The plugin is found the way users get it: through its entry point, once installed with
``pip install -e examples/modelcycle-example-plugin``. It is not passed in ``plugins=[...]``:
an installed plugin passed again would be registered twice.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from modelcycle import SettingsError, alerts
from modelcycle.plugin import Message

from modelcycle_example.metrics import TopDecileLift
from modelcycle_example.notifier import read_alerts

SETTINGS = """
[project]
name = "example"

[datasets.train]
url = "train.parquet"

[models.churn]
dataset = "train"
target = "churned"
metrics = ["roc_auc", "top_decile_lift"]
params = { max_iter = 30 }
threads = 1

[checks.lift_floor]
model = "churn"
metric = "top_decile_lift"
min = 50                        # no model reaches it: the check is ERROR and alerts
notify = ["lines"]

[notifiers.lines]
type = "jsonl"
path = "alerts/alerts.jsonl"
"""


def customers(rows: int, seed: int) -> pd.DataFrame:
    """A small churn dataset: churn is likelier with short tenure and many support calls."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure_months": rng.integers(1, 72, rows),
            "support_calls": rng.poisson(2.0, rows),
            "monthly_fee": rng.normal(50.0, 15.0, rows).round(2),
            "plan": rng.choice(["basic", "plus", "pro"], rows),
        }
    )
    logit = -1.5 - 0.05 * frame["tenure_months"] + 0.6 * frame["support_calls"] + 0.4 * (frame["plan"] == "basic")
    frame["churned"] = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return frame


# -- the plugin is installed -----------------------------------------------------------------------


def test_the_plugin_is_found_through_its_entry_point(modelcycle_project) -> None:
    project = modelcycle_project()
    plugins = {p["name"]: p for p in project.describe_plugins()}
    assert "example" in plugins, "install the plugin first: pip install -e examples/modelcycle-example-plugin"
    assert plugins["example"]["source"] == "modelcycle-example-plugin 0.1.0"
    assert plugins["example"]["registers"] == {"metrics": ["top_decile_lift"], "notifiers": ["jsonl"]}


# -- end to end: train with the metric, check it, alert through the notifier ---------------------------


def test_train_evaluate_check_and_alert(modelcycle_project) -> None:
    project = modelcycle_project(
        SETTINGS, files={"train.parquet": customers(800, seed=1), "feedback.csv": customers(300, seed=2)}
    )
    trained = project.train("churn")
    assert set(trained.metrics) == {"roc_auc", "top_decile_lift"}
    assert 1.0 < trained.metrics["top_decile_lift"] <= 10.0  # better than chance

    evaluation = project.evaluate("churn", "feedback.csv")
    assert evaluation["metrics"]["top_decile_lift"] > 1.0

    [result] = project.run_checks()
    assert result["check"] == "lift_floor" and result["outcome"] == "ERROR"
    assert result["message"].startswith("top_decile_lift = ") and "is below min 50" in result["message"]

    [line] = read_alerts(project.settings.root / "alerts" / "alerts.jsonl")
    assert line["notifier"] == "lines"
    assert line["subject"] == "[modelcycle] example: check lift_floor is ERROR for churn v1"
    assert line["alert"]["about"]["check"] == "lift_floor"
    assert line["alert"]["about"]["value"] == pytest.approx(evaluation["metrics"]["top_decile_lift"])
    assert [a["notifier"] for a in alerts.sent(project)] == ["lines"]

    project.run_checks()  # the same outcome again, within the cooldown: no second alert
    assert len(read_alerts(project.settings.root / "alerts" / "alerts.jsonl")) == 1


def test_alerts_go_to_every_notifier_of_the_check(modelcycle_project, smtp_sink) -> None:
    """Route the check to the jsonl file and to email at once: smtp_sink plays the mail server."""
    settings = SETTINGS.replace('notify = ["lines"]', 'notify = ["lines", "mail"]')
    settings += smtp_sink.notifier_settings("mail")  # a [notifiers.mail] section of type "email" sending there
    project = modelcycle_project(settings, files={"train.parquet": customers(400, seed=3)})
    project.train("churn")
    project.evaluate("churn", "train")
    project.run_checks()
    [line] = read_alerts(project.settings.root / "alerts" / "alerts.jsonl")
    [mail] = smtp_sink.messages
    assert mail["Subject"] == line["subject"]
    assert mail["To"] == "oncall@example.com"


# -- the notifier --------------------------------------------------------------------------------------


def test_notifier_appends_one_json_line_per_alert(modelcycle_project) -> None:
    project = modelcycle_project('[notifiers.lines]\ntype = "jsonl"\npath = "out/a.jsonl"\n')
    notifier = project.notifier("lines")
    notifier.send(Message("first", "one", alert={"id": "a1"}))
    notifier.send(Message("second", "two\nlines"))
    path = project.settings.root / "out" / "a.jsonl"
    raw = path.read_text(encoding="utf-8").splitlines()
    assert len(raw) == 2 and all(json.loads(r) for r in raw)  # a newline in the text stays inside its line
    first, second = read_alerts(path)
    assert (first["subject"], first["alert"], second["text"]) == ("first", {"id": "a1"}, "two\nlines")
    assert first["sent_at"].endswith("Z")
    assert notifier.target() == f"JSON lines in {path}"


def test_a_failed_write_keeps_the_alert_pending_until_retried(modelcycle_project) -> None:
    # a folder where the file should be: appending fails, so the alert is not delivered
    project = modelcycle_project(
        '[notifiers.lines]\ntype = "jsonl"\npath = "blocked"\n', files={"blocked/placeholder": ""}
    )
    with pytest.raises(IsADirectoryError):
        project.notifier("lines").send(Message("s", "t"))

    alert = alerts.queue(project, "lines", "subject", "text", {"kind": "check", "check": "c", "outcome": "ERROR"})
    failed = alerts.deliver(project, alert)
    assert failed["status"] == "pending" and failed["last_error"].startswith("IsADirectoryError")

    (project.settings.root / "blocked" / "placeholder").unlink()
    (project.settings.root / "blocked").rmdir()
    [sent] = alerts.retry(project, force=True)  # what `modelcycle alerts retry` does
    assert sent["status"] == "sent" and alerts.pending(project) == []
    assert [r["subject"] for r in read_alerts(project.settings.root / "blocked")] == ["subject"]


@pytest.mark.parametrize(
    ("section", "error"),
    [
        ("", r"^modelcycle\.toml: notifiers\.lines\.path: required key is missing; add it$"),
        ('pth = "a.jsonl"', r"^modelcycle\.toml: notifiers\.lines\.pth: unknown key; did you mean 'path'\?$"),
        ("path = 3", r"^modelcycle\.toml: notifiers\.lines\.path: input should be a valid string \(got 3\)$"),
        (
            'path = "s3://bucket/alerts.jsonl"',
            r"^modelcycle\.toml: notifiers\.lines\.path: value error, a local file path, not a URL \(got 's3://",
        ),
        ('path = " "', r"^modelcycle\.toml: notifiers\.lines\.path: value error, empty; give a file name"),
    ],
)
def test_option_mistakes_stop_the_project_from_opening(modelcycle_project, section: str, error: str) -> None:
    with pytest.raises(SettingsError, match=error):
        modelcycle_project(f'[notifiers.lines]\ntype = "jsonl"\n{section}\n')


# -- the metric ----------------------------------------------------------------------------------------


def lift(y_true, score, sample_weight=None, labels=(0, 1)) -> float:
    score = np.asarray(score, dtype=float)
    proba = np.column_stack([1.0 - score, score])
    return TopDecileLift().compute(y_true, None, proba, labels=list(labels), sample_weight=sample_weight)


def test_lift_of_a_perfect_a_random_and_a_reversed_ranking() -> None:
    y = np.array([1] * 10 + [0] * 90)
    perfect = np.linspace(1.0, 0.0, 100)  # the ten positives score highest
    assert lift(y, perfect) == pytest.approx(10.0)
    assert lift(y, perfect[::-1]) == pytest.approx(0.0)
    assert lift(y, np.full(100, 0.5)) == pytest.approx(1.0)  # all tied: the top decile is the average row


def test_lift_weights_count_like_repeated_rows() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 57)
    score = rng.random(57).round(1)  # many ties, and a cut inside a tie group
    weights = rng.integers(0, 4, 57)
    repeated = lift(np.repeat(y, weights), np.repeat(score, weights))
    assert lift(y, score, sample_weight=weights.astype(float)) == pytest.approx(repeated, abs=1e-12)
    order = rng.permutation(57)  # tied rows are a group: the row order never matters
    assert lift(y[order], score[order], weights[order]) == pytest.approx(repeated, abs=1e-12)


def test_lift_positive_class_is_labels_1_and_undefined_is_nan() -> None:
    y = np.array(["stay"] * 9 + ["churn"])
    score = np.array([0.9] * 9 + [0.1])  # the probability of labels[1], "stay"
    assert lift(y, score, labels=("churn", "stay")) == pytest.approx(1.0 / 0.9)
    assert np.isnan(lift(np.zeros(20, dtype=int), np.linspace(0, 1, 20)))  # no positive row
    assert np.isnan(lift([], []))
    assert np.isnan(lift([1, 0], [0.3, 0.6], sample_weight=[0.0, 0.0]))


def test_lift_streamed_in_chunks_equals_lift_on_all_rows() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 3_000)
    proba = np.round(np.clip(y * 0.3 + rng.random(3_000) * 0.7, 0, 1), 3)  # many tied scores
    proba = np.column_stack([1 - proba, proba])
    metric = TopDecileLift()
    whole = metric.compute(y, None, proba, labels=[0, 1])
    states = [metric.partial(y[a : a + 700], None, proba[a : a + 700], labels=[0, 1]) for a in range(0, 3_000, 700)]
    merged = states[0]
    for state in states[1:]:
        merged = merged.merge(state)
    assert metric.finish(merged, labels=[0, 1]) == pytest.approx(whole, rel=1e-12)
