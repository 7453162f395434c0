"""`modelcycle train` against the script an experienced scikit-learn user writes.

Data (bench/_data.py `mixed`): 200,000 rows x 20 numeric + 4 text columns of 5, 12, 30 and
200 levels, a binary target, written as Parquet. Three programs, each a separate process
(start-up included), interleaved round by round, OMP_NUM_THREADS=1:

* expert: read_parquet, ``astype("category")``, stratified train_test_split,
  ``HistGradientBoostingClassifier(max_iter=100, categorical_features="from_dtype")``,
  roc_auc / log_loss / accuracy / f1 on the holdout, joblib.dump;
* one-hot: the same with impute + one-hot encoding of the text columns (the slow way,
  what auto preprocessing did for every estimator before native categoricals);
* modelcycle: ``modelcycle train churn --json`` on the same file, estimator, split and
  metrics, which also fingerprints the data, profiles the holdout, computes insights and
  permutation importances, and stores the version (each round retrains; under the default
  policy `always` the active version is not measured: only `if-better` compares).

Prints wall and CPU medians, the ratios modelcycle / expert and modelcycle / one-hot, each
program's roc_auc, and modelcycle's median per-stage timings (from ``train --json``).
Target: median wall ratio modelcycle / expert <= 1.10, with roc_auc within 0.002.

    OMP_NUM_THREADS=1 .venv/bin/python bench/train_ratio.py [--rows 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import mixed  # noqa: E402

COMMON_HEAD = """
import sys, io, joblib, pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

frame = pd.read_parquet(sys.argv[1])
y = frame.pop("churned")
cats = [c for c in frame.columns if c.startswith("cat")]
"""

COMMON_TAIL = """
proba = model.predict_proba(test_X)[:, 1]
pred = (proba >= 0.5).astype(int)
print(roc_auc_score(test_y, proba), log_loss(test_y, proba), accuracy_score(test_y, pred), f1_score(test_y, pred))
joblib.dump(model, io.BytesIO())
"""

EXPERT = COMMON_HEAD + textwrap.dedent(
    """
    frame[cats] = frame[cats].astype("category")
    train_X, test_X, train_y, test_y = train_test_split(frame, y, test_size=0.2, random_state=0, stratify=y)
    model = HistGradientBoostingClassifier(max_iter=100, categorical_features="from_dtype", random_state=0)
    model.fit(train_X, train_y)
    """
) + COMMON_TAIL

ONEHOT = COMMON_HEAD + textwrap.dedent(
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    train_X, test_X, train_y, test_y = train_test_split(frame, y, test_size=0.2, random_state=0, stratify=y)
    nums = [c for c in frame.columns if c not in cats]
    prep = ColumnTransformer([
        ("num", SimpleImputer(strategy="median"), nums),
        ("cat", make_pipeline(
            SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        ), cats),
    ])
    model = Pipeline([("prep", prep), ("model", HistGradientBoostingClassifier(max_iter=100, random_state=0))])
    model.fit(train_X, train_y)
    """
) + COMMON_TAIL

SETTINGS = """
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
split = { method = "stratified", test_size = 0.2, seed = 0 }
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, its stdout): CPU time is steadier on a shared machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    exe = str(Path(sys.executable).with_name("modelcycle"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "customers.parquet"
        mixed(args.rows, seed=0).to_parquet(data, index=False)
        (folder / "expert.py").write_text(EXPERT)
        (folder / "onehot.py").write_text(ONEHOT)
        (folder / "modelcycle.toml").write_text(SETTINGS)
        programs = {
            "expert": [sys.executable, str(folder / "expert.py"), str(data)],
            "one-hot": [sys.executable, str(folder / "onehot.py"), str(data)],
            "modelcycle": [exe, "--project", str(folder), "train", "churn", "--json"],
        }
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in programs}
        auc: dict[str, float] = {}
        stages: list[dict[str, float]] = []
        for run in range(args.runs):
            line = []
            for name, command in programs.items():
                wall, cpu, out = timed(command, env)
                runs[name].append((wall, cpu))
                if name == "modelcycle":
                    result = json.loads(out)
                    auc[name] = result["metrics"]["roc_auc"]
                    stages.append(result["timings"])
                else:
                    auc[name] = float(out.split()[0])
                line.append(f"{name} {wall:.2f} s ({cpu:.2f} s CPU)")
            print(f"run {run + 1}: " + "  ".join(line), flush=True)
    wall = {name: statistics.median(w for w, _ in values) for name, values in runs.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in runs.items()}
    print(f"\n{args.rows} rows, medians of {args.runs} rounds")
    print(f"{'program':<12}{'wall s':>8}{'CPU s':>8}{'roc_auc':>10}")
    for name in programs:
        print(f"{name:<12}{wall[name]:>8.2f}{cpu[name]:>8.2f}{auc[name]:>10.4f}")
    ratio = wall["modelcycle"] / wall["expert"]
    print(
        f"\nmodelcycle / expert:  wall {ratio:.3f}  CPU {cpu['modelcycle'] / cpu['expert']:.3f}  "
        f"roc_auc {auc['modelcycle'] - auc['expert']:+.4f}"
    )
    print(
        f"modelcycle / one-hot: wall {wall['modelcycle'] / wall['one-hot']:.3f}  "
        f"CPU {cpu['modelcycle'] / cpu['one-hot']:.3f}  roc_auc {auc['modelcycle'] - auc['one-hot']:+.4f}"
    )
    median_stages = {k: statistics.median(s.get(k, 0.0) for s in stages) for k in stages[0]}
    print("modelcycle stages (median s): " + ", ".join(f"{k} {v:.2f}" for k, v in median_stages.items()))
    close = abs(auc["modelcycle"] - auc["expert"]) <= 0.002
    print(f"target: wall ratio <= 1.10 and roc_auc within 0.002: {'met' if ratio <= 1.10 and close else 'NOT met'}")


if __name__ == "__main__":
    main()
