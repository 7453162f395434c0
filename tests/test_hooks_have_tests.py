"""Every hook of modelcycle.hookspecs is exercised: one test plugin implements all of them (a
new hook fails here until it is added), a small lifecycle fires every event hook with the
arguments the docs promise, every register hook's class is used where the core uses its
kind, and every hook can be called when no plugin implements it."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from modelcycle import alerts, hookimpl, hookspecs
from modelcycle._plugins import KINDS, PluginHost
from modelcycle.interfaces import (
    CheckType,
    DriftTest,
    Executor,
    Metric,
    Notifier,
    Step,
    StepResult,
    Store,
    Trainer,
    Trigger,
)
from modelcycle.records import HOOK_PAYLOADS
from modelcycle.scheduler import tick
from modelcycle.settings import Field, Section
from modelcycle.testing import EVENT_HOOKS, RecordingPlugin

SPECS = {
    name: inspect.signature(f)
    for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(f, "modelcycle_spec")
}


# -- one class for every register hook -------------------------------------------------------------


class DictStore(Store):
    """A store in a dict, serving hooktest://NAME."""

    name = "hook_store"
    protocols = ("hooktest",)
    objects: ClassVar[dict[str, bytes]] = {}

    def get(self, key):
        return self.objects.get(f"{self.url}/{key}")

    def write(self, key, data):
        self.objects[f"{self.url}/{key}"] = bytes(data)

    def put_if_absent(self, key, data):
        return self.objects.setdefault(f"{self.url}/{key}", bytes(data)) == bytes(data)

    def list(self, prefix):
        root = f"{self.url}/"
        return sorted(k[len(root) :] for k in self.objects if k.startswith(f"{root}{prefix}/"))

    def delete(self, key):
        self.objects.pop(f"{self.url}/{key}", None)


class LogisticTrainer(Trainer):
    """scikit-learn's LogisticRegression on numeric columns, pickled."""

    name = "hook_trainer"
    formats = ("joblib",)

    def fit(self, X, y):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=200).fit(X, y)

    def dump(self, fitted, fmt):
        return pickle.dumps(fitted)

    def load(self, data, fmt):
        return pickle.loads(data)


class TrueClassProbability(Metric):
    """Mean probability given to the true class."""

    name = "hook_metric"
    tasks = ("binary",)
    needs_proba = True

    def compute(self, y_true, y_pred, proba, *, labels, sample_weight=None):
        codes = (np.asarray(y_true) == labels[1]).astype(int)
        return float(np.average(np.asarray(proba)[np.arange(len(codes)), codes], weights=sample_weight))


class TotalVariation(DriftTest):
    """Half the L1 distance between the two distributions."""

    name = "hook_drift"
    kinds = ("numeric", "categorical")
    default_threshold = 0.2

    def compare(self, reference, current, *, edges=None, scale=None):
        return float(0.5 * np.abs(reference / reference.sum() - current / current.sum()).sum()), None


class ListNotifier(Notifier):
    """Keeps the messages it is given."""

    name = "hook_notifier"

    def __init__(self, options, *, context):
        super().__init__(options, context=context)
        self.sent: list[Any] = []

    def send(self, message):
        self.sent.append(message)


class AlwaysWarning(CheckType):
    name = "hook_check"

    def judge(self, value, check, *, baseline):
        return "WARNING", f"{check.metric} = {value:.3f}: always a warning"


class NoteOptions(Section):
    note: str = Field(description="What the step reports.")


class NoteStep(Step):
    name = "hook_step"
    Options = NoteOptions

    def run(self, run):
        return StepResult("SUCCESS", f"{self.options.note} (run so far: {len(run['steps'])} steps)")


class SecondTimeTrigger(Trigger):
    """Nothing due the first time (the state is recorded), then due at every evaluation."""

    name = "hook_trigger"

    def check(self, state, now):
        calls = (state or {}).get("calls", 0) + 1
        return (None if calls == 1 else f"call-{calls}"), {"calls": calls}


class InlineExecutor(Executor):
    name = "hook_executor"


