"""The compare page: two versions of a model side by side, as one self-contained HTML file.

A page of its own (`modelcycle compare MODEL A B --html FILE`), not a section of the
dashboard: it is made on demand from a VersionComparison, which predicts on a dataset,
while the dashboard only reads what the store holds. It shares the dashboard's
stylesheet, its Content-Security-Policy (no script, no request anywhere) and its charts.
Version A is drawn solid blue, version B dashed purple, on every chart.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ..compare_output import text_of
from ..errors import ModelcycleError
from . import charts
from .build import HERE, _environment, content_security_policy, write_page
from .charts import Frame, el, fmt, short, svg, title

if TYPE_CHECKING:  # pragma: no cover
    from ..compare import VersionComparison

TOP_FEATURES = 15
STYLE = {"a": "s0", "b": "s1 dashed"}


def render_compare(result: VersionComparison, *, project: str = "", redact: Any = None) -> str:
    """The page as one HTML string (passed through `redact`, when given, as the dashboard is)."""
    env = _environment()
    css = (HERE / "static" / "dashboard.css").read_text(encoding="utf-8")
    page = env.get_template("compare.html.j2").render(
        r=result,
        project=project,
        names={"a": f"version {result.a}", "b": f"version {result.b}"},
        difference_chart=difference_chart(result),
        overlays=overlays(result),
        importances=importance_chart(result),
        lineage=[(d["key"], text_of(d["a"]), text_of(d["b"])) for d in result.differences],
        css=Markup(css),
        csp=content_security_policy(css),
    )
    return redact(page) if redact is not None else page


def write_compare(html: str, out_path: str | os.PathLike[str]) -> Path:
    """Write the page atomically (beside the target, then renamed); its path."""
    path = Path(out_path).expanduser().absolute()
    if path.is_dir():
        raise ModelcycleError(f"{path} is a folder: give the compare page a file name such as compare.html")
    return write_page(html, path, "the compare page")


def difference_chart(result: VersionComparison) -> Markup:
    """Each metric's B − A as a dot with its interval, on its own scale (metrics differ in range),
    drawn so that right always means B is better; the value is written beside each row."""
    rows = [m for m in result.metrics if m.difference is not None]
    row_h, left, right, width = 26.0, 120.0, 110.0, 560.0
    frame = Frame(width=width, height=max(len(rows), 1) * row_h + 34, left=left, right=right, top=6, bottom=28)
    zero = left + frame.inner_width / 2
    half = frame.inner_width / 2 - 6
    parts: list[Markup] = [
        el("line", {"class": "ref", "x1": zero, "x2": zero, "y1": frame.top, "y2": frame.top + len(rows) * row_h})
    ]
    for i, m in enumerate(rows):
        sign = 1.0 if m.greater_is_better else -1.0
        y = frame.top + (i + 0.5) * row_h
        scale = max((abs(v) for v in (m.difference, m.low, m.high) if v is not None), default=1.0) or 1.0

        def x(value: float, scale: float = scale, sign: float = sign) -> float:
            return zero + sign * value / scale * half

        parts.append(el("line", {"class": "gridline", "x1": left, "x2": width - right, "y1": y, "y2": y}))
        parts.append(
            el("text", {"class": "tick", "x": left - 8, "y": y + 4, "text-anchor": "end"}, short(m.metric, 18))
        )
        text = f"{m.metric}: B − A = {fmt(m.difference)}"
        if m.low is not None and m.high is not None:
            text += f", {result.level:.0%} interval [{fmt(m.low)}, {fmt(m.high)}]"
            parts.append(el("line", {"class": "line s1", "x1": x(m.low), "x2": x(m.high), "y1": y, "y2": y}))
        css = "dot " + {"b": "st-ok", "a": "st-error"}.get(m.better or "", "st-empty")
        parts.append(el("circle", {"class": css, "cx": x(m.difference), "cy": y, "r": 4.5}, title(text)))
        parts.append(el("text", {"class": "tick", "x": width - right + 8, "y": y + 4}, f"{fmt(m.difference)}"))
    bottom = frame.top + len(rows) * row_h + 18
    parts.append(el("text", {"class": "axis-name", "x": zero - 8, "y": bottom, "text-anchor": "end"}, "← A better"))
    parts.append(el("text", {"class": "axis-name", "x": zero + 8, "y": bottom}, "B better →"))
    return svg(frame, f"differences between versions {result.a} and {result.b}", *parts)


def overlays(result: VersionComparison) -> list[dict[str, Any]]:
    """Charts with both versions drawn over each other, measured on the compared rows."""
    a, b = result.curves.get(str(result.a)) or {}, result.curves.get(str(result.b)) or {}
    pair = (("a", result.a, a), ("b", result.b, b))
    out = []
    if result.task == "binary":
        lines = [(f"version {v}", c["roc"]["fpr"], c["roc"]["tpr"], STYLE[k]) for k, v, c in pair if c.get("roc")]
        if lines:
            chart = charts.xy_chart("ROC curves", "false-positive rate", "true-positive rate", lines, diagonal=True)
            out.append(_figure("ROC", "true- against false-positive rate; the diagonal is chance", chart))
        lines = [(f"version {v}", c["pr"]["recall"], c["pr"]["precision"], STYLE[k]) for k, v, c in pair if c.get("pr")]
        if lines:
            chart = charts.xy_chart("precision-recall curves", "recall", "precision", lines)
            out.append(_figure("Precision-recall", "precision against recall", chart))
        lines = [
            (
                f"version {v}",
                [p["mean_predicted"] for p in c["calibration"]],
                [p["fraction_positive"] for p in c["calibration"]],
                STYLE[k],
            )
            for k, v, c in pair
            if c.get("calibration")
        ]
        if lines:
            chart = charts.xy_chart(
                "calibration", "mean predicted probability", "fraction positive", lines, diagonal=True
            )
            out.append(_figure("Calibration", "share of positives per score tenth; the diagonal is perfect", chart))
    elif result.task == "multiclass":
        for _, v, c in pair:
            if c.get("confusion"):
                chart = charts.confusion_chart(f"confusion matrix of version {v}", c["labels"], c["confusion"])
                out.append(_figure(f"Confusion matrix, version {v}", "shade: share of the actual class", chart))
    else:
        lines = [
            (
                f"version {v}",
                [g["predicted"] for g in c.get("residual_by_prediction") or []],
                [g["residual_mean"] for g in c.get("residual_by_prediction") or []],
                STYLE[k],
            )
            for k, v, c in pair
        ]
        lines = [line for line in lines if line[1]]
        if lines:
            chart = charts.xy_chart("residuals", "predicted", "mean residual", lines, domain=None, zero_line=True)
            out.append(_figure("Residuals by predicted value", "mean of actual − predicted per group", chart))
    return out


def importance_chart(result: VersionComparison) -> Markup | None:
    """Both versions' feature importances (as trained), two bars per column, the columns of A's ranking first."""
    a = result.importances.get(str(result.a)) or {}
    b = result.importances.get(str(result.b)) or {}
    if not a and not b:
        return None
    ranked = sorted(set(a) | set(b), key=lambda k: -(_value(a.get(k)) + _value(b.get(k))))[:TOP_FEATURES]
    bar, gap, left, right, width = 9.0, 8.0, 170.0, 60.0, 560.0
    top = max((_value(v) for v in [*a.values(), *b.values()]), default=1.0) or 1.0
    frame = Frame(width=width, height=len(ranked) * (2 * bar + gap) + 8)
    parts: list[Markup] = []
    for i, name in enumerate(ranked):
        y = 4 + i * (2 * bar + gap)
        parts.append(
            el(
                "text",
                {"class": "tick", "x": left - 6, "y": y + bar + 4, "text-anchor": "end"},
                title(name),
                short(name, 26),
            )
        )
        for j, (key, values) in enumerate((("a", a), ("b", b))):
            value = _value(values.get(name))
            length = value / top * (width - left - right)
            version = result.a if key == "a" else result.b
            text = f"{name}, version {version}: {value:.1%} of the importance"
            box = {
                "class": f"dot {'s0' if key == 'a' else 's1'}",
                "x": left,
                "y": y + j * bar,
                "width": max(length, 0.5),
                "height": bar - 1,
            }
            parts.append(el("rect", box, title(text)))
            parts.append(
                el("text", {"class": "tick", "x": left + length + 4, "y": y + j * bar + bar - 1}, f"{value:.0%}")
            )
    return svg(frame, f"feature importances of versions {result.a} and {result.b}", *parts)


def _figure(name: str, note: str, chart: Markup) -> dict[str, Any]:
    return {"title": name, "note": note, "svg": chart}


def _value(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else 0.0
