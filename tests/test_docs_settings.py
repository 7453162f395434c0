"""docs/settings.md carries a reference generated from modelcycle.settings: keep them equal."""

from __future__ import annotations

import importlib.util
import typing
from pathlib import Path
from types import ModuleType

from modelcycle import settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load_script("gen_settings")


def test_generated_block_is_up_to_date() -> None:
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    _, block, _ = gen.split_doc(text)
    assert block == gen.render(), "docs/settings.md is out of date: run python docs/gen_settings.py"


def test_render_is_stable() -> None:
    assert gen.render() == gen.render()


def test_updating_twice_changes_nothing() -> None:
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    block = gen.render()
    once = gen.updated(text, block)
    assert gen.updated(once, block) == once


def _all_models(model: type, seen: list[type]) -> list[type]:
    if model in seen:
        return seen
    seen.append(model)
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            current = stack.pop()
            if isinstance(current, type) and issubclass(current, settings.Section):
                _all_models(current, seen)
            stack.extend(typing.get_args(current))
    return seen


def test_every_key_of_every_section_is_documented() -> None:
    block = gen.split_doc((DOCS / "settings.md").read_text(encoding="utf-8"))[1]
    for model in _all_models(settings.SettingsModel, [])[1:]:  # the top level is only sections
        for name in model.model_fields:
            assert f"| `{name}` |" in block, f"{model.__name__}.{name} is missing from docs/settings.md"


def test_every_section_has_a_heading() -> None:
    block = gen.split_doc((DOCS / "settings.md").read_text(encoding="utf-8"))[1]
    for heading in (
        "[project]",
        "[datasets.NAME]",
        "[models.NAME]",
        "[models.NAME.split]",
        "[models.NAME.activation]",
        "[models.NAME.drift]",
        "[checks.NAME]",
        "[notifiers.NAME]",
        "[alerts]",
        "[scenarios.NAME]",
        "scenarios.NAME.triggers",
        "scenarios.NAME.steps",
    ):
        assert f"### `{heading}" in block, heading


def test_rows_show_types_defaults_limits_and_durations() -> None:
    block = gen.render()
    assert "| `url` | string | required | Path or fsspec URL" in block
    assert '| `format` | one of "csv", "parquet", "jsonl" | unset | Default: inferred from the suffix. |' in block
    assert "(random, stratified, time). Must be > 0 and < 1. |" in block
    assert "| `folds` | integer | `5` | kfold: number of folds. Must be >= 2 and <= 100. |" in block
    assert "| `threshold` | number or string | unset |" in block
    assert (
        '| `cooldown` | duration: seconds, or text like "90s", "30m", "6h", "1d", "2w"; at most "366d" | `21600.0` |'
        in block
    )
    assert "| `split` | table | see below | The `[models.NAME.split]` table below. |" in block
    assert block.count("| *other keys* | any | |") == 5  # models (the trainer's), checks, notifiers, steps, triggers


def test_the_script_does_not_need_pydantic() -> None:
    assert "pydantic" not in (DOCS / "gen_settings.py").read_text(encoding="utf-8")


def test_every_option_of_every_built_in_plugin_is_documented() -> None:
    from modelcycle._plugins import PluginHost

    block = gen.split_doc((DOCS / "settings.md").read_text(encoding="utf-8"))[1]
    host = PluginHost()
    host.load(entry_points=False)
    documented = 0
    for kind, heading, _ in gen.PLUGIN_OPTIONS:
        for name, registered in host.classes(kind).items():
            core = gen.EXTENDS[kind].model_fields if kind in gen.EXTENDS else {}  # listed with the section
            fields = [key for key in registered.cls.Options.model_fields if key not in core]
            if fields:
                section = block.split(heading.format(name=name), 1)[1].split("\n### ", 1)[0]
                assert all(f"| `{key}` |" in section for key in fields), (kind, name)
                documented += 1
    assert documented >= 10  # the email notifier, the dask executor, the steps and triggers…
