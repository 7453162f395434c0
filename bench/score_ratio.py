"""`modelcycle score` against a bare pyarrow + scikit-learn script doing the same work,
and the peak memory of `modelcycle score` as the input grows.

A model is trained once through modelcycle (20,000 rows x 12 numeric + 2 categorical
columns, HistGradientBoosting max_iter=20); the bare script loads the very same fitted
estimator, pickled with joblib from `project.load_model(...)`. Inputs are generated as
Parquet, written row group by row group (1,000,000 rows each).

* speed: `--rows` (2,000,000) rows Parquet → Parquet, both sides separate processes (start-up
  included), interleaved, OMP_NUM_THREADS=1, `--runs` (3) each:
    bare: pyarrow.parquet iter_batches(65,536 rows) → to_pandas → predict_proba → the same
    output columns (prediction by threshold, proba_<class>, model_version, scored_at) →
    pyarrow ParquetWriter, one row group per batch;
    modelcycle: `modelcycle --project DIR score churn IN OUT`, which also resolves the
    active version, checks the artifact's sha256, checks and coerces every batch against
    the version's schema, and writes to a temporary file fsynced and renamed into place.
  Target: median ratio modelcycle / bare <= 1.10 (wall time). The CPU time (user + sys) of
  each child, from os.wait4, is printed too: on a shared machine it is the steadier figure.
* memory: peak RSS (the child's own ru_maxrss, from os.wait4) of `modelcycle score` on
  `--rss-rows` (1,000,000 and 10,000,000) rows. Target: ratio largest / smallest <= 1.3.

    OMP_NUM_THREADS=1 .venv/bin/python bench/score_ratio.py [--rows 2000000] [--runs 3]
        [--rss-rows 1000000,10000000]
"""

from __future__ import annotations

import argparse
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
    import sys
    from datetime import UTC, datetime

    import joblib
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    model, threshold = joblib.load(sys.argv[1])
    scored_at = pd.Timestamp(datetime.now(UTC)).as_unit("us")
    writer = None
    for batch in pq.ParquetFile(sys.argv[2]).iter_batches(batch_size=65536):
        frame = batch.to_pandas()
        proba = model.predict_proba(frame)
        frame["prediction"] = np.where(proba[:, 1] >= threshold, model.classes_[1], model.classes_[0])
        for i, label in enumerate(model.classes_):
            frame[f"proba_{label}"] = proba[:, i]
        frame["model_version"] = 1
        frame["scored_at"] = scored_at
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(sys.argv[3], table.schema)
        writer.write_table(table)
    writer.close()
    """
)

CHUNK = 1_000_000
NUMERIC, CATEGORICAL = 12, 2


def frame(rows: int, seed: int, target: bool = False):  # noqa: ANN201 - pandas is imported lazily
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    out = pd.DataFrame({f"num{i}": rng.normal(size=rows) for i in range(NUMERIC)})
    for i in range(CATEGORICAL):
        out[f"cat{i}"] = rng.choice([f"c{k}" for k in range(8)], size=rows)
    out.loc[rng.random(rows) < 0.05, "num3"] = np.nan
    if target:
        logit = out["num0"] + 0.5 * out["num1"] - 0.3 * out["num2"] + (out["cat0"] == "c1") * 0.8
        out["churned"] = (logit + rng.normal(size=rows) > 0.5).astype(int)
    return out


def make_input(path: Path, rows: int) -> None:
    """`rows` rows of Parquet, generated and written a million rows at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, rows, CHUNK):
        table = pa.Table.from_pandas(frame(min(CHUNK, rows - start), seed=start + 1), preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def run_child(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MiB) of one child process, its own figures via wait4."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows scored in the speed comparison")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rss-rows", default="1000000,10000000", help="row counts for peak RSS, comma-separated")
    args = parser.parse_args()
    rss_rows = [int(r) for r in args.rss_rows.split(",") if r]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    os.environ["OMP_NUM_THREADS"] = "1"
    exe = str(Path(sys.executable).with_name("modelcycle"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frame(20_000, seed=0, target=True).to_parquet(folder / "train.parquet", index=False)
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
                params = { max_iter = 20 }
                threads = 1
                """
            )
        )
        import joblib
        from modelcycle import open_project

        project = open_project(folder)
        result = project.train("churn")
        joblib.dump((project.load_model("churn"), result.metadata["threshold"]), folder / "model.joblib")
        (folder / "bare.py").write_text(BARE)
        started = time.perf_counter()
        make_input(folder / "in.parquet", args.rows)
        print(
            f"trained version {result.version}; generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s"
        )

        bare_cmd = [sys.executable, str(folder / "bare.py"), str(folder / "model.joblib")]
        bare_cmd += [str(folder / "in.parquet"), str(folder / "bare.parquet")]
        ours_cmd = [exe, "--project", str(folder), "score", "churn", str(folder / "in.parquet")]
        ours_cmd += [str(folder / "ours.parquet")]
        bare, ours = [], []
        for run in range(args.runs):
            bare.append(run_child(bare_cmd, env))
            ours.append(run_child(ours_cmd, env))
            print(
                f"run {run + 1}: bare {bare[-1][0]:.2f} s (CPU {bare[-1][1]:.2f} s)  "
                f"modelcycle {ours[-1][0]:.2f} s (CPU {ours[-1][1]:.2f} s)",
                flush=True,
            )
        _same_predictions(folder / "bare.parquet", folder / "ours.parquet")
        (folder / "in.parquet").unlink()

        rss: list[tuple[int, float, float]] = []
        for rows in rss_rows:
            source = folder / f"in{rows}.parquet"
            make_input(source, rows)
            seconds, _, peak = run_child(
                [exe, "--project", str(folder), "score", "churn", str(source), str(folder / "o.parquet")], env
            )
            rss.append((rows, peak, seconds))
            print(f"{rows:>12,} rows: peak RSS {peak:7.1f} MiB  ({seconds:.1f} s)", flush=True)
            source.unlink()
            (folder / "o.parquet").unlink()

    b, o = statistics.median(r[0] for r in bare), statistics.median(r[0] for r in ours)
    bc, oc = statistics.median(r[1] for r in bare), statistics.median(r[1] for r in ours)
    print(f"\n{args.rows:,} rows  bare median {b:.2f} s  modelcycle median {o:.2f} s  ratio {o / b:.3f}")
    print(f"CPU time (user + sys)  bare median {bc:.2f} s  modelcycle median {oc:.2f} s  ratio {oc / bc:.3f}")
    print(f"target: ratio <= 1.10 {'met' if o / b <= 1.10 else 'NOT met'}")
    if len(rss) >= 2:
        ratio = rss[-1][1] / rss[0][1]
        print(f"peak RSS {rss[-1][0]:,} rows / {rss[0][0]:,} rows: {ratio:.3f}")
        print(f"target: peak RSS ratio <= 1.3 {'met' if ratio <= 1.3 else 'NOT met'}")


def _same_predictions(bare: Path, ours: Path) -> None:
    """Both sides must have done the same work: identical probabilities and labels."""
    import numpy as np
    import pyarrow.parquet as pq

    a = pq.read_table(bare, columns=["prediction", "proba_1"])
    b = pq.read_table(ours, columns=["prediction", "proba_1"])
    assert a.num_rows == b.num_rows
    assert np.array_equal(a["prediction"].to_numpy(), b["prediction"].to_numpy())
    assert np.allclose(a["proba_1"].to_numpy(), b["proba_1"].to_numpy(), rtol=0, atol=1e-12)


if __name__ == "__main__":
    main()
