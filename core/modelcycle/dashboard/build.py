"""The dashboard page: gather what train, evaluate, checks, scenarios and alerts stored,
then render one self-contained HTML file with Jinja2 (autoescape on).

Nothing here reads a dataset: every number comes from the store (versions, the
activation log, evaluation records, check results, scenario runs, pending alerts) and
from two attachments of the active version (``profile.json`` and ``insights.json``).
Long histories are thinned for the charts (at most ``SERIES_POINTS`` points per
series, evenly spaced, always the latest) and tables show the latest ``TABLE_ROWS``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import tempfile
from bisect import bisect_left
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ..alert_reasons import effect
from ..context import context_of
from ..errors import ModelcycleError
from ..evaluation_label import data_text, time_of
from ..history import evaluation_journal, latest_evaluation
from ..model_versions import list_versions
from ..scenarios import scenario_runs
from ..status import model_status
from . import charts
from .charts import Band, Event, LineChart, Marker, Series, fmt, timestamp, when

if TYPE_CHECKING:  # pragma: no cover
    from ..context import Context, ContextSource

SERIES_POINTS = 500  # per chart series
CHECK_POINTS = 300  # check-result markers per check and chart
TABLE_ROWS = 50  # newest rows shown in each table
SPARK_POINTS = 60
TOP_FEATURES = 20
DRIFT_ROWS = 200
DIST_COLUMNS = 40  # per-feature distribution charts, most drifted first
DIST_BINS = 20  # percentile bins are merged in runs of neighbours down to about this many
DIST_CATEGORIES = 12  # the reference's most frequent values drawn; the rest summed
EVENTS = 200  # version changes drawn per time chart
CHALLENGERS = 3  # challenger versions drawn beside the active one on the metric charts

HERE = Path(__file__).parent
OUTCOMES = ("OK", "WARNING", "ERROR", "EMPTY")


def content_security_policy(css: str) -> str:
    """No script at all, no request anywhere: only our own inline stylesheet may apply."""
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; form-action 'none'"


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt
    env.filters["when"] = when
    env.filters["pct"] = lambda v: "–" if not isinstance(v, int | float) or isinstance(v, bool) else f"{v:.1%}"
    return env


# -- small helpers ------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _newest(items: list[dict[str, Any]], limit: int = TABLE_ROWS) -> list[dict[str, Any]]:
    return list(reversed(items[-limit:]))


def _challenger(record: dict[str, Any]) -> bool:
    """Whether an evaluation was of another version than the one active when it ran."""
    return record.get("active_version") is not None and record.get("version") != record.get("active_version")


def _attachment(ctx: Context, model: str, version: int, name: str) -> tuple[dict[str, Any] | None, str | None]:
    """(parsed attachment, None) or (None, why it is not shown)."""
    try:
        raw = ctx.registry.read_attachment(model, version, name)
    except ModelcycleError as exc:
        return None, str(exc)
    if raw is None:
        return None, f"version {version} has no {name}"
    return json.loads(raw), None


def _check_path(metric: str) -> tuple[str, str]:
    """Where a check's values belong: ("metric", name), ("estimated", name), ("drift", "share") or ("other", path)."""
    if metric.startswith("metrics."):
        return "metric", metric.removeprefix("metrics.")
    if metric.startswith("estimated.") and metric.count(".") == 1:
        return "estimated", metric.removeprefix("estimated.")
    if metric == "drift.share":
        return "drift", "share"
    if "." not in metric:
        return "metric", metric
    return "other", metric


def _bands(check_name: str, zones: dict[str, Any] | None, what: str = "") -> tuple[list[Band], list[tuple[float, str]]]:
    """Zones a check judges WARNING or ERROR, and the limit lines, from its type's `zones()`."""
    bands: list[Band] = []
    lines: list[tuple[float, str]] = []
    if zones is None:  # a check type that judges its own way: no zones to draw
        return bands, lines
    get = {k: _number(zones.get(k)) for k in ("min", "soft_min", "max", "soft_max")}
    suffix = f" (check {check_name}{what})"
    if get["min"] is not None:
        bands.append(Band(None, get["min"], "ERROR", f"ERROR below min {fmt(get['min'])}{suffix}"))
        lines.append((get["min"], f"min {fmt(get['min'])}{suffix}"))
    if get["soft_min"] is not None:
        bands.append(
            Band(get["min"], get["soft_min"], "WARNING", f"WARNING below soft_min {fmt(get['soft_min'])}{suffix}")
        )
        lines.append((get["soft_min"], f"soft_min {fmt(get['soft_min'])}{suffix}"))
    if get["soft_max"] is not None:
        bands.append(
            Band(get["soft_max"], get["max"], "WARNING", f"WARNING above soft_max {fmt(get['soft_max'])}{suffix}")
        )
        lines.append((get["soft_max"], f"soft_max {fmt(get['soft_max'])}{suffix}"))
    if get["max"] is not None:
        bands.append(Band(get["max"], None, "ERROR", f"ERROR above max {fmt(get['max'])}{suffix}"))
        lines.append((get["max"], f"max {fmt(get['max'])}{suffix}"))
    return bands, lines


def _threshold_text(thresholds: dict[str, Any] | None) -> str:
    return ", ".join(f"{k} {fmt(v) if not isinstance(v, list) else v}" for k, v in (thresholds or {}).items()) or "–"


def paired_bins(
    ref: dict[str, Any], current: list[int] | None, *, probability: bool, extent: dict[str, Any] | None = None
) -> list[tuple[float, float, int, int | None]]:
    """A numeric profile's bins as (lo, hi, reference rows, current rows or None) on the value axis.

    The outer bins are open in the profile; they are closed here at 0 and 1 for a
    probability, else at the smallest and largest value of the reference and of the
    current data (`extent`: the current summary), but no further out than the span of
    the inner edges, so that one far outlier does not squeeze the rest. More than 25
    bins (percentile bins: about 100) are merged in runs of neighbours, so the shape
    reads at a glance. `current` must have one count per profile bin, else it is ignored.
    """
    edges = [float(e) for e in ref.get("edges") or []]
    counts = [int(c) for c in ref.get("counts") or []]
    if not edges or len(counts) != len(edges) + 1:
        return []
    cur: list[int | None] = (
        [int(c) for c in current] if current is not None and len(current) == len(counts) else [None] * len(counts)
    )
    if probability:
        low, high = 0.0, 1.0
    else:
        span = (edges[-1] - edges[0]) or max(abs(edges[0]), 1.0)
        lows = [v for v in (_number(ref.get("min")), _number((extent or {}).get("min"))) if v is not None]
        highs = [v for v in (_number(ref.get("max")), _number((extent or {}).get("max"))) if v is not None]
        low = max(min([edges[0], *lows]), edges[0] - span)
        high = min(max([edges[-1], *highs]), edges[-1] + span)
        if high <= edges[-1] and counts[-1] + (cur[-1] or 0):  # values at the top edge itself
            high = edges[-1] + span / 40
    bounds = [low, *edges, high]
    bins = [(bounds[i], bounds[i + 1], counts[i], cur[i]) for i in range(len(counts))]
    bins = [b for b in bins if b[1] > b[0] or b[2] or b[3]]
    if len(bins) > 25:
        size = math.ceil(len(bins) / DIST_BINS)
        bins = [
            (
                group[0][0],
                group[-1][1],
                sum(r for _, _, r, _ in group),
                None if group[0][3] is None else sum(c or 0 for *_, c in group),
            )
            for group in (bins[i : i + size] for i in range(0, len(bins), size))
        ]
    return bins


