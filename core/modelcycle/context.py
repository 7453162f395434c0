"""The narrow context recipes and services run in.

`Project` (the facade) builds one `Context` and hands it to the recipes (train, score,
evaluate, checks, alerts, scenarios, scheduler, retention, the dashboard...). A recipe
sees the settings, the store, the saved-model registry, the plugin host, an event emitter
and a clock, never the facade (only the event emitter holds it, opaque, to name it as
`project=` in hook calls): so nothing below the facade imports project.py, and a recipe
fires its own events instead of calling back up.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from .errors import NotFoundError
from .names import check_name, suggest

if TYPE_CHECKING:  # pragma: no cover
    from ._plugins import PluginHost
    from .interfaces import Executor, Notifier, Store
    from .registry import Registry
    from .settings import Settings


def wall_clock() -> datetime:
    """Now, in UTC: the time stamps records carry."""
    return datetime.now(UTC)


def current_actor() -> str:
    """Who acts: $MODELCYCLE_ACTOR, else user@host."""
    actor = os.environ.get("MODELCYCLE_ACTOR")
    if actor:
        return actor
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def plugin_class(settings: Settings, host: PluginHost, kind: str, name: str, key: str) -> type:
    """The class registered as `name` for `kind`, or an error at `key` listing the registered ones."""
    registered = host.classes(kind)
    if name in registered:
        return registered[name].cls
    what = kind[:-1].replace("_", " ")
    hint = suggest(name, registered)
    choices = ", ".join(sorted(registered)) or "none (is the plugin that provides it installed?)"
    raise settings.error(key, f"unknown {what} '{name}'; {hint}registered: {choices}")


class Events:
    """Fires hook events; the `project=` argument every hook receives is added here, from the
    facade this emitter was bound to, so a recipe names only what happened."""

    def __init__(self, host: PluginHost, facade: object) -> None:
        self._host = host
        self._facade = facade

    def fire(self, event: str, **payload: Any) -> None:
        self._host.fire(event, project=self._facade, **payload)


class Context:
    """What a recipe may use: settings, store, registry (saved models), host (plugins), events, clock.

    It also keeps what is made once per open project (loaded models, notifiers, the executor),
    so that a recipe asking twice gets the same object.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store,
        registry: Registry,
        host: PluginHost,
        facade: object,
        plugin_context: Callable[..., Any],
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.settings = settings
        self.store = store
        self.registry = registry
        self.host = host
        self.events = Events(host, facade)
        self.clock = clock
        # builds the modelcycle.plugin.PluginContext a plugin object keeps (the facade knows how)
        self.plugin_context = plugin_context
        self.models: dict[tuple[str, int], Any] = {}
        self._notifiers: dict[str, Notifier] = {}
        self._executor: Executor | None = None

    @property
    def name(self) -> str:
        """The project's name ([project] name, else its folder's)."""
        return self.settings.project_name

    @property
    def actor(self) -> str:
        """Who acts: $MODELCYCLE_ACTOR, else user@host (read each time: a long-lived process may change it)."""
        return current_actor()

    # -- names -----------------------------------------------------------------------------

    def model_name(self, model: str) -> str:
        """`model`, once it is a valid name."""
        check_name(model, "model name")
        return model

    def require_model(self, model: str) -> None:
        """A model must be in the settings or already have versions in the store."""
        self.model_name(model)
        if model in self.settings.models or self.registry.latest(model) is not None:
            return
        defined = ", ".join(sorted(self.settings.models)) or "none"
        hint = suggest(model, self.settings.models)
        raise NotFoundError(f"unknown model '{model}': {hint}models in {self.settings.file.name}: {defined}")

    def plugin_class(self, kind: str, name: str, key: str) -> type:
        """The class registered as `name` for `kind`, or an error at `key` listing the registered ones."""
        return plugin_class(self.settings, self.host, kind, name, key)

    # -- plugin objects made once per project ---------------------------------------------------

    def create(self, kind: str, name: str, options: Any, *, key: str, **where: Any) -> Any:
        """The one way a plugin object is made: `options` checked against its class's Options
        (errors placed under `key`), and a PluginContext saying `where` it sits (scenario=,
        notifier=, task=)."""
        return self.host.create(kind, name, options, key=key, context=self.plugin_context(**where))

    def maker(self, kind: str, key: str) -> Callable[[str], Any]:
        """`make(name)`: the `kind` plugin `name` built through `create` with its default options
        (metrics and drift tests take none from the settings), once per name. What the pure
        cores (MetricSet, the drift comparison) receive instead of the host."""
        made: dict[str, Any] = {}

        def make(name: str) -> Any:
            if name not in made:
                made[name] = self.create(kind, name, {}, key=key)
            return made[name]

        return make

    def executor_options(self) -> Any:
        """[project.executor_options] validated against the chosen executor's schema."""
        s = self.settings
        self.plugin_class("executors", s.project.executor, "project.executor")
        options = s.project.executor_options
        return self.host.validate("executors", s.project.executor, options, key="project.executor_options", settings=s)

    @property
    def executor(self) -> Executor:
        """The executor that scores and evaluates datasets ([project] executor), made on first use."""
        if self._executor is None:
            s = self.settings.project
            self.plugin_class("executors", s.executor, "project.executor")
            self._executor = self.create("executors", s.executor, s.executor_options, key="project.executor_options")
        return self._executor

    def notifier(self, name: str) -> Notifier:
        """The configured notifier `name`, its options validated, made on first use."""
        if name not in self.settings.notifiers:
            known = ", ".join(sorted(self.settings.notifiers)) or "none"
            raise NotFoundError(f"unknown notifier '{name}'; notifiers in {self.settings.file.name}: {known}")
        if name not in self._notifiers:
            spec = self.settings.notifiers[name]
            self.plugin_class("notifiers", spec.type, f"notifiers.{name}.type")
            self._notifiers[name] = self.create(
                "notifiers", spec.type, spec.model_extra or {}, key=f"notifiers.{name}", notifier=name
            )
        return self._notifiers[name]

    def close(self) -> None:
        """Release the executor's resources (a cluster connection, say), if one was made."""
        if self._executor is not None:
            self._executor.close()
            self._executor = None


class HasContext(Protocol):
    """What carries a context: the facade (`Project.context`)."""

    context: Context


ContextSource: TypeAlias = "Context | HasContext"


def context_of(source: ContextSource) -> Context:
    """The context itself, or the one its owner carries: the services callers use directly
    (alerts, the scheduler, the dashboard...) also take the `Project` they hold."""
    return source if isinstance(source, Context) else source.context
