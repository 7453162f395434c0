"""One plugin manager per Project: the built-ins (DEFAULT_PLUGINS), third-party entry points,
settings modules and explicit plugin objects; `classes` turns register hooks into name → class
maps and `create` is the one factory that builds a plugin object from its options.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

import pluggy

from . import hookspecs, interfaces, logs
from ._validate import Section
from .errors import PluginError, SettingsError

ENTRY_POINT_GROUP = "modelcycle"
BLOCK_ENV = "MODELCYCLE_BLOCK_PLUGINS"
TRACE_ENV = "MODELCYCLE_TRACE_PLUGINS"

#: the built-in plugins, imported directly (as pytest and datasette do); each is named by its
#: module name without the ``modelcycle_`` prefix, the name ``block_plugins`` takes
DEFAULT_PLUGINS: tuple[str, ...] = (
    "modelcycle_fsspec",
    "modelcycle_metrics",
    "modelcycle_sklearn",
    "modelcycle_email",
    "modelcycle_apprise",
    "modelcycle_outbox",
    "modelcycle_checks",
    "modelcycle_scenarios",
    "modelcycle_executors",
)

#: event hooks: every implementation runs, and one that raises is reported, never fatal
EVENTS = tuple(name for name in dir(hookspecs) if name.startswith("after_"))
#: question hooks: the first answer that is not None wins (pluggy's firstresult); one that raises fails the call
QUESTIONS = tuple(
    name
    for name, spec in vars(hookspecs).items()
    if callable(spec) and hasattr(spec, "modelcycle_spec") and not name.startswith(("after_", "register_"))
)

#: register hook → the base class its classes must subclass
KINDS: Mapping[str, type[interfaces.Plugged]] = MappingProxyType(
    {
        "stores": interfaces.Store,
        "trainers": interfaces.Trainer,
        "metrics": interfaces.Metric,
        "drift_tests": interfaces.DriftTest,
        "notifiers": interfaces.Notifier,
        "check_types": interfaces.CheckType,
        "steps": interfaces.Step,
        "triggers": interfaces.Trigger,
        "executors": interfaces.Executor,
    }
)


@dataclass(frozen=True)
class Registered:
    """A class some plugin registered, with where it came from."""

    cls: type
    plugin: str
    source: str


@dataclass
class LoadedPlugin:
    """A plugin the host loaded: its name, where it came from, the module or object, and the
    names it registers per kind (filled as the register hooks are called). What
    `modelcycle.records.PluginInfo` reports is built from it (`PluginHost.describe`)."""

    name: str
    source: str
    module: Any
    registers: dict[str, list[str]] = field(default_factory=dict)


class PluginHost:
    """The plugin manager of one Project, with provenance for every plugin."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("modelcycle")
        self.pm.add_hookspecs(hookspecs)
        self.infos: dict[str, LoadedPlugin] = {}
        self._registries: dict[str, Mapping[str, Registered]] = {}
        if os.environ.get(TRACE_ENV, "") not in ("", "0"):
            self.pm.trace.root.setwriter(lambda text: sys.stderr.write(text))
            self.pm.enable_tracing()

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def load(
        self,
        *,
        blocked: Iterable[str] = (),
        modules: Iterable[str] = (),
        root: Path | None = None,
        extra: Iterable[object] = (),
        entry_points: bool = True,
        builtins: bool = True,
    ) -> None:
        """Load plugins in a fixed order: built-ins, entry points, settings modules, explicit objects.

        `entry_points=False` leaves out installed third-party plugins only; `builtins=False`
        leaves out the built-ins too (an empty host, for tests of the machinery itself).
        """
        blocked = {b.strip() for b in blocked if b.strip()}
        blocked |= {b.strip() for b in os.environ.get(BLOCK_ENV, "").split(",") if b.strip()}
        for name in blocked:
            self.pm.set_blocked(name)
        for module_name in DEFAULT_PLUGINS if builtins else ():
            name = module_name.removeprefix("modelcycle_")
            if name not in blocked:
                self._register(importlib.import_module(module_name), name, "built-in")
        if entry_points:
            for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
                if ep.name in blocked or ep.value in DEFAULT_PLUGINS:  # an older install's entry for a built-in
                    continue
                source = _source_of(ep)
                try:
                    module = ep.load()
                except Exception as exc:
                    raise PluginError(
                        f"plugin '{ep.name}' ({source}) failed to import: {type(exc).__name__}: {exc}; "
                        f"fix or uninstall it, or block it with {BLOCK_ENV}={ep.name}",
                        plugin=ep.name,
                    ) from exc
                self._register(module, ep.name, source)
        for spec in modules:
            if _settings_module_name(spec) in blocked:
                continue
            name, module = _import_settings_module(spec, root)
            self._register(module, name, f"settings ({spec})")
        for obj in extra:
            name = getattr(obj, "__name__", None) or type(obj).__name__
            if isinstance(obj, type):
                raise PluginError(
                    f"plugin {name} is a class: register an instance (did you forget the '()'?)", plugin=name
                )
            self._register(obj, name, "explicit")
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            plugin = self._name_of(exc.plugin)
            raise PluginError(
                f"plugin '{plugin}' ({self.infos[plugin].source}) implements an unknown hook: {exc}; "
                "check the spelling against the hooks reference",
                plugin=plugin,
            ) from None

    def _register(self, module: object, name: str, source: str) -> None:
        if self.pm.is_blocked(name):
            return
        if any(info.module is module for info in self.infos.values()):
            first = next(n for n, info in self.infos.items() if info.module is module)
            raise PluginError(f"plugin '{name}' ({source}) is already loaded as '{first}': pass it once", plugin=name)
        if name in self.infos:
            raise PluginError(
                f"two plugins are named '{name}': {self.infos[name].source} and {source}; rename one",
                plugin=name,
            )
        try:
            self.pm.register(module, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(f"plugin '{name}' ({source}) cannot be registered: {exc}", plugin=name) from None
        self.infos[name] = LoadedPlugin(name=name, source=source, module=module)
        for caller in self.pm.get_hookcallers(module) or []:
            if caller.name in EVENTS or caller.name in QUESTIONS:
                wrap = _guarded if caller.name in EVENTS else _named
                for impl in caller.get_hookimpls():
                    if impl.plugin is not module or impl.wrapper or impl.hookwrapper:
                        continue
                    if not getattr(impl.function, "_modelcycle_wrapped", False):
                        impl.function = wrap(impl.function, name, caller.name)

    def _name_of(self, plugin: object) -> str:
        for name, info in self.infos.items():
            if info.module is plugin:
                return name
        return repr(plugin)

    def classes(self, kind: str) -> Mapping[str, Registered]:
        """name → Registered (class and provenance) for one register hook, validated and cached."""
        if kind not in self._registries:
            self._registries[kind] = self._collect(kind)
        return self._registries[kind]

    def _collect(self, kind: str) -> Mapping[str, Registered]:
        base = KINDS[kind]
        found: dict[str, Registered] = {}
        hook_name = f"register_{kind}"
        hook = getattr(self.pm.hook, hook_name)
        for impl in hook.get_hookimpls():  # registration order
            if impl.wrapper or impl.hookwrapper:
                continue
            plugin = impl.plugin_name
            source = self.infos[plugin].source if plugin in self.infos else "explicit"
            # one plugin at a time, to know whose classes these are, but through pluggy's hook
            # caller: hook-call monitoring and MODELCYCLE_TRACE_PLUGINS see each call
            others = [p for p in self.pm.get_plugins() if p is not impl.plugin]
            try:
                answers = self.pm.subset_hook_caller(hook_name, remove_plugins=others)()
            except Exception as exc:
                raise PluginError(
                    f"plugin '{plugin}' ({source}) failed in {hook_name}: {type(exc).__name__}: {exc}",
                    plugin=plugin,
                ) from exc
            for cls in answers[0] if answers else []:
                if not (isinstance(cls, type) and issubclass(cls, base)):
                    raise PluginError(
                        f"plugin '{plugin}' ({source}) returned {cls!r} from register_{kind}: "
                        f"expected a subclass of modelcycle.plugin.{base.__name__}",
                        plugin=plugin,
                    )
                name = getattr(cls, "name", "")
                if not isinstance(name, str) or not name or name != name.lower() or " " in name:
                    raise PluginError(
                        f"plugin '{plugin}' ({source}) registered {cls.__name__} without a valid name: "
                        "set the class attribute name to a lowercase word",
                        plugin=plugin,
                    )
                if name in found:
                    other = found[name]
                    raise PluginError(
                        f"two plugins register the {kind[:-1].replace('_', ' ')} '{name}': "
                        f"'{other.plugin}' ({other.source}) and '{plugin}' ({source}); "
                        f"uninstall or block one of them ({BLOCK_ENV}=NAME)",
                        plugin=plugin,
                    )
                found[name] = Registered(cls, plugin, source)
                if plugin in self.infos:
                    self.infos[plugin].registers.setdefault(kind, []).append(name)
        return MappingProxyType(found)

    def collect_all(self) -> None:
        for kind in KINDS:
            self.classes(kind)

    def create(self, kind: str, name: str, options: Any, *, key: str, context: Any) -> Any:
        """The one factory: the `kind` plugin registered as `name`, built as ``cls(options, context=context)``.

        `options` (a mapping of the user's keys, or an instance of the class's ``Options``)
        is validated against ``cls.Options``; `key` is the dotted key the options sit at
        ("notifiers.oncall"), so that every error, the plugin's own included, names the
        full key. `context` is the :class:`modelcycle.plugin.PluginContext` the object keeps.
        `options=None` builds it with no options at all: a trainer that only reads the artifacts
        of a stored version whose model is no longer in the settings.
        """
        settings = context.settings
        found = self.classes(kind)
        if name not in found:
            from .names import suggest

            choices = ", ".join(sorted(found)) or "none (is the plugin that provides it installed?)"
            raise settings.error(
                key, f"unknown {_kind_word(kind)} '{name}'; {suggest(name, found)}registered: {choices}"
            )
        cls = found[name].cls
        if options is not None and not isinstance(options, cls.Options):
            options = self.validate(kind, name, options, key=key, settings=settings)
        try:
            return cls(options, context=context)
        except SettingsError as exc:
            raise settings.place(exc, key) from None

    def validate(self, kind: str, name: str, options: Mapping[str, Any] | None, *, key: str, settings: Any) -> Any:
        """`options` (the user's keys) validated against the ``Options`` of the `kind` plugin `name`;
        errors name the full key below `key`."""
        from .settings import validate_options

        schema = self.classes(kind)[name].cls.Options
        # a core section a trainer or a check type is built from: its fields and the plugin's keys
        given = options.model_dump() if isinstance(options, Section) else dict(options or {})
        if given and not schema.model_fields and schema.model_config.get("extra") != "allow":
            first = next(iter(given))
            raise settings.error(f"{key}.{first}", f"{_kind_word(kind)} '{name}' takes no options")
        return validate_options(settings, schema, given, key)

    def fire(self, event: str, **kwargs: Any) -> None:
        """Call an event hook through pluggy's hook caller (so hook-call monitoring and
        MODELCYCLE_TRACE_PLUGINS see it); a failing implementation is reported, never fatal."""
        getattr(self.pm.hook, event)(**kwargs)

    def ask(self, question: str, **kwargs: Any) -> Any:
        """Call a question hook through pluggy's hook caller (a firstresult hook): the first answer
        that is not None, the latest-loaded plugin first; a failing implementation is a PluginError
        naming its plugin."""
        return getattr(self.pm.hook, question)(**kwargs)

    def describe(self) -> list[dict[str, Any]]:
        """Every loaded plugin as `modelcycle plugins --json` prints it (a modelcycle.records.PluginInfo
        each, once `Project.describe_plugins` wraps them)."""
        self.collect_all()
        out = []
        for name, info in self.infos.items():
            hooks = sorted(impl.name for impl in self.pm.get_hookcallers(info.module) or [])
            registers = {kind: info.registers[kind] for kind in KINDS if kind in info.registers}  # a stable order
            out.append({"name": name, "source": info.source, "hooks": hooks, "registers": registers})
        return out


def _kind_word(kind: str) -> str:
    """'check_types' → 'check type': the kind as errors name it."""
    return kind[:-1].replace("_", " ")


def _guarded(function: Any, plugin: str, event: str) -> Any:
    """An event implementation that reports its failure as a PluginWarning naming its plugin,
    so that the other implementations still run and the stored work stands."""

    def guarded(*args: Any) -> Any:
        try:
            return function(*args)
        except Exception as exc:  # noqa: BLE001 - a plugin's bug must not undo stored work
            message = f"plugin '{plugin}' failed in {event}: {type(exc).__name__}: {exc}"
            logs.warn(logs.get_logger("plugins"), message, PluginWarning, stacklevel=2)
            return None

    guarded._modelcycle_wrapped = True  # type: ignore[attr-defined]
    guarded.__wrapped__ = function  # type: ignore[attr-defined]
    return guarded


def _named(function: Any, plugin: str, question: str) -> Any:
    """A question implementation whose failure is a PluginError naming its plugin."""

    def named(*args: Any) -> Any:
        try:
            return function(*args)
        except Exception as exc:
            raise PluginError(
                f"plugin '{plugin}' failed in {question}: {type(exc).__name__}: {exc}", plugin=plugin
            ) from exc

    named._modelcycle_wrapped = True  # type: ignore[attr-defined]
    named.__wrapped__ = function  # type: ignore[attr-defined]
    return named


class PluginWarning(UserWarning):
    """A plugin misbehaved in an event hook; the operation itself succeeded."""


_SOURCES: dict[str, str] = {}


def _source_of(ep: importlib.metadata.EntryPoint) -> str:
    """'built-in' or 'distribution version'; read once per distribution (metadata parsing is slow)."""
    dist = ep.dist
    if dist is None:
        return "entry point"
    key = str(getattr(dist, "_path", id(dist)))
    if key not in _SOURCES:
        metadata = dist.metadata
        name = metadata["Name"]
        _SOURCES[key] = "built-in" if name == "modelcycle" else f"{name} {metadata['Version']}"
    return _SOURCES[key]


def _settings_module_name(spec: str) -> str:
    """The plugin name of a `[project] plugins` entry: a file's stem, or the module name."""
    return Path(spec).stem if spec.endswith(".py") or "/" in spec else spec


def _import_settings_module(spec: str, root: Path | None) -> tuple[str, ModuleType]:
    """`[project] plugins` entries: a .py path (relative to the settings file) or a module name."""
    root = root or Path.cwd()
    if spec.endswith(".py") or "/" in spec:
        path = (root / spec).resolve()
        if not path.is_file():
            raise PluginError(f"plugin file {spec} not found (looked at {path}); fix [project] plugins", plugin=spec)
        name = _settings_module_name(spec)
        module_name = f"modelcycle_local_plugin_{name}"
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        assert loader_spec and loader_spec.loader
        module = importlib.util.module_from_spec(loader_spec)
        try:
            loader_spec.loader.exec_module(module)
        except Exception as exc:
            raise PluginError(f"plugin file {spec} failed to import: {type(exc).__name__}: {exc}", plugin=name) from exc
        return name, module
    added = str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        return spec, importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        if exc.name == spec.split(".")[0]:
            raise PluginError(
                f"plugin module '{spec}' not found: install it, or give a .py path relative to the settings file",
                plugin=spec,
            ) from None
        raise PluginError(f"plugin module '{spec}' failed to import: {exc}", plugin=spec) from exc
    except Exception as exc:
        raise PluginError(f"plugin module '{spec}' failed to import: {type(exc).__name__}: {exc}", plugin=spec) from exc
    finally:
        if added:
            sys.path.remove(str(root))
