"""How far performance estimated without labels lands from the truth under covariate shift.

For each dataset (real ones shipped with scikit-learn, and generated ones), modelcycle
trains a model on half the rows (default estimator, HistGradientBoosting max_iter=50,
`threads = 1`; its holdout gives the calibration map, the loss model and the sampling
errors). The other half is the pool of new data: each shift draws 40% of the pool with
probabilities proportional to exp(s · z), z a standardised feature (a covariate shift: the
rows move, the relation between features and label stays), plus one unshifted draw as
a control. `project.evaluate` on the drawn rows, labels included, gives both the true
metrics and the estimates (which never read the labels) with their 95% bands.

Classification estimates are CBPE (binary: accuracy, f1, roc_auc; multiclass: accuracy,
f1_macro); regression estimates are the loss model's (mae, rmse).

    OMP_NUM_THREADS=1 .venv/bin/python bench/estimate_error.py [--seed 0] [--task binary|multiclass|regression]

Another script can `from estimate_error import run, render`: `run()` returns one dict per
(dataset, shift, metric) with task, dataset, shift, metric, estimated, low, high,
sampling_error, true, abs_error, covered; `render(rows)` the table and the summary.
No target: the summary (mean absolute error, band coverage over the shifted draws) is
printed for information.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

METRICS = {
    "binary": ("accuracy", "f1", "roc_auc"),
    "multiclass": ("accuracy", "f1_macro"),
    "regression": ("mae", "rmse"),
}
SHIFT = 1.0  # s in exp(s · z): the drawn rows' mean of z moves by about one standard deviation
DRAW = 0.4


def _datasets(seed: int) -> list[tuple[str, str, Callable[[], Any]]]:
    """(name, task, a function returning (features frame, target series))."""
    import numpy as np
    import pandas as pd
    from sklearn import datasets as sk

    def framed(X: Any, y: Any, prefix: str = "x") -> tuple[Any, Any]:
        X = pd.DataFrame(np.asarray(X), columns=[f"{prefix}{i}" for i in range(np.asarray(X).shape[1])])
        return X, pd.Series(np.asarray(y), name="target")

    def cancer() -> tuple[Any, Any]:
        data = sk.load_breast_cancer()
        return framed(data.data, data.target)

    def logistic() -> tuple[Any, Any]:
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(8000, 4))
        p = 1 / (1 + np.exp(-(1.2 * x[:, 0] - 0.8 * x[:, 1] + 0.5 * x[:, 2] * x[:, 3] + 0.3)))
        return framed(x, (rng.random(8000) < p).astype(int))

    def heteroscedastic() -> tuple[Any, Any]:
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(8000, 3))
        spread = 0.2 + 1.5 / (1 + np.exp(-3 * (x[:, 1] - 1.0)))
        X, _ = framed(x, x[:, 0])
        X["colour"] = np.where(x[:, 2] > 0.5, "red", np.where(x[:, 2] > -0.5, "green", "blue"))
        return X, pd.Series(2 * x[:, 0] + x[:, 1] + spread * rng.normal(size=8000), name="target")

    return [
        ("breast_cancer", "binary", cancer),
        (
            "make_classification",
            "binary",
            lambda: framed(*sk.make_classification(8000, 8, n_informative=5, random_state=seed)),
        ),
        ("logistic_interaction", "binary", logistic),
        ("moons", "binary", lambda: framed(*sk.make_moons(6000, noise=0.35, random_state=seed))),
        (
            "make_classification_3",
            "multiclass",
            lambda: framed(*sk.make_classification(8000, 8, n_informative=5, n_classes=3, random_state=seed)),
        ),
        ("digits", "multiclass", lambda: framed(*sk.load_digits(return_X_y=True))),
        ("diabetes", "regression", lambda: framed(*sk.load_diabetes(return_X_y=True))),
        ("friedman1", "regression", lambda: framed(*sk.make_friedman1(8000, noise=1.0, random_state=seed))),
        ("friedman2", "regression", lambda: framed(*sk.make_friedman2(8000, noise=60.0, random_state=seed))),
        ("make_regression", "regression", lambda: framed(*sk.make_regression(8000, 6, noise=20.0, random_state=seed))),
        ("heteroscedastic", "regression", heteroscedastic),
    ]


def _shift_columns(X: Any, y: Any, task: str) -> list[str]:
    """The two numeric features most related to the target: shifts that matter."""
    import numpy as np

    numeric = [c for c in X.columns if X[c].dtype.kind in "fi" and X[c].std() > 0]
    target = y.to_numpy(dtype="float64") if task != "multiclass" else (y == y.mode()[0]).to_numpy(dtype="float64")
    strength = [abs(np.corrcoef(X[c].to_numpy(dtype="float64"), target)[0, 1]) for c in numeric]
    order = np.argsort(strength)[::-1]
    return [numeric[i] for i in order[:2]]


def run(seed: int = 0, tasks: tuple[str, ...] = ("binary", "multiclass", "regression")) -> list[dict[str, Any]]:
    """Train, shift, evaluate: one row per (dataset, shift, estimated metric)."""
    import numpy as np
    from modelcycle import open_project

    rows: list[dict[str, Any]] = []
    for name, task, load in _datasets(seed):
        if task not in tasks:
            continue
        X, y = load()
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(X))
        half = len(X) // 2
        train = X.iloc[order[:half]].assign(target=y.iloc[order[:half]].to_numpy())
        pool = X.iloc[order[half:]].assign(target=y.iloc[order[half:]].to_numpy()).reset_index(drop=True)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            train.to_parquet(folder / "train.parquet", index=False)
            (folder / "modelcycle.toml").write_text(
                f'[project]\nname = "bench"\n[datasets.d]\nurl = "train.parquet"\n[models.m]\ndataset = "d"\n'
                f'target = "target"\ntask = "{task}"\nparams = {{ max_iter = 50 }}\nthreads = 1\n'
            )
            project = open_project(folder)
            project.train("m")
            draws = [("none", None, 0.0)]
            for column in _shift_columns(X, y, task):
                draws += [(f"{column}+", column, SHIFT), (f"{column}-", column, -SHIFT)]
            for shift, column, strength in draws:
                if column is None:
                    weights = np.ones(len(pool))
                else:
                    z = pool[column].to_numpy(dtype="float64")
                    weights = np.exp(strength * (z - z.mean()) / z.std())
                picked = rng.choice(len(pool), int(DRAW * len(pool)), replace=False, p=weights / weights.sum())
                record = project.evaluate("m", pool.iloc[np.sort(picked)])
                for metric in METRICS[task]:
                    estimated, truth = record["estimated"].get(metric), record["metrics"].get(metric)
                    band = record.get("estimated_bands", {}).get(metric) or {}
                    if estimated is None or truth is None:
                        continue
                    rows.append(
                        {
                            "task": task,
                            "dataset": name,
                            "shift": shift,
                            "rows": record["rows"],
                            "metric": metric,
                            "estimated": estimated,
                            "low": band.get("low"),
                            "high": band.get("high"),
                            "sampling_error": band.get("sampling_error"),
                            "true": truth,
                            "abs_error": abs(estimated - truth),
                            "rel_error": abs(estimated - truth) / abs(truth) if truth else None,
                            "covered": (band["low"] <= truth <= band["high"]) if band else None,
                        }
                    )
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    """The table, then per task and metric: mean absolute error and band coverage (shifted draws)."""
    lines = [
        f"{'task':<11}{'dataset':<23}{'shift':<9}{'rows':>6}  {'metric':<9}{'estimated':>10}  "
        f"{'band (95%)':<21}{'true':>9}{'abs err':>9}  in band"
    ]
    for r in rows:
        band = "-" if r["low"] is None else f"[{r['low']:.4g}, {r['high']:.4g}]"
        lines.append(
            f"{r['task']:<11}{r['dataset']:<23}{r['shift']:<9}{r['rows']:>6}  {r['metric']:<9}{r['estimated']:>10.4g}  "
            f"{band:<21}{r['true']:>9.4g}{r['abs_error']:>9.4f}  {_inside(r['covered'])}"
        )
    lines.append("")
    lines.append("summary over the shifted draws (the unshifted controls in brackets):")
    keys = sorted({(r["task"], r["metric"]) for r in rows})
    for task, metric in keys:

        def stats(shifted: bool, task: str = task, metric: str = metric) -> tuple[int, float, float, str]:
            chosen = [
                r for r in rows if (r["task"], r["metric"]) == (task, metric) and (r["shift"] != "none") == shifted
            ]
            banded = [r["covered"] for r in chosen if r["covered"] is not None]
            mean = sum(r["abs_error"] for r in chosen) / len(chosen) if chosen else float("nan")
            relative = [r["rel_error"] for r in chosen if r["rel_error"] is not None]
            coverage = f"{sum(banded) / len(banded):.0%}" if banded else "-"
            rel = sum(relative) / len(relative) if relative else float("nan")
            return len({r["dataset"] + r["shift"] for r in chosen}), mean, rel, coverage

        n, mae, rel, coverage = stats(True)
        n0, mae0, rel0, coverage0 = stats(False)
        lines.append(
            f"  {task:<11}{metric:<9} {n:>3} shifted: mean abs error {mae:.4g} ({rel:.1%} of the truth), "
            f"band coverage {coverage}  [{n0} unshifted: {mae0:.4g} ({rel0:.1%}), {coverage0}]"
        )
    return "\n".join(lines)


def _inside(covered: bool | None) -> str:
    return "-" if covered is None else "yes" if covered else "NO"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", choices=("binary", "multiclass", "regression"), action="append")
    args = parser.parse_args()
    print(render(run(args.seed, tuple(args.task or ("binary", "multiclass", "regression")))))


if __name__ == "__main__":
    main()
