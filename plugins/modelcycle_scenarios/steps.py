"""The built-in scenario steps: retrain, evaluate, check, score, notify, python.

Each step validates what it can when the run starts (a model, dataset, check or notifier
that does not exist is a settings error naming the key) and does its work in `run`,
through the Project API only. A step raising is a FAILED step with the error as message.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import uuid
from pathlib import Path
from typing import Any

from modelcycle.plugin import Field, ModelcycleError, PluginContext, Section, SettingsError, Step, StepResult, suggest


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _choices(names: Any) -> str:
    return ", ".join(sorted(names)) or "none"


def _known_model(context: PluginContext, model: str, *, trainable: bool = False) -> None:
    """The model must be in the settings (retrain), or in the settings or the store (others)."""
    models = context.settings.models
    if model in models:
        return
    if not trainable:
        try:
            context.require_model(model)
            return
        except ModelcycleError:
            pass
    raise SettingsError(
        f"unknown model '{model}'; {suggest(model, models)}models in {context.settings.file.name}: {_choices(models)}",
        key="model",
    )


def _known_data(context: PluginContext, key: str, data: str) -> None:
    """A dataset name from [datasets], or something that looks like a path or URL."""
    datasets = context.settings.datasets
    if data in datasets or any(ch in data for ch in "/.:"):
        return
    raise SettingsError(
        f"unknown dataset '{data}'; {suggest(data, datasets)}give a dataset name "
        f"({_choices(datasets)}) or a path or URL",
        key=key,
    )


# -- retrain -----------------------------------------------------------------------------


class RetrainOptions(Section):
    model: str = Field(description="The model to train: a name from [models].")
    activate: bool | None = Field(
        None, description="true/false overrides the model's activation policy for this step; default: the policy."
    )


class RetrainStep(Step):
    """Train a new version of a model; its activation policy (or `activate`) decides activation."""

    name = "retrain"
    Options = RetrainOptions

    def __init__(self, options: RetrainOptions, *, context: PluginContext) -> None:
        super().__init__(options, context=context)
        _known_model(context, options.model, trainable=True)

    def run(self, run: dict[str, Any]) -> StepResult:
        result = self.project.train(self.options.model, activate=self.options.activate)
        state = "activated" if result.activated else "not activated"
        reason = (result.decision or {}).get("reason") or ""
        return StepResult("SUCCESS", f"{self.options.model} version {result.version}: {state}: {reason}".rstrip(": "))


# -- evaluate ----------------------------------------------------------------------------


class EvaluateOptions(Section):
    model: str = Field(description="The model to evaluate.")
    dataset: str = Field(description="Feedback data: a name from [datasets], or a path or URL.")
    version: int | None = Field(None, ge=1, description="Evaluate this version; default: the active one.")


def evaluation_summary(project: Any, record: dict[str, Any]) -> str:
    """'churn v3: evaluation 12 on 2,000 rows (2,000 labelled), roc_auc 0.91, drift 20% of columns
    (age, tenure)': the drifted columns named, as a check's alert names them (at most three)."""
    model, version = record["model"], record["version"]
    parts = [f"{model} v{version}: evaluation {record['id']} on {record['rows']:,} rows "]
    parts[0] += f"({record['labeled_rows']:,} labelled)"
    primary = None
    try:
        primary = project.registry.version(model, version).get("primary_metric")
    except ModelcycleError:
        pass
    metrics = record.get("metrics") or {}
    estimated = record.get("estimated") or {}
    if primary and metrics.get(primary) is not None:
        parts.append(f"{primary} {_fmt(metrics[primary])}")
    elif primary and estimated.get(primary) is not None:
        parts.append(f"estimated {primary} {_fmt(estimated[primary])}")
    elif metrics:
        name, value = next(iter(metrics.items()))
        parts.append(f"{name} {_fmt(value)}")
    drift = record.get("drift") or {}
    share, drifted = drift.get("share"), [str(c) for c in drift.get("drifted_columns") or []]
    named = ", ".join(drifted[:3]) + (f" and {len(drifted) - 3} more" if len(drifted) > 3 else "")
    parts.append("drift -" if share is None else f"drift {share:.0%} of columns" + (f" ({named})" if named else ""))
    return ", ".join(parts)


class EvaluateStep(Step):
    """Evaluate a model on new data and record it in the metrics history."""

    name = "evaluate"
    Options = EvaluateOptions

    def __init__(self, options: EvaluateOptions, *, context: PluginContext) -> None:
        super().__init__(options, context=context)
        _known_model(context, options.model)
        _known_data(context, "dataset", options.dataset)

    def run(self, run: dict[str, Any]) -> StepResult:
        result = self.project.evaluate(self.options.model, self.options.dataset, version=self.options.version)
        records = result if isinstance(result, list) else [result]
        return StepResult("SUCCESS", "; ".join(evaluation_summary(self.project, r) for r in records))


# -- check -------------------------------------------------------------------------------


class CheckOptions(Section):
    checks: list[str] | None = Field(None, description="Checks to run (names from [checks]); default: all of them.")


class CheckStep(Step):
    """Run checks and send their alerts: any ERROR fails the step, any WARNING warns."""

    name = "check"
    Options = CheckOptions

    def __init__(self, options: CheckOptions, *, context: PluginContext) -> None:
        super().__init__(options, context=context)
        defined = context.settings.checks
        for i, check in enumerate(options.checks or []):
            if check not in defined:
                raise SettingsError(
                    f"unknown check '{check}'; {suggest(check, defined)}"
                    f"checks in {context.settings.file.name}: {_choices(defined)}",
                    key=f"checks[{i}]",
                )
        if options.checks is not None and not options.checks:
            raise SettingsError("empty list; name checks, or remove the key to run them all", key="checks")

    def run(self, run: dict[str, Any]) -> StepResult:
        results = self.project.run_checks(self.options.checks)
        if not results:
            return StepResult("SUCCESS", "no checks defined")
        outcomes = [r["outcome"] for r in results]
        outcome = "FAILED" if "ERROR" in outcomes else "WARNING" if "WARNING" in outcomes else "SUCCESS"
        flagged = [f"{r['check']} {r['outcome']}: {r['message']}" for r in results if r["outcome"] != "OK"]
        ok = sum(o == "OK" for o in outcomes)
        head = f"{ok} of {len(results)} checks OK"
        return StepResult(outcome, head + ("; " + "; ".join(flagged) if flagged else ""))


# -- score -------------------------------------------------------------------------------


class ScoreOptions(Section):
    model: str = Field(description="The model whose predictions are written.")
    input: str = Field(description="Data to score: a name from [datasets], or a path or URL.")
    output: str = Field(description="Where predictions go: a path or URL, format from the suffix.")
    version: int | None = Field(None, ge=1, description="Score with this version; default: the active one.")


class ScoreStep(Step):
    """Write a version's predictions for a dataset (batch scoring)."""

    name = "score"
    Options = ScoreOptions

    def __init__(self, options: ScoreOptions, *, context: PluginContext) -> None:
        super().__init__(options, context=context)
        _known_model(context, options.model)
        _known_data(context, "input", options.input)
        if not options.output.strip():
            raise SettingsError("empty; give a path or URL such as scored/today.parquet", key="output")

    def run(self, run: dict[str, Any]) -> StepResult:
        o = self.options
        done = self.project.score(o.model, o.input, output=o.output, version=o.version)
        rows = done.get("rows")
        shown = f"{rows:,}" if isinstance(rows, int) else rows
        return StepResult("SUCCESS", f"{shown} rows scored by {o.model} v{done.get('version')} into {o.output}")


