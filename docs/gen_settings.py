"""Render the settings reference in docs/settings.md from modelcycle.settings and the
``Options`` of the built-in plugins.

The block between ``<!-- BEGIN GENERATED -->`` and ``<!-- END GENERATED -->`` is
rewritten from the settings sections (key, type, default, description), then from the
options each built-in plugin declares (a notifier's keys, a step's…), so the reference
cannot drift from the code. tests/test_docs_settings.py checks it.

    python docs/gen_settings.py           # rewrite the block in docs/settings.md
    python docs/gen_settings.py --check   # exit 1 if the block is out of date
"""

from __future__ import annotations

import json
import sys
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from modelcycle import settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generated_block import BEGIN, END, run, split_doc, updated  # noqa: E402, F401 - shared by both generators

DOC = Path(__file__).resolve().parent / "settings.md"


# -- types ---------------------------------------------------------------------------


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, settings.Section)


def _without_none(annotation: Any) -> tuple[Any, bool]:
    """(annotation without None, whether None was allowed)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], optional
        return typing.Union[tuple(args)], optional  # noqa: UP007 - rebuilding a union
    return annotation, False


_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _plural(name: str) -> str:
    head, _, rest = name.partition(" ")
    return f"{head}s {rest}".rstrip() if head in ("string", "integer", "number", "boolean", "list") else name


def _is_duration(field: Any) -> bool:
    """A field whose `before` converter, named like *duration*, turns text into seconds."""
    return "duration" in getattr(field.before, "__name__", "")


def type_name(annotation: Any) -> str:
    """A TOML-flavoured name for a field's type."""
    annotation, _ = _without_none(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return "any"
    if annotation in _NAMES:
        return _NAMES[annotation]
    if _is_model(annotation):
        return "table"
    if origin is typing.Literal:
        return "one of " + ", ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in args)
    if origin is list:
        item = args[0]
        if _is_model(item):
            return "list of tables"
        if typing.get_origin(item) is typing.Literal:
            return "list of " + ", ".join(json.dumps(a) for a in typing.get_args(item))
        return "list" if item is Any else f"list of {_plural(type_name(item))}"
    if origin is dict:
        key, value = args
        if value is Any:
            return "table"
        keys = ""
        if typing.get_origin(key) is typing.Literal:
            keys = " (keys: " + ", ".join(typing.get_args(key)) + ")"
        return f"table of {_plural(type_name(value))}{keys}"
    return getattr(annotation, "__name__", str(annotation))


# -- defaults and limits -------------------------------------------------------------


def default_text(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.get_default()
    if value is None:
        return "unset"
    if isinstance(value, settings.Section):
        return "see below"
    return "`" + json.dumps(value) + "`"


_SIGNS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def limits_text(field: Any) -> str:
    parts = [f"{_SIGNS[kind]} {limit}" for kind, limit in field.limits]
    return "Must be " + " and ".join(parts) + "." if parts else ""


# -- sections ------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _sections(model: type[settings.Section], path: str) -> list[tuple[str, type[settings.Section]]]:
    """(TOML path, model) for `model` and every table below it, depth first."""
    found = [(path, model)]
    for name, field in model.model_fields.items():
        annotation, _ = _without_none(field.annotation)
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if _is_model(annotation):
            found += _sections(annotation, f"{path}.{name}" if path else name)
        elif origin is dict and _is_model(args[1]):
            found += _sections(args[1], f"{path}.{name}.NAME" if path else f"{name}.NAME")
        elif origin is list and _is_model(args[0]):
            found += _sections(args[0], f"{path}.{name}[]")
    return found


def _heading(path: str) -> str:
    if path.endswith("[]"):
        return f"### `{path[:-2]} = [ {{ … }}, … ]` (each item)"
    return f"### `[{path}]`"


def _row(name: str, field: Any, path: str) -> str:
    annotation, _ = _without_none(field.annotation)
    kind = type_name(field.annotation)
    if _is_duration(field):
        kind = 'duration: seconds, or text like "90s", "30m", "6h", "1d", "2w"; at most "366d"'

    description = field.description or ""
    if _is_model(annotation):
        description = (description + " " if description else "") + f"The `[{path}.{name}]` table below."
    elif typing.get_origin(annotation) is list and _is_model(typing.get_args(annotation)[0]):
        description = (description + " " if description else "") + "Each item is described below."
    limits = limits_text(field)
    if limits:
        description = f"{description} {limits}".strip()
    return "| " + " | ".join([f"`{name}`", _cell(kind), _cell(default_text(field)), _cell(description)]) + " |"


#: where each kind's options sit, and how its type is chosen: (kind, heading, path for sub-tables)
PLUGIN_OPTIONS = (
    ("notifiers", '### `[notifiers.NAME]` with `type = "{name}"`', "notifiers.NAME"),
    ("executors", '### `[project.executor_options]` with `executor = "{name}"`', "project.executor_options"),
    ("steps", '### `scenarios.NAME.steps` item with `type = "{name}"`', "scenarios.NAME.steps[]"),
    ("triggers", '### `scenarios.NAME.triggers` item with `type = "{name}"`', "scenarios.NAME.triggers[]"),
    ("trainers", '### `[models.NAME]` with `trainer = "{name}"`', "models.NAME"),
    ("check_types", '### `[checks.NAME]` with `type = "{name}"`', "checks.NAME"),
)
#: kinds whose Options extend a core section: only the keys the plugin adds are listed
EXTENDS = {"trainers": settings.ModelSettings, "check_types": settings.CheckSettings}
#: the key of an open section that names the plugin its other keys go to
SELECTOR = {settings.ModelSettings: "trainer"}


def _table(out: list[str], model: type[settings.Section], path: str, skip: Iterable[str] = ()) -> None:
    doc = model.__dict__.get("__doc__")
    if doc:
        out.append(" ".join(doc.split()))
        out.append("")
    out.append("| key | type | default | description |")
    out.append("|---|---|---|---|")
    for name, field in model.model_fields.items():
        if name not in skip:
            out.append(_row(name, field, path))


def render() -> str:
    """The generated Markdown: one heading and one table per settings table, then one per
    built-in plugin class with options."""
    from modelcycle._plugins import PluginHost

    out: list[str] = []
    for path, model in _sections(settings.SettingsModel, ""):
        if not path:
            continue  # the top level only holds the sections themselves
        out.append(_heading(path))
        out.append("")
        _table(out, model, path)
        if model.model_config.get("extra") == "allow":
            selector = SELECTOR.get(model, "type")
            out.append(f"| *other keys* | any | | Kept and handed to the plugin that `{selector}` names (below). |")
        out.append("")
    host = PluginHost()
    host.load(entry_points=False)  # the built-ins only
    for kind, heading, path in PLUGIN_OPTIONS:
        for name, registered in sorted(host.classes(kind).items()):
            options = registered.cls.Options
            skip = EXTENDS[kind].model_fields if kind in EXTENDS else {}
            if not [field for field in options.model_fields if field not in skip]:
                continue
            out.append(heading.format(name=name))
            out.append("")
            _table(out, options, path, skip)
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# -- the markers ---------------------------------------------------------------------


def main(argv: list[str]) -> int:
    return run(DOC, render, "gen_settings.py", argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
