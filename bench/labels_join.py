"""`modelcycle evaluate MODEL --labels FILE` (late labels joined by id to the prediction log)
against `modelcycle evaluate MODEL DATA` (re-scoring the same rows), and the join's peak memory.

A model is trained once (50,000 rows x 20 numeric + 4 categorical columns, HistGradientBoosting
max_iter=50, `threads = 1`, `id_column = "customer_id"`). For each size in `--rows`
(1,000,000 and 4,000,000), the feedback rows are scored with `modelcycle score --log` (which
fills the prediction log) and their labels written as a two-column Parquet file; then, in
fresh processes, interleaved, `--runs` (3) each:

    labels:  modelcycle --project DIR evaluate churn --labels LABELS --version V --json
    rescore: modelcycle --project DIR evaluate churn FEEDBACK --version V --json

Both must give the same metrics (to 1e-9). Printed: median wall time of each side, their
ratio, and each side's peak RSS (the child's ru_maxrss, from os.wait4). The log of the
larger size is joined in ceil(rows / 1,000,000) buckets, the smaller in one.
Targets: labels / rescore <= 2.5 (the join spills both inputs once to a temporary folder);
peak RSS of `--labels` at the largest size <= 1.5 x its peak at the smallest.

    OMP_NUM_THREADS=1 .venv/bin/python bench/labels_join.py [--rows 1000000,4000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import frame  # noqa: E402

SETTINGS = """\
[project]
name = "labels-bench"

[datasets.customers]
url = "customers.parquet"

[models.churn]
dataset = "customers"
target = "churned"
exclude = ["customer_id"]
params = { max_iter = 50 }
threads = 1
id_column = "customer_id"
"""


def timed(argv: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, the child's own peak RSS in MiB (os.wait4) and its stdout."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = child.stdout.read() if child.stdout else b""
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(argv)} failed with status {status}")
    return seconds, usage.ru_maxrss / 1024, out.decode()


def make(n: int, root: Path) -> None:
    """Write the training rows (n = 0) or n feedback rows and their labels (in a child process:
    Linux counts the parent's memory at fork in a child's peak RSS, so the parent stays small)."""
    if n == 0:
        train = frame(50_000, 0)
        train.insert(0, "customer_id", range(len(train)))
        train.to_parquet(root / "customers.parquet", index=False)
        (root / "modelcycle.toml").write_text(SETTINGS)
        return
    feedback = frame(n, 1, drift=True)
    feedback.insert(0, "customer_id", range(10_000_000, 10_000_000 + n))
    feedback.to_parquet(root / f"feedback-{n}.parquet", index=False, row_group_size=1_000_000)
    feedback[["customer_id", "churned"]].to_parquet(root / f"labels-{n}.parquet", index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1000000,4000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--make", nargs=2, metavar=("ROWS", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make(int(args.make[0]), Path(args.make[1]))
        return
    sizes = [int(n) for n in args.rows.split(",")]
    cli = [sys.executable, "-m", "modelcycle.cli"]
    with tempfile.TemporaryDirectory(prefix="labels-bench-") as tmp:
        root = Path(tmp)
        timed([sys.executable, __file__, "--make", "0", str(root)], root)
        timed([*cli, "train", "churn"], root)
        peaks: dict[int, float] = {}
        print(f"{'rows':>10} {'labels s':>9} {'rescore s':>9} {'ratio':>6} {'labels MiB':>10} {'rescore MiB':>11}")
        ratios = []
        for n in sizes:
            timed([sys.executable, __file__, "--make", str(n), str(root)], root)
            trained = json.loads(timed([*cli, "train", "churn", "--json"], root)[2])  # a fresh version per size
            version = str(trained["version"])
            timed([*cli, "score", "churn", f"feedback-{n}.parquet", f"scored-{n}.parquet", "--log"], root)
            sides: dict[str, list[tuple[float, float, dict]]] = {"labels": [], "rescore": []}
            commands = {"labels": ["--labels", f"labels-{n}.parquet"], "rescore": [f"feedback-{n}.parquet"]}
            for _ in range(args.runs):
                for side, source in commands.items():
                    argv = [*cli, "evaluate", "churn", *source, "--version", version, "--json"]
                    seconds, rss, out = timed(argv, root)
                    sides[side].append((seconds, rss, json.loads(out)))
            late, again = sides["labels"][0][2], sides["rescore"][0][2]
            for name, value in again["metrics"].items():
                other = late["metrics"][name]
                assert (value is None and other is None) or abs(value - other) <= 1e-9 * max(1, abs(value)), name
            wall = {side: statistics.median(s for s, _, _ in runs) for side, runs in sides.items()}
            rss = {side: statistics.median(r for _, r, _ in runs) for side, runs in sides.items()}
            ratio = wall["labels"] / wall["rescore"]
            ratios.append(ratio)
            peaks[n] = rss["labels"]
            print(
                f"{n:>10,} {wall['labels']:>9.1f} {wall['rescore']:>9.1f} {ratio:>6.2f} "
                f"{rss['labels']:>10.0f} {rss['rescore']:>11.0f}"
            )
        worst = max(ratios)
        print(f"target: labels / rescore <= 2.5: {worst:.2f} {'met' if worst <= 2.5 else 'NOT met'}")
        growth = peaks[sizes[-1]] / peaks[sizes[0]]
        print(f"target: peak RSS ratio <= 1.5: {growth:.2f} {'met' if growth <= 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
