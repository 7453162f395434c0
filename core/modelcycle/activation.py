"""The activation decision: pure functions over predictions on the compared rows, no I/O.

`if-better` activates a candidate only if, on the same rows (rows neither model was trained
on: see comparison.py), at least `min_rows` of them, its primary
metric beats the active version's by at least `min_delta` and a paired bootstrap
says the improvement is significant: the share of resamples in which the candidate
is not better, p = (1 + #{delta_b <= 0}) / (B + 1), must be below `significance`.
Resamples are row weights (how often each row was drawn), so both models are measured on exactly the
same resampled rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

MetricFn = Callable[[np.ndarray | None], float]  # weights → metric value


@dataclass(frozen=True)
class Side:
    """One model's primary metric on the holdout, and how to recompute it under weights."""

    version: int | None
    value: float
    compute: MetricFn


#: resamples per block: blocks draw from their own seeded generators, so they can run
#: anywhere (joblib's backend: this process, or a Dask cluster) with the same result
BLOCK = 100


def paired_bootstrap(
    candidate: Side, incumbent: Side, *, rows: int, greater_is_better: bool, resamples: int, seed: int
) -> np.ndarray:
    """Improvement of the candidate over the incumbent (positive = better) in each resample."""
    from joblib import Parallel, delayed

    sign = 1.0 if greater_is_better else -1.0
    sizes = [min(BLOCK, resamples - start) for start in range(0, resamples, BLOCK)]
    blocks = Parallel()(
        delayed(_bootstrap_block)(candidate, incumbent, rows, sign, size, (seed, i)) for i, size in enumerate(sizes)
    )
    return np.concatenate(blocks) if blocks else np.empty(0)


def _bootstrap_block(
    candidate: Side, incumbent: Side, rows: int, sign: float, size: int, seed: tuple[int, int]
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    deltas = np.empty(size)
    for b in range(size):
        weights = np.bincount(rng.integers(0, rows, rows), minlength=rows).astype("float64")
        deltas[b] = sign * (candidate.compute(weights) - incumbent.compute(weights))
    return deltas


def decide(
    policy: str,
    *,
    metric: str,
    greater_is_better: bool,
    candidate: Side,
    incumbent: Side | None,
    min_delta: float = 0.0,
    significance: float = 0.05,
    resamples: int = 1000,
    seed: int = 0,
    rows: int = 0,
    override: bool | None = None,
    incumbent_problem: str | None = None,
    min_rows: int = 0,
    compared: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The decision record kept in the activation log and printed by `train --json`.

    `compared` says which rows both sides were measured on (`compared_on`, `rows_compared`,
    `rows_excluded`, and a `note` when the comparison is not the fair one); `rows` is their number.
    """
    compared = dict(compared or {})
    note = compared.pop("note", None)
    covers = compared.pop("incumbent_covers", None)
    record: dict[str, Any] = {
        "policy": policy,
        "metric": metric,
        "candidate": {"version": candidate.version, metric: _finite(candidate.value)},
        "incumbent": None if incumbent is None else {"version": incumbent.version, metric: _finite(incumbent.value)},
        "delta": None,
        "p_value": None,
        "min_delta": min_delta,
        "significance": significance,
        "compared_on": None,
        "rows_compared": None,
        "rows_excluded": None,
        "min_rows": min_rows,
    }
    if incumbent is not None:
        record.update(compared)
        if note:
            record["note"] = note
    if override is not None:
        flag = "--activate" if override else "--no-activate"  # activate=True/False in Python
        return {**record, "activate": override, "reason": f"{flag} overrode the policy '{policy}'"}
    if policy == "always":
        return {**record, "activate": True, "reason": "policy 'always' activates every new version"}
    if policy == "manual":
        return {**record, "activate": False, "reason": "policy 'manual': activate it with 'modelcycle activate'"}
    if incumbent is None:
        why = incumbent_problem or "no version is active"
        return {**record, "activate": True, "reason": f"{why}: the first version is activated"}
    activate, reason = _if_better(
        record,
        metric,
        greater_is_better,
        candidate,
        incumbent,
        min_delta,
        significance,
        resamples,
        seed,
        rows,
        min_rows,
        covers,
    )
    return {**record, "activate": activate, "reason": f"{reason} ({note})" if note else reason}


def _if_better(
    record: dict[str, Any],
    metric: str,
    greater_is_better: bool,
    candidate: Side,
    incumbent: Side,
    min_delta: float,
    significance: float,
    resamples: int,
    seed: int,
    rows: int,
    min_rows: int,
    covers: str | None = None,
) -> tuple[bool, str]:
    """(activate, reason) of the if-better test; fills `delta` and `p_value` into `record`."""
    if rows < min_rows:
        return False, _too_few(record, incumbent.version, rows, min_rows, covers)
    sign = 1.0 if greater_is_better else -1.0
    delta = sign * (candidate.value - incumbent.value)
    record["delta"] = _finite(delta)
    if not np.isfinite(delta):
        return False, f"{metric} is undefined for one of the models on the compared rows"
    if delta < min_delta:
        return False, (
            f"{metric} {_fmt(candidate.value)} does not beat active version {incumbent.version}'s "
            f"{_fmt(incumbent.value)} by min_delta {min_delta:g}"
        )
    deltas = paired_bootstrap(
        candidate, incumbent, rows=rows, greater_is_better=greater_is_better, resamples=resamples, seed=seed
    )
    p_value = float((1 + np.sum(~(deltas > 0))) / (resamples + 1))
    record["p_value"] = p_value
    if p_value >= significance:
        return False, (
            f"{metric} {_fmt(candidate.value)} vs {_fmt(incumbent.value)} is not a significant improvement "
            f"(paired bootstrap p={p_value:.3g} >= {significance:g})"
        )
    return True, (
        f"{metric} improved from {_fmt(incumbent.value)} to {_fmt(candidate.value)} "
        f"(paired bootstrap p={p_value:.3g} < {significance:g})"
    )


def _too_few(record: dict[str, Any], version: int | None, rows: int, min_rows: int, covers: str | None = None) -> str:
    """Why not compared, and the fix; when the active version was trained on all rows (kfold,
    refit_full), a bigger holdout would be excluded as well: only other labelled data helps."""
    excluded = record.get("rows_excluded") or 0
    on = record.get("compared_on")
    if on == "holdout-unseen":
        where = f"holdout rows that active version {version} was not trained on ({excluded} excluded)"
        fix = "lower min_rows, hold out more rows (split.test_size) or compare on labelled data (activation.on)"
        if covers == "all rows":
            fix = "only rows the active version was not trained on can be compared; "
            fix += "use activation.on = <a labelled dataset>"
    elif on == "holdout":
        where = "holdout rows"
        fix = "lower min_rows or hold out more rows (split.test_size)"
    else:
        where = f"labelled rows of dataset '{on}' that neither version was trained on ({excluded} excluded)"
        fix = "lower min_rows or give activation.on more labelled rows"
    return f"only {rows} {where}, fewer than min_rows {min_rows}: not compared; {fix}"


def _finite(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def _fmt(value: float) -> str:
    return f"{value:.4g}"
