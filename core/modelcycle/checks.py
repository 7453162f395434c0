"""Checks: a rule on one value of a model's latest evaluation, judged OK, WARNING, ERROR or
EMPTY (no evaluation yet, or the value is missing: the message says why), recorded in the store.

Which evaluation: the latest evaluation of the version active when the check runs. Evaluations
of other versions (challengers) are never judged, unless the check says version = "any": then
the latest evaluation of any version is.

A check's `metric` is a dotted path into that evaluation: "roc_auc" (a metric),
"drift.share", "drift.columns.age.statistic", "estimated.roc_auc", or "training.roc_auc"
(the evaluated version's validation metric). A path nothing can produce is a settings error
when the project opens (see `metric_error`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .errors import NotFoundError, SettingsError
from .journal import Journal
from .names import suggest
from .plugin import PluginContext

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
    """Judge one check on the latest evaluation it follows (see module docstring) and record the result."""
    check = project.settings.checks[name]
    kind = _check_type(project, name)
    active = project.registry.active(check.model)
    active_version = active["version"] if active else None
    if check.version == "any":
        latest = project.latest_evaluation(check.model)
    else:
        latest = project.latest_evaluation(check.model, active_version) if active_version is not None else None
    result: dict[str, Any] = {
        "check": name,
        "model": check.model,
        "metric": check.metric,
        "value": None,
        "outcome": "EMPTY",
        "message": "",
        "at": datetime.now(UTC).isoformat(),
        "version": None,
        "active_version": active_version,
        "evaluation": None,
        "thresholds": thresholds(check),
    }
    if latest is None:
        result["message"] = _no_evaluation(project, check, active_version)
    else:
        training = project.registry.version(check.model, latest["version"]).get("metrics") or {}
        value = lookup(latest, training, check.metric)
        result.update(version=latest["version"], evaluation=latest["id"])
        if value is None:
            result["message"] = _no_value(check.metric, latest, training)
        else:
            baseline = _baseline(project, check, latest, training)
            outcome, message = kind.judge(value, check, baseline=baseline)
            result.update(value=value, outcome=outcome, message=message, baseline=baseline)
    _, entry = journal(project, name).append(lambda seq, _prev: {"seq": seq, **project.settings.redactor(result)})
    project.plugins.fire("after_check_result", project=project, result=entry)
    return entry


def _no_evaluation(project: Project, check: Any, active_version: int | None) -> str:
    """Why there is nothing to judge: no evaluation at all, no active version, or only challengers'."""
    model = check.model
    if project.latest_evaluation(model) is None:
        return f"no evaluation yet: model '{model}' has none (run 'modelcycle evaluate {model} DATA')"
    if active_version is None:
        return f"no active version: model '{model}' has evaluations, but no version is active to judge"
    return (
        f"no evaluation yet of the active version {active_version}: model '{model}' has only evaluations of "
        f'other versions (challengers; set version = "any" to judge them)'
    )


def _no_value(path: str, record: dict[str, Any], training: dict[str, Any]) -> str:
    """Why an evaluation holds no value at `path`: no labels, or the version has no such metric."""
    at = f"evaluation {record.get('id')} (version {record.get('version')})"
    parts = path.split(".")
    head = parts[0]
    if head == "training":
        known = ", ".join(sorted(training)) or "none"
        return f"version {record.get('version')} has no validation metric '{'.'.join(parts[1:])}' (it has: {known})"
    if head == "estimated" and len(parts) == 2:
        known = ", ".join(sorted(record.get("estimated") or {})) or "none"
        return f"{at} has no estimate '{parts[1]}' for this version (estimated: {known})"
    if head in ("drift", "estimated_bands") or head in record:
        return f"{at} has no value for '{path}'"
    metric = parts[-1] if head == "metrics" else path
    if not record.get("labeled_rows"):
        return f"{at}: no labels in the evaluated data (0 labelled rows), so no '{metric}' was measured"
    if metric in (record.get("metrics") or {}):
        return (
            f"{at}: '{metric}' is undefined on its {record.get('labeled_rows')} labelled rows "
            "(one class only, or no probabilities in the data)"
        )
    known = ", ".join(sorted(record.get("metrics") or {})) or "none"
    return f"{at}: the version has no metric '{metric}' (it measured: {known})"


