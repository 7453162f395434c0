"""Plugins: explicit test plugins, entry points (a fake third-party distribution and a
broken one), settings modules, duplicate names, blocking, and event hooks."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

import pytest
from modelcycle import hookimpl
from modelcycle._plugins import PluginWarning
from modelcycle.errors import PluginError, SettingsError
from modelcycle.interfaces import Store, Trainer

MODEL = """
[project]
name = "p"
{extra}
[datasets.d]
url = "d.csv"
[models.m]
dataset = "d"
target = "y"
trainer = "{trainer}"
"""


class DummyTrainer(Trainer):
    name = "dummy"


class RecordingPlugin:
    """Implements the event hooks and records their calls."""

    __name__ = "recording"

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    @hookimpl
    def register_trainers(self):
        return [DummyTrainer]

    @hookimpl
    def after_version_created(self, project, model, version):
        self.calls.append(("after_version_created", {"model": model, "version": version["version"]}))

    @hookimpl
    def after_version_activated(self, model, activation):  # a subset of the arguments
        self.calls.append(("after_version_activated", {"model": model, "version": activation["version"]}))


def test_a_test_plugin_registers_a_trainer_used_by_name(make_project) -> None:
    project = make_project(MODEL.format(extra="", trainer="dummy"), plugins=[RecordingPlugin()])
    assert project.plugin_class("trainers", "dummy", "x") is DummyTrainer
    described = {p["name"]: p for p in project.describe_plugins()}
    assert described["recording"]["registers"] == {"trainers": ["dummy"]}
    assert described["recording"]["source"] == "explicit"
    assert "after_version_created" in described["recording"]["hooks"]
    assert described["fsspec"] == {
        "name": "fsspec",
        "source": "built-in",
        "hooks": ["register_stores"],
        "registers": {"stores": ["local", "fsspec"]},
    }


def test_unknown_trainer_lists_the_registered_ones(make_project) -> None:
    with pytest.raises(SettingsError) as info:
        make_project(MODEL.format(extra="", trainer="dumy"), plugins=[RecordingPlugin()])
    assert str(info.value) == (
        "modelcycle.toml: models.m.trainer: unknown trainer 'dumy'; did you mean 'dummy'? registered: dummy, sklearn"
    )


def test_unknown_notifier_type_lists_the_registered_ones(make_project) -> None:
    text = '[project]\nname = "p"\n[notifiers.n]\ntype = "pager"\n'
    with pytest.raises(SettingsError, match=r"notifiers.n.type: unknown notifier 'pager'; registered: "):
        make_project(text)


def test_event_hooks_fire_with_their_arguments(make_project) -> None:
    recorder = RecordingPlugin()
    project = make_project(plugins=[recorder])
    project.record_version("m", b"bytes", artifact_format="joblib", metadata={})
    project.activate("m", 1, reason="first")
    assert recorder.calls == [
        ("after_version_created", {"model": "m", "version": 1}),
        ("after_version_activated", {"model": "m", "version": 1}),
    ]


def test_a_failing_event_hook_warns_with_its_name_and_undoes_nothing(make_project) -> None:
    class Broken:
        __name__ = "broken-events"

        @hookimpl
        def after_version_created(self, version):
            raise RuntimeError("boom")

    project = make_project(plugins=[Broken()])
    with pytest.warns(
        PluginWarning, match="plugin 'broken-events' failed in after_version_created: RuntimeError: boom"
    ):
        project.record_version("m", b"x", artifact_format="joblib", metadata={})
    assert [v["version"] for v in project.versions("m")] == [1]


# -- registration errors -------------------------------------------------------------------


def test_two_plugins_registering_one_name_are_both_named(make_project) -> None:
    class Other:
        __name__ = "other"

        @hookimpl
        def register_trainers(self):
            class Again(Trainer):
                name = "dummy"

            return [Again]

    with pytest.raises(PluginError) as info:
        make_project(MODEL.format(extra="", trainer="dummy"), plugins=[RecordingPlugin(), Other()])
    assert str(info.value).startswith(
        "two plugins register the trainer 'dummy': 'recording' (explicit) and 'other' (explicit); "
    )


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        (
            [object],
            "returned <class 'object'> from register_trainers: expected a subclass of modelcycle.plugin.Trainer",
        ),
        ([type("NoName", (Trainer,), {})], "registered NoName without a valid name"),
        ([type("Upper", (Trainer,), {"name": "Upper"})], "registered Upper without a valid name"),
    ],
)
def test_bad_registrations_name_the_plugin(make_project, returned, expected) -> None:
    class Bad:
        __name__ = "bad"

        @hookimpl
        def register_trainers(self):
            return returned

    with pytest.raises(PluginError, match="plugin 'bad' \\(explicit\\) ") as info:
        make_project(MODEL.format(extra="", trainer="x"), plugins=[Bad()])
    assert expected in str(info.value)


def test_a_register_hook_that_raises_is_named(make_project) -> None:
    class Raises:
        __name__ = "raises"

        @hookimpl
        def register_stores(self):
            raise ValueError("nope")

    with pytest.raises(PluginError, match=r"plugin 'raises' \(explicit\) failed in register_stores: ValueError: nope"):
        make_project(plugins=[Raises()])


def test_an_unknown_hook_is_named(make_project) -> None:
    class Typo:
        __name__ = "typo"

        @hookimpl
        def register_trainer(self):  # missing 's'
            return []

    with pytest.raises(PluginError, match=r"plugin 'typo' \(explicit\) implements an unknown hook"):
        make_project(plugins=[Typo()])


def test_a_class_instead_of_an_instance(make_project) -> None:
    with pytest.raises(PluginError, match=r"is a class: register an instance \(did you forget the '\(\)'\?\)"):
        make_project(plugins=[RecordingPlugin])


# -- blocking --------------------------------------------------------------------------------


class MemoryOnly(Store):
    """A replacement store: a dict, for the blocked-built-in test."""

    name = "dict"
    protocols = ("", "file")
    data: dict[str, bytes] = {}

    def get(self, key):
        return self.data.get(key)

    def write(self, key, data):
        self.data[key] = data

    def put_if_absent(self, key, data):
        return self.data.setdefault(key, data) is data

    def list(self, prefix):
        return sorted(k for k in self.data if k.startswith(prefix + "/"))

    def delete(self, key):
        self.data.pop(key, None)


class ReplacementStorePlugin:
    __name__ = "replacement"

    @hookimpl
    def register_stores(self):
        return [MemoryOnly]


def test_a_blocked_builtin_can_be_replaced(make_project, tmp_path: Path) -> None:
    project = make_project('[project]\nblock_plugins = ["fsspec"]\n', plugins=[ReplacementStorePlugin()])
    assert isinstance(project.store, MemoryOnly)
    assert "fsspec" not in {p["name"] for p in project.describe_plugins()}
    project.record_version("m", b"x", artifact_format="joblib", metadata={})
    assert any(k.startswith("models/m/versions/") for k in MemoryOnly.data)
    assert not (tmp_path / "project0" / ".modelcycle").exists()


def test_blocking_by_environment(make_project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELCYCLE_BLOCK_PLUGINS", "other, fsspec")
    with pytest.raises(SettingsError, match=r"project.store: no store plugin serves 'file' URLs; registered: none"):
        make_project()


# -- entry points: a fake third-party distribution, and a broken one ------------------------------


def fake_distribution(site: Path, dist: str, version: str, module: str, code: str, ep_name: str) -> None:
    (site / f"{module}.py").write_text(textwrap.dedent(code), encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[modelcycle]\n{ep_name} = {module}\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    return folder


GOOD_PLUGIN = """
from modelcycle import hookimpl
from modelcycle.interfaces import Trainer

