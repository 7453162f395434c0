"""CLI start-up: `modelcycle --help` against `python -c "import pandas, sklearn"`.

Both commands run as fresh subprocesses, interleaved (A, B, A, B, …) so that machine
noise hits both alike. One untimed warm-up run of each fills the OS file cache.

Targets: median of `modelcycle --help` <= 0.25 s, and under a third of the median
of the pandas + scikit-learn import measured in the same run.

    .venv/bin/python bench/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _bytecode import compile_modelcycle

HELP_TARGET_S = 0.25
RATIO_TARGET = 1 / 3


def console_script() -> str:
    """The `modelcycle` console script of the interpreter running this bench."""
    beside = Path(sys.executable).parent / "modelcycle"
    if beside.is_file():
        return str(beside)
    found = shutil.which("modelcycle")
    if found is None:
        sys.exit("error: no 'modelcycle' console script beside this python nor on PATH")
    return found


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timed runs of each command (>= 15)")
    args = parser.parse_args()
    compile_modelcycle()
    runs = max(args.runs, 15)

    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    help_cmd = [console_script(), "--help"]
    import_cmd = [sys.executable, "-c", "import pandas, sklearn"]

    timed(help_cmd, env)  # warm-up, not counted
    timed(import_cmd, env)
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        a.append(timed(help_cmd, env))
        b.append(timed(import_cmd, env))

    med_a, med_b = statistics.median(a), statistics.median(b)
    ratio = med_a / med_b
    print(f"cli_startup: {runs} interleaved runs each (OMP_NUM_THREADS={env['OMP_NUM_THREADS']})")
    print()
    rows = [
        ("modelcycle --help", a),
        ('python -c "import pandas, sklearn"', b),
    ]
    print(f"{'command':<40} {'median s':>9} {'min s':>7} {'max s':>7}")
    for label, times in rows:
        print(f"{label:<40} {statistics.median(times):9.3f} {min(times):7.3f} {max(times):7.3f}")
    print(f"{'ratio help / import':<40} {ratio:9.3f}")
    print()
    ok_abs = med_a <= HELP_TARGET_S
    ok_ratio = ratio < RATIO_TARGET
    print(f"target: median of --help <= {HELP_TARGET_S:.2f} s: {med_a:.3f} s {'met' if ok_abs else 'NOT met'}")
    print(
        f"target: --help under a third of the import (ratio < {RATIO_TARGET:.3f}): "
        f"{ratio:.3f} {'met' if ok_ratio else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
