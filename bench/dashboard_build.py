"""Building the dashboard over a long history: `modelcycle dashboard build` with 10,000
evaluation records of one model on the local store.

A small model is trained (20 numeric + 4 categorical features, 5,000 rows,
HistGradientBoosting max_iter=20, `threads = 1`) and evaluated once, in a scratch
project, on 20,000 labelled, drifted rows: that real record (six binary metrics, CBPE
estimates, drift details of 24 columns with their current histograms, the prediction and
the label, about 40 KiB of JSON) is the template. A second project with the same model
gets `--records` (10,000) varied copies through `project.record_evaluation(model, record)`:
one an hour up to the time the writing starts, metrics and estimates declining slowly with
noise, every drift statistic and histogram jittered, drift decisions redrawn. Three checks
(the primary metric, the drift share, one column's drift statistic) are run `--check-runs`
(20) times along the way and alert through a file notifier, so their history and the sent
alerts are drawn. After the records, a second version is trained and the active version
changes `--switches` (20) times (activations and rollbacks), each followed by a record of
the active version (and every other one by a challenger's too), so every time chart marks
them and draws challengers.

Then, `--runs` (3) times in fresh processes with OMP_NUM_THREADS=1, the wall time of
`modelcycle --project DIR dashboard build OUT` (start-up included) and the size of the
file it wrote. For information, one in-process build split into reading the store and
rendering.

Targets: the file <= 5 MB and the median build <= 3 s. The build's CPU time is printed too:
on a machine whose cores are busy, the wall time mostly counts waits for a core.

    OMP_NUM_THREADS=1 .venv/bin/python bench/dashboard_build.py [--records 10000] [--runs 3] [--folder DIR]

`--folder DIR` builds the project in DIR and keeps it; a later run with the same DIR
reuses it (writing the records takes a few minutes).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _data import frame

SETTINGS = textwrap.dedent(
    """
    [project]
    name = "bench"
    [datasets.train]
    url = "train.parquet"
    [models.churn]
    dataset = "train"
    target = "churned"
    params = { max_iter = 20 }
    threads = 1
    [checks.auc]
    model = "churn"
    metric = "roc_auc"
    min = 0.7
    soft_min = 0.8
    [checks.drift]
    model = "churn"
    metric = "drift.share"
    max = 0.5
    soft_max = 0.2
    [checks.num0]
    model = "churn"
    metric = "drift.columns.num0.statistic"
    max = 0.25
    [notifiers.box]
    type = "file"
    [alerts]
    notify = ["box"]
    """
)


def varied(template: dict, i: int, total: int, rng, start: datetime) -> dict:  # noqa: ANN001 - numpy Generator
    """A copy of the real record with plausible, different values (a slow decline, with noise)."""
    record = copy.deepcopy(template)
    record.pop("id", None)
    record["evaluated_at"] = (start + timedelta(hours=i)).isoformat()
    record["rows"] = int(rng.integers(5_000, 200_000))
    record["labeled_rows"] = int(record["rows"] * rng.uniform(0.5, 1.0))
    decline = 1 - 0.08 * i / total
    for section in ("metrics", "estimated"):
        for name, value in record[section].items():
            if isinstance(value, float):
                record[section][name] = float(value * decline * rng.uniform(0.97, 1.03))
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
        if column.get("counts"):
            column["counts"] = [int(c * rng.uniform(0.5, 1.5)) for c in column["counts"]]
    drift["drifted_columns"] = sorted(n for n, c in drift["columns"].items() if c["drifted"])
    drift["share"] = len(drift["drifted_columns"]) / len(drift["columns"])
    return record


def make_project(folder: Path, records: int, check_runs: int, switches: int):  # noqa: ANN201 - lazy import
    """A trained model with `records` evaluation records, its checks run `check_runs` + 1 times, then
    `switches` changes of the active version, each followed by one more record."""
    import numpy as np
    from modelcycle import open_project

    def trained(where: Path):  # noqa: ANN202
        where.mkdir(parents=True, exist_ok=True)
        frame(5_000, seed=0).to_parquet(where / "train.parquet", index=False)
        (where / "modelcycle.toml").write_text(SETTINGS)
        made = open_project(where)
        made.train("churn")
        return made

    with tempfile.TemporaryDirectory() as scratch:  # the template comes from a scratch project
        template = dict(trained(Path(scratch)).evaluate("churn", frame(20_000, seed=1, drift=True)).only())
    project = trained(folder)
    print(
        f"real record: {len(template['drift']['columns'])} columns, {len(json.dumps(template)) / 1024:.1f} KiB of JSON",
        flush=True,
    )
    rng = np.random.default_rng(0)
    start = datetime.now(UTC) - timedelta(hours=records)
    started = time.perf_counter()
    every = max(1, records // max(check_runs, 1))
    for i in range(records):
        project.record_evaluation("churn", varied(template, i, records, rng, start))
        if i % every == 0:
            project.run_checks()
        if (i + 1) % 2_000 == 0:
            print(f"  {i + 1:,} records written in {time.perf_counter() - started:.1f} s", flush=True)
    project.run_checks()
    print(f"wrote {records:,} records in {time.perf_counter() - started:.1f} s, checks run {check_runs + 1} times")
    project.train("churn")  # version 2, active
    for n in range(switches):
        if n % 2 == 0:
            project.rollback("churn", reason=f"bench switch {n}")
        else:
            project.activate("churn", 2, reason=f"bench switch {n}")
        active = project.active_version("churn")
        for version in [active, 3 - active] if n % 2 else [active]:  # the active one's, and a challenger's
            record = varied(template, records, records, rng, start)
            record["evaluated_at"] = datetime.now(UTC).isoformat()
            record["version"], record["active_version"] = version, active
            project.record_evaluation("churn", record)
    print(f"then {switches} changes of the active version, each followed by its evaluation (and a challenger's)")
    return project


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--check-runs", type=int, default=20)
    parser.add_argument("--switches", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--folder", help="build the project here and keep it (reused when it exists)")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"
    env = {**os.environ}
    exe = str(Path(sys.executable).with_name("modelcycle"))
    from modelcycle import open_project

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.folder) if args.folder else Path(tmp) / "project"
        if (folder / "modelcycle.toml").exists():
            project = open_project(folder)
            print(f"reusing {folder}", flush=True)
        else:
            project = make_project(folder, args.records, args.check_runs, args.switches)
        total = len(project.evaluations("churn"))

        out = Path(tmp) / "dashboard.html"
        command = [exe, "--project", str(folder), "dashboard", "build", str(out)]
        walls, cpus, sizes = [], [], []
        for run in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            began = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            walls.append(time.perf_counter() - began)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            sizes.append(out.stat().st_size)
            print(
                f"run {run + 1}: modelcycle dashboard build {walls[-1]:.2f} s (CPU {cpus[-1]:.2f} s), "
                f"{sizes[-1] / 1e6:.2f} MB",
                flush=True,
            )

        from modelcycle.dashboard.build import Collector, render

        began = time.perf_counter()
        Collector(project).page()
        collected = time.perf_counter() - began
        began = time.perf_counter()
        html = render(project)
        rendered = time.perf_counter() - began

    wall, size = statistics.median(walls), max(sizes)
    print(f"\n{total:,} evaluation records, median of {args.runs} runs:")
    print(f"  modelcycle dashboard build (whole process)  {wall:.2f} s")
    print(f"  its CPU time (user + system)                 {statistics.median(cpus):.2f} s (a busy machine's wall time")
    print("    counts the waits for a core; the CPU time is what the build costs)")
    print(f"  file size                                    {size / 1e6:.2f} MB ({size:,} bytes)")
    print(
        f"  in process, for information: reading the store and shaping {collected:.2f} s, "
        f"whole render {rendered:.2f} s ({len(html):,} characters)"
    )
    print(f"target: file <= 5 MB {'met' if size <= 5_000_000 else 'NOT met'}")
    cpu = statistics.median(cpus)
    print(f"target: build <= 3 s {'met' if wall <= 3 else 'NOT met'} (wall), {'met' if cpu <= 3 else 'NOT met'} (CPU)")


if __name__ == "__main__":
    main()
