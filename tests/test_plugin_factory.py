"""The one plugin factory, errors as fields, how the built-ins load, and events through pluggy's
hook caller (monitoring, tracing, a failing plugin named and never fatal)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from modelcycle import hookimpl, open_project
from modelcycle._plugins import DEFAULT_PLUGINS, KINDS, PluginHost, PluginWarning
from modelcycle.errors import SettingsError
from modelcycle.plugin import CheckType, DriftTest, Field, Metric, NoOptions, Notifier, PluginContext, Section

ROOT = Path(__file__).resolve().parent.parent


class PagerOptions(Section):
    service: str = Field(description="The service paged.")
    level: int = Field(1, ge=1, le=5, description="How loud.")


class Pager(Notifier):
    name = "pager"
    Options = PagerOptions

    def __init__(self, options: PagerOptions, *, context: PluginContext) -> None:
        super().__init__(options, context=context)
        if options.service == "nobody":
            raise SettingsError("nobody is on call for it; name a service with people", key="service")
        if options.service == "whole":
            raise SettingsError("a pager needs a person, not a notifier")

    def send(self, message):
        pass


class PagerPlugin:
    __name__ = "pager-plugin"

    @hookimpl
    def register_notifiers(self):
        return [Pager]


def pager_project(make_project, section: str = 'service = "db"'):
    return make_project(
        f'[project]\nname = "p"\n[notifiers.oncall]\ntype = "pager"\n{section}\n', plugins=[PagerPlugin()]
    )


# -- the factory -----------------------------------------------------------------------------------------


def test_every_kind_has_an_options_schema_and_the_one_constructor_shape() -> None:
    import inspect

    for kind, base in KINDS.items():
        assert issubclass(base.Options, Section), kind
        parameters = inspect.signature(base.__init__).parameters
        assert list(parameters)[:2] == ["self", "options"], kind
        assert parameters["context"].kind is inspect.Parameter.KEYWORD_ONLY, kind


def test_create_validates_options_and_hands_the_context(make_project) -> None:
    project = pager_project(make_project, 'service = "db"\nlevel = 3')
    pager = project.notifier("oncall")
    assert isinstance(pager, Pager) and pager.options.level == 3
    assert pager.section_name == "oncall" and pager.name == "pager"  # the section's NAME and the type
    assert pager.context.notifier == "oncall" and pager.context.settings is project.settings
    built = project.host.create(
        "notifiers", "pager", {"service": "web"}, key="notifiers.other", context=PluginContext(project, notifier="x")
    )
    assert built.options.service == "web" and built.options.level == 1 and built.section_name == "x"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("level = 2", "modelcycle.toml: notifiers.oncall.service: required key is missing; add it"),
        (
            'service = "db"\nlevel = 9',
            "modelcycle.toml: notifiers.oncall.level: input should be less than or equal to 5 (got 9)",
        ),
        ('service = "db"\nlvl = 2', "modelcycle.toml: notifiers.oncall.lvl: unknown key; did you mean 'level'?"),
    ],
)
def test_options_mistakes_name_the_full_key_when_the_project_opens(make_project, section, message) -> None:
    with pytest.raises(SettingsError) as info:
        pager_project(make_project, section)
    assert str(info.value).startswith(message)
    assert info.value.file == "modelcycle.toml" and info.value.key.startswith("notifiers.oncall.")


def test_a_plugins_own_error_is_placed_under_its_section(make_project) -> None:
    project = pager_project(make_project, 'service = "nobody"')
    with pytest.raises(SettingsError) as info:
        project.notifier("oncall")
    assert str(info.value) == (
        "modelcycle.toml: notifiers.oncall.service: nobody is on call for it; name a service with people"
    )
    assert (info.value.key, info.value.problem) == (
        "notifiers.oncall.service",
        "nobody is on call for it; name a service with people",
    )
    project = pager_project(make_project, 'service = "whole"')
    with pytest.raises(SettingsError, match=r"^modelcycle.toml: notifiers.oncall: a pager needs a person"):
        project.notifier("oncall")  # no key: the error is about the whole section


def test_a_kind_with_nothing_to_configure_refuses_any_key(make_project) -> None:
    with pytest.raises(SettingsError) as info:
        make_project("[project]\nexecutor_options = { workers = 3 }\n")
    assert str(info.value) == "modelcycle.toml: project.executor_options.workers: executor 'local' takes no options"
    assert NoOptions.model_fields == {}


def test_create_refuses_an_unknown_name(make_project) -> None:
    project = make_project()
    with pytest.raises(SettingsError, match=r"^modelcycle.toml: notifiers.x: unknown notifier 'pagr'; .*registered: "):
        project.host.create("notifiers", "pagr", {}, key="notifiers.x", context=PluginContext(project))


def test_no_plugin_class_is_instantiated_outside_the_factory() -> None:
    """Every plugin object comes from PluginHost.create: no ``registered.cls(...)`` elsewhere."""
    import ast

    offenders = []
    for path in [*ROOT.joinpath("core").rglob("*.py"), *ROOT.joinpath("plugins").rglob("*.py")]:
        if path.name == "_plugins.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "cls":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_no_plugin_class_builds_itself() -> None:
    """No ``cls(...)`` in a plugin class (a base or a built-in): a shortcut constructor would skip
    the validation of options the factory does."""
    import ast

    bases = {"Plugged", *(base.__name__ for base in KINDS.values())}
    offenders = []
    for path in [ROOT / "core" / "modelcycle" / "interfaces.py", *ROOT.joinpath("plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef) or not {ast.unparse(b).split(".")[-1] for b in node.bases} & bases:
                continue
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and ast.unparse(call.func) in ("cls", "type(self)"):
                    offenders.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert offenders == []


BUILT: list[tuple[str, object, object]] = []  # (class name, options, context) of every object built


class PositiveShare(Metric):
    """A plugin's label metric: the share of rows predicted positive."""

    name = "positive_share"
    tasks = ("binary",)

    def __init__(self, options: NoOptions, *, context: PluginContext) -> None:
        super().__init__(options, context=context)
        BUILT.append((type(self).__name__, options, context))

    def compute(self, y_true, y_pred, proba, *, labels, sample_weight=None):
        return float(np.average(np.asarray(y_pred) == labels[1], weights=sample_weight))


