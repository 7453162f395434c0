"""modelcycle's drift computation against Evidently's DataDriftPreset on the same data.

Evidently is never a dependency of the project: it is installed into its own virtualenv,
bench/.venv-evidently (gitignored), made on the first run with the base interpreter of
the running Python and `pip install evidently`. The script says which Evidently and
pandas versions installed. When Evidently does not import with the pandas pip pulled
(Evidently 0.7.x and pandas 3: `infer_dtype_from_object` is gone), it says so and, unless
`--no-pin`, pins `pandas<3` in that virtualenv and tries again; when Evidently cannot be
installed or imported at all, it prints why and exits 0.

Data: reference 20,000 rows and current `--rows` (100,000) rows of 20 numeric + 4
categorical columns, the current ones drifted (a shift, a wider spread, a changed
category mix, a new category), as Parquet. modelcycle's reference profile comes from
the very same 20,000 rows: the model (HistGradientBoosting max_iter=20, threads = 1) is
trained on 80,000 earlier rows plus the reference rows with a `time` split on a column
`t` (excluded from the features), so its holdout, hence its profile, is exactly the
reference. The current rows are scored once by that model (`prediction`, `proba_0`,
`proba_1`), so `modelcycle evaluate` runs in production mode: no model in the loop,
only the data work.

Each side runs `--runs` (3) times in fresh processes, interleaved, OMP_NUM_THREADS=1
(DO_NOT_TRACK=1 for Evidently); each child times itself:

* Evidently (its venv's python): import; read both Parquet files; then
  `Report([DataDriftPreset()]).run(current_data=…, reference_data=…)` (0.7 and later; or
  `Report(metrics=[DataDriftPreset()]).run(reference_data=…, current_data=…)` before),
  on the 24 columns;
* modelcycle (the project's python): import and `open_project`; read both Parquet files;
  then the drift computation: `modelcycle.profile.column_profile` of the 24 reference
  columns (what training stores; done again here so the reference side is paid for as
  Evidently pays it) plus `project.evaluate(model, current_frame)`, which streams the
  frame in 65,536-row batches into mergeable states and computes psi + ks per numeric
  and js + chi2 per categorical column against the stored profile, prediction drift and
  CBPE estimates, and appends the record to the journal.

Both children compute twice in the same process; the first (cold: lazy imports
included, such as modelcycle.evaluate and the drift tests, whose p-values need no scipy)
decides, the second (warm) is printed for information. modelcycle's modules are compiled
to bytecode first, as pip does when it installs a wheel (Evidently's virtualenv has its
bytecode from pip): with PYTHONDONTWRITEBYTECODE set, an editable install would
otherwise recompile every module at every start, the lazily imported ones inside the
first computation. Also for information: the wall time of each child and of
`modelcycle --project DIR evaluate churn current.parquet --json` (start-up, reading and
everything included).

Target: Evidently's compute median / modelcycle's compute median >= 10.

    OMP_NUM_THREADS=1 .venv/bin/python bench/drift_vs_evidently.py [--rows 100000] [--runs 3] [--no-pin]
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

from _bytecode import compile_modelcycle

VENV = Path(__file__).resolve().parent / ".venv-evidently"
REFERENCE_ROWS = 20_000
EARLIER_ROWS = 80_000

EVIDENTLY = textwrap.dedent(
    """
    import json, sys, time
    started = time.perf_counter()
    import pandas as pd
    try:  # 0.7 and later
        from evidently import Report
        from evidently.presets import DataDriftPreset
        new_api = True
    except ImportError:  # 0.4 - 0.6
        from evidently.report import Report
        from evidently.metric_preset import DataDriftPreset
        new_api = False
    imported = time.perf_counter()
    reference = pd.read_parquet(sys.argv[1])
    current = pd.read_parquet(sys.argv[2], columns=list(reference.columns))
    read = time.perf_counter()
    computes, result = [], None
    for _ in range(2):
        begun = time.perf_counter()
        if new_api:
            result = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference).dict()
        else:
            report = Report(metrics=[DataDriftPreset()])
            report.run(reference_data=reference, current_data=current)
            result = report.as_dict()
        computes.append(time.perf_counter() - begun)
    share = None
    if new_api:
        for metric in result["metrics"]:
            if metric["metric_name"].startswith("DriftedColumnsCount"):
                share = metric["value"]["share"]
    else:
        for metric in result["metrics"]:
            if metric.get("metric") == "DatasetDriftMetric":
                share = metric["result"]["share_of_drifted_columns"]
    print(json.dumps({"import": imported - started, "read": read - imported, "compute": computes, "share": share}))
    """
)

MODELCYCLE = textwrap.dedent(
    """
    import json, sys, time
    started = time.perf_counter()
    import pandas as pd
    import modelcycle
    from modelcycle.profile import column_profile
    project = modelcycle.open_project(sys.argv[1])
    imported = time.perf_counter()
    reference = pd.read_parquet(sys.argv[2])
    current = pd.read_parquet(sys.argv[3])
    read = time.perf_counter()
    computes, profiles, record = [], [], None
    for _ in range(2):
        begun = time.perf_counter()
        profile = {name: column_profile(reference[name]) for name in reference.columns}
        profiled = time.perf_counter()
        record = project.evaluate("churn", current)
        computes.append(time.perf_counter() - begun)
        profiles.append(profiled - begun)
    drift = record["drift"]
    print(json.dumps({"import": imported - started, "read": read - imported, "compute": computes,
                      "profile": profiles, "share": drift["share"], "drifted": drift["drifted_columns"],
                      "rows": record["rows"], "mode": record["mode"]}))
    """
)


def frame(rows: int, seed: int, drift: bool = False):  # noqa: ANN201 - pandas is imported lazily
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    out = pd.DataFrame({f"num{i}": rng.normal(size=rows) for i in range(20)})
    categories = [f"c{k}" for k in range(8)]
    for i in range(4):
        out[f"cat{i}"] = rng.choice(categories, size=rows)
    out.loc[rng.random(rows) < 0.05, "num3"] = np.nan
    if drift:
        out["num0"] += 0.4
        out["num5"] *= 1.6
        out["cat1"] = rng.choice(categories, size=rows, p=[0.3, 0.3, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05])
        out.loc[rng.random(rows) < 0.05, "cat3"] = "c_new"
    logit = out["num0"] + 0.5 * out["num1"] - 0.3 * out["num2"] + (out["cat0"] == "c1") * 0.8
    out["churned"] = (logit + rng.normal(size=rows) > 0.5).astype(int)
    return out


# -- the Evidently virtualenv -------------------------------------------------------------------

PROBE = (
    "import importlib.metadata as m, evidently, pandas; "
    "print(m.version('evidently'), m.version('pandas'), m.version('numpy'))"
)


def _probe(python: Path) -> tuple[bool, str]:
    done = subprocess.run([str(python), "-c", PROBE], capture_output=True, text=True, env=_evidently_env())
    if done.returncode == 0:
        return True, done.stdout.strip()
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    return False, lines[-1] if lines else f"exit status {done.returncode}"


def _installed(python: Path, name: str) -> str | None:
    code = f"import importlib.metadata as m; print(m.version({name!r}))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def _pip(python: Path, *requirements: str) -> tuple[bool, str]:
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], capture_output=True, text=True)
    lines = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()]
    return done.returncode == 0, lines[-1] if lines else ""


def ensure_evidently(pin: bool) -> Path | None:
    """The venv's python when Evidently imports there; None (after saying why) otherwise."""
    python = VENV / "bin" / "python"
    if not python.exists():
        base = getattr(sys, "_base_executable", None) or sys.executable
        print(f"creating {VENV} with {base}", flush=True)
        done = subprocess.run([base, "-m", "venv", str(VENV)], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"Evidently: cannot create {VENV}: {done.stderr.strip().splitlines()[-1:]}")
            return None
    if _installed(python, "evidently") is None:
        print("installing evidently into the bench virtualenv (pip install evidently) …", flush=True)
        ok, message = _pip(python, "evidently")
        if not ok:
            print(f"Evidently: pip install evidently failed: {message}")
            return None
    ok, message = _probe(python)
    if ok:
        evidently, pandas, numpy = message.split()
        print(f"Evidently {evidently} imports with pandas {pandas}, numpy {numpy} (in {VENV.name})")
        return python
    evidently, pandas = _installed(python, "evidently"), _installed(python, "pandas")
    print(f"Evidently {evidently} does NOT import with the pandas {pandas} pip pulled: {message}")
    if not pin or pandas is None or int(pandas.split(".")[0]) < 3:
        print("Evidently cannot be imported here: no comparison (exit 0)")
        return None
    print('pinning "pandas<3" in the bench virtualenv (only there) and trying again …', flush=True)
    ok, message = _pip(python, "pandas<3")
    if not ok:
        print(f'Evidently: pip install "pandas<3" failed: {message}; no comparison (exit 0)')
        return None
    ok, message = _probe(python)
    if not ok:
        print(f"Evidently still does not import: {message}; no comparison (exit 0)")
        return None
    evidently, pandas, numpy = message.split()
    print(f"Evidently {evidently} imports with pandas {pandas}, numpy {numpy} (in {VENV.name}, pandas pinned)")
    return python


