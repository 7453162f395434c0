"""`modelcycle evaluate` against a bare numpy/scipy/scikit-learn script computing the same
statistics in memory, and the peak memory of `modelcycle evaluate` as the feedback grows.

A model is trained once through modelcycle (50,000 rows x 20 numeric + 4 categorical
columns and a binary target, HistGradientBoosting max_iter=50, threads = 1); the bare
script loads the very same fitted estimator, pickled with joblib from
`project.load_model(...)`. Feedback: `--rows` (1,000,000) labelled rows of the same 24
columns with drift (shifted, rescaled and emptier numeric columns, a changed category
mix, a category never seen at training, a slightly different concept), as Parquet.

* speed: both sides separate processes (start-up included), interleaved,
  OMP_NUM_THREADS=1, `--runs` (3) each:
    bare: pandas.read_parquet of the whole feedback file; predict_proba; the model's
    metrics with sklearn.metrics (roc_auc, log_loss, accuracy, f1, pr_auc = average
    precision, brier); per numeric column PSI over the reference deciles and
    scipy.stats.ks_2samp against the reference holdout values (the holdout rows are
    rebuilt from the training file with the same seeded split); per categorical column
    chi-square (scipy.stats.chi2_contingency) and Jensen-Shannon
    (scipy.spatial.distance.jensenshannon); label drift likewise; prediction drift as
    PSI of the positive-class probability over the reference's deciles; expected
    accuracy from the probabilities (a CBPE stand-in);
    modelcycle: `modelcycle --project DIR evaluate churn FEEDBACK --json`, which streams
    the file in 65,536-row batches into mergeable states, compares them with the
    version's stored reference profile (the default `auto`: Wasserstein, KS, PSI,
    out-of-range share and missing rate on numeric columns, category shares, unseen
    categories, JS, PSI and missing rate on categorical ones), estimates CBPE metrics
    with the stored calibration map, and appends the record to the evaluation journal.
  Target: median ratio modelcycle / bare <= 2.
* memory: peak RSS (each child's own ru_maxrss, from os.wait4) of every run, medians
  printed; with `--rss-check`, `modelcycle evaluate` also on `--rss-large`
  (10,000,000) rows, and the ratio of its peak to the median peak on `--rows`.
  Metrics stream through bounded states (confusion counts, counts per distinct
  score, exact sums), drift through bin counts, so the peak does not grow with the
  rows. Target: peak at 10,000,000 rows <= 1.3 x the peak at 1,000,000.

    OMP_NUM_THREADS=1 .venv/bin/python bench/evaluate_ratio.py [--rows 1000000] [--runs 3]
        [--rss-check] [--rss-large 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BARE = textwrap.dedent(
    """
    import json, sys

    import joblib
    import numpy as np
    import pandas as pd
    from scipy import stats
    from scipy.spatial.distance import jensenshannon
    from sklearn import metrics as M

    spec = joblib.load(sys.argv[1])
    model, threshold, features, target = spec["model"], spec["threshold"], spec["features"], spec["target"]
    train = pd.read_parquet(sys.argv[2])
    n = len(train)
    cut = max(1, int(np.ceil(n * spec["test_size"])))
    holdout = np.sort(np.random.default_rng(spec["seed"]).permutation(n)[:cut])
    reference = train.iloc[holdout]
    current = pd.read_parquet(sys.argv[3])

    classes = model.classes_
    ref_proba = model.predict_proba(reference[features])[:, 1]
    proba = model.predict_proba(current[features])[:, 1]
    pred = np.where(proba >= threshold, classes[1], classes[0])
    y = current[target]
    known = y.notna().to_numpy()
    y_true, p, yhat = y.to_numpy()[known].astype(classes.dtype), proba[known], pred[known]
    positive = y_true == classes[1]
    metrics = {
        "roc_auc": M.roc_auc_score(positive, p),
        "log_loss": M.log_loss(positive, p, labels=[False, True]),
        "accuracy": M.accuracy_score(y_true, yhat),
        "f1": M.f1_score(y_true, yhat, pos_label=classes[1]),
        "pr_auc": M.average_precision_score(positive, p),
        "brier": M.brier_score_loss(positive, p),
    }
    estimated = {"accuracy": float(np.mean(np.where(pred == classes[1], proba, 1 - proba)))}

    def psi(ref, cur):
        edges = np.quantile(ref, np.linspace(0.1, 0.9, 9))
        a = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=10) / ref.size
        b = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=10) / cur.size
        a, b = np.where(a > 0, a, 1e-4), np.where(b > 0, b, 1e-4)
        return float(np.sum((b - a) * np.log(b / a)))

    def categorical(ref, cur):
        a = ref.dropna().astype(str).value_counts()
        b = cur.dropna().astype(str).value_counts()
        table = pd.concat([a, b], axis=1).fillna(0).to_numpy().T
        chi2, p_value, _, _ = stats.chi2_contingency(table, correction=False)
        js = jensenshannon(table[0] / table[0].sum(), table[1] / table[1].sum(), base=2)
        return {"js": float(js), "chi2": float(chi2), "p_value": float(p_value)}

    drift = {}
    for name in features:
        ref, cur = reference[name], current[name]
        if pd.api.types.is_numeric_dtype(ref.dtype):
            r = ref.to_numpy(dtype="float64", na_value=np.nan)
            c = cur.to_numpy(dtype="float64", na_value=np.nan)
            r, c = r[~np.isnan(r)], c[~np.isnan(c)]
            ks = stats.ks_2samp(r, c)
            drift[name] = {"psi": psi(r, c), "ks": float(ks.statistic), "p_value": float(ks.pvalue)}
        else:
            drift[name] = categorical(ref, cur)
    label = categorical(reference[target], y[known])
    prediction = psi(ref_proba, proba)
    share = sum(d.get("psi", d.get("js", 0)) >= (0.2 if "psi" in d else 0.1) for d in drift.values()) / len(drift)
    print(json.dumps({"rows": len(current), "labeled_rows": int(known.sum()), "metrics": metrics,
                      "estimated": estimated, "share": share, "prediction_psi": prediction, "label": label}))
    """
)

TRAIN_ROWS = 50_000
NUMERIC, CATEGORICAL = 20, 4
CHUNK = 250_000


def frame(rows: int, seed: int, drift: bool = False):  # noqa: ANN201 - pandas is imported lazily
    """`rows` rows of the 24 feature columns and the target; `drift` moves the feedback."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    out = pd.DataFrame({f"num{i}": rng.normal(size=rows) for i in range(NUMERIC)})
    categories = [f"c{k}" for k in range(8)]
    for i in range(CATEGORICAL):
        out[f"cat{i}"] = rng.choice(categories, size=rows)
    out.loc[rng.random(rows) < 0.05, "num3"] = np.nan
    if drift:
        out["num0"] += 0.4  # a shift
        out["num5"] *= 1.6  # a wider spread
        out.loc[rng.random(rows) < 0.15, "num7"] = np.nan  # emptier
        out["cat1"] = rng.choice(categories, size=rows, p=[0.3, 0.3, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05])
        out.loc[rng.random(rows) < 0.05, "cat3"] = "c_new"  # a category never seen at training
    logit = out["num0"] + 0.5 * out["num1"] - 0.3 * out["num2"] + (out["cat0"] == "c1") * 0.8
    if drift:
        logit = logit + 0.2 * out["num4"]  # the concept moves a little
    out["churned"] = (logit + rng.normal(size=rows) > 0.5).astype(int)
    return out


