"""`[models.NAME.drift]` read per column: which method, which thresholds, excluded or not.

Checked when the project opens, so that a mistake is one line before any data is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context


@dataclass(frozen=True)
class ColumnDrift:
    """What one column's drift is judged by."""

    method: str = "auto"
    #: thresholds by method or auto measure name; the method's own default where absent
    thresholds: dict[str, float] = field(default_factory=dict)
    excluded: bool = False


def column_drift(settings: Any, name: str | None) -> ColumnDrift:
    """The effective drift settings of column `name` (None: the prediction or the label)."""
    if settings is None:
        return ColumnDrift()
    entry = settings.columns.get(name) if name is not None else None
    thresholds = dict(settings.threshold)
    if entry is None:
        return ColumnDrift(settings.method, thresholds)
    if isinstance(entry, str):
        return ColumnDrift(entry, thresholds)
    method = entry.method or settings.method
    if isinstance(entry.threshold, dict):
        thresholds.update(entry.threshold)
    elif entry.threshold is not None:
        thresholds[method] = float(entry.threshold)
    return ColumnDrift(method, thresholds, bool(entry.exclude))


def validate_drift_settings(ctx: Context) -> None:
    """Threshold names and values, and per-column tables, of every model's drift settings."""
    s = ctx.settings
    classes = ctx.host.classes("drift_tests")
    auto = classes["auto"].cls if "auto" in classes else None
    measures = tuple(getattr(auto, "measures", ()))
    for model, m in s.models.items():
        key = f"models.{model}.drift"
        _thresholds(s, f"{key}.threshold", m.drift.threshold, (*classes, *measures), "a drift test or auto measure")
        for column, entry in m.drift.columns.items():
            if isinstance(entry, str):
                continue
            where = f"{key}.columns.{column}"
            method = entry.method or m.drift.method
            if entry.method is not None:
                ctx.plugin_class("drift_tests", entry.method, f"{where}.method")
            if isinstance(entry.threshold, dict):
                allowed = measures if method == "auto" else (method,)
                _thresholds(s, f"{where}.threshold", entry.threshold, allowed, f"a measure of {method}")
            elif entry.threshold is not None:
                if method == "auto":
                    example = ", ".join(f"{n} = …" for n in measures[:2])
                    raise s.error(
                        f"{where}.threshold",
                        f"method auto has several measures: give a table like {{ {example} }}, or set a method",
                    )
                _value(s, f"{where}.threshold", entry.threshold)


def _thresholds(s: Any, key: str, table: dict[str, float], allowed: tuple[str, ...], what: str) -> None:
    from .names import suggest

    for name, value in table.items():
        if name not in allowed:
            hint = suggest(name, allowed)
            known = ", ".join(sorted(set(allowed)))
            raise s.error(f"{key}.{name}", f"not {what}; {hint}known: {known}")
        _value(s, f"{key}.{name}", value)


def _value(s: Any, key: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise s.error(key, f"a threshold must be a positive number (got {value})")


def smallest_detected(test: Any, kind: str, threshold: float) -> float | None:
    """The smallest shift at which `test` reaches `threshold` on exact proportions (no
    sampling noise): numeric, a mean shift in standard deviations of a normal column over
    its 99 percentile bins; categorical, proportion points moved from one to another of five
    equal categories. None when even the largest probed shift (5 sd, 20 pp) does not."""
    import numpy as np

    rows = 1e9  # exact proportions: a p-value guard plays no part
    if kind == "numeric":
        normal = NormalDist()
        edges = np.array([normal.inv_cdf(p / 100) for p in range(1, 100)])
        ref = np.diff(np.concatenate(([0.0], np.arange(1, 100) / 100, [1.0]))) * rows

        def statistic(shift: float) -> float:
            cdf = np.array([normal.cdf(e - shift) for e in edges])
            cur = np.diff(np.concatenate(([0.0], cdf, [1.0]))) * rows
            return float(test.compare(ref, cur, edges=edges.tolist(), scale=1.0)[0])

        top = 5.0
    else:
        ref = np.array([0.2] * 5 + [0.0]) * rows

        def statistic(shift: float) -> float:
            cur = np.array([0.2 - shift, 0.2 + shift, 0.2, 0.2, 0.2, 0.0]) * rows
            return float(test.compare(ref, cur)[0])

        top = 0.2
    if not statistic(top) >= threshold:
        return None
    low, high = 0.0, top
    for _ in range(50):
        middle = (low + high) / 2
        low, high = (low, middle) if statistic(middle) >= threshold else (middle, high)
    return high
