"""Garbage collection: delete old versions' artifacts, and what crashed writers left.

A version is never deleted if it is active or was activated in the last 5 activation-log
entries. Deletion is recorded first (a tombstone in the append-only journal
models/<m>/deleted/), then the version's objects are removed, so a crash in between
only leaves objects the next gc removes. A version's metadata stays in the history:
its number is never reused and its lineage stays readable, but it can no longer be
loaded or activated.

Orphans are artifact folders no version names (a training killed between writing its
artifact and claiming its version number), prediction-log segments of a scoring run
killed before its manifest, and temporary files of killed writers. They
are removed only once older than GRACE_SECONDS, so a training running beside gc, which
claims its version seconds after writing the artifact, is never robbed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .errors import ModelcycleError
from .journal import Journal
from .registry import now_iso

if TYPE_CHECKING:  # pragma: no cover
    from .project import Project

GRACE_SECONDS = 3600.0
PROTECTED_ACTIVATIONS = 5


def tombstones(project: Project, model: str) -> Journal:
    return Journal(project.store, f"models/{model}/deleted")


def deleted_versions(project: Project, model: str) -> set[int]:
    return {entry["version"] for entry in tombstones(project, model).all()}


def collect(
    project: Project, model: str, *, keep: int, dry_run: bool = False, now: float | None = None
) -> dict[str, Any]:
    """Delete versions beyond the newest `keep` (never protected ones) and old orphans."""
    if keep < 1:
        raise ModelcycleError(f"--keep {keep}: keep at least 1 version")
    project._require_model(model)
    store = project.store
    versions = project.registry.versions(model)
    gone = deleted_versions(project, model)
    log = project.registry.activations(model)
    protected = {entry["version"] for entry in log[-PROTECTED_ACTIVATIONS:]}
    alive = [v["version"] for v in versions if v["version"] not in gone]
    newest = set(sorted(alive)[-keep:])
    doomed = [v for v in alive if v not in newest and v not in protected]

    by_version = {v["version"]: v for v in versions}
    folders = {_folder(v["artifact"]["key"]): v["version"] for v in versions}
    moment = time.time() if now is None else now
    orphans = []
    from .prediction_log import uncommitted

    for key in store.list(f"models/{model}/artifacts") + store.leftovers(f"models/{model}") + uncommitted(store, model):
        owner = folders.get(_folder(key))
        if owner is not None and owner not in gone:
            continue
        stamp = store.modified(key)
        if owner is not None or (stamp is not None and moment - stamp > GRACE_SECONDS):
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
        tombstones(project, model).append(
            lambda seq, _prev, v=version: {
                "seq": seq,
                "version": v,
                "at": now_iso(),
                "actor": project.actor,
                "reason": f"gc --keep {keep}",
            }
        )
        entry = by_version[version]
        for described in [entry["artifact"], *(entry.get("attachments") or {}).values()]:
            store.delete(described["key"])
    for key in orphans:
        store.delete(key)
    return report


def _folder(key: str) -> str:
    return key.rsplit("/", 1)[0] if "/artifacts/" in key else key