def make_feedback(path: Path, rows: int) -> None:
    """`rows` drifted, labelled rows of Parquet, generated and written CHUNK rows at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, rows, CHUNK):
        table = pa.Table.from_pandas(frame(min(CHUNK, rows - start), seed=start + 1, drift=True), preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def run(command: list[str], env: dict[str, str], out: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one child process: its own ru_maxrss, via wait4."""
    started = time.perf_counter()
    with out.open("wb") as stdout:
        process = subprocess.Popen(command, env=env, stdout=stdout, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="feedback rows in the speed comparison")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rss-check", action="store_true", help="also measure modelcycle's peak RSS on --rss-large")
    parser.add_argument("--rss-large", type=int, default=10_000_000)
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    os.environ["OMP_NUM_THREADS"] = "1"
    exe = str(Path(sys.executable).with_name("modelcycle"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frame(TRAIN_ROWS, seed=0).to_parquet(folder / "train.parquet", index=False)
        (folder / "modelcycle.toml").write_text(
            textwrap.dedent(
                """
                [project]
                name = "bench"
                [datasets.train]
                url = "train.parquet"
                [models.churn]
                dataset = "train"
                target = "churned"
                estimator = "sklearn.ensemble.HistGradientBoostingClassifier"
                params = { max_iter = 50 }
                split = { method = "random", test_size = 0.2, seed = 0 }
                threads = 1
                """
            )
        )
        import joblib
        from modelcycle import open_project

        project = open_project(folder)
        result = project.train("churn")
        meta = result.metadata
        spec = {
            "model": project.load_model("churn"),
            "threshold": meta["threshold"],
            "features": [f["name"] for f in meta["features"]],
            "target": meta["target"],
            "seed": meta["split"]["seed"],
            "test_size": meta["split"]["test_size"],
        }
        joblib.dump(spec, folder / "model.joblib")
        (folder / "bare.py").write_text(BARE)
        started = time.perf_counter()
        make_feedback(folder / "feedback.parquet", args.rows)
        print(
            f"trained version {result.version} (metrics: {', '.join(meta['metrics'])}); "
            f"generated {args.rows:,} feedback rows in {time.perf_counter() - started:.1f} s",
            flush=True,
        )

        bare_cmd = [sys.executable, str(folder / "bare.py"), str(folder / "model.joblib")]
        bare_cmd += [str(folder / "train.parquet"), str(folder / "feedback.parquet")]
        ours_cmd = [exe, "--project", str(folder), "evaluate", "churn", str(folder / "feedback.parquet"), "--json"]
        bare: list[tuple[float, float]] = []
        ours: list[tuple[float, float]] = []
        for i in range(args.runs):
            bare.append(run(bare_cmd, env, folder / "bare.json"))
            ours.append(run(ours_cmd, env, folder / "ours.json"))
            print(
                f"run {i + 1}: bare {bare[-1][0]:.2f} s ({bare[-1][1]:.0f} MiB)  "
                f"modelcycle {ours[-1][0]:.2f} s ({ours[-1][1]:.0f} MiB)",
                flush=True,
            )
        _compare(json.loads((folder / "bare.json").read_text()), json.loads((folder / "ours.json").read_text()))

        large: tuple[float, float] | None = None
        if args.rss_check:
            source = folder / "large.parquet"
            make_feedback(source, args.rss_large)
            large = run([*ours_cmd[:5], str(source), "--json"], env, folder / "large.json")
            print(f"modelcycle on {args.rss_large:,} rows: {large[0]:.2f} s, peak RSS {large[1]:.0f} MiB", flush=True)

    b, o = statistics.median(t for t, _ in bare), statistics.median(t for t, _ in ours)
    b_rss, o_rss = statistics.median(m for _, m in bare), statistics.median(m for _, m in ours)
    print(f"\n{args.rows:,} rows  bare median {b:.2f} s  modelcycle median {o:.2f} s  ratio {o / b:.3f}")
    print(f"peak RSS median: bare {b_rss:.0f} MiB  modelcycle {o_rss:.0f} MiB  ratio {o_rss / b_rss:.2f}")
    if large is not None:
        growth = large[1] / o_rss
        print(
            f"modelcycle peak RSS {args.rss_large:,} rows / {args.rows:,} rows: {large[1]:.0f} / {o_rss:.0f} MiB "
            f"= {growth:.2f}; target <= 1.3 {'met' if growth <= 1.3 else 'NOT met'}"
        )
    print(f"target: ratio <= 2 {'met' if o / b <= 2 else 'NOT met'}")


def _compare(bare: dict, ours: dict) -> None:
    """Both sides must have done the same work: the same rows and (nearly) the same metrics."""
    assert bare["rows"] == ours["rows"] and bare["labeled_rows"] == ours["labeled_rows"], (bare, ours)
    print("metric       bare          modelcycle    |difference|")
    worst = 0.0
    for name, value in bare["metrics"].items():
        mine = ours["metrics"][name]
        worst = max(worst, abs(value - mine))
        print(f"{name:<12} {value:<13.8f} {mine:<13.8f} {abs(value - mine):.1e}")
    drift = ours["drift"]
    print(
        f"drift share: bare (psi/js on its own deciles) {bare['share']:.2f}  modelcycle {drift['share']:.2f} "
        f"({', '.join(drift['drifted_columns'])}); prediction psi: bare {bare['prediction_psi']:.4f}  "
        f"modelcycle {drift['prediction']['statistic']:.4f}"
    )
    print(
        f"estimated accuracy: bare {bare['estimated']['accuracy']:.4f}  modelcycle {ours['estimated']['accuracy']:.4f}"
    )
    # modelcycle keeps the labelled rows' probabilities as float32: differences of ~1e-7 are expected
    assert worst < 1e-4, f"the two sides disagree on a metric by {worst}"


if __name__ == "__main__":
    main()
