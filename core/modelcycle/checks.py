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
from typing import TYPE_CHECKING, Any

from .context import context_of
from .errors import NotFoundError, SettingsError
from .history import evaluation_before, latest_evaluation
from .journal import Journal
from .names import suggest
from .records import CheckResult

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context, ContextSource
    from .interfaces import CheckType

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


def check_journal(ctx: ContextSource, check: str) -> Journal:
    ctx = context_of(ctx)
    return Journal(ctx.store, f"checks/{check}")


def run_check(ctx: Context, name: str) -> dict[str, Any]:
    """Judge one check on the latest evaluation it follows (see module docstring) and record the result."""
    check = ctx.settings.checks[name]
    kind = check_type(ctx, name)
    active = ctx.registry.active(check.model)
    active_version = active["version"] if active else None
    if check.version == "any":
        latest = latest_evaluation(ctx, check.model)
    else:
        latest = latest_evaluation(ctx, check.model, active_version) if active_version is not None else None
    result: dict[str, Any] = {
        "check": name,
        "model": check.model,
        "metric": check.metric,
        "value": None,
        "outcome": "EMPTY",
        "message": "",
        "at": ctx.clock().isoformat(),
        "version": None,
        "active_version": active_version,
        "evaluation": None,
        "thresholds": kind.thresholds(),
    }
    if latest is None:
        result["message"] = _no_evaluation(ctx, check, active_version)
    else:
        training = ctx.registry.version(check.model, latest["version"]).get("metrics") or {}
        value = lookup(latest, training, check.metric)
        result.update(version=latest["version"], evaluation=latest["id"])
        if value is None:
            result["message"] = _no_value(check.metric, latest, training)
        else:
            baseline = _baseline(ctx, kind.baseline_source(), check, latest, training)
            outcome, message = kind.judge(value, check, baseline=baseline)
            result.update(value=value, outcome=outcome, message=message, baseline=baseline)
    _, entry = check_journal(ctx, name).append(lambda seq, _prev: {"seq": seq, **ctx.settings.redactor(result)})
    ctx.events.fire("after_check_result", result=CheckResult.of(entry))  # the record docs/hooks.md names
    return entry


def _no_evaluation(ctx: Context, check: Any, active_version: int | None) -> str:
    """Why there is nothing to judge: no evaluation at all, no active version, or only challengers'."""
    model = check.model
    if latest_evaluation(ctx, model) is None:
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


def _baseline(
    ctx: Context, source: str | None, check: Any, latest: dict[str, Any], training: dict[str, Any]
) -> float | None:
    """The value the check type compares with: none, the version's validation value ("training")
    or the evaluation before ("previous")."""
    if source is None:
        return None
    if source == "training":
        path = check.metric.removeprefix("metrics.")
        value = training.get(path)
        return float(value) if isinstance(value, int | float) else None
    # "previous": the evaluation before, of the same version unless the check follows any version
    version = None if check.version == "any" else latest["version"]
    previous = evaluation_before(ctx, check.model, latest["id"], version)
    if previous is None:
        return None
    value = lookup(previous, {}, check.metric)
    return float(value) if isinstance(value, int | float) else None


def chosen_checks(ctx: Context, names: list[str] | None = None) -> list[str]:
    """The named checks (all by default, in settings order); an unknown name is an error."""
    chosen = list(ctx.settings.checks) if not names else names
    for name in chosen:
        if name not in ctx.settings.checks:
            known = ", ".join(ctx.settings.checks) or "none"
            raise NotFoundError(f"unknown check '{name}'; checks in {ctx.settings.file.name}: {known}")
    return chosen


def run_checks(
    ctx: Context, names: list[str] | None = None, on_result: Callable[[dict[str, Any]], None] | None = None
) -> list[dict[str, Any]]:
    """Run the named checks (all by default), in settings order; `on_result` sees each
    recorded result before the next check runs."""
    results = []
    for name in chosen_checks(ctx, names):
        results.append(run_check(ctx, name))
        if on_result is not None:
            on_result(results[-1])
    return results


def latest_results(ctx: ContextSource, model: str | None = None) -> list[dict[str, Any]]:
    """The latest recorded result of every check (of `model`), EMPTY for one never run.

    A result that judged a version no longer active, under a check following the active
    version, is shown EMPTY: it no longer speaks of the model in production.
    """
    ctx = context_of(ctx)
    out = []
    active: dict[str, int | None] = {}
    for name, check in ctx.settings.checks.items():
        if model is not None and check.model != model:
            continue
        last = check_journal(ctx, name).last()[1]
        if last is not None and check.version != "any" and last.get("version") is not None:
            if check.model not in active:
                current = ctx.registry.active(check.model)
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


def metric_names(ctx: Context, model: str) -> list[str]:
    """The registered metrics a check on `model` may name: those of its task, every one when the
    task is left to be inferred at training."""
    task = getattr(ctx.settings.models.get(model), "task", None)
    classes = ctx.host.classes("metrics")
    return sorted(n for n, r in classes.items() if not task or task in (getattr(r.cls, "tasks", ()) or (task,)))


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


def metric_error(ctx: Context, name: str, check: Any) -> str | None:
    """None when the check's metric can be produced, else what is wrong and the closest names."""
    metrics = metric_names(ctx, check.model)
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
    task = getattr(ctx.settings.models.get(check.model), "task", None)
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


def check_type(ctx: Context, name: str) -> CheckType:
    """The check's CheckType object, built from the check's section (its own rules checked)."""
    check = ctx.settings.checks[name]
    ctx.plugin_class("check_types", check.type, f"checks.{name}.type")
    return ctx.create("check_types", check.type, check, key=f"checks.{name}")


def validate_check_settings(ctx: Context) -> None:
    """Check types must exist; metrics must be producible; the check type's own rules must hold."""
    for name, check in ctx.settings.checks.items():
        ctx.plugin_class("check_types", check.type, f"checks.{name}.type")
        wrong = metric_error(ctx, name, check)
        if wrong is not None:
            raise ctx.settings.error(f"checks.{name}.metric", wrong)
        check_type(ctx, name)


__all__ = ["SettingsError", "latest_results", "lookup", "run_checks", "worst"]
