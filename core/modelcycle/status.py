"""Per model: the active version, its latest evaluation and the worst latest check outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .checks import latest_results, worst
from .history import latest_evaluation

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context


def model_status(ctx: Context, model: str | None = None) -> list[dict[str, Any]]:
    """One row per model (all of them, or `model`): what `modelcycle status` shows.

    Challenger evaluations (of other versions) change none of it; a check result recorded
    for a version no longer active counts as EMPTY until the check runs again.
    """
    models = [model] if model is not None else sorted(ctx.settings.models)
    out = []
    for name in models:
        ctx.require_model(name)
        active = ctx.registry.active(name)
        results = latest_results(ctx, name)
        # the active version's: a challenger's evaluation never stands for the model in production
        latest = latest_evaluation(ctx, name, active["version"]) if active else None
        out.append(
            {
                "model": name,
                "active_version": active["version"] if active else None,
                "latest_evaluation": None
                if latest is None
                else {
                    k: latest.get(k)
                    for k in ("id", "version", "evaluated_at", "rows", "labeled_rows", "metrics", "estimated")
                }
                | {"drift_share": (latest.get("drift") or {}).get("share")},
                "status": worst([r["outcome"] for r in results]),
                "checks": results,
            }
        )
    return out
