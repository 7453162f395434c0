"""`modelcycle demo`: the whole lifecycle on generated drifting data, offline, in about a minute."""

from __future__ import annotations

import logging
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ModelcycleError

SETTINGS = """\
# The demo project: a churn model watched over six months of drifting data.
[project]
name = "churn-demo"

[datasets.customers]
url = "data/customers.parquet"

[datasets.latest-feedback]
url = "data/feedback-month-6.parquet"   # the newest labelled month: what the monthly scenario evaluates

[models.churn]
dataset = "customers"
target = "churned"
exclude = ["customer_id"]
estimator = "sklearn.ensemble.HistGradientBoostingClassifier"
params = { max_iter = 100 }
threads = 1
threshold = "optimize:f1"
id_column = "customer_id"             # scoring logs the predictions by customer, for labels that come later
prediction_log = true
[models.churn.activation]
policy = "if-better"

[checks.auc_floor]
model = "churn"
metric = "roc_auc"
soft_min = 0.80
min = 0.75

[checks.drift_share]
model = "churn"
metric = "drift.share"
soft_max = 0.3
max = 0.9

[notifiers.outbox]
type = "file"
path = "outbox.txt"

[alerts]
notify = ["outbox"]
cooldown = "6h"

[scenarios.monthly]
steps = [
  { type = "evaluate", model = "churn", dataset = "latest-feedback" },
  { type = "check" },
  { type = "notify", notifiers = ["outbox"], message = "monthly run: {summary}", run_if = "always" },
]
"""


def run_demo(folder: str | Path, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Create a demo project in `folder` and play the lifecycle; returns what happened."""
    import pandas as pd

    from . import alerts
    from .demo_data import month
    from .project import open_project

    root = Path(folder).absolute()  # the project API resolves relative paths against the project folder
    if root.exists() and any(root.iterdir()):
        raise ModelcycleError(f"{root} is not empty: give 'modelcycle demo' a new or empty folder")
    started = time.perf_counter()
    data = root / "data"
    data.mkdir(parents=True)
    history = [month(0, 6000)]
    history[0].to_parquet(data / "customers.parquet", index=False)
    for i in range(1, 7):
        month(i, 2000).to_parquet(data / f"feedback-month-{i}.parquet", index=False)
    (root / "modelcycle.toml").write_text(SETTINGS, encoding="utf-8")
    project = open_project(root)
    story: dict[str, Any] = {"folder": str(root.resolve()), "checks": []}

    first = project.train("churn")
    say(
        f"1. trained churn v{first.version} on 6,000 customers: roc_auc {first.metrics['roc_auc']:.3f}, "
        f"{first.decision['reason']}"
    )
    scored = project.score("churn", str(data / "feedback-month-1.parquet"), output=str(data / "scored-month-1.parquet"))
    say(
        f"2. scored {scored['rows']:,} customers of month 1 into data/scored-month-1.parquet, "
        f"logging the {scored['logged']['rows']:,} predictions by customer_id"
    )
    truth = pd.read_parquet(data / "feedback-month-1.parquet", columns=["customer_id", "churned"])
    truth.to_csv(data / "labels-month-1.csv", index=False)
    late = project.evaluate("churn", labels=str(data / "labels-month-1.csv"), name="month-1-labels")
    say(
        f"   weeks later the labels came: joined by customer_id to the logged predictions, "
        f"roc_auc {late['metrics']['roc_auc']:.3f} as served ({late['labels']['matched']:,} matched)"
    )

    def evaluate_month(i: int) -> None:
        record = project.evaluate("churn", str(data / f"feedback-month-{i}.parquet"), name=f"month-{i}")
        results = project.run_checks()
        story["checks"].append({r["check"]: r["outcome"] for r in results})
        outcomes = ", ".join(
            f"{r['check']} {r['outcome']}" + (" (alert held back: cooldown)" if r.get("alert") else "") for r in results
        )
        drifted = record["drift"]["drifted_columns"]
        more = f" and {len(drifted) - 4} more" if len(drifted) > 4 else ""
        named = f" ({', '.join(drifted[:4])}{more})" if drifted else ""
        say(
            f"   month {i}: roc_auc {record['metrics']['roc_auc']:.3f}, "
            f"estimated {record['estimated']['roc_auc']:.3f}, {len(drifted)} drifted columns{named} -> {outcomes}"
        )

    say("3. evaluated months 1-4 of labelled feedback, with checks after each:")
    for i in range(1, 5):
        evaluate_month(i)

    recent = pd.concat(
        [history[0].sample(2000, random_state=0)]
        + [pd.read_parquet(data / f"feedback-month-{i}.parquet") for i in range(1, 5)],
        ignore_index=True,
    )
    recent.to_parquet(data / "customers.parquet", index=False)
    second = project.train("churn")
    verb = "activated" if second.activated else "kept v1"
    say(f"4. retrained on recent months: v{second.version} {verb}: {second.decision['reason']}")
    third = project.train("churn")
    verb = "activated" if third.activated else "refused"
    say(f"5. retrained again on the same data: v{third.version} {verb}: {third.decision['reason']}")
    back = project.rollback("churn", reason="demo: roll back")
    say(f"6. rolled back to v{back['version']}, then re-activated v{second.version}")
    project.activate("churn", second.version, reason="demo: roll forward")

    say("7. evaluated months 5-6 with the new active version:")
    for i in (5, 6):
        evaluate_month(i)
    scenario_log = logging.getLogger("modelcycle.scenarios")
    level = scenario_log.level
    scenario_log.setLevel(logging.ERROR)  # step 8 tells the run's outcome: no log line says it again
    try:
        run = project.run_scenario("monthly")
    finally:
        scenario_log.setLevel(level)
    steps = ", ".join(f"{s['type']} {s['outcome']}" for s in run["steps"])
    say(f"8. ran scenario 'monthly': {run['outcome']} ({steps})")
    sent = alerts.sent(project)
    say(f"9. {len(sent)} alerts in the outbox ({root / 'outbox.txt'}):")
    for alert in sent[-6:]:
        say(f"   - {alert['subject']}")
    from .dashboard import build

    dashboard = build(project, root / "dashboard.html")
    say(f"10. built the dashboard: {dashboard}")
    story.update(
        dashboard=str(dashboard),
        versions=len(project.versions("churn")),
        alerts=len(sent),
        activated=[second.activated, third.activated],
        scenario=run["outcome"],
        seconds=round(time.perf_counter() - started, 1),
    )
    say(
        textwrap.dedent(f"""
        Done in {story["seconds"]} s. The project is in {story["folder"]}:
          modelcycle --project {root} status
          modelcycle --project {root} history churn
          modelcycle --project {root} versions churn
          modelcycle --project {root} dashboard serve   (then open http://127.0.0.1:8765)
        The dashboard: {dashboard}""").rstrip()
    )
    return story