def _baseline(project: Project, check: Any, latest: dict[str, Any], training: dict[str, Any]) -> float | None:
    if check.max_drop is None and check.max_rise is None:
        return None
    if check.baseline == "training":
        path = check.metric.removeprefix("metrics.")
        value = training.get(path)
        return float(value) if isinstance(value, int | float) else None
    # "previous": the evaluation before, of the same version unless the check follows any version
    version = None if check.version == "any" else latest["version"]
    previous = project.evaluations_before(check.model, latest["id"], version)
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
    """The latest recorded result of every check (of `model`), EMPTY for one never run.

    A result that judged a version no longer active, under a check following the active
    version, is shown EMPTY: it no longer speaks of the model in production.
    """
    out = []
    active: dict[str, int | None] = {}
    for name, check in project.settings.checks.items():
        if model is not None and check.model != model:
            continue
        last = journal(project, name).last()[1]
        if last is not None and check.version != "any" and last.get("version") is not None:
            if check.model not in active:
                current = project.registry.active(check.model)
                active[check.model] = current["version"] if current else None
            if last["version"] == active[check.model]:
                out.append(last)
                continue
            last = {
                **last,
                "value": None,
                "outcome": "EMPTY",
                "message": f"judged version {last['version']}, which is no longer active: run the check again",
            }
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


RECORD_FIELDS = ("rows", "labeled_rows", "seconds", "version", "active_version", "mode")  # fields of every record
DRIFT_FIELDS = ("share", "drifted_columns")  # drift results of the whole evaluation
DRIFT_GROUPS = {"columns": 2, "prediction": 1, "label": 1}  # drift.<group>.<parts…>: how many parts at least


def metric_names(project: Project, model: str) -> list[str]:
    """The registered metrics a check on `model` may name: those of its task, every one when the
    task is left to be inferred at training."""
    task = getattr(project.settings.models.get(model), "task", None)
    registry = project.plugins.classes("metrics")
    return sorted(n for n, r in registry.items() if not task or task in (getattr(r.cls, "tasks", ()) or (task,)))


def producible(path: str, metrics: list[str]) -> bool:
    """Whether an evaluation (or the evaluated version) can hold a value at `path`."""
    parts = path.split(".")
    head, rest = parts[0], parts[1:]
    if not rest:
        return head in metrics or head in RECORD_FIELDS
    if head in ("metrics", "training", "estimated"):
        return len(rest) == 1 and rest[0] in metrics
    if head == "estimated_bands":
        return len(rest) >= 1 and rest[0] in metrics
    if head == "drift":
        if len(rest) == 1:
            return rest[0] in DRIFT_FIELDS
        return rest[0] in DRIFT_GROUPS and len(rest) - 1 >= DRIFT_GROUPS[rest[0]] and all(rest)
    return False


def metric_error(project: Project, name: str, check: Any) -> str | None:
    """None when the check's metric can be produced, else what is wrong and the closest names."""
    metrics = metric_names(project, check.model)
    if producible(check.metric, metrics):
        return None
    import difflib

    names = [
        *metrics,
        *RECORD_FIELDS,
        *(f"drift.{f}" for f in DRIFT_FIELDS),
        *(f"estimated.{m}" for m in metrics),
        *(f"training.{m}" for m in metrics),
        *(f"metrics.{m}" for m in metrics),
    ]
    closest = difflib.get_close_matches(check.metric, names, n=3, cutoff=0.5)
    task = getattr(project.settings.models.get(check.model), "task", None)
    known = (
        f"closest: {', '.join(closest)}"
        if closest
        else f"metrics{f' for {task}' if task else ''}: " + ", ".join(metrics)
    )
    return (
        f"check '{name}' names '{check.metric}', which no metric, drift result or estimate produces; "
        f"{suggest(check.metric, names)}{known}; also drift.share, drift.columns.COLUMN.FIELD, "
        "drift.prediction.FIELD, estimated.METRIC, training.METRIC"
    )


def _check_type(project: Project, name: str) -> Any:
    """The check's CheckType object, built from the check's section (its own rules checked)."""
    check = project.settings.checks[name]
    project.plugin_class("check_types", check.type, f"checks.{name}.type")
    context = PluginContext(project)
    return project.plugins.create("check_types", check.type, check, key=f"checks.{name}", context=context)


def validate_check_settings(project: Project) -> None:
    """Check types must exist; metrics must be producible; the check type's own rules must hold."""
    for name, check in project.settings.checks.items():
        project.plugin_class("check_types", check.type, f"checks.{name}.type")
        wrong = metric_error(project, name, check)
        if wrong is not None:
            raise project.settings.error(f"checks.{name}.metric", wrong)
        _check_type(project, name)


__all__ = ["SettingsError", "latest_results", "lookup", "run_checks", "worst"]