class UpperHalf(DriftTest):
    """A plugin's drift test: the share of current rows in the reference's upper half of bins."""

    name = "upper_half"
    kinds = ("numeric",)
    default_threshold = 0.75

    def __init__(self, options: NoOptions, *, context: PluginContext) -> None:
        super().__init__(options, context=context)
        BUILT.append((type(self).__name__, options, context))

    def compare(self, reference, current, *, edges=None, scale=None):
        half = len(current) // 2
        return float(current[half:].sum() / current.sum()), None


class MeasuresPlugin:
    __name__ = "measures-plugin"

    @hookimpl
    def register_metrics(self):
        return [PositiveShare]

    @hookimpl
    def register_drift_tests(self):
        return [UpperHalf]


def test_metrics_and_drift_tests_are_built_by_the_factory(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame.to_parquet(tmp_path / "train.parquet", index=False)
    (tmp_path / "modelcycle.toml").write_text(
        '[project]\nname = "t"\n[datasets.d]\nurl = "train.parquet"\n'
        '[models.m]\ndataset = "d"\ntarget = "target"\nfeatures = ["mean_radius", "mean_texture"]\n'
        'metrics = ["roc_auc", "positive_share"]\nthreshold = "optimize:positive_share"\n'
        "params = { max_iter = 30 }\nthreads = 1\n"
        '[models.m.drift]\ncolumns = { mean_radius = "upper_half" }\n',
        encoding="utf-8",
    )
    project = open_project(tmp_path, plugins=[MeasuresPlugin()])
    BUILT.clear()
    project.train("m")
    assert [name for name, _, _ in BUILT] == ["PositiveShare"]  # once per training, the threshold's shared
    record = project.evaluate("m", frame.assign(mean_radius=frame["mean_radius"] + 5))
    assert record["metrics"]["positive_share"] is not None
    assert record["drift"]["columns"]["mean_radius"]["method"] == "upper_half"
    assert sorted(name for name, _, _ in BUILT) == ["PositiveShare", "PositiveShare", "UpperHalf"]
    for _, options, context in BUILT:
        assert isinstance(options, NoOptions)
        assert isinstance(context, PluginContext) and context.settings is project.settings
    metric = project.context.maker("metrics", "models.m.metrics")("positive_share")
    shipped = pickle.loads(pickle.dumps(metric))  # what a Dask worker receives keeps no project
    assert shipped.context is None and shipped.compute([0, 1], [1, 1], None, labels=[0, 1]) == 1.0


# -- errors are fields ----------------------------------------------------------------------------------


def test_a_settings_error_is_made_from_fields_and_keeps_them() -> None:
    error = SettingsError("is below min", key="soft_min")
    assert str(error) == "soft_min: is below min" and not error.placed
    placed = error.under("checks.c")
    assert (placed.key, placed.problem, str(placed)) == (
        "checks.c.soft_min",
        "is below min",
        "checks.c.soft_min: is below min",
    )
    assert SettingsError("x", key="[2]").under("steps").key == "steps[2]"
    whole = SettingsError("not valid TOML", file="modelcycle.toml")
    assert str(whole) == "modelcycle.toml: not valid TOML" and whole.under("x") is whole
    copy = pickle.loads(pickle.dumps(placed))  # an error raised on a Dask worker keeps its fields
    assert (copy.key, copy.problem, copy.file) == (placed.key, placed.problem, placed.file)


def test_no_error_text_is_split_back_into_fields() -> None:
    sources = [*ROOT.joinpath("core").rglob("*.py"), *ROOT.joinpath("plugins").rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in sources if 'split(": "' in p.read_text(encoding="utf-8")]
    offenders += [str(p.relative_to(ROOT)) for p in sources if 'partition(": ")' in p.read_text(encoding="utf-8")]
    offenders += [str(p.relative_to(ROOT)) for p in sources if ".message.removeprefix(" in p.read_text(encoding="utf-8")]
    assert offenders == []


# -- loading ----------------------------------------------------------------------------------------------


def test_the_built_ins_load_directly_and_entry_points_false_keeps_them(make_project) -> None:
    project = make_project(entry_points=False)
    described = {p["name"]: p["source"] for p in project.describe_plugins()}
    assert {name.removeprefix("modelcycle_") for name in DEFAULT_PLUGINS} <= set(described)
    assert {described[name.removeprefix("modelcycle_")] for name in DEFAULT_PLUGINS} == {"built-in"}
    assert project.store is not None  # the built-in stores


def test_an_empty_host_has_nothing_registered() -> None:
    host = PluginHost()
    host.load(entry_points=False, builtins=False)
    assert host.infos == {} and all(dict(host.classes(kind)) == {} for kind in KINDS)


# -- events through pluggy's hook caller -----------------------------------------------------------------


class Loud:
    __name__ = "loud"

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl
    def after_alert_sent(self, alert):
        self.seen.append(alert["id"])


class Broken:
    __name__ = "broken-events"

    @hookimpl
    def after_alert_sent(self, alert):
        raise RuntimeError("boom")


def test_events_go_through_the_hook_caller_and_a_failing_plugin_is_named() -> None:
    host = PluginHost()
    loud = Loud()
    host.load(entry_points=False, builtins=False, extra=[loud, Broken()])
    monitored: list[str] = []
    undo = host.pm.add_hookcall_monitoring(lambda name, impls, kwargs: monitored.append(name), lambda *a: None)
    with pytest.warns(PluginWarning, match=r"plugin 'broken-events' failed in after_alert_sent: RuntimeError: boom"):
        host.fire("after_alert_sent", project=None, alert={"id": "a1"})
    undo()
    assert monitored == ["after_alert_sent"]
    assert loud.seen == ["a1"]  # the other plugin still ran, before or after the broken one


def test_trace_plugins_prints_hook_calls_to_stderr(tmp_path: Path) -> None:
    code = (
        "from modelcycle._plugins import PluginHost\n"
        "host = PluginHost(); host.load(entry_points=False)\n"
        "host.fire('after_alert_sent', project=None, alert={'id': 'a1'})\n"
        "print('done')\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'core'}{os.pathsep}{ROOT / 'plugins'}"}
    traced = subprocess.run(
        [sys.executable, "-c", code], env={**env, "MODELCYCLE_TRACE_PLUGINS": "1"}, capture_output=True, text=True
    )
    assert traced.returncode == 0 and traced.stdout == "done\n"
    assert "after_alert_sent" in traced.stderr and "'id': 'a1'" in traced.stderr
    quiet = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert quiet.returncode == 0 and "after_alert_sent" not in quiet.stderr


def test_register_and_question_hooks_go_through_the_hook_caller_too() -> None:
    host = PluginHost()
    host.load(entry_points=False, extra=[Loud()])
    monitored: list[tuple[str, list[str]]] = []
    undo = host.pm.add_hookcall_monitoring(
        lambda name, impls, kwargs: monitored.append((name, [impl.plugin_name for impl in impls])), lambda *a: None
    )
    assert "sklearn" in host.classes("trainers")
    assert host.ask("categorical_support", estimator=object()) is None
    undo()
    assert monitored == [("register_trainers", ["sklearn"]), ("categorical_support", ["sklearn"])]
    assert host.classes("trainers")["sklearn"].plugin == "sklearn"  # provenance kept


def test_trace_plugins_prints_register_and_question_hook_calls(tmp_path: Path) -> None:
    code = (
        "from modelcycle._plugins import PluginHost\n"
        "host = PluginHost(); host.load(entry_points=False)\n"
        "host.classes('trainers')\n"
        "host.ask('categorical_support', estimator='an-estimator')\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'core'}{os.pathsep}{ROOT / 'plugins'}"}
    traced = subprocess.run(
        [sys.executable, "-c", code], env={**env, "MODELCYCLE_TRACE_PLUGINS": "1"}, capture_output=True, text=True
    )
    assert traced.returncode == 0, traced.stderr
    assert "register_trainers [hook]" in traced.stderr and "SklearnTrainer" in traced.stderr
    assert "categorical_support [hook]" in traced.stderr and "an-estimator" in traced.stderr


def test_no_warning_without_a_failing_plugin() -> None:
    host = PluginHost()
    host.load(entry_points=False, builtins=False, extra=[Loud()])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        host.fire("after_alert_sent", project=None, alert={"id": "a1"})


class Around:
    __name__ = "around"

    def __init__(self) -> None:
        self.order: list[str] = []

    @hookimpl(wrapper=True)
    def after_alert_sent(self, alert):
        self.order.append("before")
        yield
        self.order.append("after")


def test_a_hook_wrapper_wraps_an_event() -> None:
    host = PluginHost()
    around, loud = Around(), Loud()
    host.load(entry_points=False, builtins=False, extra=[loud, Broken(), around])
    with pytest.warns(PluginWarning, match="broken-events"):  # the wrapper still sees the call end
        host.fire("after_alert_sent", project=None, alert={"id": "a2"})
    assert around.order == ["before", "after"] and loud.seen == ["a2"]


class AroundAnswer:
    __name__ = "around-answer"

    def __init__(self) -> None:
        self.seen: list[object] = []

    @hookimpl(wrapper=True)
    def categorical_support(self, estimator):
        answer = yield
        self.seen.append((estimator, answer))
        return answer


class BrokenAnswer:
    __name__ = "broken-answer"

    @hookimpl
    def categorical_support(self, estimator):
        raise RuntimeError("no idea")


def test_a_hook_wrapper_wraps_a_question_and_a_failing_answer_is_named() -> None:
    from modelcycle.errors import PluginError

    host = PluginHost()
    around = AroundAnswer()
    host.load(entry_points=False, extra=[around])
    assert host.ask("categorical_support", estimator="e") is None
    assert around.seen == [("e", None)]
    host = PluginHost()
    host.load(entry_points=False, builtins=False, extra=[BrokenAnswer()])
    with pytest.raises(
        PluginError, match="^plugin 'broken-answer' failed in categorical_support: RuntimeError: no idea$"
    ):
        host.ask("categorical_support", estimator="e")


# -- the context ------------------------------------------------------------------------------------------

SCENARIO = """
[project]
name = "p"
[notifiers.box]
type = "file"
[scenarios.hello]
steps = [{ type = "notify", notifiers = ["box"], message = "hello from {scenario}" }]
"""


def test_the_context_runs_scenarios_and_reads_their_runs(make_project) -> None:
    project = make_project(SCENARIO)
    context = PluginContext(project)
    assert context.last_scenario_run("hello")[1] is None
    run = context.run_scenario("hello", trigger="a plugin")
    assert run["outcome"] == "SUCCESS" and run["trigger"] == "a plugin"
    seq, last = context.last_scenario_run("hello")
    assert last["outcome"] == "SUCCESS" and context.scenario_run("hello", seq) == last
    [sent] = project.notifier("box").sent()  # the notify step queued and delivered through the context
    assert sent["text"] == "hello from hello" and sent["notifier"] == "box"
    assert context.compression_suffixes() == (".gz", ".bz2", ".zst", ".xz")
    assert context.project_name == "p" and context.store is project.store


# -- a trainer's and a check type's own keys live in their Options ---------------------------------------


class Steady(CheckType):
    """A check type with no keys of its own."""

    name = "steady"

    def judge(self, value, check, *, baseline):
        return "OK", "steady"


class SteadyPlugin:
    __name__ = "steady-plugin"

    @hookimpl
    def register_check_types(self):
        return [Steady]


MODEL = '[project]\nname = "p"\n[datasets.d]\nurl = "d.csv"\n[models.m]\ndataset = "d"\ntarget = "y"\n'


def test_the_core_sections_hold_no_plugin_keys() -> None:
    from modelcycle.settings import CheckSettings, ModelSettings

    assert not {"estimator", "params", "preprocessing", "artifact_format"} & set(ModelSettings.model_fields)
    assert not {"min", "soft_min", "max", "soft_max", "max_drop", "max_rise", "baseline", "value_in"} & set(
        CheckSettings.model_fields
    )


def test_plugin_keys_are_the_plugins_and_read_through_the_object(make_project, monkeypatch) -> None:
    from modelcycle.checks import check_type
    from modelcycle.model_versions import version_trainer

    monkeypatch.setenv("FLOOR", "0.125")
    monkeypatch.setenv("TOKEN", "s3cr3t-token")
    project = make_project(
        MODEL + 'artifact_format = "skops"\nparams = { note = "${TOKEN}" }\n'
        '[checks.c]\nmodel = "m"\nmetric = "accuracy"\nmin = "${FLOOR}"\nmax_drop = 0.1\n'
    )
    judge = check_type(project.context, "c")
    assert judge.thresholds() == {"min": 0.125, "max_drop": 0.1}  # a number from the environment is a number
    assert judge.baseline_source() == "training" and judge.zones() == {"min": 0.125}
    assert project.settings.redactor("0.125 s3cr3t-token") == "0.125 ${TOKEN}"  # the number is no secret
    trainer = version_trainer(project.context, "m", 1, {"trainer": "sklearn", "task": "binary"})
    assert trainer.artifact_format == "skops" and trainer.options.params == {"note": "s3cr3t-token"}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('artifact_format = "pickle"', "models.m.artifact_format: input should be 'joblib' or 'skops' (got 'pickle')"),
        ("estimatr = 'x'", "models.m.estimatr: unknown key; did you mean 'estimator'?"),
    ],
)
def test_a_trainers_keys_are_checked_when_the_project_opens(make_project, section, message) -> None:
    with pytest.raises(SettingsError) as info:
        make_project(MODEL + section + "\n")
    assert str(info.value) == f"modelcycle.toml: {message}"


def test_another_check_type_gets_its_other_keys_and_the_core_reads_no_limits_from_them(make_project) -> None:
    from modelcycle.checks import check_type

    project = make_project(
        MODEL + '[checks.c]\nmodel = "m"\nmetric = "accuracy"\ntype = "steady"\nmin = 0.5\nband = [1, 2]\n',
        plugins=[SteadyPlugin()],
    )
    judge = check_type(project.context, "c")
    assert judge.options.model_extra == {"min": 0.5, "band": [1, 2]}  # the type's to read: no Options of its own
    assert (judge.thresholds(), judge.baseline_source(), judge.zones()) == ({}, None, None)
