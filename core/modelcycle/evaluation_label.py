"""What an evaluation is called and which period its data covers.

A DataFrame has no dataset name, and the time an evaluation ran is not the time its
data speaks of (last month's labels evaluated today): `name` and `as_of` say both, and
the history, the alerts and the dashboard's time axis read them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ModelcycleError
from .names import check_name
from .settings import parse_as_of

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context


def checked_name(name: str | None) -> str | None:
    """`name` if it is a usable label for an evaluation (the rules of every other name), else an error."""
    return None if name is None else check_name(name, "evaluation name")


def checked_as_of(value: Any) -> str | None:
    """`value` as ISO date or time text, else an error naming it."""
    try:
        return parse_as_of(value)
    except ValueError as exc:
        raise ModelcycleError(f"as_of {exc}") from None


def labelled(
    ctx: Context, record: dict[str, Any], name: str | None, as_of: str | None, dataset: str | None
) -> dict[str, Any]:
    """The record with `name` (given, else the dataset's name) and `as_of` (given, else the
    dataset's [datasets.NAME] as_of), both None when unknown."""
    spec = ctx.settings.datasets.get(dataset) if dataset else None
    return {**record, "name": name or dataset, "as_of": as_of or (spec.as_of if spec is not None else None)}


def shown_name(record: dict[str, Any]) -> str | None:
    """The name to show for an evaluation: its own, else its dataset's, else its file's (a path
    evaluated without a name); None for an unnamed DataFrame."""
    dataset = record.get("dataset")
    if record.get("name") or not isinstance(dataset, dict):
        return record.get("name")
    return dataset.get("name") or file_name(dataset.get("url"))


def file_name(url: Any) -> str | None:
    """'october.parquet' of 's3://bucket/feedback/october.parquet?versionId=3': what a reader
    recognises of a path or URL."""
    if not isinstance(url, str) or not url.strip():
        return None
    return url.split("?", 1)[0].rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] or None


def data_text(record: dict[str, Any]) -> str | None:
    """'october (as of 2026-10-31)': what an evaluation's data was, for a table; None when unknown."""
    name = shown_name(record)
    as_of = record.get("as_of")
    if name and as_of:
        return f"{name} (as of {as_of})"
    return name or (f"as of {as_of}" if as_of else None)


def time_of(record: dict[str, Any], axis: str = "evaluated_at") -> Any:
    """Where an evaluation sits on a time axis: its `as_of` when the axis is "as_of" and it has
    one, else when it ran."""
    return (record.get("as_of") if axis == "as_of" else None) or record.get("evaluated_at")
