"""Reading a long metrics history: `project.history(model)` and `modelcycle history` over
10,000 evaluation records on the local store.

One real record is made first, in a scratch project: a model with 20 numeric + 4
categorical features is trained (5,000 rows, HistGradientBoosting max_iter=20) and
evaluated on 20,000 labelled, drifted rows, which gives a record with the six binary
metrics, CBPE estimates and drift details of 24 columns, the prediction and the label
(about 15 KB of JSON). A second project with one model (trained the same way) then gets
`--records` (10,000) copies of that record through `project.record_evaluation(model,
record)`, each one varied: time (one an hour), version (1-3), row counts, every metric,
estimate and drift statistic jittered, drift decisions redrawn. Writing them is timed
for information.

Then, each `--runs` (5) times, interleaved, in fresh processes with OMP_NUM_THREADS=1:

* `project.history(model)` in a child that times itself: the import of modelcycle plus
  `open_project` (start-up), the imports `history` makes on its first call (pandas and
  modelcycle.evaluate, timed apart as they are start-up too), and `history` alone; the
  child's wall time from the parent (start-up included, interpreter too);
* `modelcycle --project DIR history MODEL --metric roc_auc --json`, wall time.

Targets: median of `project.history` alone <= 1 s, and the median wall time of
`modelcycle history --metric roc_auc --json` is printed against the same 1 s for
information (it includes the CLI's start-up).

    OMP_NUM_THREADS=1 .venv/bin/python bench/history_load.py [--records 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _data import frame

CHILD = textwrap.dedent(
    """
    import json, sys, time
    started = time.perf_counter()
    import modelcycle
    project = modelcycle.open_project(sys.argv[1])
    opened = time.perf_counter()
    import pandas, modelcycle.evaluate  # what history imports on its first call
    imported = time.perf_counter()
    frame = project.history(sys.argv[2])
    done = time.perf_counter()
    print(json.dumps({"startup": opened - started, "imports": imported - opened, "history": done - imported,
                      "rows": len(frame), "columns": len(frame.columns)}))
    """
)

SETTINGS = textwrap.dedent(
    """
    [project]
    name = "bench"
    [datasets.train]
    url = "train.parquet"
    [models.churn]
    dataset = "train"
    target = "churned"
    estimator = "sklearn.ensemble.HistGradientBoostingClassifier"
    params = { max_iter = 20 }
    threads = 1
    """
)


def project_at(folder: Path):  # noqa: ANN201 - modelcycle is imported lazily
    from modelcycle import open_project

    folder.mkdir(parents=True, exist_ok=True)
    frame(5_000, seed=0).to_parquet(folder / "train.parquet", index=False)
    (folder / "modelcycle.toml").write_text(SETTINGS)
    project = open_project(folder)
    project.train("churn")
    return project


def varied(template: dict, i: int, total: int, rng, start: datetime) -> dict:  # noqa: ANN001 - numpy Generator
    """A copy of the real record with plausible, different values."""
    record = copy.deepcopy(template)
    record.pop("id", None)
    record["evaluated_at"] = (start + timedelta(hours=i)).isoformat()
    record["version"] = 1 + min(2, i * 3 // total)
    record["rows"] = int(rng.integers(5_000, 200_000))
    record["labeled_rows"] = int(record["rows"] * rng.uniform(0.5, 1.0))
    record["seconds"] = round(float(rng.uniform(0.5, 5.0)), 3)
    for section in ("metrics", "estimated"):
        for name, value in record[section].items():
            if isinstance(value, float):
                record[section][name] = float(value * rng.uniform(0.95, 1.05))
    drift = record["drift"]
    for column in [*drift["columns"].values(), drift["prediction"], drift["label"]]:
        if column is None or column.get("statistic") is None:
            continue
        column["statistic"] = float(column["statistic"] * rng.uniform(0.2, 2.0))
        if column.get("p_value") is not None:
            column["p_value"] = float(min(1.0, column["p_value"] * rng.uniform(0.0, 10.0)))
        column["drifted"] = bool(column["statistic"] >= column["threshold"])
        if "current" in column:
            column["current"]["mean"] = float(column["current"]["mean"] + rng.normal(scale=0.1))
            column["current"]["count"] = record["rows"]
    judged = list(drift["columns"].values())
    drift["drifted_columns"] = sorted(n for n, c in drift["columns"].items() if c["drifted"])
    drift["share"] = len(drift["drifted_columns"]) / len(judged)
    return record


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, env=env, text=True)
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    os.environ["OMP_NUM_THREADS"] = "1"
    exe = str(Path(sys.executable).with_name("modelcycle"))
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        scratch = project_at(root / "scratch")
        template = dict(scratch.evaluate("churn", frame(20_000, seed=1, drift=True)).only())
        size = len(json.dumps(template))
        print(f"real record: {len(template['drift']['columns'])} columns, {size / 1024:.1f} KiB of JSON", flush=True)

        folder = root / "project"
        project = project_at(folder)
        rng = np.random.default_rng(0)
        start = datetime(2025, 1, 1, tzinfo=UTC)
        started = time.perf_counter()
        for i in range(args.records):
            project.record_evaluation("churn", varied(template, i, args.records, rng, start))
            if (i + 1) % 2_000 == 0:
                print(f"  {i + 1:,} records written in {time.perf_counter() - started:.1f} s", flush=True)
        written = time.perf_counter() - started
        store = folder / ".modelcycle" / "evaluations" / "churn"
        on_disk = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
        print(
            f"wrote {args.records:,} records in {written:.1f} s ({written / args.records * 1000:.1f} ms each); "
            f"{on_disk / 2**20:.0f} MiB on disk with the segments",
            flush=True,
        )

        (root / "child.py").write_text(CHILD)
        api_cmd = [sys.executable, str(root / "child.py"), str(folder), "churn"]
        cli_cmd = [exe, "--project", str(folder), "history", "churn", "--metric", "roc_auc", "--json"]
        api_wall, api_history, api_startup, api_imports, cli = [], [], [], [], []
        for run in range(args.runs):
            wall, out = timed(api_cmd, env)
            report = json.loads(out)
            assert report["rows"] == args.records, report
            api_wall.append(wall)
            api_history.append(report["history"])
            api_startup.append(report["startup"])
            api_imports.append(report["imports"])
            wall, out = timed(cli_cmd, env)
            assert len(json.loads(out)) == args.records
            cli.append(wall)
            print(
                f"run {run + 1}: project.history {api_history[-1]:.3f} s (start-up {api_startup[-1]:.3f} s "
                f"+ {api_imports[-1]:.3f} s, "
                f"process {api_wall[-1]:.3f} s)  modelcycle history --metric roc_auc --json {cli[-1]:.3f} s",
                flush=True,
            )
        full, out = timed([*cli_cmd[:5], "--json"], env)
        print(
            f"for information, one `modelcycle history churn --json` (every record, {len(out) / 2**20:.0f} MiB): "
            f"{full:.3f} s"
        )

    h = statistics.median(api_history)
    print(f"\n{args.records:,} records, medians of {args.runs} runs:")
    print(f"  project.history alone           {h:.3f} s")
    print(f"  import + open_project           {statistics.median(api_startup):.3f} s")
    print(f"  + pandas, modelcycle.evaluate   {statistics.median(api_imports):.3f} s")
    print(f"  whole process (start-up incl.)  {statistics.median(api_wall):.3f} s")
    print(f"  modelcycle history --metric roc_auc --json  {statistics.median(cli):.3f} s")
    print(f"target: project.history <= 1 s {'met' if h <= 1 else 'NOT met'}")
    c = statistics.median(cli)
    print(f"for information: modelcycle history --metric roc_auc --json <= 1 s {'met' if c <= 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