# -- notify ------------------------------------------------------------------------------


class _Fields(dict):
    """Template fields; an unknown field shows as {name} instead of failing the step."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class NotifyOptions(Section):
    notifiers: list[str] = Field(description="Notifiers to send to: names from [notifiers].")
    message: str = Field(
        "{scenario}: {outcome_so_far}: {summary}",
        description="Message template; fields: summary, scenario, project, outcome_so_far, trigger.",
    )
    subject: str = Field(
        "[modelcycle] {project}: scenario {scenario}: {outcome_so_far}",
        description="Subject template, same fields as message.",
    )


class NotifyStep(Step):
    """Send a message through notifiers; pending delivery (server down) is a WARNING, never lost."""

    name = "notify"
    Options = NotifyOptions

    def __init__(self, options: NotifyOptions, *, context: PluginContext) -> None:
        super().__init__(options, context=context)
        if not options.notifiers:
            raise SettingsError("empty list; name at least one notifier from [notifiers]", key="notifiers")
        defined = context.settings.notifiers
        for i, target in enumerate(options.notifiers):
            if target not in defined:
                raise SettingsError(
                    f"unknown notifier '{target}'; {suggest(target, defined)}"
                    f"notifiers in {context.settings.file.name}: {_choices(defined)}",
                    key=f"notifiers[{i}]",
                )
        for key in ("message", "subject"):
            try:
                getattr(options, key).format_map(_Fields())
            except (ValueError, IndexError) as exc:
                raise SettingsError(
                    f"not a valid template: {exc}; write a literal brace as {{{{ or }}}}", key=key
                ) from None

    def run(self, run: dict[str, Any]) -> StepResult:
        context = self.context
        done = [s for s in run.get("steps", []) if s["outcome"] != "SKIPPED"]
        fields = _Fields(
            summary=context.steps_summary(done),
            scenario=run.get("scenario", ""),
            project=context.project_name,
            outcome_so_far=context.steps_outcome(done),
            trigger=run.get("trigger", ""),
        )
        subject, text = self.options.subject.format_map(fields), self.options.message.format_map(fields)
        about = {
            "kind": "scenario-message",
            "scenario": run.get("scenario"),
            "outcome": fields["outcome_so_far"],
            "seq": uuid.uuid4().hex,
            "at": context.now().isoformat(),
        }
        queued = [context.queue_alert(target, subject, text, about) for target in self.options.notifiers]
        results = [context.deliver_alert(alert) for alert in queued]
        waiting = [a for a in results if a["status"] != "sent"]
        if waiting:
            errors = "; ".join(f"{a['notifier']}: {a.get('last_error')}" for a in waiting)
            return StepResult("WARNING", f"queued, delivery pending: {errors}")
        return StepResult("SUCCESS", "sent to " + ", ".join(self.options.notifiers))


# -- python ------------------------------------------------------------------------------


class PythonOptions(Section):
    model_config = {"extra": "allow"}
    callable: str = Field(
        description='"module:function" or "path/to/file.py:function" (relative to modelcycle.toml); '
        "called with the Project and every other key of the step as keyword arguments."
    )


def _split_callable(spec: str) -> tuple[str, str]:
    target, sep, function = spec.rpartition(":")
    if not sep or not target or not all(part.isidentifier() for part in function.split(".")):
        raise SettingsError(
            f'{spec!r} is not "module:function" or "path/file.py:function"; e.g. callable = "jobs/feedback.py:rebuild"',
            key="callable",
        )
    return target, function


def _is_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


class PythonStep(Step):
    """Call a Python function with the Project; its return value (text or None) is the message.

    The function may also return a StepResult to report a WARNING or FAILED outcome, or
    raise: the step FAILS with the exception as its message.
    """

    name = "python"
    Options = PythonOptions

    def __init__(self, options: PythonOptions, *, context: PluginContext) -> None:
        super().__init__(options, context=context)
        self.target, self.function = _split_callable(options.callable)
        self.path: Path | None = None
        if _is_path(self.target):
            self.path = (Path(context.settings.root) / self.target).resolve()
            if not self.path.is_file():
                raise SettingsError(f"no file {self.target} (looked at {self.path})", key="callable")
        self.kwargs = dict(options.model_extra or {})

    def _load(self) -> Any:
        if self.path is not None:
            digest = hashlib.sha256(str(self.path).encode()).hexdigest()[:8]
            name = f"modelcycle_step_{self.path.stem}_{digest}"
            spec = importlib.util.spec_from_file_location(name, self.path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # dataclasses, pickle and friends look modules up by name
            try:
                spec.loader.exec_module(module)  # fresh each run: an edited file is picked up
            except BaseException:
                sys.modules.pop(name, None)
                raise
        else:
            root = str(self.context.settings.root)
            if root not in sys.path:
                sys.path.insert(0, root)
            module = importlib.import_module(self.target)
        target: Any = module
        for part in self.function.split("."):
            if not hasattr(target, part):
                raise SettingsError(f"{self.target} has no attribute '{self.function}'", key="callable")
            target = getattr(target, part)
        if not callable(target):
            raise SettingsError(f"{self.options.callable} is not callable", key="callable")
        return target

    def run(self, run: dict[str, Any]) -> StepResult:
        value = self._load()(self.project, **self.kwargs)
        if isinstance(value, StepResult):
            return value
        return StepResult("SUCCESS", "" if value is None else str(value))


STEPS = (RetrainStep, EvaluateStep, CheckStep, ScoreStep, NotifyStep, PythonStep)
