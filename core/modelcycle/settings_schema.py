"""A JSON Schema (draft 2020-12) of modelcycle.toml, so editors can complete and check it.

It is generated from the settings sections (their types, defaults, limits and descriptions)
and, where a table hands its keys to a plugin (a notifier's keys by its ``type``, a step's,
a trigger's, a check's, a model's by its ``trainer``, ``[project] executor_options`` by
``executor``), from the ``Options`` of the built-in plugins registered for that ``type``.
A ``type`` no built-in plugin registers (a third-party plugin's) keeps its keys unchecked.
:data:`EMBEDDED` lists those places: a plugin kind whose options a settings table holds is
added there, and nowhere else.

The schema ships in the package (``modelcycle.schema.json``, printed by ``modelcycle schema``)
and a test keeps it in sync with the code; after changing settings or a built-in plugin's
Options, regenerate it with::

    python -m modelcycle.settings_schema --write     # or --check: exit 1 when it is stale
"""

from __future__ import annotations

import json
import sys
import types
import typing
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from . import settings
from ._validate import FieldInfo, Section

DRAFT = "https://json-schema.org/draft/2020-12/schema"
FILE = "modelcycle.schema.json"
#: text that takes a value from the environment: ``${NAME}``, numbers and booleans included
INTERPOLATED = {"type": "string", "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}"}
DURATION_TEXT = {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*[smhdw]?\s*$"}


@dataclass(frozen=True)
class Embedded:
    """A settings table whose key `selector` names a plugin of `kind` that validates some keys:
    the table's other keys (`options_key` None) or the table under `options_key`."""

    kind: str
    section: type[Section]
    selector: str
    options_key: str | None = None


#: Where settings embed a plugin's Options: the one list to extend for another plugin kind.
EMBEDDED: tuple[Embedded, ...] = (
    Embedded("notifiers", settings.NotifierSettings, "type"),
    Embedded("steps", settings.StepSettings, "type"),
    Embedded("triggers", settings.TriggerSettings, "type"),
    Embedded("executors", settings.ProjectSettings, "executor", "executor_options"),
    Embedded("trainers", settings.ModelSettings, "trainer"),
    Embedded("check_types", settings.CheckSettings, "type"),
)


def builtin_plugins(kind: str) -> dict[str, type]:
    """name → class of the plugins of `kind` that modelcycle itself ships (not third-party ones)."""
    from ._plugins import PluginHost

    host = PluginHost()
    host.load()
    return {name: r.cls for name, r in sorted(host.classes(kind).items()) if r.source == "built-in"}


class _Builder:
    def __init__(self, plugins: dict[str, dict[str, type]]) -> None:
        self.plugins = plugins
        self.defs: dict[str, Any] = {}
        self.embedded = {e.section: e for e in EMBEDDED}

    # -- types ---------------------------------------------------------------------------

    def annotation(self, annotation: Any) -> dict[str, Any]:
        """The schema of a value of this type; None is dropped (TOML cannot write it)."""
        if annotation is Any or annotation is object:
            return {}
        if annotation is str:
            return {"type": "string"}
        if annotation is bool:
            return {"anyOf": [{"type": "boolean"}, INTERPOLATED]}
        if annotation is int:
            return {"anyOf": [{"type": "integer"}, INTERPOLATED]}
        if annotation is float:
            return {"anyOf": [{"type": "number"}, INTERPOLATED]}
        if isinstance(annotation, type) and issubclass(annotation, Section):
            return {"$ref": f"#/$defs/{self.section(annotation)}"}
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is typing.Literal:
            return {"enum": list(args)}
        if origin in (typing.Union, types.UnionType):
            members = [self.annotation(a) for a in args if a is not type(None)]
            flat: list[dict[str, Any]] = []
            for member in members:
                flat += member["anyOf"] if list(member) == ["anyOf"] else [member]
            unique = [m for i, m in enumerate(flat) if m not in flat[:i]]
            return unique[0] if len(unique) == 1 else {"anyOf": unique}
        if origin is list or annotation is list:
            return {"type": "array", "items": self.annotation(args[0])} if args else {"type": "array"}
        if origin is dict or annotation is dict:
            out: dict[str, Any] = {"type": "object"}
            if args:
                if typing.get_origin(args[0]) is typing.Literal:
                    out["propertyNames"] = {"enum": list(typing.get_args(args[0]))}
                value = self.annotation(args[1])
                if value:
                    out["additionalProperties"] = value
            return out
        raise TypeError(f"no JSON Schema for settings type {annotation!r}")

    def field(self, field: FieldInfo) -> dict[str, Any]:
        if field.before is settings.parse_duration:
            out: dict[str, Any] = {
                "anyOf": [{"type": "number", "minimum": 0, "maximum": settings.MAX_DURATION}, DURATION_TEXT]
            }
        else:
            out = dict(self.annotation(field.annotation))
        limits = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}
        for kind, limit in field.limits:
            numeric = [m for m in out.get("anyOf", [out]) if m.get("type") in ("number", "integer")]
            for member in numeric:
                member[limits[kind]] = limit
        if field.description:
            out["description"] = field.description
        if not field.is_required():
            default = field.get_default()
            if default is not None and not isinstance(default, Section):
                out["default"] = default
        return out

    # -- tables --------------------------------------------------------------------------

    def table(self, cls: type[Section], skip: tuple[str, ...] = ()) -> dict[str, Any]:
        """The object schema of a section (its own keys only)."""
        out: dict[str, Any] = {"type": "object"}
        doc = cls.__dict__.get("__doc__")
        if doc:
            out["description"] = " ".join(doc.split())
        out["properties"] = {name: self.field(f) for name, f in cls.model_fields.items() if name not in skip}
        required = [name for name, f in cls.model_fields.items() if f.is_required() and name not in skip]
        if required:
            out["required"] = required
        out["additionalProperties"] = cls.model_config.get("extra") == "allow"
        return out

    def section(self, cls: type[Section]) -> str:
        """The name of `cls` in $defs, defined there on first use."""
        name = cls.__name__
        if name not in self.defs:
            self.defs[name] = {}  # a placeholder: sections may refer to one another
            schema = self.table(cls)
            embedded = self.embedded.get(cls)
            if embedded is not None:
                self.embed(schema, cls, embedded)
            self.defs[name] = schema
        return name

    def embed(self, schema: dict[str, Any], cls: type[Section], e: Embedded) -> None:
        """Per known plugin name: `if` the selector names it, `then` its Options check the keys."""
        found = self.plugins.get(e.kind, {})
        selector = schema["properties"][e.selector]
        selector["examples"] = list(found)
        default = cls.model_fields[e.selector].get_default()
        rules = []
        for name, plugin in found.items():
            options = getattr(plugin, "Options", None)
            when: dict[str, Any] = {"properties": {e.selector: {"const": name}}}
            if name != default:
                when["required"] = [e.selector]
            if e.options_key is not None:
                keys = self.options(e.kind, name, options)
                rules.append({"if": when, "then": {"properties": {e.options_key: keys}}})
                continue
            then: dict[str, Any] = {"properties": {key: True for key in cls.model_fields}}
            if options is not None:
                own = self.table(options)
                then["properties"].update(own["properties"])
                if "required" in own:
                    then["required"] = own["required"]
                then["additionalProperties"] = own["additionalProperties"]
            else:
                then["additionalProperties"] = False
            rules.append({"if": when, "then": then})
        if rules:
            schema["allOf"] = rules

    def options(self, kind: str, name: str, options: type[Section] | None) -> dict[str, Any]:
        if options is None:
            return {"type": "object", "maxProperties": 0, "description": f"{kind[:-1]} '{name}' takes no options."}
        return {"$ref": f"#/$defs/{self.section(options)}"}


def generate(plugins: dict[str, dict[str, type]] | None = None) -> dict[str, Any]:
    """The schema of modelcycle.toml; `plugins` (kind → name → class) defaults to the built-in ones."""
    if plugins is None:
        plugins = {e.kind: builtin_plugins(e.kind) for e in EMBEDDED}
    builder = _Builder(plugins)
    root = builder.table(settings.SettingsModel)
    return {
        "$schema": DRAFT,
        "title": "modelcycle.toml",
        "description": "Settings of a modelcycle project. Generated from the settings and the built-in plugins' "
        "Options: python -m modelcycle.settings_schema --write",
        **{k: v for k, v in root.items() if k != "description"},
        "$defs": dict(sorted(builder.defs.items())),
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def shipped_text() -> str:
    """The schema file shipped in the package."""
    return files("modelcycle").joinpath(FILE).read_text(encoding="utf-8")


def main(argv: list[str]) -> int:
    target = Path(__file__).with_name(FILE)
    text = render(generate())
    if "--check" in argv:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            print(f"{target} is out of date: run python -m modelcycle.settings_schema --write", file=sys.stderr)
            return 1
        return 0
    if "--write" in argv:
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
