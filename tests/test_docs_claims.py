"""Claims of the docs that no runnable example shows, held to the code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from modelcycle.settings import AlertSettings, DashboardSettings

from .test_evaluate import FAST, cancer, make

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _section(page: str, heading: str) -> str:
    text = (DOCS / page).read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    return text[start : text.index("\n#", start + len(heading) + 2)]


def test_the_alert_templates_shown_are_the_defaults() -> None:
    section = _section("checks-and-alerts.md", "### Templates")
    toml = re.search(r"```toml\n(.*?)```", section, re.S)[1]
    shown = tomllib.loads(toml)
    defaults = AlertSettings()
    assert shown["alerts"] == {"subject": defaults.subject, "text": defaults.text}
    assert shown["dashboard"] == {"url": DashboardSettings().url}


def test_the_alert_shown_as_delivered_has_the_default_templates_form() -> None:
    section = _section("checks-and-alerts.md", "### Templates")
    first = re.search(r"```text\n=== .*?\n(Subject: .*?)(?:\n=== |```)", section, re.S)[1].rstrip("\n")
    subject, blank, *body = first.splitlines()
    defaults = AlertSettings()

    def form(template: str, lines: dict[str, str]) -> re.Pattern[str]:
        parts = re.split(r"(\{\w+\})", template)
        return re.compile("".join(lines.get(p, ".+") if p.startswith("{") else re.escape(p) for p in parts))

    assert form(defaults.subject, {}).fullmatch(subject.removeprefix("Subject: "))
    # {why} is the metric line and, for a drift check, the drifted columns' line
    assert blank == "" and form(defaults.text, {"{why}": ".+(?:\n.+)?"}).fullmatch("\n".join(body)), body


@pytest.mark.parametrize("classes", [None, {0: "benign", 1: "malignant"}], ids=["0/1", "text"])
def test_served_labels_without_probabilities_are_evaluated_without_error(tmp_path: Path, classes) -> None:
    """docs/evaluation.md, production mode: no proba_* columns means no probability metrics,
    no estimates and no prediction drift, for text and 0/1 classes alike, and no error."""
    frame = cancer().sample(frac=1.0, random_state=0).reset_index(drop=True)
    if classes:
        frame["target"] = frame["target"].map(classes)
    project = make(tmp_path, frame.iloc[:400], f'[models.m]\ndataset = "d"\ntarget = "target"\n{FAST}')
    feedback = frame.iloc[400:].reset_index(drop=True)
    served = project.score("m", feedback.drop(columns="target"))
    served["target"] = feedback["target"]
    served = served.drop(columns=[c for c in served.columns if c.startswith("proba_")])
    record = project.evaluate("m", served)
    assert record["mode"] == "production"
    assert record["metrics"]["roc_auc"] is None and record["metrics"]["log_loss"] is None
    assert record["metrics"]["accuracy"] == pytest.approx((served["prediction"] == served["target"]).mean())
    assert record["estimated"] == {}
    prediction = record["drift"]["prediction"]
    assert prediction["statistic"] is None and prediction["drifted"] is None


def test_the_skops_allow_list_in_training_md_is_the_codes() -> None:
    """docs/training.md: plain containers are the builtins and collections trusted; functions,
    builtins.eval first, never are."""
    from modelcycle_sklearn.artifacts import _BUILTINS, _COLLECTIONS, untrusted

    section = _section("training.md", "## Artifacts and trust")
    containers = re.search(r"- a plain container: (.*?);?\n\n", section, re.S)[1]
    shown = set(re.findall(r"`(\w+)`", containers))
    assert shown == {"None" if name == "NoneType" else name for name in _BUILTINS + _COLLECTIONS}
    assert "`FunctionTransformer(func=builtins.eval)` is refused" in section
    assert untrusted(["builtins.eval", "builtins.dict", "collections.OrderedDict"]) == ["builtins.eval"]