class EveryHook(RecordingPlugin):
    """RecordingPlugin (every event hook), plus every register hook."""

    def __init__(self) -> None:
        super().__init__("every-hook")

    @hookimpl
    def register_stores(self):
        return [DictStore]

    @hookimpl
    def register_trainers(self):
        return [LogisticTrainer]

    @hookimpl
    def register_metrics(self):
        return [TrueClassProbability]

    @hookimpl
    def register_drift_tests(self):
        return [TotalVariation]

    @hookimpl
    def register_notifiers(self):
        return [ListNotifier]

    @hookimpl
    def register_check_types(self):
        return [AlwaysWarning]

    @hookimpl
    def register_steps(self):
        return [NoteStep]

    @hookimpl
    def register_triggers(self):
        return [SecondTimeTrigger]

    @hookimpl
    def register_executors(self):
        return [InlineExecutor]

    @hookimpl
    def categorical_support(self, estimator):
        return None  # no opinion: the built-in answer stands


QUESTION_HOOKS = ("categorical_support",)

REGISTERS = {
    "stores": ["hook_store"],
    "trainers": ["hook_trainer"],
    "metrics": ["hook_metric"],
    "drift_tests": ["hook_drift"],
    "notifiers": ["hook_notifier"],
    "check_types": ["hook_check"],
    "steps": ["hook_step"],
    "triggers": ["hook_trigger"],
    "executors": ["hook_executor"],
}

SETTINGS = """
[project]
name = "hooks"

[datasets.d]
url = "train.parquet"

[models.m]
dataset = "d"
target = "y"
trainer = "hook_trainer"
metrics = ["roc_auc", "hook_metric"]

[models.m.drift]
method = "hook_drift"

[checks.c]
model = "m"
metric = "hook_metric"
type = "hook_check"
notify = ["box", "hooked"]

[notifiers.box]
type = "file"
path = "blocked"

[notifiers.hooked]
type = "hook_notifier"

[scenarios.nightly]
triggers = [{ type = "hook_trigger" }]
steps = [{ type = "hook_step", note = "marked" }, { type = "check", checks = ["c"] }]
"""


def frame(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.8, size=rows) > 0).astype(int)
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "y": y})


# -- the guards ---------------------------------------------------------------------------------------


def test_the_test_plugin_implements_every_hook() -> None:
    implemented = {name for name in dir(EveryHook) if hasattr(getattr(EveryHook, name), "modelcycle_impl")}
    assert implemented == set(SPECS), "a new hook? implement it in EveryHook and exercise it below"
    assert set(EVENT_HOOKS) | set(QUESTION_HOOKS) == {name for name in SPECS if not name.startswith("register_")}
    assert (
        set(REGISTERS)
        == set(KINDS)
        == {name.removeprefix("register_") for name in SPECS if name.startswith("register_")}
    )