class ThirdPartyTrainer(Trainer):
    name = "thirdparty"

@hookimpl
def register_trainers():
    return [ThirdPartyTrainer]
"""


def test_a_third_party_distribution_is_found_through_its_entry_point(make_project, site: Path) -> None:
    fake_distribution(site, "modelcycle-thirdparty", "1.2", "mc_thirdparty", GOOD_PLUGIN, "thirdparty")
    project = make_project(MODEL.format(extra="", trainer="thirdparty"))
    assert project.plugin_class("trainers", "thirdparty", "k").__name__ == "ThirdPartyTrainer"
    described = {p["name"]: p for p in project.describe_plugins()}
    assert described["thirdparty"]["source"] == "modelcycle-thirdparty 1.2"
    assert described["thirdparty"]["registers"] == {"trainers": ["thirdparty"]}


def test_a_broken_distribution_is_named_with_its_version(make_project, site: Path, monkeypatch) -> None:
    fake_distribution(site, "modelcycle-broken", "0.1", "mc_broken", "import does_not_exist\n", "broken")
    with pytest.raises(PluginError) as info:
        make_project()
    assert str(info.value) == (
        "plugin 'broken' (modelcycle-broken 0.1) failed to import: ModuleNotFoundError: "
        "No module named 'does_not_exist'; fix or uninstall it, or block it with MODELCYCLE_BLOCK_PLUGINS=broken"
    )
    monkeypatch.setenv("MODELCYCLE_BLOCK_PLUGINS", "broken")
    assert make_project().store is not None


def test_a_third_party_duplicate_of_a_builtin_store_is_named(make_project, site: Path) -> None:
    code = """
    from modelcycle import hookimpl
    from modelcycle.interfaces import Store

    class Local(Store):
        name = "local"

    @hookimpl
    def register_stores():
        return [Local]
    """
    fake_distribution(site, "modelcycle-clash", "2.0", "mc_clash", code, "clash")
    with pytest.raises(PluginError) as info:
        make_project()
    assert str(info.value).startswith(  # the built-ins load first, then entry points in name order
        "two plugins register the store 'local': 'fsspec' (built-in) and 'clash' (modelcycle-clash 2.0)"
    )


# -- plugins named in the settings ------------------------------------------------------------


def test_settings_plugins_by_path_and_by_module_name(tmp_path: Path, make_project) -> None:
    folder = tmp_path / "project0"
    folder.mkdir()
    (folder / "hooks.py").write_text(GOOD_PLUGIN, encoding="utf-8")
    (folder / "morehooks.py").write_text(GOOD_PLUGIN.replace('"thirdparty"', '"other"'), encoding="utf-8")
    extra = 'plugins = ["hooks.py", "morehooks"]'
    project = make_project(MODEL.format(extra=extra, trainer="thirdparty"))
    sources = {p["name"]: p["source"] for p in project.describe_plugins()}
    assert sources["hooks"] == "settings (hooks.py)"
    assert sources["morehooks"] == "settings (morehooks)"
    assert set(project.host.classes("trainers")) == {"thirdparty", "other", "sklearn"}


@pytest.mark.parametrize(
    ("files", "spec", "expected"),
    [
        ({}, "missing.py", "plugin file missing.py not found"),
        ({}, "nosuchmodule", "plugin module 'nosuchmodule' not found: install it, or give a .py path"),
        ({"bad.py": "1/0\n"}, "bad.py", "plugin file bad.py failed to import: ZeroDivisionError: division by zero"),
        (
            {"badmod.py": "import nope_nope\n"},
            "badmod",
            "plugin module 'badmod' failed to import: No module named 'nope_nope'",
        ),
    ],
)
def test_settings_plugin_errors(tmp_path: Path, make_project, files, spec, expected) -> None:
    folder = tmp_path / "project0"
    folder.mkdir()
    for name, code in files.items():
        (folder / name).write_text(code, encoding="utf-8")
    with pytest.raises(PluginError) as info:
        make_project(f'[project]\nplugins = ["{spec}"]\n')
    assert str(info.value).startswith(expected)


def test_a_blocked_settings_module_is_not_even_imported(tmp_path: Path, make_project) -> None:
    folder = tmp_path / "project0"
    folder.mkdir()
    (folder / "explodes.py").write_text("raise RuntimeError('imported')\n", encoding="utf-8")
    project = make_project('[project]\nplugins = ["explodes.py"]\nblock_plugins = ["explodes"]\n')
    assert "explodes" not in {p["name"] for p in project.describe_plugins()}
