"""The evaluation history: its journal, appending a record (and firing after_evaluation_recorded),
and reading the latest ones. Kept apart from the evaluate recipe so that reading it (status,
checks, the dashboard) never imports pandas."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .journal import Journal
from .records import Evaluation

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context


def evaluation_journal(ctx: Context, model: str) -> Journal:
    """The append-only journal of `model`'s evaluation records."""
    return Journal(ctx.store, f"evaluations/{model}", summarize=summary)


def record_evaluation(ctx: Context, model: str, record: dict[str, Any]) -> dict[str, Any]:
    """Append an evaluation record to the model's history; fire after_evaluation_recorded."""
    redact = ctx.settings.redactor
    _, entry = evaluation_journal(ctx, model).append(lambda seq, _prev: redact({**record, "id": seq}, keys=False))
    entry = Evaluation.of(entry)  # the hook sees the record the caller gets
    ctx.events.fire("after_evaluation_recorded", model=model, evaluation=entry)
    return entry


def latest_evaluation(ctx: Context, model: str, version: int | None = None) -> dict[str, Any] | None:
    """The newest evaluation of `model`; of `version` only, when given (the active one, say)."""
    return latest_of(evaluation_journal(ctx, model), version)


def evaluation_before(
    ctx: Context, model: str, evaluation_id: int, version: int | None = None
) -> dict[str, Any] | None:
    """The evaluation recorded before `evaluation_id` (of `version` only, when given): a check's
    "previous" baseline."""
    return latest_of(evaluation_journal(ctx, model), version, before=evaluation_id)


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """What the history needs of an evaluation: a few hundred bytes instead of the whole record."""
    keep = ("id", "evaluated_at", "version", "active_version", "rows", "labeled_rows", "metrics", "estimated")
    dataset = record.get("dataset")
    return {
        **{k: record.get(k) for k in keep},
        "drift": {"share": (record.get("drift") or {}).get("share")},
        **{k: record[k] for k in ("name", "as_of") if k in record},
        **({"dataset": {k: dataset.get(k) for k in ("name", "url")}} if isinstance(dataset, dict) else {}),
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
