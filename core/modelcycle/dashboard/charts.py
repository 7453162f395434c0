"""Charts as inline SVG, drawn on the server: no JavaScript, no library, no other host.

Every element goes through :func:`el`, which escapes every attribute value and every
text child with markupsafe (the same escaping Jinja's autoescape applies), so a model,
column, label or check message shows as text wherever it lands, SVG ``<text>`` and
``<title>`` included. Tag and attribute names are constants of this module, never data.

Hover values are SVG ``<title>`` elements (the browser shows them as tooltips): a line
chart has one invisible column per point whose title lists every series' value there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

# -- the one place markup is made --------------------------------------------------------


def num(value: float) -> str:
    """A coordinate, short: one decimal, no trailing zero."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def el(tag: str, attrs: dict[str, Any] | None = None, *children: Any) -> Markup:
    """`<tag attrs>children</tag>`, every value and text child escaped."""
    parts = ["<", tag]
    for key, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        if isinstance(value, float):
            value = num(value)
        parts.append(f' {key}="{escape(value)}"')
    kept = [c for c in children if c is not None]
    if not kept:
        return Markup("".join(parts) + "/>")
    return Markup("".join(parts) + ">" + "".join(str(escape(c)) for c in kept) + f"</{tag}>")


def title(text: str) -> Markup:
    return el("title", None, text)


def fmt(value: Any, digits: int = 4) -> str:
    """A number for people: 4 significant digits; text as it is; None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        return f"{value:.{digits}g}"
    return str(value)


def short(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def timestamp(value: Any) -> float | None:
    """Seconds since the epoch of an ISO time (or of seconds already), or None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def when(value: Any) -> str:
    """An ISO time as 'YYYY-MM-DD HH:MM:SS UTC'."""
    seconds = timestamp(value)
    if seconds is None:
        return str(value) if value else "–"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def downsample(items: Sequence[Any], limit: int) -> list[Any]:
    """At most `limit` items, evenly spaced, always the first and the last."""
    n = len(items)
    if n <= limit:
        return list(items)
    if limit <= 1:
        return [items[-1]]
    step = (n - 1) / (limit - 1)
    return [items[round(i * step)] for i in range(limit)]


