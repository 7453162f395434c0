"""Registry at scale: CLI latency with 1,000 versions and 5,000 activations.

Builds a project in a temporary folder (local store) through the public API:
one model with 1,000 versions (`Project.record_version`) and 5,000 activation-log
entries (`Project.activate`). Then times, start-up included, fresh subprocesses of
the console script, interleaved:

    modelcycle --project DIR versions MODEL --json     target: median <= 0.5 s
    modelcycle --project DIR activate MODEL N          target: median <= 0.4 s

Each timed `activate` appends one more activation (alternating between two
versions), as a user's would. Store operations per command, counted in-process
on the same project, are printed for information.

    .venv/bin/python bench/registry_scale.py [--runs N] [--versions N] [--activations N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bytecode import compile_modelcycle

VERSIONS_TARGET_S = 0.5
ACTIVATE_TARGET_S = 0.4
MODEL = "churn"


def console_script() -> str:
    beside = Path(sys.executable).parent / "modelcycle"
    if beside.is_file():
        return str(beside)
    found = shutil.which("modelcycle")
    if found is None:
        sys.exit("error: no 'modelcycle' console script beside this python nor on PATH")
    return found


def build(folder: Path, n_versions: int, n_activations: int) -> tuple[float, float]:
    import modelcycle

    (folder / "modelcycle.toml").write_text('[project]\nname = "bench"\n', encoding="utf-8")
    project = modelcycle.open_project(folder)
    artifact = os.urandom(2048)  # stands in for a small joblib file
    start = time.perf_counter()
    for i in range(n_versions):
        project.record_version(
            MODEL,
            artifact,
            artifact_format="joblib",
            metadata={
                "metrics": {"roc_auc": 0.80 + (i % 97) / 1000, "log_loss": 0.41, "accuracy": 0.86, "f1": 0.62},
                "dataset": {
                    "name": "customers",
                    "url": "data/customers.parquet",
                    "fingerprint": f"sha256:{i:064x}",
                    "rows": 10_000 + i,
                },
                "trainer": "sklearn",
                "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
                "params": {"max_iter": 200},
            },
        )
    versions_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(n_activations):
        project.activate(MODEL, (i * 7919) % n_versions + 1, reason="bench")
    activations_s = time.perf_counter() - start
    return versions_s, activations_s


def store_ops(folder: Path, n_versions: int) -> dict[str, int]:
    """Store operations of what each command does, counted on an in-process project."""
    import modelcycle

    project = modelcycle.open_project(folder)
    out = {}
    project.store.requests = 0
    project.versions(MODEL)
    out["versions"] = project.store.requests
    project.store.requests = 0
    project.activate(MODEL, n_versions, reason="bench: count store operations")
    out["activate"] = project.store.requests
    return out


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited {done.returncode}: {done.stderr.decode()[-800:]}")
    return elapsed, done.stdout.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each command (>= 10)")
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--activations", type=int, default=5000)
    args = parser.parse_args()
    compile_modelcycle()
    runs = max(args.runs, 10)

    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.pop("MODELCYCLE_PROJECT", None)
    exe = console_script()

    with tempfile.TemporaryDirectory(prefix="modelcycle-bench-") as tmp:
        folder = Path(tmp)
        built_v, built_a = build(folder, args.versions, args.activations)
        ops = store_ops(folder, args.versions)

        versions_cmd = [exe, "--project", str(folder), "versions", MODEL, "--json"]
        targets = [1, 2]

        def activate_cmd(i: int) -> list[str]:
            return [exe, "--project", str(folder), "activate", MODEL, str(targets[i % 2])]

        # warm-up (not counted), and a check that the commands answer what they should
        _, out = run(versions_cmd, env)
        listed = json.loads(out)
        active = [v["version"] for v in listed if v["active"]]
        if len(listed) != args.versions or len(active) != 1:
            sys.exit(f"error: versions --json listed {len(listed)} versions, active {active}")
        run(activate_cmd(1), env)

        # for information: the floor every project command pays before its first store read
        import_cmd = [sys.executable, "-c", "import modelcycle.project"]
        run(import_cmd, env)

        t_versions: list[float] = []
        t_activate: list[float] = []
        t_import: list[float] = []
        for i in range(runs):
            t_versions.append(run(versions_cmd, env)[0])
            t_activate.append(run(activate_cmd(i), env)[0])
            t_import.append(run(import_cmd, env)[0])

        import modelcycle

        final = modelcycle.open_project(folder)
        n_log = final.registry._activations(MODEL).last()[0]

    med_v, med_a = statistics.median(t_versions), statistics.median(t_activate)
    print(
        f"registry_scale: model with {args.versions} versions, {n_log} activation-log entries at the end "
        f"(built in {built_v:.1f} s + {built_a:.1f} s); {runs} interleaved runs each"
    )
    print()
    print(f"{'command':<46} {'median s':>9} {'min s':>7} {'max s':>7} {'target s':>9} {'store ops':>10}")
    for label, times, target, key in (
        (f"versions {MODEL} --json", t_versions, VERSIONS_TARGET_S, "versions"),
        (f"activate {MODEL} N", t_activate, ACTIVATE_TARGET_S, "activate"),
    ):
        print(
            f"{label:<46} {statistics.median(times):9.3f} {min(times):7.3f} {max(times):7.3f} "
            f"{target:9.2f} {ops[key]:10d}"
        )
    label = '(info) python -c "import modelcycle.project"'
    print(f"{label:<46} {statistics.median(t_import):9.3f} {min(t_import):7.3f} {max(t_import):7.3f}")
    print()
    print(
        f"target: versions --json median <= {VERSIONS_TARGET_S} s: {med_v:.3f} s "
        f"{'met' if med_v <= VERSIONS_TARGET_S else 'NOT met'}"
    )
    print(
        f"target: activate median <= {ACTIVATE_TARGET_S} s: {med_a:.3f} s "
        f"{'met' if med_a <= ACTIVATE_TARGET_S else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
