"""Opening a project: the store its settings name, and the settings checked against the plugins.

Every plugin name the settings use must be registered, and every option block must match its
plugin's schema, so that a mistake is one line when the project opens, before any data is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ._plugins import PluginHost
    from .context import Context
    from .interfaces import Store
    from .settings import Settings


def open_store(settings: Settings, host: PluginHost, context: Any) -> Store:
    """The store at [project] store, served by the store plugin that claims its URL scheme
    (`context`: the PluginContext the store keeps)."""
    url = settings.resolve_url(settings.project.store)
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme in ("", "file") and Path(url.split("://", 1)[-1]).is_file():
        shown = settings.redactor(settings.project.store)
        raise settings.error("project.store", f"'{shown}' is a file: give a folder (default .modelcycle)")
    registered = host.classes("stores")
    chosen = next((n for n, r in registered.items() if scheme in r.cls.protocols), None)
    chosen = chosen or next((n for n, r in registered.items() if "*" in r.cls.protocols), None)
    if chosen is None:
        raise settings.error(
            "project.store",
            f"no store plugin serves '{scheme or 'file'}' URLs; registered: {', '.join(sorted(registered)) or 'none'}",
        )
    options = {"url": url, "options": dict(settings.project.store_options)}
    return host.create("stores", chosen, options, key="project", context=context)


def check_settings_against_plugins(ctx: Context) -> None:
    """Every plugin name the settings use is registered, and every option block is valid: say which is not."""
    s = ctx.settings
    # first the keys a trainer or a check type validates (estimator, artifact_format, min...): the
    # core's own keys were checked when the file was read, and theirs belong with them
    for name, model in s.models.items():
        ctx.plugin_class("trainers", model.trainer, f"models.{name}.trainer")
        ctx.host.validate("trainers", model.trainer, model, key=f"models.{name}", settings=s)
    for name, check in s.checks.items():
        ctx.plugin_class("check_types", check.type, f"checks.{name}.type")
        ctx.host.validate("check_types", check.type, check, key=f"checks.{name}", settings=s)
    uses: list[tuple[str, str, str]] = []
    for n, m in s.models.items():
        if m.drift.method != "auto":
            uses.append(("drift_tests", m.drift.method, f"models.{n}.drift.method"))
        named = {c: t for c, t in m.drift.columns.items() if isinstance(t, str)}
        uses += [("drift_tests", t, f"models.{n}.drift.columns.{c}") for c, t in named.items()]
    from .drift_settings import validate_drift_settings

    validate_drift_settings(ctx)
    uses += [("notifiers", v.type, f"notifiers.{n}.type") for n, v in s.notifiers.items()]
    uses.append(("executors", s.project.executor, "project.executor"))
    for name, scenario in s.scenarios.items():
        uses += [("steps", st.type, f"scenarios.{name}.steps[{i}].type") for i, st in enumerate(scenario.steps)]
        uses += [("triggers", t.type, f"scenarios.{name}.triggers[{i}].type") for i, t in enumerate(scenario.triggers)]
    for kind, value, key in uses:
        ctx.plugin_class(kind, value, key)
    if s.checks:
        from .checks import validate_check_settings

        validate_check_settings(ctx)
    if s.checks or s.scenarios:
        from .alerts import check_templates

        check_templates(ctx)
    for name, spec in s.notifiers.items():
        ctx.host.validate("notifiers", spec.type, spec.model_extra, key=f"notifiers.{name}", settings=s)
    ctx.executor_options()
