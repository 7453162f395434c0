"""Evaluation of 5,000,000 rows through the local executor and through the dask executor
on a LocalCluster with 1 and with 2 worker processes: times and ratios.

A model is trained once (50,000 rows x 20 numeric + 4 categorical columns,
HistGradientBoosting max_iter=50, threads = 1); `--rows` (5,000,000) labelled, drifted
feedback rows are written as Parquet in row groups of 250,000. Three settings files share
one store: executor "local", and executor "dask" with n_workers = 1 and = 2
(threads_per_worker = 1, blocksize 64MiB). For each, a fresh process opens the
project, starts the executor (the LocalCluster, for dask), evaluates the feedback twice
(`project.evaluate`, re-scoring every row with the model: the first call ships the task to
cold workers, the second shows the steady state) and prints its timings. The configurations
are interleaved over `--runs` (1) rounds; the metrics of every run must agree to 1e-9.

    OMP_NUM_THREADS=1 .venv/bin/python bench/dask_scale.py [--rows 5000000] [--runs 1]

On a 2-core machine two workers can at best halve the local time; one worker shows
what partitioning and shipping states cost.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import frame  # noqa: E402

CHILD = textwrap.dedent(
    """
    import json, sys, time

    if __name__ == "__main__":
        started = time.perf_counter()
        import modelcycle

        project = modelcycle.open_project(sys.argv[1])
        executor = project.executor
        if hasattr(executor, "client"):
            executor.client().wait_for_workers(executor.options.n_workers)
        ready = time.perf_counter()
        first = project.evaluate("churn", sys.argv[2])
        cold = time.perf_counter()
        second = project.evaluate("churn", sys.argv[2])
        warm = time.perf_counter()
        project.close()
        print(json.dumps({
            "start": ready - started, "cold": cold - ready, "warm": warm - cold,
            "metrics": second["metrics"], "rows": second["rows"], "share": second["drift"]["share"],
        }))
    """
)

MODEL = """
[datasets.train]
url = "train.parquet"
[models.churn]
dataset = "train"
target = "churned"
estimator = "sklearn.ensemble.HistGradientBoostingClassifier"
params = { max_iter = 50 }
threads = 1
"""
CONFIGS = {
    "local": "",
    "dask, 1 worker": 'executor = "dask"\n[project.executor_options]\nn_workers = 1\nblocksize = "64MiB"\n',
    "dask, 2 workers": 'executor = "dask"\n[project.executor_options]\nn_workers = 2\nblocksize = "64MiB"\n',
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    os.environ["OMP_NUM_THREADS"] = "1"
    import pyarrow as pa
    import pyarrow.parquet as pq
    from modelcycle import open_project

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frame(50_000, seed=0).to_parquet(folder / "train.parquet", index=False)
        settings = {}
        for i, (name, extra) in enumerate(CONFIGS.items()):
            path = folder / f"config{i}.toml"
            path.write_text(f'[project]\nname = "bench"\nstore = ".modelcycle"\n{extra}{MODEL}')
            settings[name] = path
        project = open_project(settings["local"])
        project.train("churn")
        started = time.perf_counter()
        writer = None
        for start in range(0, args.rows, 250_000):
            part = frame(min(250_000, args.rows - start), seed=start + 1, drift=True)
            table = pa.Table.from_pandas(part, preserve_index=False)
            writer = writer or pq.ParquetWriter(folder / "feedback.parquet", table.schema)
            writer.write_table(table)
        assert writer is not None
        writer.close()
        print(f"generated {args.rows:,} feedback rows in {time.perf_counter() - started:.0f} s", flush=True)
        (folder / "child.py").write_text(CHILD)
        results: dict[str, list[dict]] = {name: [] for name in CONFIGS}
        for run in range(args.runs):
            for name, path in settings.items():
                out = subprocess.run(
                    [sys.executable, str(folder / "child.py"), str(path), str(folder / "feedback.parquet")],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if out.returncode != 0:
                    raise SystemExit(f"{name} failed:\n{out.stderr[-3000:]}")
                result = json.loads(out.stdout.strip().splitlines()[-1])
                results[name].append(result)
                print(
                    f"run {run + 1} {name:16s} start {result['start']:6.1f} s  first evaluate {result['cold']:6.1f} s  "
                    f"second {result['warm']:6.1f} s",
                    flush=True,
                )
    reference = results["local"][0]
    for name, runs in results.items():
        for r in runs:
            assert r["rows"] == args.rows, (name, r["rows"])
            for metric, value in reference["metrics"].items():
                assert abs(r["metrics"][metric] - value) <= 1e-9 * max(1.0, abs(value)), (name, metric)
    base = statistics.median(r["warm"] for r in results["local"])
    print(f"\nevaluation of {args.rows:,} rows (second call, median of {args.runs}):")
    for name, runs in results.items():
        warm = statistics.median(r["warm"] for r in runs)
        cold = statistics.median(r["cold"] for r in runs)
        start = statistics.median(r["start"] for r in runs)
        speed = base / warm
        print(f"  {name:16s} {warm:7.1f} s  local / this = {speed:4.2f}  (first {cold:.1f} s, start {start:.1f} s)")
    print("metrics agree across executors to 1e-9")


if __name__ == "__main__":
    main()
