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
    keep = ("id", "evaluated_at", "version", "rows", "labeled_rows", "metrics", "estimated")
    return {**{k: record.get(k) for k in keep}, "drift": {"share": (record.get("drift") or {}).get("share")}}
