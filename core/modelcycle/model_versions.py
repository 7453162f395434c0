"""A model's versions: record, list, show, activate, roll back and load them.

The registry stores; this service adds what every caller needs around it: the model must
exist, deleted versions stay unloadable, activations are guarded against a concurrent gc
(see retention), and the `after_version_*` events fire.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import IntegrityError, ModelcycleError, NotFoundError
from .records import Activation
from .retention import activation_guard, deleted_versions, is_deleted

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context
    from .interfaces import Trainer


def record_version(
    ctx: Context,
    model: str,
    artifact: bytes,
    *,
    artifact_format: str,
    metadata: dict[str, Any],
    attachments: dict[str, bytes] | None = None,
) -> dict[str, Any]:
    """Store a new version (artifact and attachments first, then metadata); fire after_version_created."""
    entry = ctx.registry.create_version(
        ctx.model_name(model),
        artifact,
        artifact_format=artifact_format,
        metadata=metadata,
        actor=ctx.actor,
        attachments=attachments,
    )
    ctx.events.fire("after_version_created", model=model, version=entry)
    return entry


def list_versions(ctx: Context, model: str) -> list[dict[str, Any]]:
    """Every version, oldest first, each with `active` set (and `deleted` once gc removed it)."""
    ctx.require_model(model)
    current = ctx.registry.active(model)
    active = current["version"] if current else None
    gone = deleted_versions(ctx, model)
    return [
        {**v, "active": v["version"] == active, "deleted": v["version"] in gone} for v in ctx.registry.versions(model)
    ]


def show_version(ctx: Context, model: str, version: int | None = None) -> dict[str, Any]:
    """One version's metadata (the active one, else the latest) with the activation log."""
    ctx.require_model(model)
    current = ctx.registry.active(model)
    if version is None:
        if current is not None:
            version = current["version"]
        else:
            latest = ctx.registry.latest(model)
            if latest is None:
                raise NotFoundError(f"model '{model}' has no versions yet: train it first")
            version = latest["version"]
    entry = ctx.registry.version(model, version)
    active = current is not None and current["version"] == version
    deleted = is_deleted(ctx, model, version)  # its metadata stays readable; its artifact is gone
    return {**entry, "active": active, "deleted": deleted, "activations": ctx.registry.activations(model)}


def active_version(ctx: Context, model: str) -> int | None:
    """The active version's number, or None."""
    ctx.require_model(model)
    current = ctx.registry.active(model)
    return current["version"] if current else None


def refuse_deleted(ctx: Context, model: str, version: int) -> None:
    """A version gc deleted cannot be loaded nor scored: say so."""
    if is_deleted(ctx, model, version):
        raise NotFoundError(f"model '{model}' version {version} was deleted by gc: choose another version")


def activate(
    ctx: Context, model: str, version: int, *, reason: str | None = None, decision: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Make `version` active; the activation log records who, when and why.

    A gc running at the same moment either sees this activation and keeps the version, or
    has decided to delete it first: then this refuses and appends nothing (see retention).
    """
    ctx.require_model(model)
    ctx.registry.version(model, version)  # must exist
    with activation_guard(ctx, model, version):
        entry = ctx.registry.activate(model, version, actor=ctx.actor, reason=reason, decision=decision)
    entry = Activation.of(entry)  # the hook sees the record the caller gets
    ctx.events.fire("after_version_activated", model=model, activation=entry)
    return entry


def rollback(ctx: Context, model: str, *, reason: str | None = None) -> dict[str, Any]:
    """Re-activate the version that was active before the current one (guarded against gc as activate is)."""
    ctx.require_model(model)
    while True:
        current = ctx.registry.active(model)
        target = ctx.registry._activations(model).get(current["back"]) if current else None
        if target is None:  # nothing to roll back to: the registry says why
            entry = ctx.registry.rollback(model, actor=ctx.actor, reason=reason)
            break
        with activation_guard(ctx, model, target["version"]):
            entry = ctx.registry.rollback(model, actor=ctx.actor, reason=reason, expect=target["version"])
        if entry is not None:
            break  # else another activation came first: the target changed, guard the new one
    entry = Activation.of(entry)  # the hook sees the record the caller gets
    ctx.events.fire("after_version_activated", model=model, activation=entry)
    return entry


def load_model(ctx: Context, model: str, version: int | None = None) -> Any:
    """The fitted model of `version` (default: the active one), its artifact hash checked; loaded once."""
    ctx.require_model(model)
    if version is None:
        version = active_version(ctx, model)
        if version is None:
            raise NotFoundError(f"model '{model}' has no active version: activate one or pass version=N")
    key = (model, version)
    if key not in ctx.models:
        refuse_deleted(ctx, model, version)
        entry, data = ctx.registry.read_artifact(model, version)
        if not entry.get("trainer"):
            raise ModelcycleError(f"model '{model}' version {version} names no trainer: it cannot be loaded")
        trainer = version_trainer(ctx, model, version, entry)
        ctx.models[key] = trainer.load(data, artifact_format(ctx, model, version, entry, trainer))
    return ctx.models[key]


def version_trainer(ctx: Context, model: str, version: int, entry: dict[str, Any]) -> Trainer:
    """The trainer plugin that wrote `version` (its metadata `entry` names it): what reads its artifacts."""
    # a trainer plugin no longer installed: the error names the version it wrote
    ctx.plugin_class("trainers", entry["trainer"], f"version {version} trainer")
    # a model no longer in the settings has no options to check: None, and its stored versions still load
    options = ctx.settings.models.get(model)
    return ctx.create("trainers", entry["trainer"], options, key=f"models.{model}", task=entry.get("task", ""))


def artifact_format(ctx: Context, model: str, version: int, entry: dict[str, Any], trainer: Trainer) -> str:
    """How to read the artifact: the trainer says (its ``artifact_format``: the settings' choice,
    else its default, the first format it declares), never the store (whose writer could turn a
    skops model into a pickle that runs code when loaded). A stored format that differs is refused."""
    expected = trainer.artifact_format
    stored = (entry.get("artifact") or {}).get("format")
    if stored != expected:
        raise IntegrityError(
            f"model '{model}' version {version}: its artifact is stored as {stored!r} but "
            f"{format_refusal(ctx, model, trainer, stored)}"
        )
    return expected


def format_refusal(ctx: Context, model: str, trainer: Trainer, stored: Any) -> str:
    """The end of the error refusing an artifact stored as `stored`: what chose the format
    `trainer` reads (the model's artifact_format, or the trainer's default), and what to do."""
    expected = trainer.artifact_format
    if getattr(trainer.options, "artifact_format", None):
        chosen = f"{ctx.settings.file.name}: models.{model}.artifact_format is '{expected}'"
    else:
        chosen = f"trainer '{trainer.name}' reads '{expected}', its default format"
    hint = "retrain"
    if "artifact_format" in getattr(type(trainer).Options, "model_fields", {}) and stored in type(trainer).formats:
        hint += f", or set artifact_format = {stored!r} if you trust whoever writes this store"
    return f"{chosen}: refusing to load it; {hint}"
