"""`modelcycle train` against a bare scikit-learn script doing the same work.

Data: 200,000 rows x 20 numeric + 4 categorical columns and a binary target,
generated and written as Parquet. Both sides run as separate processes (start-up
included), interleaved, with OMP_NUM_THREADS=1:

* bare: pandas.read_parquet, train_test_split, impute + one-hot + HistGradientBoosting
  (max_iter=100), roc_auc / log_loss / accuracy / f1 on the holdout, joblib.dump;
* modelcycle: `modelcycle train churn --json` on the same file and estimator, which
  also fingerprints the data, profiles the holdout, computes insights and
  permutation importances, and stores the version.

Target: median ratio modelcycle / bare <= 1.15.

    OMP_NUM_THREADS=1 .venv/bin/python bench/train_ratio.py [--rows 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BARE = textwrap.dedent(
    """
    import sys, io, joblib, pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.read_parquet(sys.argv[1])
    y = frame.pop("churned")
    train_X, test_X, train_y, test_y = train_test_split(frame, y, test_size=0.2, random_state=0)
    cats = [c for c in frame.columns if c.startswith("cat")]
    nums = [c for c in frame.columns if c not in cats]
    prep = ColumnTransformer([
        ("num", SimpleImputer(strategy="median"), nums),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), cats),
    ])
    model = Pipeline([("prep", prep), ("model", HistGradientBoostingClassifier(max_iter=100))]).fit(train_X, train_y)
    proba = model.predict_proba(test_X)[:, 1]
    pred = (proba >= 0.5).astype(int)
    print(roc_auc_score(test_y, proba), log_loss(test_y, proba), accuracy_score(test_y, pred), f1_score(test_y, pred))
    joblib.dump(model, io.BytesIO())
    """
)


def make_data(path: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"num{i}": rng.normal(size=rows) for i in range(20)})
    for i in range(4):
        frame[f"cat{i}"] = rng.choice([f"c{k}" for k in range(8)], size=rows)
    logit = frame["num0"] + 0.5 * frame["num1"] - 0.3 * frame["num2"] + (frame["cat0"] == "c1") * 0.8
    frame["churned"] = (logit + rng.normal(size=rows) > 0.5).astype(int)
    frame.to_parquet(path, index=False)


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child): CPU time is steadier on a shared machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    exe = str(Path(sys.executable).with_name("modelcycle"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_data(folder / "customers.parquet", args.rows)
        (folder / "bare.py").write_text(BARE)
        (folder / "modelcycle.toml").write_text(
            textwrap.dedent(
                """
            [project]
            name = "bench"
            [datasets.customers]
            url = "customers.parquet"
            [models.churn]
            dataset = "customers"
            target = "churned"
            estimator = "sklearn.ensemble.HistGradientBoostingClassifier"
            params = { max_iter = 100 }
            metrics = ["roc_auc", "log_loss", "accuracy", "f1"]
            split = { method = "random", test_size = 0.2, seed = 0 }
            """
            )
        )
        bare, ours = [], []
        for run in range(args.runs):
            bare.append(timed([sys.executable, str(folder / "bare.py"), str(folder / "customers.parquet")], env))
            ours.append(timed([exe, "--project", str(folder), "train", "churn", "--json"], env))
            print(
                f"run {run + 1}: bare {bare[-1][0]:.2f} s ({bare[-1][1]:.2f} s CPU)  "
                f"modelcycle {ours[-1][0]:.2f} s ({ours[-1][1]:.2f} s CPU)",
                flush=True,
            )
    b, o = statistics.median(w for w, _ in bare), statistics.median(w for w, _ in ours)
    bc, oc = statistics.median(c for _, c in bare), statistics.median(c for _, c in ours)
    print(f"\n{args.rows} rows  bare median {b:.2f} s  modelcycle median {o:.2f} s  ratio {o / b:.3f}")
    print(f"CPU: bare median {bc:.2f} s  modelcycle median {oc:.2f} s  ratio {oc / bc:.3f}")
    print(f"target: wall ratio <= 1.15 {'met' if o / b <= 1.15 else 'NOT met'}")


if __name__ == "__main__":
    main()
