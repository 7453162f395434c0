"""Size, build time, extra memory and false-positive rate of a version's row fingerprint.

`if-better` keeps, with every version, a Bloom filter of the rows it was trained on
(core/modelcycle/rowset.py). This measures it on `--rows` rows (default 1,000,000 and
10,000,000) of 8 float columns, an integer column, a text column of 50 categories and
a 0/1 target, as the train recipe builds it: over every column, in chunks.

* size: the bytes stored as the version's `rows.bloom` attachment;
* build / query: seconds to build the filter over all rows, and to look up 1,000,000
  fresh rows;
* extra memory: the peak of Python allocations during the build (tracemalloc, which
  sees numpy's and pandas' buffers) above what the frame already took, and the
  process's peak RSS with the frame;
* false-positive rate: the share of the 1,000,000 fresh rows found in the filter,
  against the expected rate the filter states.

Targets: the build's memory beside the filter itself does not grow with the rows
(largest <= 1.3 x smallest), and the false-positive rate stays <= 0.6 %.

    OMP_NUM_THREADS=1 .venv/bin/python bench/rowset_scale.py [--rows 1000000 10000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = pd.DataFrame(rng.normal(size=(rows, 8)), columns=[f"x{i}" for i in range(8)])
    out["count"] = rng.integers(0, 1000, rows)
    out["city"] = pd.Series(rng.integers(0, 50, rows)).map(lambda i: f"city-{i}").astype("str")
    out["y"] = (out["x0"] + rng.normal(size=rows) > 0).astype(int)
    return out


def measure(rows: int) -> dict:
    from modelcycle.rowset import RowSet

    data = frame(rows, 0)
    fresh = frame(1_000_000, 1)
    columns = list(data.columns)
    tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    started = time.perf_counter()
    seen = RowSet.build(data, columns)
    build = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    started = time.perf_counter()
    found = seen.contains(fresh)
    query = time.perf_counter() - started
    assert seen.contains(data.iloc[:100_000]).all()  # no false negatives
    return {
        "rows": rows,
        "frame_mb": round(data.memory_usage(deep=True).sum() / 2**20, 1),
        "fingerprint_mb": round(len(seen.to_bytes()) / 2**20, 2),
        "build_s": round(build, 2),
        "query_1m_s": round(query, 2),
        "build_extra_peak_mb": round((peak - before) / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "false_positive_rate": round(float(found.mean()), 5),
        "stated_rate": round(seen.false_positive_rate, 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: measure this many rows
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    results = []
    for rows in args.rows:  # each in its own process, so the peak RSS is its own
        done = subprocess.run([sys.executable, __file__, "--one", str(rows)], capture_output=True, text=True)
        print(done.stdout.strip() or done.stderr[-2000:], flush=True)
        results.append(json.loads(done.stdout))
    work = [r["build_extra_peak_mb"] - r["fingerprint_mb"] for r in results]  # a chunk's work, the filter aside
    bounded = max(work) <= 1.3 * min(work)
    print(f"target: build memory beside the filter: max <= 1.3 x min ({work}) {'met' if bounded else 'NOT met'}")
    rate = max(r["false_positive_rate"] for r in results)
    print(f"target: false-positive rate <= 0.6 % ({rate:.3%}) {'met' if rate <= 0.006 else 'NOT met'}")


if __name__ == "__main__":
    main()
