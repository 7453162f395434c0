"""The evaluation history's journal: kept apart from the recipe so that reading it (status,
checks, the dashboard) never imports pandas."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .journal import Journal

if TYPE_CHECKING:  # pragma: no cover
    from .project import Project


def journal(project: Project, model: str) -> Journal:
    return Journal(project.store, f"evaluations/{model}", summarize=summary)


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """What the history needs of an evaluation: a few hundred bytes instead of the whole record."""
    keep = ("id", "evaluated_at", "version", "active_version", "rows", "labeled_rows", "metrics", "estimated")
    return {
        **{k: record.get(k) for k in keep},
        "drift": {"share": (record.get("drift") or {}).get("share")},
        **{k: record[k] for k in ("name", "as_of") if k in record},
        **({"dataset": {"name": record["dataset"].get("name")}} if isinstance(record.get("dataset"), dict) else {}),
    }


WALK = 16  # entries read one by one before looking the version up in the segment summaries


def latest_of(history: Journal, version: int | None, before: int | None = None) -> dict[str, Any] | None:
    """The newest evaluation of `version` (of any version when None), recorded before evaluation
    `before` when given. A few reads when it is recent; one read per 64 entries when a long run of
    other versions' evaluations (challengers) came after it."""
    last, entry = history.last()
    seq = last if before is None else min(before - 1, last)
    if seq != last:
        entry = None
    for _ in range(WALK):
        if seq < 1:
            return None
        entry = entry if entry is not None else history.get(seq)
        if entry is not None and (version is None or entry.get("version") == version):
            return entry
        seq, entry = seq - 1, None
    if seq < 1:
        return None
    for found in reversed(history.summaries()):
        if isinstance(found.get("id"), int) and found["id"] <= seq and version in (None, found.get("version")):
            return history.get(found["id"])
    return None
