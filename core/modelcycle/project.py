"""Project: the facade. The CLI and users call only this."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._plugins import PluginHost
from .errors import IntegrityError, ModelcycleError, NotFoundError
from .interfaces import Store
from .names import check_name, suggest
from .plugin import PluginContext
from .registry import Registry
from .settings import Settings, find_settings_file, load_settings


def open_project(
    path: str | os.PathLike[str] | None = None,
    *,
    plugins: Iterable[object] = (),
    entry_points: bool = True,
    env: Mapping[str, str] | None = None,
) -> Project:
    """Open the project whose settings are at `path` (a folder or the file itself).

    Without `path`: $MODELCYCLE_PROJECT, else the nearest modelcycle.toml upward from
    the current folder. `plugins` are extra plugin objects (a test's, say); with
    `entry_points=False` no installed third-party plugin is loaded (the built-ins are).
    """
    settings = load_settings(find_settings_file(path), env)
    return Project(settings, plugins=plugins, entry_points=entry_points)


class Project:
    """One project: its settings, its plugins, its store and registry."""

    def __init__(self, settings: Settings, *, plugins: Iterable[object] = (), entry_points: bool = True) -> None:
        self.settings = settings
        self.plugins = PluginHost()
        self.plugins.load(
            blocked=settings.project.block_plugins,
            modules=settings.project.plugins,
            root=settings.root,
            extra=plugins,
            entry_points=entry_points,
        )
        self._check_plugin_names()
        self.store = self._open_store()
        # store records: values redacted, keys left alone (they are structure the readers look up)
        self.registry = Registry(self.store, redact=lambda value: settings.redactor(value, keys=False))
        self._models: dict[tuple[str, int], Any] = {}
        self._notifiers: dict[str, Any] = {}
        self._executor: Any = None

    @property
    def name(self) -> str:
        return self.settings.project_name

    # -- set-up ------------------------------------------------------------------------

    def _check_plugin_names(self) -> None:
        """Every plugin name the settings use must be registered: say which ones are."""
        s = self.settings
        uses: list[tuple[str, str, str]] = []
        uses += [("trainers", m.trainer, f"models.{n}.trainer") for n, m in s.models.items()]
        for n, m in s.models.items():
            if m.drift.method != "auto":
                uses.append(("drift_tests", m.drift.method, f"models.{n}.drift.method"))
            named = {c: t for c, t in m.drift.columns.items() if isinstance(t, str)}
            uses += [("drift_tests", t, f"models.{n}.drift.columns.{c}") for c, t in named.items()]
        from .drift_settings import validate_drift_settings

        validate_drift_settings(self)
        uses += [("notifiers", v.type, f"notifiers.{n}.type") for n, v in s.notifiers.items()]
        uses.append(("executors", s.project.executor, "project.executor"))
        for name, scenario in s.scenarios.items():
            uses += [("steps", st.type, f"scenarios.{name}.steps[{i}].type") for i, st in enumerate(scenario.steps)]
            uses += [
                ("triggers", t.type, f"scenarios.{name}.triggers[{i}].type") for i, t in enumerate(scenario.triggers)
            ]
        for kind, value, key in uses:
            self.plugin_class(kind, value, key)
        if s.checks:
            from .checks import validate_check_settings

            validate_check_settings(self)
        if s.checks or s.scenarios:
            from .alerts import check_templates

            check_templates(self)
        for name, spec in s.notifiers.items():
            self.plugins.validate("notifiers", spec.type, spec.model_extra, key=f"notifiers.{name}", settings=s)
        options = s.project.executor_options
        self.plugins.validate("executors", s.project.executor, options, key="project.executor_options", settings=s)

    @property
    def executor(self) -> Any:
        """The executor that scores and evaluates datasets ([project] executor), made on first use."""
        if self._executor is None:
            s = self.settings.project
            options = s.executor_options
            self._executor = self.plugins.create(
                "executors", s.executor, options, key="project.executor_options", context=PluginContext(self)
            )
        return self._executor

    def close(self) -> None:
        """Release what the project holds: the executor's cluster connection, say."""
        if self._executor is not None:
            self._executor.close()
            self._executor = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def plugin_class(self, kind: str, name: str, key: str) -> type:
        """The class registered as `name` for `kind`, or an error listing the registered ones."""
        registry = self.plugins.classes(kind)
        if name in registry:
            return registry[name].cls
        what = kind[:-1].replace("_", " ")
        hint = suggest(name, registry)
        choices = ", ".join(sorted(registry)) or "none (is the plugin that provides it installed?)"
        raise self.settings.error(key, f"unknown {what} '{name}'; {hint}registered: {choices}")

    def _open_store(self) -> Store:
        url = self.settings.resolve_url(self.settings.project.store)
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if scheme in ("", "file") and Path(url.split("://", 1)[-1]).is_file():
            shown = self.settings.redactor(self.settings.project.store)
            raise self.settings.error("project.store", f"'{shown}' is a file: give a folder (default .modelcycle)")
        registry = self.plugins.classes("stores")
        chosen = next((n for n, r in registry.items() if scheme in r.cls.protocols), None)
        chosen = chosen or next((n for n, r in registry.items() if "*" in r.cls.protocols), None)
        if chosen is None:
            raise self.settings.error(
                "project.store",
                f"no store plugin serves '{scheme or 'file'}' URLs; "
                f"registered: {', '.join(sorted(registry)) or 'none'}",
            )
        options = {"url": url, "options": dict(self.settings.project.store_options)}
        return self.plugins.create("stores", chosen, options, key="project", context=PluginContext(self))

    @property
    def actor(self) -> str:
        """Who acts: $MODELCYCLE_ACTOR, else user@host."""
        actor = os.environ.get("MODELCYCLE_ACTOR")
        if actor:
            return actor
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return f"{user}@{socket.gethostname()}"

    def _model_name(self, model: str) -> str:
        check_name(model, "model name")
        return model

    def _require_model(self, model: str) -> None:
        """A model must be in the settings or already have versions in the store."""
        self._model_name(model)
        if model in self.settings.models or self.registry.latest(model) is not None:
            return
        defined = ", ".join(sorted(self.settings.models)) or "none"
        hint = suggest(model, self.settings.models)
        raise NotFoundError(f"unknown model '{model}': {hint}models in {self.settings.file.name}: {defined}")

    # -- registry ----------------------------------------------------------------------

    def record_version(
        self,
        model: str,
        artifact: bytes,
        *,
        artifact_format: str,
        metadata: dict[str, Any],
        attachments: dict[str, bytes] | None = None,
    ) -> dict[str, Any]:
        """Store a new version (artifact and attachments first, then metadata); fire after_version_created."""
        entry = self.registry.create_version(
            self._model_name(model),
            artifact,
            artifact_format=artifact_format,
            metadata=metadata,
            actor=self.actor,
            attachments=attachments,
        )
        self.plugins.fire("after_version_created", project=self, model=model, version=entry)
        return entry

    def versions(self, model: str) -> list[dict[str, Any]]:
        """Every version, oldest first, each with `active` set (and `deleted` once gc removed it)."""
        from .retention import deleted_versions

        self._require_model(model)
        current = self.registry.active(model)
        active = current["version"] if current else None
        gone = deleted_versions(self, model)
        return [
            {**v, "active": v["version"] == active, "deleted": v["version"] in gone}
            for v in self.registry.versions(model)
        ]

    def show(self, model: str, version: int | None = None) -> dict[str, Any]:
        """One version's metadata (the active one, else the latest) with the activation log."""
        self._require_model(model)
        current = self.registry.active(model)
        if version is None:
            if current is not None:
                version = current["version"]
            else:
                latest = self.registry.latest(model)
                if latest is None:
                    raise NotFoundError(f"model '{model}' has no versions yet: train it first")
                version = latest["version"]
        entry = self.registry.version(model, version)
        active = current is not None and current["version"] == version
        return {**entry, "active": active, "activations": self.registry.activations(model)}

    def gc(self, model: str, *, keep: int, dry_run: bool = False) -> dict[str, Any]:
        """Delete old versions beyond the newest `keep` and what crashed writers left (see retention)."""
        from .retention import collect

        return collect(self, self._model_name(model), keep=keep, dry_run=dry_run)

    def _refuse_deleted(self, model: str, version: int) -> None:
        from .retention import is_deleted

        if is_deleted(self, model, version):
            raise NotFoundError(f"model '{model}' version {version} was deleted by gc: choose another version")

    def activate(
        self, model: str, version: int, *, reason: str | None = None, decision: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Make `version` active; the activation log records who, when and why.

        A gc running at the same moment either sees this activation and keeps the version, or
        has decided to delete it first: then this refuses and appends nothing (see retention).
        """
        from .retention import activation_guard

        self._require_model(model)
        self.registry.version(model, version)  # must exist
        with activation_guard(self, model, version):
            entry = self.registry.activate(model, version, actor=self.actor, reason=reason, decision=decision)
        self.plugins.fire("after_version_activated", project=self, model=model, activation=entry)
        return entry

    def rollback(self, model: str, *, reason: str | None = None) -> dict[str, Any]:
        """Re-activate the version that was active before the current one (guarded against gc as activate is)."""
        from .retention import activation_guard

        self._require_model(model)
        while True:
            current = self.registry.active(model)
            target = self.registry._activations(model).get(current["back"]) if current else None
            if target is None:  # nothing to roll back to: the registry says why
                entry = self.registry.rollback(model, actor=self.actor, reason=reason)
                break
            with activation_guard(self, model, target["version"]):
                entry = self.registry.rollback(model, actor=self.actor, reason=reason, expect=target["version"])
            if entry is not None:
                break  # else another activation came first: the target changed, guard the new one
        self.plugins.fire("after_version_activated", project=self, model=model, activation=entry)
        return entry

    def active_version(self, model: str) -> int | None:
        self._require_model(model)
        current = self.registry.active(model)
        return current["version"] if current else None

    # -- recipes ---------------------------------------------------------------------------

    def train(self, model: str, *, activate: bool | None = None, full: bool = False, progress: Any = None) -> Any:
        """Train a new version and apply the activation policy; returns a TrainResult.

        `activate` True/False overrides the policy for this run; `full` refits on all rows.
        """
        from .train import train

        return train(self, self._model_name(model), activate=activate, full=full, progress=progress)

    def load_model(self, model: str, version: int | None = None) -> Any:
        """The fitted model of `version` (default: the active one), its artifact hash checked."""
        self._require_model(model)
        if version is None:
            version = self.active_version(model)
            if version is None:
                raise NotFoundError(f"model '{model}' has no active version: activate one or pass version=N")
        key = (model, version)
        if key not in self._models:
            self._refuse_deleted(model, version)
            entry, data = self.registry.read_artifact(model, version)
            if not entry.get("trainer"):
                raise ModelcycleError(f"model '{model}' version {version} names no trainer: it cannot be loaded")
            self.plugin_class("trainers", entry["trainer"], f"version {version} trainer")
            trainer = self.plugins.create(
                "trainers",
                entry["trainer"],
                self.settings.models.get(model),
                key=f"models.{model}",
                context=PluginContext(self, task=entry.get("task", "")),
            )
            self._models[key] = trainer.load(data, self._artifact_format(model, version, entry))
        return self._models[key]

    def _artifact_format(self, model: str, version: int, entry: dict[str, Any]) -> str:
        """How to read the artifact: the settings say, never the store (whose writer could turn a
        skops model into a pickle that runs code when loaded). A stored format that differs is refused."""
        spec = self.settings.models.get(model)
        expected = spec.artifact_format if spec is not None else "joblib"
        stored = (entry.get("artifact") or {}).get("format")
        if stored != expected:
            raise IntegrityError(
                f"model '{model}' version {version}: its artifact is stored as {stored!r} but "
                f"{self.settings.file.name}: models.{model}.artifact_format is '{expected}': refusing to load it; "
                f"retrain, or set artifact_format = {stored!r} if you trust whoever writes this store"
            )
        return expected

    def score(
        self,
        model: str,
        data: Any,
        output: str | os.PathLike[str] | None = None,
        version: int | None = None,
        *,
        progress: Any = None,
        log: bool | None = None,
    ) -> Any:
        """Predictions of `version` (default: the active one) for `data`, streamed in batches.

        `data`: a DataFrame, a dataset name or a path/URL (CSV, Parquet, JSON lines). Without
        `output`, the scored DataFrame; with it (a path or URL, format from the suffix,
        relative paths from the project folder), the rows are written there atomically and
        a summary {"model", "version", "rows", "output", …} is returned. `log=True` (default:
        the model's `prediction_log`) also logs the scored ids and predictions in the store.
        """
        from .score import score

        return score(self, model, data, output, version=version, progress=progress, log=log)

    def evaluate(
        self,
        model: str,
        data: Any = None,
        *,
        version: int | None = None,
        labels: Any = None,
        progress: Any = None,
    ) -> Any:
        """Evaluate on new data (a dataset name, URL or DataFrame) and record it in the history.

        Returns the evaluation record; with production predictions of several versions
        (a `model_version` column), a list of records, one per version. With `labels`
        instead of `data` (ids and labels that arrived later), the labels are joined by id
        to the logged predictions, which are evaluated as served, one record per version.
        """
        if (data is None) == (labels is None):
            raise ModelcycleError("evaluate needs either data or labels (not both): labels join logged predictions")
        if labels is not None:
            from .prediction_log import evaluate_labels

            records = evaluate_labels(self, self._model_name(model), labels, version=version, progress=progress)
        else:
            from .evaluate import evaluate

            records = evaluate(self, self._model_name(model), data, version=version, progress=progress)
        return records[0] if len(records) == 1 else records

    def record_evaluation(self, model: str, record: dict[str, Any]) -> dict[str, Any]:
        """Append an evaluation record to the model's history; fire after_evaluation_recorded."""
        from .history import journal

        redact = self.settings.redactor
        _, entry = journal(self, model).append(lambda seq, _prev: redact({**record, "id": seq}, keys=False))
        self.plugins.fire("after_evaluation_recorded", project=self, model=model, evaluation=entry)
        return entry

    def evaluations(self, model: str) -> list[dict[str, Any]]:
        """Every evaluation record of `model`, oldest first."""
        from .history import journal

        self._require_model(model)
        return journal(self, model).all()

    def history(self, model: str, metric: str | None = None) -> Any:
        """The metrics history as a DataFrame: one row per evaluation."""
        from .evaluate import history_frame
        from .history import journal

        self._require_model(model)
        return history_frame(journal(self, model).summaries(), metric)

    def latest_evaluation(self, model: str, version: int | None = None) -> dict[str, Any] | None:
        """The newest evaluation of `model`; of `version` only, when given (the active one, say)."""
        from .history import journal, latest_of

        return latest_of(journal(self, model), version)

    def evaluations_before(self, model: str, evaluation_id: int, version: int | None = None) -> dict[str, Any] | None:
        """The evaluation recorded before `evaluation_id` (of `version` only, when given): a check's
        "previous" baseline."""
        from .history import journal, latest_of

        return latest_of(journal(self, model), version, before=evaluation_id)

    # -- checks, alerts, status ---------------------------------------------------------------

    def run_checks(self, names: list[str] | None = None, *, alert: bool = True) -> list[dict[str, Any]]:
        """Run checks (all by default), record the results, deliver due pending alerts and new ones."""
        from . import alerts, checks

        if not alert:
            return checks.run_checks(self, names)
        checks.chosen_checks(self, names)  # an unknown name changes nothing, delivers nothing
        alerts.retry(self)
        queued: list[dict[str, Any]] = []
        # each result's alerts are pending right after it is recorded, before the next check runs
        results = checks.run_checks(self, names, on_result=lambda r: queued.extend(alerts.queue_alerts(self, r)))
        for pending in queued:
            alerts.deliver(self, pending)
        return results

    def notifier(self, name: str) -> Any:
        """The configured notifier `name`, its options validated."""
        if name not in self.settings.notifiers:
            known = ", ".join(sorted(self.settings.notifiers)) or "none"
            raise NotFoundError(f"unknown notifier '{name}'; notifiers in {self.settings.file.name}: {known}")
        if name not in self._notifiers:
            spec = self.settings.notifiers[name]
            self.plugin_class("notifiers", spec.type, f"notifiers.{name}.type")
            self._notifiers[name] = self.plugins.create(
                "notifiers",
                spec.type,
                spec.model_extra or {},
                key=f"notifiers.{name}",
                context=PluginContext(self, notifier=name),
            )
        return self._notifiers[name]

    def status(self, model: str | None = None) -> list[dict[str, Any]]:
        """Per model: active version, its latest evaluation, and the worst latest check outcome.

        Challenger evaluations (of other versions) change none of it; a check result recorded
        for a version no longer active counts as EMPTY until the check runs again.
        """
        from .checks import latest_results, worst

        models = [model] if model is not None else sorted(self.settings.models)
        out = []
        for name in models:
            self._require_model(name)
            active = self.registry.active(name)
            results = latest_results(self, name)
            # the active version's: a challenger's evaluation never stands for the model in production
            latest = self.latest_evaluation(name, active["version"]) if active else None
            out.append(
                {
                    "model": name,
                    "active_version": active["version"] if active else None,
                    "latest_evaluation": None
                    if latest is None
                    else {
                        k: latest.get(k) for k in ("id", "version", "evaluated_at", "rows", "labeled_rows", "metrics")
                    }
                    | {"drift_share": (latest.get("drift") or {}).get("share")},
                    "status": worst([r["outcome"] for r in results]),
                    "checks": results,
                }
            )
        return out

    # -- scenarios -----------------------------------------------------------------------------

    def run_scenario(self, name: str, *, trigger: str = "manual", stop: Any = None) -> dict[str, Any]:
        """Run scenario `name` now and record it; returns the run (``scenario run --json`` shape).

        `stop`, a threading.Event or a callable, is looked at between steps: once set, the step
        in progress finishes and the run is recorded ABORTED.
        """
        from .scenarios import run_scenario

        return run_scenario(self, name, trigger=trigger, stop=stop)

    def scenario_runs(self, name: str | None = None) -> list[dict[str, Any]]:
        """The recorded runs of scenario `name` (of every scenario without it), oldest first."""
        from .scenarios import scenario_runs

        return scenario_runs(self, name)

    def describe_plugins(self) -> list[dict[str, Any]]:
        return self.plugins.describe()
