"""Garbage collection: delete old versions' artifacts, and what crashed writers left.

A version is never deleted if it is active or was activated in the last 5 activation-log
entries. Deletion is recorded first (a tombstone in the append-only journal
models/<m>/deleted/), then the version's objects are removed, so a crash in between
only leaves objects the next gc removes.

gc racing `activate` (or `rollback`): each side writes before it reads what the other
wrote. An activation first writes an intent (models/<m>/activating/<token>.json, put-if-absent),
then reads the tombstones; gc first appends its tombstone, then reads the tombstones, then
the intents and the activation log. So at least one of the two sees the other. gc decides
only the tombstones it read before the intents (its own, and undecided ones of a killed
gc): one another gc appends after that read may belong to an activation the read missed,
and is left to the gc that wrote it (or to the next gc). The tombstone is then
settled by one put-if-absent decision, models/<m>/deletions/<tombstone seq>.json:
"keep" (written by gc when the version turned out protected, or by the activation that
saw the tombstone first) or "delete" (written by gc; the activation then refuses, having
appended nothing). Only a "delete" decision's writer removes objects. A tombstone with
no decision yet (its gc is running, or was killed) counts as deleted for readers until
an activation keeps it or a gc settles it. An intent older than GRACE_SECONDS, by the store's
own time stamps (against models/<m>/clock.json, written just then), is from a killed
activation and is ignored (and removed) by gc. A version's metadata stays in the history:
its number is never reused and its lineage stays readable, but it can no longer be
loaded or activated.

Orphans are artifact folders no version names (a training killed between writing its
artifact and claiming its version number), prediction-log segments of a scoring run
killed before its manifest, and temporary files of killed writers. They
are removed only once older than GRACE_SECONDS, so a training running beside gc, which
claims its version seconds after writing the artifact, is never robbed. A scoring run's
segments are judged together, by the newest: a run lasting hours keeps its first
segments while it still writes one at least every GRACE_SECONDS (a run idle longer than
that loses them, and its commit then fails with a clear error instead of naming them).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .context import context_of
from .errors import IntegrityError, ModelcycleError, NotFoundError
from .journal import Journal
from .registry import now_iso

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context, ContextSource

GRACE_SECONDS = 3600.0
PROTECTED_ACTIVATIONS = 5


def tombstones(ctx: ContextSource, model: str) -> Journal:
    ctx = context_of(ctx)
    return Journal(ctx.store, f"models/{model}/deleted")


def _decision_key(model: str, seq: int) -> str:
    return f"models/{model}/deletions/{seq:08d}.json"


def _decision(ctx: Context, model: str, seq: int) -> str | None:
    found = ctx.store.get_json(_decision_key(model, seq))
    return found.get("decision") if isinstance(found, dict) else None


def _decide(ctx: Context, model: str, seq: int, decision: str) -> str:
    """Settle tombstone `seq` once: the first decision written stands; returns the one that stands."""
    if ctx.store.put_json_if_absent(_decision_key(model, seq), {"decision": decision, "at": now_iso()}):
        return decision
    return _decision(ctx, model, seq) or decision


def _tombstone_states(ctx: Context, model: str, only: int | None = None) -> list[tuple[int, int, str | None]]:
    """(tombstone seq, version, decision or None) for every tombstone (of version `only`, if given)."""
    return [
        (entry["seq"], entry["version"], _decision(ctx, model, entry["seq"]))
        for entry in tombstones(ctx, model).all()
        if only is None or entry["version"] == only
    ]


def deleted_versions(ctx: ContextSource, model: str) -> set[int]:
    """Versions with a tombstone that no activation kept (an undecided one counts as deleted)."""
    ctx = context_of(ctx)
    return {version for _seq, version, decision in _tombstone_states(ctx, model) if decision != "keep"}


def is_deleted(ctx: ContextSource, model: str, version: int) -> bool:
    ctx = context_of(ctx)
    return any(decision != "keep" for _seq, _v, decision in _tombstone_states(ctx, model, only=version))


def _nothing(point: str) -> None:
    return None


#: called between an operation's steps ("gc:tombstoned", "gc:spared", "activate:intent",
#: "activate:checked"); tests set it to force an interleaving
between: Callable[[str], None] = _nothing


@contextmanager
def activation_guard(ctx: Context, model: str, version: int) -> Iterator[None]:
    """Hold an intent to activate `version` while the activation is appended; refuse if gc deleted it.

    Undecided tombstones of the version are settled as "keep"; a "delete" decision refuses.
    """
    key = f"models/{model}/activating/{uuid.uuid4().hex}.json"
    ctx.store.put_json_if_absent(key, {"version": version, "at": now_iso(), "actor": ctx.actor})
    try:
        between("activate:intent")
        for seq, _version, decision in _tombstone_states(ctx, model, only=version):
            if (decision or _decide(ctx, model, seq, "keep")) == "delete":
                raise NotFoundError(f"model '{model}' version {version} was deleted by gc: choose another version")
        between("activate:checked")
        yield
    finally:
        ctx.store.delete(key)


def _store_now(ctx: Context, model: str) -> float | None:
    """The store's own time: the time stamp of an object written now (None without time stamps), so
    no host's clock is compared with the store's."""
    key = f"models/{model}/clock.json"
    ctx.store.write_json(key, {"by": ctx.actor, "at": now_iso()})
    return ctx.store.modified(key)


def _intended(ctx: Context, model: str) -> set[int]:
    """Versions an activation in progress is about to activate; stale intents (by the store's clock)
    are removed."""
    versions = set()
    keys = ctx.store.list(f"models/{model}/activating")
    moment = _store_now(ctx, model) if keys else None
    for key in keys:
        intent = ctx.store.get_json(key)
        stamp = ctx.store.modified(key)
        if stamp is not None and moment is not None and moment - stamp > GRACE_SECONDS:
            ctx.store.delete(key)
        elif isinstance(intent, dict):
            versions.add(intent.get("version"))
    return versions


def _confined(model: str, version: int, key: Any) -> str:
    """A key a version names, refused unless it lies in the model's artifact folder."""
    prefix = f"models/{model}/artifacts/"
    parts = key.split("/") if isinstance(key, str) else []
    if not isinstance(key, str) or not key.startswith(prefix) or any(p in ("", ".", "..") for p in parts):
        raise IntegrityError(
            f"model '{model}' version {version} names the object {key!r}, outside the model's artifact folder "
            f"({prefix}…): its metadata was altered, so gc refuses to delete anything; restore the version entry"
        )
    return key


def collect(
    ctx: ContextSource, model: str, *, keep: int, dry_run: bool = False, now: float | None = None
) -> dict[str, Any]:
    """Delete versions beyond the newest `keep` (never protected ones) and old orphans."""
    ctx = context_of(ctx)
    if keep < 1:
        raise ModelcycleError(f"--keep {keep}: keep at least 1 version")
    ctx.require_model(model)
    store = ctx.store
    versions = ctx.registry.versions(model)
    states = _tombstone_states(ctx, model)
    gone = {version for _seq, version, decision in states if decision != "keep"}
    settled = {version for _seq, version, decision in states if decision == "delete"}
    log = ctx.registry.activations(model)
    protected = {entry["version"] for entry in log[-PROTECTED_ACTIVATIONS:]}
    alive = [v["version"] for v in versions if v["version"] not in gone]
    newest = set(sorted(alive)[-keep:])
    doomed = [v for v in alive if v not in newest and v not in protected]

    owned = {v["version"]: [_confined(model, v["version"], d.get("key")) for d in _described(v)] for v in versions}
    folders = {_folder(keys[0]): version for version, keys in owned.items()}
    moment = time.time() if now is None else now
    orphans = []
    from .prediction_log import uncommitted

    pending = uncommitted(store, model)
    runs = _newest(store, pending)  # a scoring run is as old as its newest segment: it may last hours
    for key in store.list(f"models/{model}/artifacts") + store.leftovers(f"models/{model}") + pending:
        owner = folders.get(_folder(key))
        stamp = runs[_run(key)] if _run(key) in runs else store.modified(key)
        if owner in settled:  # a gc killed before it removed them
            orphans.append(key)
        elif owner is None and stamp is not None and moment - stamp > GRACE_SECONDS:
            orphans.append(key)
    report = {
        "model": model,
        "keep": keep,
        "dry_run": dry_run,
        "deleted_versions": doomed,
        "protected_versions": sorted(protected & set(alive)),
        "orphans": orphans,
    }
    if dry_run:
        return report
    for version in doomed:
        tombstones(ctx, model).append(
            lambda seq, _prev, v=version: {
                "seq": seq,
                "version": v,
                "at": now_iso(),
                "actor": ctx.actor,
                "reason": f"gc --keep {keep}",
            }
        )
    between("gc:tombstoned")
    # the tombstones first, then what activations wrote meanwhile (their intents, the log's latest
    # entries): every tombstone decided below is older than that read, so an activation this read
    # missed saw its tombstone; one appended later (by another gc) is left to its own gc
    pending = _tombstone_states(ctx, model)
    spared = _intended(ctx, model) | {
        entry["version"] for entry in ctx.registry.activations(model)[-PROTECTED_ACTIVATIONS:]
    }
    between("gc:spared")
    kept = []
    for seq, version, decision in pending:
        if decision is None:
            decision = _decide(ctx, model, seq, "keep" if version in spared else "delete")
            if decision == "delete":
                for key in owned.get(version, []):
                    store.delete(key)
        if decision == "keep" and version in doomed:
            kept.append(version)
    report["deleted_versions"] = [v for v in doomed if v not in kept]
    report["protected_versions"] = sorted(set(report["protected_versions"]) | set(kept))
    for key in orphans:
        store.delete(key)
    return report


def _run(key: str) -> str:
    return key.rsplit("/", 1)[0]


def _newest(store: Any, keys: list[str]) -> dict[str, float | None]:
    """The newest time stamp of each folder holding `keys` (None when one is unknown)."""
    newest: dict[str, float | None] = {}
    for key in keys:
        stamp, run = store.modified(key), _run(key)
        if run not in newest:
            newest[run] = stamp
        elif stamp is None or newest[run] is None:
            newest[run] = None
        else:
            newest[run] = max(newest[run], stamp)
    return newest


def _described(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["artifact"], *(entry.get("attachments") or {}).values()]


def _folder(key: str) -> str:
    return key.rsplit("/", 1)[0] if "/artifacts/" in key else key