def _evidently_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "DO_NOT_TRACK": "1"}


# -- the bench ------------------------------------------------------------------------------------


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, env=env, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000, help="current rows")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-pin", action="store_true", help='never pin "pandas<3" in the Evidently venv')
    args = parser.parse_args()
    evidently_python = ensure_evidently(pin=not args.no_pin)
    if evidently_python is None:
        return
    compile_modelcycle()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    os.environ["OMP_NUM_THREADS"] = "1"
    exe = str(Path(sys.executable).with_name("modelcycle"))
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        reference = frame(REFERENCE_ROWS, seed=0)
        earlier = frame(EARLIER_ROWS, seed=1)
        train = pd.concat([earlier, reference], ignore_index=True)
        train["t"] = range(len(train))  # the reference rows are the latest: the time split's holdout
        train.to_parquet(folder / "train.parquet", index=False)
        (folder / "modelcycle.toml").write_text(
            textwrap.dedent(
                f"""
                [project]
                name = "bench"
                [datasets.train]
                url = "train.parquet"
                [models.churn]
                dataset = "train"
                target = "churned"
                exclude = ["t"]
                estimator = "sklearn.ensemble.HistGradientBoostingClassifier"
                params = {{ max_iter = 20 }}
                split = {{ method = "time", column = "t", test_size = {REFERENCE_ROWS / len(train)} }}
                threads = 1
                """
            )
        )
        from modelcycle import open_project

        project = open_project(folder)
        result = project.train("churn")
        features = [f["name"] for f in result.metadata["features"]]
        assert result.metadata["split"]["holdout_rows"] == REFERENCE_ROWS, result.metadata["split"]
        reference[features].to_parquet(folder / "reference.parquet", index=False)
        current = frame(args.rows, seed=2, drift=True)[features]
        scored = project.score("churn", current)
        current = current.assign(**{c: scored[c] for c in ("prediction", "proba_0", "proba_1")})
        current.to_parquet(folder / "current.parquet", index=False)
        print(
            f"reference {REFERENCE_ROWS:,} rows, current {args.rows:,} rows x {len(features)} columns "
            f"(+ prediction, proba_0, proba_1 for modelcycle's production mode)",
            flush=True,
        )

        (folder / "evidently_child.py").write_text(EVIDENTLY)
        (folder / "modelcycle_child.py").write_text(MODELCYCLE)
        ev_cmd = [str(evidently_python), str(folder / "evidently_child.py")]
        ev_cmd += [str(folder / "reference.parquet"), str(folder / "current.parquet")]
        mc_cmd = [sys.executable, str(folder / "modelcycle_child.py"), str(folder)]
        mc_cmd += [str(folder / "reference.parquet"), str(folder / "current.parquet")]
        cli_cmd = [exe, "--project", str(folder), "evaluate", "churn", str(folder / "current.parquet"), "--json"]
        ev, mc, ev_wall, mc_wall, cli = [], [], [], [], []
        for run in range(args.runs):
            wall, out = timed(ev_cmd, _evidently_env())
            ev.append(json.loads(out))
            ev_wall.append(wall)
            wall, out = timed(mc_cmd, env)
            mc.append(json.loads(out))
            mc_wall.append(wall)
            wall, out = timed(cli_cmd, env)
            assert json.loads(out)["mode"] == "production"
            cli.append(wall)
            print(
                f"run {run + 1}: Evidently compute {ev[-1]['compute'][0]:.3f} s (again {ev[-1]['compute'][1]:.3f}; "
                f"import {ev[-1]['import']:.2f} s, process {ev_wall[-1]:.2f} s)  "
                f"modelcycle compute {mc[-1]['compute'][0]:.3f} s (again {mc[-1]['compute'][1]:.3f}, of which "
                f"profile {mc[-1]['profile'][0]:.3f}; import {mc[-1]['import']:.2f} s, process {mc_wall[-1]:.2f} s)  "
                f"modelcycle evaluate CLI {cli[-1]:.2f} s",
                flush=True,
            )
        assert mc[-1]["rows"] == args.rows and mc[-1]["mode"] == "production", mc[-1]

    def median(items: list[dict], key: str, i: int | None = None) -> float:
        return statistics.median(x[key] if i is None else x[key][i] for x in items)

    e, m = median(ev, "compute", 0), median(mc, "compute", 0)
    print(f"\n{args.rows:,} current rows, {REFERENCE_ROWS:,} reference rows, medians of {args.runs} runs:")
    print(f"  {'':34}{'Evidently':>12}{'modelcycle':>12}{'ratio':>8}")
    rows = [
        ("compute (first, decides)", e, m),
        ("compute (second, same process)", median(ev, "compute", 1), median(mc, "compute", 1)),
        ("import", median(ev, "import"), median(mc, "import")),
        ("read both Parquet files", median(ev, "read"), median(mc, "read")),
        ("whole child process", statistics.median(ev_wall), statistics.median(mc_wall)),
    ]
    for label, a, b in rows:
        print(f"  {label:<34}{a:>10.3f} s{b:>10.3f} s{a / b:>8.1f}")
    print(f"  {'`modelcycle evaluate` CLI, whole':<34}{'-':>12}{statistics.median(cli):>10.3f} s")
    share = ev[-1]["share"]
    print(
        f"  drift share: Evidently {'-' if share is None else f'{share:.3f}'}  modelcycle {mc[-1]['share']:.3f} "
        f"({', '.join(mc[-1]['drifted'])})"
    )
    print(f"target: modelcycle >= 10x faster (compute ratio {e / m:.1f}) {'met' if e / m >= 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