# -- scales ------------------------------------------------------------------------------


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = start
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def padded(values: Iterable[float], pad: float = 0.06) -> tuple[float, float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    if hi == lo:
        spread = abs(lo) * 0.05 or 0.05
        return lo - spread, hi + spread
    margin = (hi - lo) * pad
    return lo - margin, hi + margin


def time_label(seconds: float, span: float) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    if span < 600:
        return moment.strftime("%H:%M:%S")
    if span < 2 * 86400:
        return moment.strftime("%m-%d %H:%M")
    if span < 400 * 86400:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m")


@dataclass
class Frame:
    """A plot area inside an SVG canvas, with linear scales."""

    width: float = 560
    height: float = 220
    left: float = 52
    right: float = 14
    top: float = 12
    bottom: float = 30
    x0: float = 0.0
    x1: float = 1.0
    y0: float = 0.0
    y1: float = 1.0

    @property
    def inner_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def inner_height(self) -> float:
        return self.height - self.top - self.bottom

    def x(self, value: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (value - self.x0) / span * self.inner_width

    def y(self, value: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return self.top + (1 - (value - self.y0) / span) * self.inner_height

    def clamp_y(self, value: float) -> float:
        return min(max(value, self.y0), self.y1)


def svg(frame: Frame, label: str, *children: Any, css: str = "chart") -> Markup:
    return el(
        "svg",
        {
            "class": css,
            "viewBox": f"0 0 {num(frame.width)} {num(frame.height)}",
            "width": frame.width,
            "height": frame.height,
            "role": "img",
            "aria-label": label,
            "xmlns": "http://www.w3.org/2000/svg",
        },
        title(label),
        *children,
    )


def axes(frame: Frame, *, x_time: bool, x_ticks: list[float] | None = None, y_percent: bool = False) -> Markup:
    """Grid lines, tick labels and the plot border."""
    parts: list[Markup] = []
    y_ticks = nice_ticks(frame.y0, frame.y1)
    y_labels = percent_labels(y_ticks) if y_percent else number_labels(y_ticks)
    right = frame.width - frame.right
    for value, text in zip(y_ticks, y_labels, strict=True):
        y = frame.y(value)
        parts.append(el("line", {"class": "gridline", "x1": frame.left, "x2": right, "y1": y, "y2": y}))
        parts.append(el("text", {"class": "tick", "x": frame.left - 6, "y": y + 4, "text-anchor": "end"}, text))
    if x_time:
        span = frame.x1 - frame.x0
        count = 5 if frame.inner_width > 400 else 3
        ticks = [frame.x0 + span * i / (count - 1) for i in range(count)]
        labels = [time_label(t, span) for t in ticks]
    else:
        ticks = x_ticks if x_ticks is not None else nice_ticks(frame.x0, frame.x1)
        labels = number_labels(ticks)
    baseline = frame.top + frame.inner_height
    shown = None
    for i, (value, text) in enumerate(zip(ticks, labels, strict=True)):
        x = frame.x(value)
        anchor = "start" if x_time and i == 0 else "end" if x_time and i == len(ticks) - 1 else "middle"
        parts.append(el("line", {"class": "gridline", "x1": x, "x2": x, "y1": frame.top, "y2": baseline}))
        if text != shown:  # a short span repeats labels: show each once
            parts.append(el("text", {"class": "tick", "x": x, "y": baseline + 15, "text-anchor": anchor}, text))
            shown = text
    parts.append(
        el(
            "rect",
            {
                "class": "plot",
                "x": frame.left,
                "y": frame.top,
                "width": frame.inner_width,
                "height": frame.inner_height,
            },
        )
    )
    return Markup("").join(parts)


# -- line charts over time ---------------------------------------------------------------


@dataclass
class Series:
    name: str
    points: list[tuple[float, float | None]]  # (x, y); None breaks the line
    css: str = "s0"
    dashed: bool = False
    dots: bool = False  # a dot at every point (a challenger's few evaluations), however many
    texts: list[str] | None = None  # with dots: each dot's tooltip


@dataclass
class Event:
    """A moment drawn across a time chart: the active version changed (an activation or a rollback)."""

    x: float
    label: str  # short, above the line: "v2"
    text: str  # the tooltip
    kind: str = "activate"


@dataclass
class Band:
    """A zone of values judged WARNING or ERROR by a check's threshold."""

    lo: float | None  # None: unbounded below
    hi: float | None  # None: unbounded above
    outcome: str  # WARNING or ERROR
    label: str


@dataclass
class Marker:
    x: float
    y: float
    outcome: str
    text: str


@dataclass
class LineChart:
    label: str
    series: list[Series]
    bands: list[Band] = field(default_factory=list)
    thresholds: list[tuple[float, str]] = field(default_factory=list)  # (value, label) drawn as dashed lines
    markers: list[Marker] = field(default_factory=list)
    hover: list[tuple[float, str]] = field(default_factory=list)  # (x, tooltip) one column per point
    events: list[Event] = field(default_factory=list)  # version changes, drawn when inside the x range
    x_time: bool = True
    y_domain: tuple[float, float] | None = None
    x_domain: tuple[float, float] | None = None
    width: float = 560
    height: float = 220


def _path(frame: Frame, points: list[tuple[float, float | None]]) -> str:
    commands: list[str] = []
    pen_up = True
    for x, y in points:
        if y is None or not math.isfinite(y):
            pen_up = True
            continue
        commands.append(f"{'M' if pen_up else 'L'}{num(frame.x(x))} {num(frame.y(y))}")
        pen_up = False
    return "".join(commands)


def _near(values: list[float], lo: float, hi: float) -> list[float]:
    """Threshold values close enough to the data to be worth stretching the axis for."""
    span = (hi - lo) or max(abs(hi), 1e-9)
    return [v for v in values if lo - 1.5 * span <= v <= hi + 1.5 * span]


def line_chart(chart: LineChart) -> Markup:
    ys = [y for s in chart.series for _, y in s.points if y is not None and math.isfinite(y)]
    ys += [m.y for m in chart.markers if math.isfinite(m.y)]
    xs = [x for s in chart.series for x, _ in s.points] + [m.x for m in chart.markers]
    frame = Frame(width=chart.width, height=chart.height)
    if chart.y_domain is not None:
        frame.y0, frame.y1 = chart.y_domain
    else:
        lo, hi = padded(ys)
        limits = [v for band in chart.bands for v in (band.lo, band.hi) if v is not None]
        limits += [v for v, _ in chart.thresholds]
        frame.y0, frame.y1 = padded([lo, hi, *_near(limits, lo, hi)], pad=0.0)
    if chart.x_domain is not None:
        frame.x0, frame.x1 = chart.x_domain
    elif xs:
        frame.x0, frame.x1 = min(xs), max(xs)
        if frame.x1 == frame.x0:
            frame.x0, frame.x1 = frame.x0 - 1800, frame.x1 + 1800
    else:
        frame.x0, frame.x1 = 0.0, 1.0
    parts: list[Markup] = []
    for band in chart.bands:
        lo = frame.clamp_y(band.lo if band.lo is not None else frame.y0)
        hi = frame.clamp_y(band.hi if band.hi is not None else frame.y1)
        if hi <= lo:
            continue
        parts.append(
            el(
                "rect",
                {
                    "class": f"band band-{band.outcome.lower()}",
                    "x": frame.left,
                    "y": frame.y(hi),
                    "width": frame.inner_width,
                    "height": frame.y(lo) - frame.y(hi),
                },
                title(band.label),
            )
        )
    parts.append(axes(frame, x_time=chart.x_time))
    for value, text in chart.thresholds:
        if frame.y0 <= value <= frame.y1:
            y = frame.y(value)
            parts.append(
                el(
                    "line",
                    {"class": "limit", "x1": frame.left, "x2": frame.width - frame.right, "y1": y, "y2": y},
                    title(text),
                )
            )
    for series in chart.series:
        d = _path(frame, series.points)
        if d:
            css = f"line {series.css}" + (" dashed" if series.dashed else "")
            parts.append(el("path", {"class": css, "d": d}, title(series.name)))
        present = [(x, y) for x, y in series.points if y is not None and math.isfinite(y)]
        if series.dots:
            continue  # drawn last, above the hover columns, so that each keeps its tooltip
        if 0 < len(present) <= 40:
            for x, y in present:
                parts.append(el("circle", {"class": f"dot {series.css}", "cx": frame.x(x), "cy": frame.y(y), "r": 2.5}))
    if chart.hover:
        xs_sorted = [frame.x(x) for x, _ in chart.hover]
        bottom = frame.top + frame.inner_height
        for i, (_, text) in enumerate(chart.hover):
            left = frame.left if i == 0 else (xs_sorted[i - 1] + xs_sorted[i]) / 2
            right = frame.width - frame.right if i == len(xs_sorted) - 1 else (xs_sorted[i] + xs_sorted[i + 1]) / 2
            if len(xs_sorted) == 1:
                left, right = frame.left, frame.width - frame.right
            parts.append(_hit(frame, left, right, bottom, text))
    parts.append(_events(frame, chart.events))
    for series in chart.series:
        if not series.dots:
            continue
        texts = series.texts or [series.name] * len(series.points)
        for (x, y), text in zip(series.points, texts, strict=False):
            if y is None or not math.isfinite(y):
                continue
            dot = {"class": f"dot {series.css}", "cx": frame.x(x), "cy": frame.y(frame.clamp_y(y)), "r": 3.5}
            parts.append(el("circle", dot, title(text)))
    for marker in chart.markers:
        parts.append(
            el(
                "circle",
                {
                    "class": f"mark st-{marker.outcome.lower()}",
                    "cx": frame.x(marker.x),
                    "cy": frame.y(frame.clamp_y(marker.y)),
                    "r": 4,
                },
                title(marker.text),
            )
        )
    return svg(frame, chart.label, *parts)


def _events(frame: Frame, events: list[Event]) -> Markup:
    """A vertical line per version change inside the chart's time range, labelled at the top."""
    parts: list[Markup] = []
    bottom = frame.top + frame.inner_height
    last, row = -math.inf, 0
    for event in sorted(events, key=lambda e: e.x):
        if not frame.x0 <= event.x <= frame.x1:
            continue
        x = frame.x(event.x)
        row = (row + 1) % 3 if x - last < 22 else 0  # labels of close changes step down, not on top of each other
        last = x
        parts.append(
            el(
                "g",
                {"class": f"event ev-{event.kind}"},
                title(event.text),
                el("line", {"x1": x, "x2": x, "y1": frame.top, "y2": bottom}),
                el("text", {"x": x + 2, "y": frame.top + 9 + 10 * row}, event.label),
            )
        )
    return Markup("").join(parts)


def sparkline(values: list[float | None], label: str, width: float = 132, height: float = 34) -> Markup:
    """A tiny line of the latest values, for the overview."""
    frame = Frame(width=width, height=height, left=2, right=2, top=3, bottom=3)
    points = [(float(i), v) for i, v in enumerate(values)]
    frame.x0, frame.x1 = 0.0, float(max(len(values) - 1, 1))
    frame.y0, frame.y1 = padded([v for v in values if v is not None], pad=0.1)
    d = _path(frame, points)
    parts = [el("path", {"class": "line s0", "d": d})] if d else []
    present = [(x, y) for x, y in points if y is not None]
    if present:
        x, y = present[-1]
        parts.append(el("circle", {"class": "dot s0", "cx": frame.x(x), "cy": frame.y(y), "r": 2.5}))
    return svg(frame, label, *parts, css="spark")


# -- charts of a version's insights --------------------------------------------------------


def xy_chart(
    label: str,
    x_name: str,
    y_name: str,
    lines: list[tuple[str, list[float], list[float], str]],
    *,
    domain: tuple[float, float, float, float] | None = (0.0, 1.0, 0.0, 1.0),
    diagonal: bool = False,
    scatter: list[tuple[float, float, float, str]] | None = None,
    ribbon: tuple[list[float], list[float], list[float]] | None = None,
    zero_line: bool = False,
    width: float = 300,
    height: float = 260,
) -> Markup:
    """Lines and points on numeric axes (ROC, precision-recall, calibration, residuals…).

    `lines`: (name, xs, ys, css); `scatter`: (x, y, radius, tooltip); `ribbon`: (xs, lows, highs).
    """
    frame = Frame(width=width, height=height, left=50, bottom=44, top=10, right=12)
    if domain is None:
        xs = [x for _, lx, _, _ in lines for x in lx] + [p[0] for p in scatter or []]
        ys = [y for _, _, ly, _ in lines for y in ly] + [p[1] for p in scatter or []]
        if ribbon is not None:
            ys += ribbon[1] + ribbon[2]
        if diagonal:
            both = padded(xs + ys)
            domain = (*both, *both)
        else:
            domain = (*padded(xs), *padded(ys))
    frame.x0, frame.x1, frame.y0, frame.y1 = domain
    parts = [axes(frame, x_time=False)]
    if ribbon is not None and ribbon[0]:
        xs, lows, highs = ribbon
        outline = [(frame.x(x), frame.y(frame.clamp_y(h))) for x, h in zip(xs, highs, strict=True)]
        outline += [(frame.x(x), frame.y(frame.clamp_y(lo))) for x, lo in reversed(list(zip(xs, lows, strict=True)))]
        parts.append(el("polygon", {"class": "ribbon", "points": " ".join(f"{num(a)},{num(b)}" for a, b in outline)}))
    if diagonal:
        lo, hi = max(frame.x0, frame.y0), min(frame.x1, frame.y1)
        parts.append(
            el("line", {"class": "ref", "x1": frame.x(lo), "y1": frame.y(lo), "x2": frame.x(hi), "y2": frame.y(hi)})
        )
    if zero_line and frame.y0 < 0 < frame.y1:
        y = frame.y(0)
        parts.append(el("line", {"class": "ref", "x1": frame.left, "x2": frame.width - frame.right, "y1": y, "y2": y}))
    for name, xs, ys, css in lines:
        d = _path(frame, list(zip(xs, ys, strict=True)))
        if d:
            parts.append(el("path", {"class": f"line {css}", "d": d}, title(name)))
    for x, y, radius, text in scatter or []:
        point = {"class": "pt", "cx": frame.x(x), "cy": frame.y(frame.clamp_y(y)), "r": radius}
        parts.append(el("circle", point, title(text)))
    parts.append(axis_names(frame, x_name, y_name))
    return svg(frame, label, *parts)


def confusion_chart(label: str, labels: list[str], matrix: list[list[int]], *, cell: float = 56) -> Markup:
    """A heat map: rows are the actual class, columns the predicted one; shade by share of the row."""
    n = len(labels)
    cell = min(cell, max(22.0, 420 / max(n, 1)))
    left, top = 110.0, 44.0
    width, height = left + n * cell + 10, top + n * cell + 10
    frame = Frame(width=width, height=height)
    parts: list[Markup] = [
        el("text", {"class": "axis-name", "x": left + n * cell / 2, "y": 12, "text-anchor": "middle"}, "predicted"),
        el("text", {"class": "axis-name", "x": 4, "y": top - 8}, "actual"),
    ]
    for j, name in enumerate(labels):
        parts.append(
            el(
                "text",
                {"class": "tick", "x": left + (j + 0.5) * cell, "y": top - 8, "text-anchor": "middle"},
                title(name),
                short(name, max(3, int(cell / 7))),
            )
        )
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        parts.append(
            el(
                "text",
                {"class": "tick", "x": left - 6, "y": top + (i + 0.5) * cell + 4, "text-anchor": "end"},
                title(labels[i]),
                short(labels[i], 14),
            )
        )
        for j, count in enumerate(row):
            share = count / total
            level = min(int(share * 5 + (0.999 if share > 0 else 0)), 5)
            css = f"cell c{level}" + (" diag" if i == j else "")
            text = f"actual {labels[i]}, predicted {labels[j]}: {count} ({share:.1%} of actual {labels[i]})"
            x, y = left + j * cell, top + i * cell
            parts.append(el("rect", {"class": css, "x": x, "y": y, "width": cell - 2, "height": cell - 2}, title(text)))
            if cell >= 30:
                parts.append(
                    el(
                        "text",
                        {
                            "class": f"cell-text{' light' if level >= 4 else ''}",
                            "x": x + cell / 2 - 1,
                            "y": y + cell / 2 + 4,
                            "text-anchor": "middle",
                        },
                        fmt(count),
                    )
                )
    return svg(frame, label, *parts)


def hbar_chart(
    label: str, rows: list[tuple[str, float, str]], *, width: float = 560, value_max: float | None = None
) -> Markup:
    """Horizontal bars: (name, value, tooltip) per row, names as escaped text."""
    bar_h, gap, left, right = 16.0, 5.0, 190.0, 60.0
    height = max(len(rows), 1) * (bar_h + gap) + 8
    frame = Frame(width=width, height=height)
    top_value = value_max or max((v for _, v, _ in rows), default=1.0) or 1.0
    parts: list[Markup] = []
    for i, (name, value, text) in enumerate(rows):
        y = 4 + i * (bar_h + gap)
        length = max(value, 0) / top_value * (width - left - right)
        parts.append(
            el(
                "text",
                {"class": "tick", "x": left - 6, "y": y + bar_h - 4, "text-anchor": "end"},
                title(name),
                short(name, 30),
            )
        )
        parts.append(
            el("rect", {"class": "bar", "x": left, "y": y, "width": max(length, 0.5), "height": bar_h}, title(text))
        )
        parts.append(el("text", {"class": "tick", "x": left + length + 4, "y": y + bar_h - 4}, fmt(value, 3)))
    return svg(frame, label, *parts)


def drift_bar(
    statistic: float | None, threshold: float | None, drifted: bool | None, text: str, scale: float
) -> Markup:
    """One column's drift statistic as a bar, with its threshold as a tick."""
    width, height = 170.0, 14.0
    frame = Frame(width=width, height=height)
    parts: list[Markup] = [el("rect", {"class": "track", "x": 0, "y": 3, "width": width, "height": 8})]
    if statistic is not None and math.isfinite(statistic) and scale > 0:
        length = min(max(statistic, 0.0) / scale, 1.0) * width
        css = "bar drifted" if drifted else "bar"
        parts.append(el("rect", {"class": css, "x": 0, "y": 3, "width": max(length, 0.5), "height": 8}))
    if threshold is not None and math.isfinite(threshold) and scale > 0:
        x = min(threshold / scale, 1.0) * width
        parts.append(el("line", {"class": "limit-tick", "x1": x, "x2": x, "y1": 0, "y2": height}))
    parts.append(el("rect", {"class": "hit", "x": 0, "y": 0, "width": width, "height": height}, title(text)))
    return svg(frame, text, *parts, css="mini")


def outcome_strip(runs: list[tuple[str, str]], *, size: float = 12) -> Markup:
    """A square per run (outcome, tooltip), oldest left."""
    width = max(len(runs), 1) * (size + 2)
    frame = Frame(width=width, height=size + 2)
    parts = [
        el(
            "rect",
            {"class": f"run st-{outcome.lower()}", "x": i * (size + 2), "y": 1, "width": size, "height": size},
            title(text),
        )
        for i, (outcome, text) in enumerate(runs)
    ]
    return svg(frame, "latest runs, oldest first", *parts, css="strip")


def percent_labels(ticks: list[float]) -> list[str]:
    """Ticks as percentages with just enough decimals to tell them apart."""
    return [f"{label}%" for label in number_labels([t * 100 for t in ticks])]


def axis_names(frame: Frame, x_name: str, y_name: str) -> Markup:
    parts = []
    if x_name:
        x_mid = frame.left + frame.inner_width / 2
        parts.append(
            el("text", {"class": "axis-name", "x": x_mid, "y": frame.height - 6, "text-anchor": "middle"}, x_name)
        )
    if y_name:
        y_mid = frame.top + frame.inner_height / 2
        rotate = f"rotate(-90 11 {num(y_mid)})"
        parts.append(
            el(
                "text",
                {"class": "axis-name", "x": 11, "y": y_mid, "text-anchor": "middle", "transform": rotate},
                y_name,
            )
        )
    return Markup("").join(parts)


def category_chart(label: str, bins: list[tuple[str, int]], *, width: float = 560, height: float = 220) -> Markup:
    """Bars of the share of each category (label, count), names as escaped text."""
    rotate = len(bins) > 8
    frame = Frame(width=width, height=height, bottom=50 if rotate else 30)
    total = sum(c for _, c in bins) or 1
    frame.x0, frame.x1 = 0.0, float(max(len(bins), 1))
    frame.y0, frame.y1 = 0.0, (max((c / total for _, c in bins), default=1.0) * 1.1) or 1.0
    parts = [axes(frame, x_time=False, x_ticks=[], y_percent=True)]
    slot = frame.inner_width / max(len(bins), 1)
    every = max(1, math.ceil(len(bins) / 24))
    baseline = frame.y(0)
    for i, (name, count) in enumerate(bins):
        share = count / total
        y = frame.y(share)
        parts.append(
            el(
                "rect",
                {"class": "bar", "x": frame.x(i) + 1, "y": y, "width": max(slot - 2, 0.5), "height": baseline - y},
                title(f"{name}: {count:,} rows ({share:.1%})"),
            )
        )
        if i % every == 0:
            x = frame.x(i + 0.5)
            attrs: dict[str, Any] = {"class": "tick", "x": x, "y": baseline + 14, "text-anchor": "middle"}
            if rotate:
                attrs.update({"text-anchor": "end", "transform": f"rotate(-35 {num(x)} {num(baseline + 14)})"})
            parts.append(el("text", attrs, title(name), short(name, 16)))
    return svg(frame, label, *parts)


def value_histogram(
    label: str,
    bins: list[tuple[float, float, int]],
    *,
    markers: list[tuple[float, str, str]] | None = None,
    x_name: str = "",
    width: float = 560,
    height: float = 230,
) -> Markup:
    """A histogram on a value axis: bins (lo, hi, count) drawn at their real width.

    Equal bins show each bin's share of rows; unequal ones (percentile bins) show the
    density, share per unit of the axis, so that wide bins do not look tall.
    `markers`: (value, css, tooltip) vertical lines (a mean, say).
    """
    frame = Frame(width=width, height=height, bottom=40)
    total = sum(c for _, _, c in bins) or 1
    widths = [hi - lo for lo, hi, _ in bins]
    equal = bool(widths) and max(widths) - min(widths) <= 1e-6 * max(abs(max(widths)), 1e-12)
    heights = [(c / total) / (1.0 if equal else max(w, 1e-12)) for (_, _, c), w in zip(bins, widths, strict=True)]
    frame.x0 = min((lo for lo, _, _ in bins), default=0.0)
    frame.x1 = max((hi for _, hi, _ in bins), default=1.0)
    if frame.x1 <= frame.x0:
        frame.x1 = frame.x0 + 1.0
    frame.y0, frame.y1 = 0.0, (max(heights, default=1.0) * 1.1) or 1.0
    parts = [axes(frame, x_time=False, y_percent=equal)]
    baseline = frame.y(0)
    for (lo, hi, count), h in zip(bins, heights, strict=True):
        y = frame.y(h)
        left, right = frame.x(lo), frame.x(hi)
        parts.append(
            el(
                "rect",
                {"class": "bar", "x": left + 0.5, "y": y, "width": max(right - left - 1, 0.5), "height": baseline - y},
                title(f"[{fmt(lo, 3)}, {fmt(hi, 3)}): {count:,} rows ({count / total:.1%})"),
            )
        )
    parts.extend(_histogram_markers(frame, markers, baseline))
    parts.append(axis_names(frame, x_name, "share of rows" if equal else "density"))
    return svg(frame, label, *parts)


def _histogram_markers(frame: Frame, markers: list[tuple[float, str, str]] | None, baseline: float) -> list[Markup]:
    """Vertical lines at values on a histogram's x axis (a threshold, a mean), each with its title."""
    lines = []
    for value, css, text in markers or []:
        if frame.x0 <= value <= frame.x1:
            x = frame.x(value)
            line = {"class": f"marker {css}", "x1": x, "x2": x, "y1": frame.top, "y2": baseline}
            lines.append(el("line", line, title(text)))
    return lines


def number_labels(ticks: list[float]) -> list[str]:
    """Tick values with just enough decimals to tell neighbours apart."""
    if not ticks:
        return []
    step = min((b - a for a, b in zip(ticks, ticks[1:], strict=False)), default=0.0) or abs(ticks[0]) or 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if max(abs(t) for t in ticks) >= 1e6 or decimals > 6:
        return [f"{t:.3g}" for t in ticks]
    return [f"{t:,.{decimals}f}" for t in ticks]


def _bin_text(lo: float, hi: float, first: bool, last: bool, show: Any) -> str:
    if first and last:
        return "all values"
    if first:
        return f"below {show(hi)}"
    if last:
        return f"{show(lo)} and above"
    return f"{show(lo)} to {show(hi)}"


def compare_histogram(
    label: str,
    bins: list[tuple[float, float, int, int | None]],
    *,
    markers: list[tuple[float, str, str]] | None = None,
    x_name: str = "",
    x_time: bool = False,
    width: float = 400,
    height: float = 190,
) -> Markup:
    """Reference against current on the reference's bins: (lo, hi, reference rows, current rows).

    The reference is a grey bar per bin, the current a narrower coloured bar inside it
    (None: not stored, the reference alone). Equal bins show each bin's share of rows;
    unequal ones (percentile bins) the density, share per unit of the axis. The outer bins
    are open: their tooltip says "below" and "and above".
    """
    frame = Frame(width=width, height=height, left=46, bottom=36, top=8)
    ref_total = sum(r for _, _, r, _ in bins) or 1
    cur_total = sum(c or 0 for *_, c in bins) or 1
    widths = [hi - lo for lo, hi, _, _ in bins]
    equal = bool(widths) and max(widths) - min(widths) <= 1e-6 * max(abs(max(widths)), 1e-12)

    def height_of(share: float, w: float) -> float:
        return share / (1.0 if equal else max(w, 1e-12))

    ref_h = [height_of(r / ref_total, w) for (_, _, r, _), w in zip(bins, widths, strict=True)]
    cur_h = [height_of((c or 0) / cur_total, w) for (_, _, _, c), w in zip(bins, widths, strict=True)]
    frame.x0 = min((lo for lo, *_ in bins), default=0.0)
    frame.x1 = max((hi for _, hi, *_ in bins), default=1.0)
    if frame.x1 <= frame.x0:
        frame.x1 = frame.x0 + 1.0
    frame.y0, frame.y1 = 0.0, (max(ref_h + cur_h, default=1.0) * 1.1) or 1.0
    parts = [axes(frame, x_time=x_time, y_percent=equal)]
    baseline = frame.y(0)
    show = when if x_time else (lambda v: fmt(v, 3))
    for i, ((lo, hi, ref, cur), rh, ch) in enumerate(zip(bins, ref_h, cur_h, strict=True)):
        left, right = frame.x(lo), frame.x(hi)
        span = max(right - left - 1, 0.5)
        text = f"{_bin_text(lo, hi, i == 0, i == len(bins) - 1, show)}: reference {ref:,} rows ({ref / ref_total:.1%})"
        if cur is not None:
            text += f", current {cur:,} rows ({cur / cur_total:.1%})"
        y = frame.y(rh)
        parts.append(
            el(
                "rect",
                {"class": "bar ref-bar", "x": left + 0.5, "y": y, "width": span, "height": baseline - y},
            )
        )
        if cur is not None:
            y = frame.y(ch)
            inset = min(span * 0.22, 4.0)
            parts.append(
                el(
                    "rect",
                    {
                        "class": "bar cur-bar",
                        "x": left + 0.5 + inset,
                        "y": y,
                        "width": max(span - 2 * inset, 0.5),
                        "height": baseline - y,
                    },
                )
            )
        parts.append(_hit(frame, left, right, baseline, text))
    parts.extend(_histogram_markers(frame, markers, baseline))
    parts.append(axis_names(frame, x_name, "share of rows" if equal else "density"))
    return svg(frame, label, *parts)


def compare_categories(
    label: str, bins: list[tuple[str, int, int | None]], *, width: float = 400, height: float = 190
) -> Markup:
    """Reference against current share of each category: (name, reference rows, current rows or None)."""
    rotate = len(bins) > 6
    frame = Frame(width=width, height=height, left=46, top=8, bottom=56 if rotate else 30)
    ref_total = sum(r for _, r, _ in bins) or 1
    cur_total = sum(c or 0 for _, _, c in bins) or 1
    frame.x0, frame.x1 = 0.0, float(max(len(bins), 1))
    shares = [r / ref_total for _, r, _ in bins] + [(c or 0) / cur_total for _, _, c in bins]
    frame.y0, frame.y1 = 0.0, (max(shares, default=1.0) * 1.1) or 1.0
    parts = [axes(frame, x_time=False, x_ticks=[], y_percent=True)]
    slot = frame.inner_width / max(len(bins), 1)
    every = max(1, math.ceil(len(bins) / 20))
    baseline = frame.y(0)
    for i, (name, ref, cur) in enumerate(bins):
        text = f"{name}: reference {ref:,} rows ({ref / ref_total:.1%})"
        if cur is not None:
            text += f", current {cur:,} rows ({cur / cur_total:.1%})"
        half = max((slot - 3) / 2, 0.5)
        x = frame.x(i) + 1.5
        y = frame.y(ref / ref_total)
        parts.append(el("rect", {"class": "bar ref-bar", "x": x, "y": y, "width": half, "height": baseline - y}))
        if cur is not None:
            y = frame.y(cur / cur_total)
            parts.append(
                el("rect", {"class": "bar cur-bar", "x": x + half, "y": y, "width": half, "height": baseline - y})
            )
        parts.append(
            el(
                "rect",
                {"class": "hit", "x": frame.x(i), "y": frame.top, "width": slot, "height": baseline - frame.top},
                title(text),
            )
        )
        if i % every == 0:
            cx = frame.x(i + 0.5)
            attrs: dict[str, Any] = {"class": "tick", "x": cx, "y": baseline + 14, "text-anchor": "middle"}
            if rotate:
                attrs.update({"text-anchor": "end", "transform": f"rotate(-35 {num(cx)} {num(baseline + 14)})"})
            parts.append(el("text", attrs, title(name), short(name, 14)))
    return svg(frame, label, *parts)


def _hit(frame: Any, left: float, right: float, bottom: float, text: str) -> Markup:
    """An invisible column from `left` to `right` whose hover shows `text`: what a tooltip hangs on."""
    return el(
        "rect",
        {"class": "hit", "x": left, "y": frame.top, "width": max(right - left, 0.5), "height": bottom - frame.top},
        title(text),
    )