def category_bins(ref: dict[str, Any], current: list[int] | None) -> list[tuple[str, int, int | None]]:
    """A categorical profile's values as (name, reference rows, current rows or None): the most
    frequent DIST_CATEGORIES, then every other value summed (values new in the current data included)."""
    top = [(str(k), int(v)) for k, v in (ref.get("top") or {}).items()]
    cur: list[int | None] = (
        [int(c) for c in current] if current is not None and len(current) == len(top) + 1 else [None] * (len(top) + 1)
    )
    bins = [(name, count, cur[i]) for i, (name, count) in enumerate(top[:DIST_CATEGORIES])]
    rest_ref = sum(c for _, c in top[DIST_CATEGORIES:]) + int(ref.get("other") or 0)
    rest_cur = None if cur[-1] is None else sum(c or 0 for c in cur[DIST_CATEGORIES : len(top)]) + cur[-1]
    if rest_ref or rest_cur:
        bins.append(("(other values)", rest_ref, rest_cur))
    return bins


def read_history(ctx: Context, model: str) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """(number of evaluations, at most SERIES_POINTS records for the charts, the newest TABLE_ROWS).

    A short history is read whole (one object per 64 records). A long one is not: parsing
    10,000 records costs seconds, so only the records drawn are read, each by its number:
    evenly spaced ones, always the first and the last, and the newest for the tables.
    """
    history = evaluation_journal(ctx, model)
    last, _ = history.last()
    if last <= SERIES_POINTS + TABLE_ROWS:
        records = history.all()
        return len(records), charts.downsample(records, SERIES_POINTS), records[-TABLE_ROWS:]
    spaced = charts.downsample(range(1, last + 1), SERIES_POINTS)
    recent = list(range(max(last - TABLE_ROWS + 1, 1), last + 1))
    wanted = sorted(set(spaced) | set(recent))
    with ThreadPoolExecutor(max_workers=16) as pool:  # a remote store answers them side by side
        found = dict(zip(wanted, pool.map(history.get, wanted), strict=True))
    return last, [found[i] for i in spaced if found[i]], [found[i] for i in recent if found[i]]


class EvaluationTimes:
    """When evaluation N happened: known for the records read, interpolated between them otherwise."""

    def __init__(self, records: list[dict[str, Any]], axis: str = "evaluated_at") -> None:
        known = {r["id"]: time_of(r, axis) for r in records if isinstance(r.get("id"), int)}
        self.exact = known
        pairs = sorted((i, t) for i, at in known.items() if (t := timestamp(at)) is not None)
        self.ids = [i for i, _ in pairs]
        self.times = [t for _, t in pairs]

    def get(self, evaluation: Any, default: Any = None) -> Any:
        """An ISO time or epoch seconds for `evaluation`, else `default`."""
        if evaluation in self.exact and self.exact[evaluation]:
            return self.exact[evaluation]
        if not isinstance(evaluation, int) or not self.ids or not self.ids[0] <= evaluation <= self.ids[-1]:
            return default
        right = bisect_left(self.ids, evaluation)
        left = right - 1
        share = (evaluation - self.ids[left]) / (self.ids[right] - self.ids[left])
        return self.times[left] + share * (self.times[right] - self.times[left])


def _chart(title: str, note: str, svg: Markup) -> dict[str, Any]:
    return {"title": title, "note": note, "svg": svg}


def binary_insight_charts(ins: dict[str, Any], model: str) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """ROC, precision-recall, the confusion matrix at the stored threshold, calibration; and the headline rates."""
    out = []
    labels = [str(x) for x in ins.get("labels") or ["0", "1"]]
    roc, pr = ins.get("roc") or {}, ins.get("pr") or {}
    if roc.get("fpr"):
        svg = charts.xy_chart(
            f"ROC curve of {model}",
            "false-positive rate",
            "true-positive rate",
            [("ROC", roc["fpr"], roc["tpr"], "s0")],
            diagonal=True,
        )
        out.append(_chart("ROC curve", "true- against false-positive rate on the holdout; the diagonal is chance", svg))
    if pr.get("recall"):
        curve = [("precision-recall", pr["recall"], pr["precision"], "s0")]
        svg = charts.xy_chart(f"precision-recall curve of {model}", "recall", "precision", curve)
        out.append(_chart("Precision-recall", "precision against recall on the holdout", svg))
    confusion = ins.get("confusion")
    threshold = fmt(ins.get("threshold"))
    if confusion:
        svg = charts.confusion_chart(f"confusion matrix of {model}", labels[:2], confusion)
        out.append(
            _chart(f"Confusion matrix at threshold {threshold}", "holdout rows; shade: share of the actual class", svg)
        )
    bins = ins.get("calibration") or []
    if bins:
        biggest = max((b.get("count") or 0) for b in bins) or 1
        points = [
            (
                b["mean_predicted"],
                b["fraction_positive"],
                2.5 + 5.5 * math.sqrt((b.get("count") or 0) / biggest),
                f"scores {b['bin'] / 10:.1f}–{(b['bin'] + 1) / 10:.1f}: mean predicted {fmt(b['mean_predicted'])}, "
                f"observed positive {fmt(b['fraction_positive'])}, {b.get('count')} rows",
            )
            for b in bins
        ]
        line = [("calibration", [p[0] for p in points], [p[1] for p in points], "s1")]
        svg = charts.xy_chart(
            f"calibration of {model}",
            "mean predicted probability",
            "fraction positive",
            line,
            diagonal=True,
            scatter=points,
        )
        out.append(_chart("Calibration", "share of positives per score bin (dot size: rows); diagonal: perfect", svg))
    facts: list[tuple[str, str]] = []
    if confusion and len(confusion) == 2:
        (tn, fp), (fn, tp) = confusion
        total = tn + fp + fn + tp or 1
        facts = [
            ("threshold", threshold),
            ("accuracy at threshold", f"{(tn + tp) / total:.1%}"),
            ("precision", f"{tp / (tp + fp):.1%}" if tp + fp else "–"),
            ("recall", f"{tp / (tp + fn):.1%}" if tp + fn else "–"),
        ]
    return out, facts


def multiclass_insight_charts(ins: dict[str, Any], model: str) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    labels = [str(x) for x in ins.get("labels") or []]
    confusion = ins.get("confusion")
    if not (confusion and labels):
        return [], []
    svg = charts.confusion_chart(f"confusion matrix of {model}", labels, confusion)
    return [_chart("Confusion matrix", "holdout rows; shade: share of the actual class", svg)], []