def test_every_hook_is_callable_with_no_implementation() -> None:
    host = PluginHost()
    host.load(entry_points=False, builtins=False)
    for kind in KINDS:
        assert dict(host.classes(kind)) == {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in EVENT_HOOKS:
            host.fire(name, **dict.fromkeys(SPECS[name].parameters, None))
        for name in QUESTION_HOOKS:
            assert host.ask(name, **dict.fromkeys(SPECS[name].parameters, None)) is None


# -- the lifecycle ---------------------------------------------------------------------------------------


def test_a_lifecycle_fires_every_event_hook_with_its_documented_arguments(modelcycle_project) -> None:
    plugin = EveryHook()
    project = modelcycle_project(SETTINGS, plugins=[plugin], files={"train.parquet": frame(), "blocked/x": ""})

    trained = project.train("m")  # after_version_created, after_version_activated (policy "always")
    evaluation = project.evaluate("m", "d")  # after_evaluation_recorded
    [result] = project.run_checks()  # after_check_result; "box" fails (a folder at its path), "hooked" is sent
    [pending] = alerts.pending(project)
    assert pending["notifier"] == "box" and pending["last_error"].startswith("IsADirectoryError")
    (project.settings.root / "blocked" / "x").unlink()
    (project.settings.root / "blocked").rmdir()
    [retried] = alerts.retry(project, force=True)  # after_alert_sent for "box"
    now = datetime.now(UTC)
    assert tick(project, now) == []  # the trigger records its state
    [run] = tick(project, now + timedelta(seconds=1))  # after_check_result, after_scenario_finished

    assert plugin.names() == [
        "after_version_created",
        "after_version_activated",
        "after_evaluation_recorded",
        "after_check_result",
        "after_alert_sent",
        "after_alert_sent",
        "after_check_result",
        "after_scenario_finished",
    ]
    assert set(plugin.names()) == set(EVENT_HOOKS)
    for name, kwargs in plugin.calls:
        assert list(kwargs) == list(SPECS[name].parameters), name
        assert kwargs["project"] is project
        for argument, value in kwargs.items():  # a payload docs/hooks.md names is that record
            if argument in HOOK_PAYLOADS:
                record = HOOK_PAYLOADS[argument]
                assert isinstance(value, record), (name, argument, type(value))
                first = dataclasses.fields(record)[0].name
                assert getattr(value, first) == value[first], (name, argument)

    [created] = plugin.of("after_version_created")
    assert created["model"] == "m"
    version = created["version"]
    assert version["version"] == trained.version == 1 and version["model"] == "m"
    assert {"created_at", "created_by", "artifact", "metrics", "dataset", "trainer"} <= set(version)
    assert set(version["artifact"]) >= {"key", "sha256", "size", "format"}
    assert version["trainer"] == "hook_trainer" and set(version["metrics"]) == {"roc_auc", "hook_metric"}
    assert version == project.registry.version("m", 1)

    [activated] = plugin.of("after_version_activated")
    activation = activated["activation"]
    assert activated["model"] == "m"
    assert set(activation) >= {"seq", "kind", "version", "previous", "back", "at", "actor", "reason", "decision"}
    assert (activation["kind"], activation["version"], activation["previous"]) == ("activate", 1, None)
    assert activation["decision"]["policy"] == "always"

    [recorded] = plugin.of("after_evaluation_recorded")
    assert recorded["model"] == "m" and recorded["evaluation"] == evaluation == project.evaluations("m")[-1]
    assert 0.5 < evaluation["metrics"]["hook_metric"] < 1.0
    assert {c["method"] for c in evaluation["drift"]["columns"].values()} == {"hook_drift"}

    first, second = plugin.of("after_check_result")
    assert first["result"] == result and result["outcome"] == "WARNING" and first["result"].outcome == "WARNING"
    assert result["value"] == evaluation["metrics"]["hook_metric"]
    assert result["message"].startswith("hook_metric = ") and result["message"].endswith("always a warning")
    assert second["result"]["seq"] == result["seq"] + 1 and second["result"]["outcome"] == "WARNING"

    hooked, box = (call["alert"] for call in plugin.of("after_alert_sent"))
    assert (hooked["notifier"], box["notifier"]) == ("hooked", "box")
    assert all(a["status"] == "sent" and a["about"]["check"] == "c" for a in (hooked, box))
    assert (hooked.notifier, box.status, box.attempts) == ("hooked", "sent", 2)
    assert box["id"] == pending["id"] == retried["id"] and box["attempts"] == 2
    assert [a["id"] for a in alerts.sent(project)] == [hooked["id"], box["id"]]
    [message] = project.notifier("hooked").sent
    assert message.subject == hooked["subject"] == "[modelcycle] hooks: check c is WARNING for m v1"

    [finished] = plugin.of("after_scenario_finished")
    assert finished["run"] == run == project.scenario_runs("nightly")[-1]
    assert set(run) >= {"id", "scenario", "trigger", "started_at", "finished_at", "outcome", "steps"}
    assert [(s["type"], s["outcome"]) for s in run["steps"]] == [("hook_step", "SUCCESS"), ("check", "WARNING")]
    assert run["steps"][0]["message"] == "marked (run so far: 0 steps)"
    assert run["outcome"] == "WARNING" and run["scenario"] == "nightly"
    assert (finished["run"].scenario, finished["run"].outcome) == ("nightly", "WARNING")


def test_every_register_hook_is_collected_and_used(modelcycle_project) -> None:
    plugin = EveryHook()
    url = f"hooktest://{uuid.uuid4().hex}"
    project = modelcycle_project(f'[project]\nname = "s"\nstore = "{url}"\n', plugins=[plugin])
    [described] = [p for p in project.describe_plugins() if p["name"] == "every-hook"]
    assert described["source"] == "explicit"
    assert described["registers"] == REGISTERS
    assert described["hooks"] == sorted(SPECS)
    for kind, [name] in REGISTERS.items():
        assert issubclass(project.plugin_class(kind, name, "k"), KINDS[kind])

    assert isinstance(project.store, DictStore)  # register_stores picked the class by the URL's scheme
    project.record_version("m", b"artifact", artifact_format="joblib", metadata={})
    assert [v["version"] for v in project.versions("m")] == [1]
    assert any(k.startswith(f"{url}/models/m/") for k in DictStore.objects)
    assert plugin.names() == ["after_version_created"]


# -- question hooks ----------------------------------------------------------------------------------------


def mark_nothing(estimator, positions):
    estimator.marked_ = list(positions)
    return estimator.set_params(categorical_features=list(positions) or None)


class NarrowCategories:
    """Says HistGradientBoosting takes at most 4 codes per categorical column (the built-in says max_bins)."""

    @hookimpl
    def categorical_support(self, estimator):
        from modelcycle.interfaces import CategoricalSupport

        if type(estimator).__name__.startswith("HistGradientBoosting"):
            return CategoricalSupport(max_categories=4, configure=mark_nothing)
        return None


class BrokenAnswer:
    @hookimpl
    def categorical_support(self, estimator):
        raise RuntimeError("no idea")


QUESTION_SETTINGS = """
[project]
name = "q"

[datasets.d]
url = "train.parquet"

[models.m]
dataset = "d"
target = "y"
params = { max_iter = 10 }
threads = 1
"""


def categorical_frame(rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    out = frame(rows)
    out["few"] = rng.choice(["a", "b", "c"], rows)  # 3 codes + the reserved one: within 4
    out["many"] = rng.choice([f"k{i}" for i in range(8)], rows)  # 9 codes: beyond 4
    return out


def test_categorical_support_is_asked_latest_plugin_first_and_shapes_the_preprocessing(modelcycle_project) -> None:
    files = {"train.parquet": categorical_frame()}
    project = modelcycle_project(QUESTION_SETTINGS, plugins=[NarrowCategories()], files=files)
    project.train("m")
    fitted = project.load_model("m", 1)
    groups = {name: list(columns) for name, _, columns in fitted[0].transformers_ if name != "remainder"}
    assert groups["native"] == ["few"] and groups["onehot"] == ["many"]
    assert fitted[-1].categorical_features == [0]  # the plugin's configure marked the first column
    plan = project.registry.version("m", 1)["preprocessing_plan"]
    assert plan["columns"]["native"] == ["few"]
    assert plan["notes"] == [
        "few: categorical, coded for HistGradientBoostingClassifier's own categorical handling "
        "(rare and unseen values share a reserved code)",
        "many: 8 categories, beyond the 4 HistGradientBoostingClassifier takes natively: one-hot instead",
    ]

    plain = modelcycle_project(QUESTION_SETTINGS, files=files)  # the built-in answer: max_bins = 255
    plain.train("m")
    groups = {name: list(columns) for name, _, columns in plain.load_model("m", 1)[0].transformers_}
    assert groups["native"] == ["few", "many"] and "onehot" not in groups


def test_a_failing_question_hook_fails_the_training_naming_the_plugin(modelcycle_project) -> None:
    from modelcycle.errors import PluginError

    project = modelcycle_project(QUESTION_SETTINGS, plugins=[BrokenAnswer()], files={"train.parquet": frame()})
    with pytest.raises(
        PluginError, match="^plugin 'BrokenAnswer' failed in categorical_support: RuntimeError: no idea$"
    ):
        project.train("m")
    assert project.versions("m") == []
