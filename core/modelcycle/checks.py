"""Checks: a rule on one value of a model's latest evaluation, judged OK, WARNING, ERROR or
EMPTY (no evaluation yet, or the value is missing), recorded in the store.

A check's `metric` is a dotted path into the latest evaluation: "roc_auc" (a metric),
"drift.share", "drift.columns.age.statistic", "estimated.roc_auc", or "training.roc_auc"
(the evaluated version's validation metric).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .errors import NotFoundError, SettingsError
from .journal import Journal

if TYPE_CHECKING:  # pragma: no cover
    from .project import Project

SEVERITY = {"EMPTY": 0, "OK": 1, "WARNING": 2, "ERROR": 3}  # no data never hides a known outcome


def worst(outcomes: list[str]) -> str:
    """The most severe outcome; no outcomes at all is EMPTY (nothing is known)."""
    return max(outcomes, key=SEVERITY.__getitem__) if outcomes else "EMPTY"


def lookup(record: dict[str, Any], training: dict[str, Any], path: str) -> Any:
    """The value at `path` in an evaluation record (see module docstring), or None."""
    parts = path.split(".")
    if parts[0] == "training":
        node: Any = training
        parts = parts[1:]
    elif parts[0] in record and parts[0] not in ("metrics",):
        node = record
    else:
        node = record.get("metrics") or {}
        if parts[0] == "metrics":
            parts = parts[1:]
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def journal(project: Project, check: str) -> Journal:
    return Journal(project.store, f"checks/{check}")


def run_check(project: Project, name: str) -> dict[str, Any]:
    """Judge one check on its model's latest evaluation and record the result."""
    check = project.settings.checks[name]
    kind = project.plugin_class("check_types", check.type, f"checks.{name}.type")()
    latest = project.latest_evaluation(check.model)
    result: dict[str, Any] = {
        "check": name,
        "model": check.model,
        "metric": check.metric,
        "value": None,
        "outcome": "EMPTY",
        "message": "",
        "at": datetime.now(UTC).isoformat(),
        "version": None,
        "evaluation": None,
        "thresholds": thresholds(check),
    }
    if latest is None:
        result["message"] = f"model '{check.model}' has no evaluation yet"
    else:
        training = project.registry.version(check.model, latest["version"]).get("metrics") or {}
        value = lookup(latest, training, check.metric)
        result.update(version=latest["version"], evaluation=latest["id"])
        if value is None:
            result["message"] = f"evaluation {latest['id']} has no value for '{check.metric}'"
        else:
            baseline = _baseline(project, check, latest, training)
            outcome, message = kind.judge(value, check, baseline=baseline)
            result.update(value=value, outcome=outcome, message=message, baseline=baseline)
    _, entry = journal(project, name).append(lambda seq, _prev: {"seq": seq, **project.settings.redactor(result)})
    project.plugins.fire("after_check_result", project=project, result=entry)
    return entry


def _baseline(project: Project, check: Any, latest: dict[str, Any], training: dict[str, Any]) -> float | None:
    if check.max_drop is None and check.max_rise is None:
        return None
    if check.baseline == "training":
        path = check.metric.removeprefix("metrics.")
        value = training.get(path)
        return float(value) if isinstance(value, int | float) else None
    previous = project.evaluations_before(check.model, latest["id"])
    if previous is None:
        return None
    value = lookup(previous, {}, check.metric)
    return float(value) if isinstance(value, int | float) else None


def thresholds(check: Any) -> dict[str, Any]:
    keys = ("min", "soft_min", "max", "soft_max", "max_drop", "max_rise", "value_in")
    return {k: getattr(check, k) for k in keys if getattr(check, k) is not None}


def chosen_checks(project: Project, names: list[str] | None = None) -> list[str]:
    """The named checks (all by default, in settings order); an unknown name is an error."""
    chosen = list(project.settings.checks) if not names else names
    for name in chosen:
        if name not in project.settings.checks:
            known = ", ".join(project.settings.checks) or "none"
            raise NotFoundError(f"unknown check '{name}'; checks in {project.settings.file.name}: {known}")
    return chosen


def run_checks(
    project: Project, names: list[str] | None = None, on_result: Callable[[dict[str, Any]], None] | None = None
) -> list[dict[str, Any]]:
    """Run the named checks (all by default), in settings order; `on_result` sees each
    recorded result before the next check runs."""
    results = []
    for name in chosen_checks(project, names):
        results.append(run_check(project, name))
        if on_result is not None:
            on_result(results[-1])
    return results


def latest_results(project: Project, model: str | None = None) -> list[dict[str, Any]]:
    """The latest recorded result of every check (of `model`), EMPTY for one never run."""
    out = []
    for name, check in project.settings.checks.items():
        if model is not None and check.model != model:
            continue
        last = journal(project, name).last()[1]
        out.append(
            last
            or {
                "check": name,
                "model": check.model,
                "metric": check.metric,
                "value": None,
                "outcome": "EMPTY",
                "message": "never run",
                "at": None,
            }
        )
    return out


def validate_check_settings(project: Project) -> None:
    """Check types must exist; thresholds must make sense."""
    for name, check in project.settings.checks.items():
        project.plugin_class("check_types", check.type, f"checks.{name}.type")
        if check.type == "threshold" and not thresholds(check):
            raise project.settings.error(
                f"checks.{name}", "no threshold: set min, soft_min, max, soft_max, max_drop, max_rise or value_in"
            )
        if check.min is not None and check.soft_min is not None and check.soft_min < check.min:
            raise project.settings.error(f"checks.{name}.soft_min", "is below min: warn before the error")
        if check.max is not None and check.soft_max is not None and check.soft_max > check.max:
            raise project.settings.error(f"checks.{name}.soft_max", "is above max: warn before the error")


__all__ = ["SettingsError", "latest_results", "lookup", "run_checks", "worst"]