def regression_insight_charts(ins: dict[str, Any], model: str) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Residuals by predicted value (mean ± std per group), predicted vs actual; and the residual quantiles."""
    out = []
    groups = ins.get("residual_by_prediction") or []
    if groups:
        xs = [g["predicted"] for g in groups]
        means = [g["residual_mean"] for g in groups]
        stds = [g.get("residual_std") or 0.0 for g in groups]
        band = (
            xs,
            [m - s for m, s in zip(means, stds, strict=True)],
            [m + s for m, s in zip(means, stds, strict=True)],
        )
        points = [
            (x, m, 2.5, f"predicted ≈ {fmt(x)}: mean residual {fmt(m)} (std {fmt(s)})")
            for x, m, s in zip(xs, means, stds, strict=True)
        ]
        svg = charts.xy_chart(
            f"residuals of {model}",
            "predicted",
            "residual",
            [("mean residual", xs, means, "s0")],
            domain=None,
            ribbon=band,
            zero_line=True,
            scatter=points,
        )
        note = "mean residual (actual − predicted) in groups by prediction, ±1 std shaded"
        out.append(_chart("Residuals by predicted value", note, svg))
    pairs = ins.get("predicted_vs_actual") or {}
    if pairs.get("predicted"):
        points = [
            (a, p, 2.2, f"actual {fmt(a)}, predicted {fmt(p)}")
            for p, a in zip(pairs["predicted"], pairs["actual"], strict=True)
        ]
        svg = charts.xy_chart(
            f"predicted vs actual of {model}", "actual", "predicted", [], domain=None, diagonal=True, scatter=points
        )
        note = f"{len(points)} sampled holdout rows; the diagonal is a perfect prediction"
        out.append(_chart("Predicted vs actual", note, svg))
    facts = [("mean residual", fmt(ins.get("residual_mean"))), ("residual std", fmt(ins.get("residual_std")))]
    facts += [(f"residual {k}", fmt(v)) for k, v in (ins.get("residual_quantiles") or {}).items()]
    return out, facts


def importance_chart(importances: dict[str, Any], model: str) -> Markup | None:
    """The TOP_FEATURES most important input columns, the others summed in one bar."""
    if not importances:
        return None
    ranked = sorted(((str(k), _number(v) or 0.0) for k, v in importances.items()), key=lambda kv: -kv[1])
    rows = [(k, v, f"{k}: {v:.1%} of the importance") for k, v in ranked[:TOP_FEATURES]]
    if len(ranked) > TOP_FEATURES:
        others, rest = len(ranked) - TOP_FEATURES, sum(v for _, v in ranked[TOP_FEATURES:])
        rows.append((f"({others} other columns)", rest, f"{others} other columns together: {rest:.1%}"))
    return charts.hbar_chart(f"feature importances of {model}", rows)


INSIGHT_CHARTS = {
    "binary": binary_insight_charts,
    "multiclass": multiclass_insight_charts,
    "regression": regression_insight_charts,
}


# -- what the page shows ------------------------------------------------------------------


class Collector:
    """Reads the store once per build and shapes it for the template."""

    def __init__(self, ctx: ContextSource) -> None:
        ctx = context_of(ctx)
        self.ctx = ctx
        self.redact = ctx.settings.redactor
        self._check_history: dict[str, list[dict[str, Any]]] = {}
        self._pending: list[dict[str, Any]] | None = None
        self.records: dict[tuple[str, Any], dict[str, Any]] = {}  # (model, evaluation id) -> record read

    def check_history(self, name: str) -> list[dict[str, Any]]:
        from .. import checks

        if name not in self._check_history:
            self._check_history[name] = checks.check_journal(self.ctx, name).all()
        return self._check_history[name]

    def page(self, *, refresh: int | None = None, served: bool = False) -> dict[str, Any]:
        ctx = self.ctx
        status = model_status(ctx)
        models = [self.model(entry) for entry in status]
        pending = self.pending()
        sent = self.sent()
        counts = {o: sum(1 for m in models if m["status"] == o) for o in OUTCOMES}
        return {
            "project": ctx.name,
            "built_at": datetime.now(UTC).isoformat(),
            "served": served,
            "refresh": refresh,
            "models": models,
            "counts": counts,
            "pending": self.redact([self.alert_row(a) for a in _newest(pending)]),
            "pending_total": len(pending),
            "alerts": self.alert_history(_newest(pending), sent[0]),
            "sent_total": sent[1],
            "scenarios": [self.scenario(name) for name in ctx.settings.scenarios],
            "limits": {"series": SERIES_POINTS, "rows": TABLE_ROWS},
        }

    # -- one model ---------------------------------------------------------------------

    def model(self, status: dict[str, Any]) -> dict[str, Any]:
        ctx, name = self.ctx, status["model"]
        settings = ctx.settings.models.get(name)
        versions = list_versions(ctx, name)
        activations = ctx.registry.activations(name) if versions else []
        active = status["active_version"]
        shown = next((v for v in versions if v["version"] == active), versions[-1] if versions else None)
        task = (shown or {}).get("task") or (settings.task if settings else None)
        primary = (shown or {}).get("primary_metric") or (settings.primary_metric if settings else None)
        total, sample, newest = read_history(ctx, name) if versions else (0, [], [])
        # the active version's latest evaluation is the model's; a challenger's is shown beside it, never for it
        if active is not None:
            latest = next((r for r in reversed(newest) if r.get("version") == active), None)
            latest = latest or latest_evaluation(ctx, name, active)
        else:
            latest = newest[-1] if newest else None
        challengers = {r.get("id"): r for r in sample + newest if _challenger(r)}
        sample = [r for r in sample if not _challenger(r)]  # the charts follow the version in production
        for r in sample + newest:
            self.records[(name, r.get("id"))] = r
        if primary is None and latest is not None:
            primary = next(iter(latest.get("metrics") or latest.get("estimated") or {}), None)
        checks_latest = self.redact([self.check_row(r) for r in status.get("checks") or []])
        axis = ctx.settings.dashboard.time_axis  # when evaluations ran, or the period their data covers
        timed = sorted(((t, r) for r in sample if (t := timestamp(time_of(r, axis))) is not None), key=lambda p: p[0])
        sample, times = [r for _, r in timed], [t for t, _ in timed]  # drawn in time order
        ids_to_time = EvaluationTimes(sample + newest, axis)
        from ..checks import check_type

        # name → the check's type object: what it judges by (thresholds, zones) without knowing the type
        model_checks = {c: check_type(ctx, c) for c, s in ctx.settings.checks.items() if s.model == name}
        out: dict[str, Any] = {
            "name": name,
            "status": status["status"],
            "task": task,
            "estimator": (shown or {}).get("estimator"),
            "primary": primary,
            "active_version": active,
            "active_entry": self.redact(self.version_row(shown, primary)) if shown else None,
            "versions_total": len(versions),
            "evaluations_total": total,
            "trained": bool(versions),
            "checks": checks_latest,
            "pending": sum(1 for a in self.pending() if (a.get("about") or {}).get("model") == name),
        }
        out["headline"] = self.headline(latest, primary)
        out["spark"] = self.spark(sample, primary, name)
        out["activations"] = self.redact([self.activation_row(a) for a in _newest(activations)])
        out["activations_total"] = len(activations)
        metric_names = self._metric_names(versions, primary)
        out["version_metrics"] = metric_names[:6]
        out["versions"] = self.redact([self.version_row(v, primary) for v in _newest(versions)])
        out["evaluations"] = self.redact([self.evaluation_row(r, primary) for r in reversed(newest)])
        out["by_version"] = self.redact(self.by_version(latest, newest, active, primary))
        events = self.version_events(activations)
        others = sorted(challengers.values(), key=lambda r: timestamp(r.get("evaluated_at")) or 0.0)
        out["metric_charts"] = self.metric_charts(sample, times, primary, model_checks, ids_to_time, events, others)
        out["drift_chart"] = self.drift_chart(sample, times, model_checks, ids_to_time, events)
        out["other_charts"] = self.other_check_charts(model_checks, ids_to_time, events)
        out["events"] = len(events)
        out["drift"] = self.drift_table(latest)
        if shown is not None and active is not None:
            profile, profile_error = _attachment(ctx, name, active, "profile.json")
            insights, insights_error = _attachment(ctx, name, active, "insights.json")
        else:
            profile = insights = None
            profile_error = insights_error = "no active version" if versions else "not trained yet"
        # an attachment shaped otherwise (a third-party trainer's, say) costs its section, not the page
        try:
            out["prediction"] = self.prediction(profile, profile_error, latest, task, name)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            why = f"the prediction profile could not be drawn: {type(exc).__name__}: {exc}"
            out["prediction"] = {"error": why, "svg": None}
        try:
            out["distributions"] = self.distributions(profile, latest)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            why = f"the distributions could not be drawn: {type(exc).__name__}: {exc}"
            out["distributions"] = {"figures": [], "hidden": 0, "error": why, "stored": False}
        try:
            out["insights"] = self.insights(insights, insights_error, task, name)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            why = f"the insights could not be drawn: {type(exc).__name__}: {exc}"
            out["insights"] = {"error": why, "charts": [], "facts": [], "importances": None}
        return out

    def pending(self) -> list[dict[str, Any]]:
        from .. import alerts

        if self._pending is None:
            self._pending = alerts.pending(self.ctx)
        return self._pending

    def sent(self) -> tuple[list[dict[str, Any]], int]:
        """(the newest TABLE_ROWS sent alerts, oldest first; how many were sent in all)."""
        from .. import alerts

        logged = alerts.sent(self.ctx)
        return logged[-TABLE_ROWS:], len(logged)

    def alert_history(self, pending: list[dict[str, Any]], sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Pending then sent alerts, newest first, each with what triggered it."""
        rows = [a | {"status": "pending"} for a in pending]
        rows += sorted(({**a, "status": "sent"} for a in sent), key=lambda a: str(a.get("sent_at")), reverse=True)
        about = [(a.get("about") or {}) for a in rows]
        wanted = {
            (x.get("model"), x.get("evaluation"))
            for x in about
            if x.get("model") in self.ctx.settings.models and isinstance(x.get("evaluation"), int)
        }
        missing = sorted(k for k in wanted if k not in self.records)
        if missing:

            def read(key: tuple[str, int]) -> dict[str, Any] | None:
                return evaluation_journal(self.ctx, key[0]).get(key[1])

            with ThreadPoolExecutor(max_workers=16) as pool:
                for key, record in zip(missing, pool.map(read, missing), strict=True):
                    if record is not None:
                        self.records[key] = record
        return self.redact([self.alert_row(a) | self.trigger(a) for a in rows])

    def trigger(self, alert: dict[str, Any]) -> dict[str, Any]:
        """What made a check raise an alert: its value against its thresholds, on which evaluation,
        and for a drift check, the drifted columns of that evaluation with their effect sizes.
        A scenario's alert: the run and its outcome, or the message its notify step sent."""
        about = alert.get("about") or {}
        if about.get("kind") == "scenario":
            run = f"run {about.get('run')} of scenario {about.get('scenario')}"
            text = f"{run} ({about.get('trigger')}) ended {about.get('outcome')}"
            return {"trigger": text, "columns": "", "link": "#scenarios"}
        if about.get("kind") not in (None, "check") or not about.get("check"):
            first = charts.short(str(alert.get("text") or "").strip().split("\n", 1)[0], 240)
            where = f"notify step of scenario {about.get('scenario')}" if about.get("scenario") else "message"
            return {"trigger": f"{where}: {first}" if first else where, "columns": "", "link": None}
        metric = str(about.get("metric") or "")
        text = f"{metric} = {fmt(_number(about.get('value')))} ({_threshold_text(about.get('thresholds'))})"
        if about.get("evaluation") is not None:
            text += f" on evaluation {about.get('evaluation')} of version {about.get('version')}"
        model = about.get("model")
        record = self.records.get((model, about.get("evaluation")))
        columns = ""
        kind, _ = _check_path(metric)
        link = f"#perf-{model}" if kind in ("metric", "estimated") else f"#drift-{model}"
        drift = (record or {}).get("drift") or {}
        if metric.startswith("drift.") and isinstance(drift.get("columns"), dict):
            if metric.startswith("drift.columns."):  # one column's check (its name may hold dots)
                found = [(str(n), c) for n, c in drift["columns"].items() if metric.startswith(f"drift.columns.{n}.")]
            else:
                found = [(str(n), c) for n, c in drift["columns"].items() if isinstance(c, dict) and c.get("drifted")]

            def ratio(item: tuple[str, dict[str, Any]]) -> float:
                stat, limit = _number(item[1].get("statistic")), _number(item[1].get("threshold"))
                return -1.0 if stat is None else stat / limit if limit else stat

            found.sort(key=ratio, reverse=True)
            columns = (
                ("column: " if metric.startswith("drift.columns.") else "drifted: ")
                + ", ".join(
                    f"{n} ({effect(c)})"
                    for n, c in found[:6]
                )
                + (f" +{len(found) - 6} more" if len(found) > 6 else "")
            )
            link = f"#dist-{model}"
        elif metric.startswith("drift.") and record is None and about.get("evaluation") is not None:
            columns = "(evaluation not found in the store)"
        return {"trigger": text, "columns": columns, "link": link if model else None}

    @staticmethod
    def _metric_names(versions: list[dict[str, Any]], primary: str | None) -> list[str]:
        names: list[str] = []
        for v in versions[-TABLE_ROWS:]:
            for key in v.get("metrics") or {}:
                if key not in names:
                    names.append(key)
        names.sort()
        if primary in names:
            names.remove(primary)
            names.insert(0, primary)
        return names

    def headline(self, latest: dict[str, Any] | None, primary: str | None) -> dict[str, Any]:
        """The overview's numbers: the primary metric (measured, else estimated) and the drift share."""
        if latest is None:
            return {
                "metric": primary,
                "value": None,
                "estimated": False,
                "drift_share": None,
                "drifted": 0,
                "at": None,
                "id": None,
                "rows": None,
            }
        value = _number((latest.get("metrics") or {}).get(primary))
        estimated = False
        if value is None:
            value = _number((latest.get("estimated") or {}).get(primary))
            estimated = value is not None
        return {
            "metric": primary,
            "value": value,
            "estimated": estimated,
            "drift_share": _number((latest.get("drift") or {}).get("share")),
            "drifted": len((latest.get("drift") or {}).get("drifted_columns") or []),
            "at": latest.get("evaluated_at"),
            "id": latest.get("id"),
            "rows": latest.get("rows"),
        }

    def spark(self, evaluations: list[dict[str, Any]], primary: str | None, name: str) -> Markup | None:
        if not evaluations or primary is None:
            return None
        values = []
        for r in charts.downsample(evaluations, SPARK_POINTS):
            value = _number((r.get("metrics") or {}).get(primary))
            values.append(value if value is not None else _number((r.get("estimated") or {}).get(primary)))
        if all(v is None for v in values):
            return None
        return charts.sparkline(values, f"{primary} of {name} over its evaluations")

    # -- rows of tables ----------------------------------------------------------------

    @staticmethod
    def version_row(v: dict[str, Any], primary: str | None) -> dict[str, Any]:
        return {
            "version": v.get("version"),
            "created_at": v.get("created_at"),
            "created_by": v.get("created_by"),
            "metrics": v.get("metrics") or {},
            "primary": (v.get("metrics") or {}).get(primary) if primary else None,
            "estimator": v.get("estimator"),
            "rows": (v.get("dataset") or {}).get("rows"),
            "dataset": (v.get("dataset") or {}).get("name") or (v.get("dataset") or {}).get("url"),
            "threshold": v.get("threshold"),
            "parent": v.get("parent_version"),
            "active": v.get("active", False),
            "deleted": v.get("deleted", False),
        }

    @staticmethod
    def activation_row(a: dict[str, Any]) -> dict[str, Any]:
        decision = a.get("decision") or {}
        parts = []
        if decision:
            parts.append(f"policy {decision.get('policy', '?')}")
            if decision.get("metric"):
                parts.append(f"metric {decision['metric']}")
            if decision.get("delta") is not None:
                parts.append(f"delta {fmt(decision['delta'])}")
            if decision.get("p_value") is not None:
                parts.append(f"p {fmt(decision['p_value'])}")
        return {
            "seq": a.get("seq"),
            "kind": a.get("kind"),
            "version": a.get("version"),
            "previous": a.get("previous"),
            "at": a.get("at"),
            "actor": a.get("actor"),
            "reason": a.get("reason"),
            "decision": ", ".join(parts),
            "decision_reason": decision.get("reason"),
            "activate": decision.get("activate"),
        }

    def by_version(
        self, latest: dict[str, Any] | None, newest: list[dict[str, Any]], active: int | None, primary: str | None
    ) -> list[dict[str, Any]]:
        """The active version's latest evaluation, then each challenger's latest among the newest
        evaluations, newest first: empty when no other version was evaluated lately."""
        if active is None:
            return []
        seen: dict[Any, dict[str, Any]] = {}
        for r in reversed(newest):
            if r.get("version") != active and r.get("version") not in seen:
                seen[r.get("version")] = r
        if not seen:
            return []
        rows = [{**self.evaluation_row(latest, primary), "role": "active"}] if latest else []
        return rows + [{**self.evaluation_row(r, primary), "role": "challenger"} for r in seen.values()]

    @staticmethod
    def evaluation_row(r: dict[str, Any], primary: str | None) -> dict[str, Any]:
        drift = r.get("drift") or {}
        drifted = list(drift.get("drifted_columns") or [])
        measured = _number((r.get("metrics") or {}).get(primary)) if primary else None
        estimated = _number((r.get("estimated") or {}).get(primary)) if primary else None
        return {
            "id": r.get("id"),
            "at": r.get("evaluated_at"),
            "version": r.get("version"),
            "rows": r.get("rows"),
            "labeled": r.get("labeled_rows"),
            "mode": r.get("mode"),
            "measured": measured,
            "estimated": estimated,
            "share": _number(drift.get("share")),
            "drifted": ", ".join(str(c) for c in drifted[:4])
            + (f" +{len(drifted) - 4} more" if len(drifted) > 4 else ""),
            "dataset": data_text(r),
            "challenger": _challenger(r),
        }

    @staticmethod
    def check_row(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "check": r.get("check"),
            "metric": r.get("metric"),
            "value": r.get("value"),
            "outcome": r.get("outcome") if r.get("outcome") in OUTCOMES else "EMPTY",
            "message": r.get("message"),
            "thresholds": _threshold_text(r.get("thresholds")),
            "at": r.get("at"),
            "version": r.get("version"),
            "evaluation": r.get("evaluation"),
        }

    @staticmethod
    def alert_row(a: dict[str, Any]) -> dict[str, Any]:
        about = a.get("about") or {}
        return {
            "id": a.get("id"),
            "notifier": a.get("notifier"),
            "subject": a.get("subject"),
            "model": about.get("model"),
            "check": about.get("check") or about.get("scenario"),
            "outcome": about.get("outcome"),
            "created_at": a.get("created_at"),
            "attempts": a.get("attempts"),
            "last_error": a.get("last_error"),
            "next_attempt_at": a.get("next_attempt_at"),
            "status": a.get("status"),
            "sent_at": a.get("sent_at"),
            "message": about.get("message"),
        }

    # -- charts over time ----------------------------------------------------------------

    def _markers(self, check: str, ids_to_time: EvaluationTimes) -> list[Marker]:
        """The recorded results of a check, placed at the time of the evaluation they judged."""
        results = [r for r in self.check_history(check) if _number(r.get("value")) is not None]
        flagged = [r for r in results if r.get("outcome") in ("WARNING", "ERROR")]
        calm = [r for r in results if r.get("outcome") not in ("WARNING", "ERROR")]
        keep = charts.downsample(flagged, CHECK_POINTS) + charts.downsample(calm, CHECK_POINTS // 3)
        out = []
        for r in keep:
            at = timestamp(ids_to_time.get(r.get("evaluation"), r.get("at")))
            if at is None:
                continue
            outcome = r.get("outcome") if r.get("outcome") in OUTCOMES else "EMPTY"
            text = self.redact(
                f"check {r.get('check')}: {outcome} on evaluation {r.get('evaluation')} "
                f"({when(r.get('at'))})\n{r.get('message') or ''}"
            )
            out.append(Marker(at, float(r["value"]), outcome, text))
        return out

    def version_events(self, activations: list[dict[str, Any]]) -> list[Event]:
        """Every activation and rollback (the newest EVENTS), as moments to mark on the time charts."""
        out = []
        for a in charts.downsample(activations, EVENTS):
            at = timestamp(a.get("at"))
            if at is None:
                continue
            kind = "rollback" if a.get("kind") == "rollback" else "activate"
            was = f" (was {a.get('previous')})" if a.get("previous") is not None else ""
            why = f": {a.get('reason')}" if a.get("reason") else ""
            text = f"{kind} version {a.get('version')}{was} · {when(a.get('at'))} · by {a.get('actor') or '–'}{why}"
            out.append(Event(at, f"v{a.get('version')}", self.redact(text), kind))
        return out

    def _hover(self, sample: list[dict[str, Any]], times: list[float | None], lines: list[tuple[str, Any]]) -> list:
        hover = []
        for r, t in zip(sample, times, strict=True):
            if t is None:
                continue
            rows = [f"evaluation {r.get('id')} · version {r.get('version')} · {when(r.get('evaluated_at'))}"]
            rows += [f"data as of {r['as_of']}"] if r.get("as_of") else []
            rows += [f"{label}: {fmt(get(r))}" for label, get in lines if get(r) is not None]
            hover.append((t, "\n".join(rows)))
        return hover

    def metric_charts(
        self,
        sample: list[dict[str, Any]],
        times: list[float | None],
        primary: str | None,
        model_checks: dict[str, Any],
        ids_to_time: EvaluationTimes,
        events: list[Event] | None = None,
        challengers: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        by_version: dict[Any, list[dict[str, Any]]] = {}
        for r in challengers or []:
            by_version.setdefault(r.get("version"), []).append(r)
        drawn_versions = sorted(by_version, key=lambda v: by_version[v][-1].get("id") or 0)[-CHALLENGERS:]
        found: set[str] = set()
        for r in sample:
            for part in ("metrics", "estimated"):
                found.update(k for k, v in (r.get(part) or {}).items() if _number(v) is not None)
        names = sorted(found)
        if primary in names:
            names.remove(primary)
            names.insert(0, primary)
        out = []
        for metric in names:

            def measured(r: dict[str, Any], m: str = metric) -> float | None:
                return _number((r.get("metrics") or {}).get(m))

            def estimated(r: dict[str, Any], m: str = metric) -> float | None:
                return _number((r.get("estimated") or {}).get(m))

            series = []
            lines = []
            if any(measured(r) is not None for r in sample):
                series.append(
                    Series(f"{metric} (measured on labelled data)", self._points(sample, times, measured), "s0")
                )
                lines.append((metric, measured))
            if any(estimated(r) is not None for r in sample):
                series.append(
                    Series(f"{metric} (estimated without labels)", self._points(sample, times, estimated), "s1", True)
                )
                lines.append((f"estimated {metric}", estimated))
            for v in drawn_versions:

                def value(r: dict[str, Any], m: str = metric) -> float | None:
                    measured = _number((r.get("metrics") or {}).get(m))
                    return measured if measured is not None else _number((r.get("estimated") or {}).get(m))

                points, texts = [], []
                for r in by_version[v]:
                    t, y = timestamp(r.get("evaluated_at")), value(r)
                    if t is None or y is None:
                        continue
                    points.append((t, y))
                    texts.append(
                        f"challenger: evaluation {r.get('id')} of version {v} (version {r.get('active_version')} "
                        f"active) · {when(r.get('evaluated_at'))}\n{metric}: {fmt(y)}"
                        + ("" if _number((r.get("metrics") or {}).get(metric)) is not None else " (estimated)")
                    )
                if points:
                    name = f"version {v} (challenger)"
                    series.append(Series(name, points, "s4", dots=True, texts=self.redact(texts)))
            bands: list[Band] = []
            limits: list[tuple[float, str]] = []
            markers: list[Marker] = []
            legend_checks = []
            for check, judge in model_checks.items():
                spec = judge.options
                kind, target = _check_path(spec.metric)
                if target != metric or kind not in ("metric", "estimated"):
                    continue
                b, lim = _bands(check, judge.zones(), " on estimated" if kind == "estimated" else "")
                bands += b
                limits += lim
                markers += self._markers(check, ids_to_time)
                legend_checks.append(
                    (f"{check} ({spec.metric}: {_threshold_text(judge.thresholds())})", judge.zones() is not None)
                )
            chart = LineChart(
                label=f"{metric} over time",
                series=series,
                bands=bands,
                thresholds=limits,
                markers=markers,
                hover=self._hover(sample, times, lines),
                events=events or [],
            )
            out.append(
                {
                    "metric": metric,
                    "primary": metric == primary,
                    "svg": charts.line_chart(chart),
                    "series": [(s.css, s.dashed, s.name) for s in series],
                    "checks": self.redact(legend_checks),
                    "points": len(sample),
                }
            )
        return out

    @staticmethod
    def _points(sample: list[dict[str, Any]], times: list[float | None], get: Any) -> list[tuple[float, float | None]]:
        return [(t, get(r)) for r, t in zip(sample, times, strict=True) if t is not None]

    def drift_chart(
        self,
        sample: list[dict[str, Any]],
        times: list[float | None],
        model_checks: dict[str, Any],
        ids_to_time: EvaluationTimes,
        events: list[Event] | None = None,
    ) -> dict[str, Any] | None:
        def share(r: dict[str, Any]) -> float | None:
            return _number((r.get("drift") or {}).get("share"))

        def prediction(r: dict[str, Any]) -> float | None:
            return _number(((r.get("drift") or {}).get("prediction") or {}).get("statistic"))

        def drifted(r: dict[str, Any]) -> int | None:
            cols = (r.get("drift") or {}).get("drifted_columns")
            return len(cols) if isinstance(cols, list) else None

        if not any(share(r) is not None for r in sample):
            return None
        bands: list[Band] = []
        limits: list[tuple[float, str]] = []
        markers: list[Marker] = []
        legend = []
        for check, judge in model_checks.items():
            spec = judge.options
            if _check_path(spec.metric)[0] == "drift":
                b, lim = _bands(check, judge.zones(), "")
                bands += b
                limits += lim
                markers += self._markers(check, ids_to_time)
                legend.append(
                    (f"{check} ({spec.metric}: {_threshold_text(judge.thresholds())})", judge.zones() is not None)
                )
        chart = LineChart(
            label="share of drifted columns over time",
            series=[Series("drift share: drifted columns / columns", self._points(sample, times, share), "s2")],
            bands=bands,
            thresholds=limits,
            markers=markers,
            hover=self._hover(
                sample,
                times,
                [("drift share", share), ("drifted columns", drifted), ("prediction drift statistic", prediction)],
            ),
            y_domain=None,
            events=events or [],
        )
        series = [(x.css, x.dashed, x.name) for x in chart.series]
        return {"svg": charts.line_chart(chart), "checks": self.redact(legend), "series": series}

    def other_check_charts(
        self, model_checks: dict[str, Any], ids_to_time: EvaluationTimes, events: list[Event] | None = None
    ) -> list[dict[str, Any]]:
        """Checks on values that have no chart of their own (a column's drift, a training metric…)."""
        out = []
        for check, judge in model_checks.items():
            spec = judge.options
            if _check_path(spec.metric)[0] != "other":
                continue
            history = [r for r in self.check_history(check) if _number(r.get("value")) is not None]
            if not history:
                continue
            sample = charts.downsample(history, SERIES_POINTS)
            points = []
            hover = []
            for r in sample:
                t = timestamp(ids_to_time.get(r.get("evaluation"), r.get("at")))
                if t is None:
                    continue
                points.append((t, _number(r.get("value"))))
                hover.append((t, self.redact(f"{when(r.get('at'))}: {fmt(r.get('value'))} · {r.get('outcome')}")))
            bands, limits = _bands(check, judge.zones(), "")
            chart = LineChart(
                label=f"check {check}: {spec.metric} over time",
                series=[Series(spec.metric, points, "s3")],
                bands=bands,
                thresholds=limits,
                markers=self._markers(check, ids_to_time),
                hover=hover,
                events=events or [],
            )
            out.append(
                {
                    "check": check,
                    "metric": spec.metric,
                    "thresholds": _threshold_text(judge.thresholds()),
                    "svg": charts.line_chart(chart),
                }
            )
        return out

    # -- the latest evaluation's drift ---------------------------------------------------

    def drift_table(self, latest: dict[str, Any] | None) -> dict[str, Any] | None:
        if latest is None or not isinstance(latest.get("drift"), dict):
            return None
        drift = latest["drift"]
        columns = drift.get("columns") or {}

        def ratio(item: tuple[str, dict[str, Any]]) -> float:
            stat, limit = _number(item[1].get("statistic")), _number(item[1].get("threshold"))
            if stat is None:
                return -1.0
            return stat / limit if limit else stat

        ordered = sorted(columns.items(), key=lambda kv: (not kv[1].get("drifted"), -ratio(kv)))
        # bars share one scale: up to the largest statistic, but at most 4 thresholds, so that the
        # threshold tick stays readable; a bigger statistic fills its bar (its value is in the table)
        statistics = [v for _, c in ordered if (v := _number(c.get("statistic"))) is not None]
        limits = [v for _, c in ordered if (v := _number(c.get("threshold"))) is not None]
        scale = max(statistics, default=0.0)
        if limits:
            scale = max(min(scale, 4 * max(limits)), max(limits))
        scale = scale * 1.05 or 1.0
        rows = [self._drift_row(str(name), c, scale) for name, c in ordered[:DRIFT_ROWS]]
        extra = {}
        for key in ("prediction", "label"):
            if isinstance(drift.get(key), dict):
                extra[key] = self._drift_row(key, drift[key], scale)
        return {
            "id": latest.get("id"),
            "at": latest.get("evaluated_at"),
            "share": _number(drift.get("share")),
            "drifted": len(drift.get("drifted_columns") or []),
            "total": len(columns),
            "rows": rows,
            "hidden": max(len(ordered) - DRIFT_ROWS, 0),
            "extra": extra,
        }

    def _drift_row(self, name: str, c: dict[str, Any], scale: float) -> dict[str, Any]:
        stat, limit, p = _number(c.get("statistic")), _number(c.get("threshold")), _number(c.get("p_value"))
        verdict = "drifted" if c.get("drifted") else "no result" if stat is None else "not drifted"
        if c.get("drifted") and c.get("reasons"):  # auto: the measures that drifted
            verdict += f" ({', '.join(str(r) for r in c['reasons'])})"
        if c.get("absent"):
            verdict = "absent from the data"
        if c.get("excluded"):
            verdict = "excluded by the settings"
        text = self.redact(f"{name}: {effect(c) if stat is not None else 'no statistic'} → {verdict}")
        missing = c.get("missing_rate") or {}
        return self.redact(
            {
                "name": name,
                "method": c.get("method"),
                "statistic": stat,
                "threshold": limit,
                "p_value": p,
                "drifted": bool(c.get("drifted")),
                "verdict": verdict,
                "missing_ref": _number(missing.get("reference")),
                "missing_cur": _number(missing.get("current")),
                "new_categories": ", ".join(str(x) for x in (c.get("new_categories") or [])[:5]),
            }
        ) | {"bar": charts.drift_bar(stat, limit, bool(c.get("drifted")), text, scale)}

    # -- reference against current, per feature ---------------------------------------------

    def distributions(self, profile: dict[str, Any] | None, latest: dict[str, Any] | None) -> dict[str, Any]:
        """Each feature's reference histogram (the profile's bins) beside the latest evaluation's,
        most drifted first; an evaluation recorded before counts were stored shows the reference alone."""
        out: dict[str, Any] = {
            "figures": [],
            "hidden": 0,
            "evaluation": None,
            "at": None,
            "stored": False,
            "error": None,
        }
        if profile is None or not isinstance(profile.get("columns"), dict):
            return out
        drift = ((latest or {}).get("drift") or {}).get("columns") or {}
        out["evaluation"], out["at"] = (latest or {}).get("id"), (latest or {}).get("evaluated_at")
        out["stored"] = any(isinstance(c, dict) and c.get("counts") is not None for c in drift.values())

        def order(name: str) -> tuple[bool, float]:
            c = drift.get(name) or {}
            stat, limit = _number(c.get("statistic")), _number(c.get("threshold"))
            ratio = -1.0 if stat is None else stat / limit if limit else stat
            return (not c.get("drifted"), -ratio)

        names = sorted(profile["columns"], key=order)
        for name in names[:DIST_COLUMNS]:
            ref = profile["columns"][name]
            try:
                out["figures"].append(self._distribution(str(name), ref, drift.get(name)))
            except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:  # an odd profile costs its chart
                why = f"could not be drawn: {type(exc).__name__}: {exc}"
                out["figures"].append(
                    {"name": str(name), "svg": None, "error": why, "verdict": "", "facts": "", "drifted": False}
                )
        out["hidden"] = max(len(names) - DIST_COLUMNS, 0)
        return self.redact({k: v for k, v in out.items() if k != "figures"}) | {"figures": out["figures"]}

    def _distribution(self, name: str, ref: dict[str, Any], c: dict[str, Any] | None) -> dict[str, Any]:
        c = c if isinstance(c, dict) else {}
        counts = c.get("counts")
        current = c.get("current") if isinstance(c.get("current"), dict) else None
        numeric = ref.get("kind") in ("numeric", "datetime") and ref.get("edges") is not None
        label = f"distribution of {name}: reference" + (" and latest evaluation" if counts is not None else "")
        facts: list[str] = []
        missing = c.get("missing_rate") or {}
        ref_missing, cur_missing = _number(missing.get("reference")), _number(missing.get("current"))
        if ref_missing or cur_missing:
            facts.append(f"missing {_pct(ref_missing)} → {_pct(cur_missing)}")
        if numeric:
            show = when if ref.get("kind") == "datetime" else fmt
            markers = []
            if _number(ref.get("mean")) is not None:
                markers.append((float(ref["mean"]), "ref-mean", f"reference mean {show(ref['mean'])}"))
            if current and _number(current.get("mean")) is not None:
                markers.append((float(current["mean"]), "cur-mean", f"latest evaluation mean {show(current['mean'])}"))
                facts.insert(0, f"mean {show(ref.get('mean'))} → {show(current['mean'])}")
            bins = paired_bins(ref, counts, probability=False, extent=current)
            svg = charts.compare_histogram(
                label, bins, markers=markers, x_time=ref.get("kind") == "datetime", x_name=""
            )
        else:
            bins_c = category_bins(ref, counts)
            svg = charts.compare_categories(label, bins_c)
            new = [str(x) for x in (c.get("new_categories") or [])[:5]]
            if new:
                facts.append("new values: " + ", ".join(new))
        stat = _number(c.get("statistic"))
        if c.get("excluded"):
            verdict = "excluded by the settings"
        elif c.get("absent"):
            verdict = "absent from the data"
        elif stat is None:
            verdict = "no result" if c else "not measured"
        else:
            verdict = effect(c) + (" · drifted" if c.get("drifted") else "")
        return self.redact(
            {
                "name": name,
                "kind": ref.get("kind"),
                "drifted": bool(c.get("drifted")),
                "verdict": verdict,
                "facts": " · ".join(facts),
                "stored": counts is not None,
                "error": None,
            }
        ) | {"svg": svg}

    # -- the active version's attachments ---------------------------------------------------

    def prediction(
        self,
        profile: dict[str, Any] | None,
        error: str | None,
        latest: dict[str, Any] | None,
        task: str | None,
        model: str,
    ) -> dict[str, Any]:
        """The reference distribution of the active version's output, and what the latest evaluation says of it."""
        out: dict[str, Any] = {"error": error, "svg": None, "reference": None, "current": None, "drift": None}
        if profile is None or not isinstance(profile.get("prediction"), dict):
            out["error"] = error or "the active version has no prediction profile"
            return out
        ref = profile["prediction"]
        current_drift = ((latest or {}).get("drift") or {}).get("prediction")
        current = current_drift.get("current") if isinstance(current_drift, dict) else None
        of = ref.get("of", "prediction")
        what = "predicted probability of the positive class" if of == "proba_positive" else "predictions"
        markers: list[tuple[float, str, str]] = []
        counts = current_drift.get("counts") if isinstance(current_drift, dict) else None
        out["stored"] = counts is not None
        out["numeric"] = ref.get("kind") in ("numeric", "datetime") and ref.get("edges") is not None
        label = f"the {what} of {model}: reference" + (" and latest evaluation" if counts is not None else "")
        if out["numeric"]:
            mean = _number(ref.get("mean"))
            if mean is not None:
                markers.append((mean, "ref-mean", f"reference mean {fmt(mean)} (std {fmt(ref.get('std'))})"))
            if isinstance(current, dict) and _number(current.get("mean")) is not None:
                text = f"latest evaluation mean {fmt(current.get('mean'))} (std {fmt(current.get('std'))})"
                markers.append((float(current["mean"]), "cur-mean", text))
            out["svg"] = charts.compare_histogram(
                label,
                paired_bins(ref, counts, probability=of == "proba_positive", extent=current),
                markers=markers,
                x_name="predicted probability" if of == "proba_positive" else "prediction",
                width=560,
                height=230,
            )
        else:
            out["svg"] = charts.compare_categories(label, category_bins(ref, counts), width=560, height=230)
        out["of"] = what
        out["reference"] = {k: ref.get(k) for k in ("count", "missing", "mean", "std", "min", "max")}
        out["reference_rows"] = profile.get("rows")
        if isinstance(current, dict):
            out["current"] = {k: current.get(k) for k in ("count", "missing", "mean", "std", "min", "max")}
        if isinstance(current_drift, dict):
            out["drift"] = self.redact(
                {
                    "method": current_drift.get("method"),
                    "statistic": _number(current_drift.get("statistic")),
                    "threshold": _number(current_drift.get("threshold")),
                    "p_value": _number(current_drift.get("p_value")),
                    "drifted": bool(current_drift.get("drifted")),
                    "new_categories": ", ".join(str(x) for x in (current_drift.get("new_categories") or [])[:10]),
                    "evaluation": (latest or {}).get("id"),
                }
            )
        out["markers"] = [(css, text) for _, css, text in markers]
        return out

    def insights(
        self, insights: dict[str, Any] | None, error: str | None, task: str | None, model: str
    ) -> dict[str, Any]:
        """The active version's insights, drawn by kind of task."""
        out: dict[str, Any] = {"error": error, "charts": [], "facts": [], "importances": None}
        if insights is None:
            return out
        draw = INSIGHT_CHARTS.get(insights.get("kind") or task or "")
        if draw is not None:
            out["charts"], out["facts"] = draw(insights, model)
        out["importances"] = importance_chart(insights.get("feature_importances") or {}, model)
        return out

    # -- scenarios -----------------------------------------------------------------------

    def scenario(self, name: str) -> dict[str, Any]:
        runs = scenario_runs(self.ctx, name)
        latest = _newest(runs)
        strip = (
            charts.outcome_strip(
                [
                    (
                        r.get("outcome")
                        if r.get("outcome") in ("SUCCESS", "WARNING", "FAILED", "ABORTED")
                        else "EMPTY",
                        self.redact(
                            f"run {r.get('id')}: {r.get('outcome')} ({when(r.get('started_at'))}, {r.get('trigger')})"
                        ),
                    )
                    for r in runs[-TABLE_ROWS:]
                ]
            )
            if runs
            else None
        )
        rows = []
        for r in latest:
            rows.append(
                {
                    "id": r.get("id"),
                    "trigger": r.get("trigger"),
                    "started_at": r.get("started_at"),
                    "finished_at": r.get("finished_at"),
                    "outcome": r.get("outcome"),
                    "steps": [
                        {"type": s.get("type"), "outcome": s.get("outcome"), "message": s.get("message")}
                        for s in r.get("steps") or []
                    ],
                }
            )
        counts: dict[str, int] = {}
        for r in runs:
            counts[str(r.get("outcome"))] = counts.get(str(r.get("outcome")), 0) + 1
        settings = self.ctx.settings.scenarios[name]
        return {
            "name": name,
            "total": len(runs),
            "counts": counts,
            "runs": self.redact(rows),
            "strip": strip,
            "steps": [s.type for s in settings.steps],
            "triggers": [t.type for t in settings.triggers],
        }


# -- the public API --------------------------------------------------------------------------


def render(ctx: ContextSource, *, refresh: int | None = None, served: bool = False) -> str:
    """The dashboard page as one HTML string, every secret (in any printed form) redacted."""
    ctx = context_of(ctx)
    env = _environment()
    css = (HERE / "static" / "dashboard.css").read_text(encoding="utf-8")
    context = Collector(ctx).page(refresh=refresh, served=served)
    page = env.get_template("dashboard.html.j2").render(**context, css=Markup(css), csp=content_security_policy(css))
    return ctx.settings.redactor(page)


def default_path(ctx: Context) -> Path:
    return Path(ctx.settings.root) / "dashboard.html"


def build(ctx: ContextSource, out_path: str | os.PathLike[str] | None = None) -> Path:
    """Write the dashboard as one self-contained HTML file (default: dashboard.html in the project folder).

    The file appears only once complete (written beside it, then renamed). Returns its path.
    """
    ctx = context_of(ctx)
    path = Path(out_path) if out_path is not None else default_path(ctx)
    path = path.expanduser().absolute()
    if path.is_dir():
        raise ModelcycleError(f"{path} is a folder: give the dashboard a file name such as dashboard.html")
    return write_page(render(ctx), path, "the dashboard")


def write_page(html: str, path: Path, what: str) -> Path:
    """Write a page atomically (beside `path`, then renamed), so a reader never sees half of it;
    `what` names it in errors ("the dashboard")."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ModelcycleError(f"cannot write {what} to {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(html)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise ModelcycleError(f"cannot write {what} to {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path
