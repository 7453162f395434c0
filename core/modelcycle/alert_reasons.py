"""Why an alert fired, in its own words: the template fields that name the drifted columns
with their effect sizes (or the metric, its value and its thresholds), the evaluation judged
(model, version, data, when) and the dashboard section to open.

Read from the evaluation record the check judged, so the email, the webhook and the alert
log carry the same reasons; a record that cannot be read costs the details, not the alert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ModelcycleError
from .evaluation_label import shown_name

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context

#: drifted columns named in one alert; the rest are counted
MOST_COLUMNS = 10


def dashboard_url(ctx: Context) -> str:
    """[dashboard] url, else the older [alerts] dashboard_url; "" when neither is set."""
    return ctx.settings.dashboard.url or ctx.settings.alerts.dashboard_url


def section_link(ctx: Context, model: str | None, drift: bool = False) -> str:
    """The dashboard address, pointed at the model's section (its drift part for a drift check)."""
    url = dashboard_url(ctx)
    if not url or not model:
        return url
    return f"{url}#drift-{model}" if drift else f"{url}#model-{model}"


def evaluation_record(ctx: Context, result: dict[str, Any]) -> dict[str, Any] | None:
    """The evaluation a check result judged, or None (none judged, or it cannot be read)."""
    from .history import evaluation_journal

    if not isinstance(result.get("evaluation"), int) or not result.get("model"):
        return None
    try:
        return evaluation_journal(ctx, result["model"]).get(result["evaluation"])
    except (ModelcycleError, OSError, ValueError):
        return None


def _num(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, int | float) and not isinstance(value, bool) else "-"


def effect(result: dict[str, Any]) -> str:
    """One drift result's effect size against its threshold: the measures that drifted (auto); for
    an auto result that did not drift, the measure nearest its bar (and the noise bound, when that
    is what held it back); or the test's statistic (and p-value) for a named test."""
    measures = result.get("measures") if isinstance(result.get("measures"), dict) else {}
    listed = result.get("reasons") if isinstance(result.get("reasons"), list) else []
    reasons = [r for r in listed if isinstance(r, str) and isinstance(measures.get(r), dict)]
    reasons.sort(key=lambda r: -_ratio(measures[r]))  # the measure furthest past its threshold first
    if reasons:
        return ", ".join(
            f"{r} {_num(measures[r].get('statistic'))} >= {_num(measures[r].get('threshold'))}" for r in reasons
        )
    judged = {n: m for n, m in measures.items() if isinstance(m, dict) and _numbers(m, "statistic", "threshold")}
    if judged and not result.get("drifted"):
        name, nearest = max(judged.items(), key=lambda item: _ratio(item[1], noise=True))
        statistic, threshold = nearest["statistic"], nearest["threshold"]
        noise = nearest.get("noise") if _numbers(nearest, "noise") else 0.0
        if statistic < threshold:
            return f"{name} {_num(statistic)} < {_num(threshold)}"
        return f"{name} {_num(statistic)} vs {_num(threshold)}, within the noise bound {_num(noise)}"
    text = f"{result.get('method')} {_num(result.get('statistic'))} vs threshold {_num(result.get('threshold'))}"
    return text + (f", p-value {_num(result['p_value'])}" if result.get("p_value") is not None else "")


def _ratio(result: dict[str, Any], *, noise: bool = False) -> float:
    """How far past its threshold a column is: the order in which drifted columns are named. With
    `noise`, past the higher of its threshold and its noise bound: what flagging it takes."""
    statistic, threshold = result.get("statistic"), result.get("threshold")
    if not isinstance(statistic, int | float) or not isinstance(threshold, int | float):
        return 0.0
    if noise and _numbers(result, "noise"):
        threshold = max(threshold, result["noise"])
    return statistic / threshold if threshold else float(statistic)


def _numbers(result: dict[str, Any], *keys: str) -> bool:
    return all(isinstance(result.get(k), int | float) and not isinstance(result.get(k), bool) for k in keys)


def drifted_text(metric: str, record: dict[str, Any] | None) -> str:
    """For a check on drift: the drifted columns (or the column, or the prediction) with their effect
    sizes, most drifted first; "" for any other check."""
    parts = metric.split(".")
    drift = (record or {}).get("drift")
    if parts[0] != "drift" or len(parts) < 2 or not isinstance(drift, dict):
        return ""
    if len(parts) > 2 and parts[1] == "columns":
        column = drift.get("columns", {}).get(parts[2]) if isinstance(drift.get("columns"), dict) else None
        return f"Column {parts[2]}: {effect(column)}" if isinstance(column, dict) else ""
    if parts[1] in ("prediction", "label"):
        found = drift.get(parts[1])
        return f"{parts[1].capitalize()} drift: {effect(found)}" if isinstance(found, dict) else ""
    columns = drift.get("columns") if isinstance(drift.get("columns"), dict) else {}
    drifted = sorted(
        ((n, c) for n, c in columns.items() if isinstance(c, dict) and c.get("drifted")),
        key=lambda item: -_ratio(item[1]),
    )
    if not drifted:
        return f"No column drifted (of {len(columns)})."
    named = "; ".join(f"{n} ({effect(c)})" for n, c in drifted[:MOST_COLUMNS])
    more = f"; and {len(drifted) - MOST_COLUMNS} more" if len(drifted) > MOST_COLUMNS else ""
    return f"Drifted columns ({len(drifted)} of {len(columns)}): {named}{more}"


def evaluated_text(result: dict[str, Any], record: dict[str, Any] | None) -> str:
    """'evaluation 4 of cancer v1 on october (data as of 2026-10-31), run at …', or what is known."""
    if result.get("evaluation") is None:
        return "no evaluation"
    text = f"evaluation {result['evaluation']} of {result.get('model')} v{result.get('version')}"
    if record is None:
        return text
    name = shown_name(record)
    text += f" on {name}" if name else " on unnamed data"
    text += f" (data as of {record['as_of']})" if record.get("as_of") else ""
    return text + f", run at {record.get('evaluated_at')}"


def reason_fields(ctx: Context, result: dict[str, Any], record: dict[str, Any] | None) -> dict[str, str]:
    """The alert template fields that say why: why, drifted, evaluated, data, as_of, dashboard_url,
    dashboard."""
    metric = str(result.get("metric") or "")
    value = result.get("value")
    shown = f"{value:.4g}" if isinstance(value, float) else value
    thresholds = ", ".join(f"{k} {v}" for k, v in (result.get("thresholds") or {}).items()) or "-"
    try:
        drifted, evaluated = drifted_text(metric, record), evaluated_text(result, record)
    except (TypeError, AttributeError, ValueError):  # a record shaped otherwise costs the details, not the alert
        record = None
        drifted, evaluated = "", evaluated_text(result, None)
    link = section_link(ctx, result.get("model"), drift=metric.startswith("drift."))
    return {
        "why": f"{metric} = {shown}; thresholds: {thresholds}" + (f"\n{drifted}" if drifted else ""),
        "drifted": drifted,
        "evaluated": evaluated,
        "data": (shown_name(record) if record else None) or "-",
        "as_of": (record or {}).get("as_of") or "-",
        "dashboard_url": link,
        "dashboard": f"Dashboard: {link}" if link else "",
    }
