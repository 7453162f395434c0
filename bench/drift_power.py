"""What the default drift settings detect, and how often they cry wolf, against the p-value tests.

Known shifts are injected into synthetic columns and each column goes through the drift
path of `modelcycle evaluate`: the reference profile of a holdout
(`modelcycle.profile.column_profile`, `--reference` rows, 40,000: the 20 % holdout of
200,000 training rows), the current rows counted into a state
(`modelcycle.states.state_for(...).add`, as each chunk is) and compared with the default
`[models.X.drift]` settings (`modelcycle.evaluate._compare`, the function `evaluate`
calls per column). The model's scoring is left out: drift never reads it.

Columns: five numeric shapes (normal, lognormal, exponential, uniform, Poisson counts;
10 % missing in reference and current) and four categorical ones (3, 5, 10 and 20
categories, the larger ones Zipf-like). Each trial draws a new reference and new current
rows, at 10,000 / 100,000 / 1,000,000 current rows (`--sizes`), `--trials` per size and
column shape. For each injected change the table gives the share of columns flagged
by modelcycle's defaults and by a p-value test at p < 0.05 (two-sample KS on the raw
values, `scipy.stats.ks_2samp`; chi-square of homogeneity, `scipy.stats.chi2_contingency`).

Targets (issue: defaults that see meaningful shifts): detected at >= 95 % at every size:
mean +0.1 sd, sd x1.1, capping at the reference p90, 5 % of rows x100 and x1000, missing
rate +5 pp, 1 pp of values beyond the reference range, 1 % new categories, and a 2 pp move
between categories (reported for a move into the smallest category and, separately, out
of the largest one, where sampling noise at 10,000 rows is as large as the move itself);
flagged in <= 1 % of unchanged columns, and in 0 % for mean shifts <= 0.02 sd at 1,000,000.

Writes bench/results/drift_power.json (`--out`), from which docs/gen_drift.py renders the
tables in docs/drift.md.

    OMP_NUM_THREADS=1 .venv/bin/python bench/drift_power.py [--sizes 10000,100000,1000000]
        [--trials 200,40,10] [--reference 40000] [--seed 0] [--out bench/results/drift_power.json]
        [--no-estimates]

It ends with the table of bench/estimate_error.py: the label-free performance estimate
against the truth on covariate-shifted datasets (`--no-estimates` leaves it out).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core"), str(ROOT / "plugins")]

from modelcycle.evaluate import _compare  # noqa: E402 - the per-column drift step of evaluate
from modelcycle.profile import column_profile  # noqa: E402
from modelcycle.states import state_for  # noqa: E402
from modelcycle_metrics import register_drift_tests  # noqa: E402
from scipy import stats  # noqa: E402

REGISTRY = {cls.name: SimpleNamespace(cls=cls) for cls in register_drift_tests()}
MISSING = 0.10

NUMERIC_SHAPES = {
    "normal": lambda rng, n: rng.normal(50.0, 10.0, n),
    "lognormal": lambda rng, n: rng.lognormal(3.0, 0.6, n),
    "exponential": lambda rng, n: rng.exponential(5.0, n),
    "uniform": lambda rng, n: rng.uniform(0.0, 100.0, n),
    "poisson": lambda rng, n: rng.poisson(4.0, n).astype("float64"),
}


def zipf(k: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1)
    return weights / weights.sum()


CATEGORICAL_SHAPES = {
    "3 categories": np.array([0.5, 0.3, 0.2]),
    "5 categories": np.array([0.4, 0.25, 0.15, 0.12, 0.08]),
    "10 categories": zipf(10),
    "20 categories": zipf(20),
}


def _spread(factor: float):
    return lambda x, ref, rng: (x - np.nanmean(ref)) * factor + np.nanmean(ref)


def _mean(sds: float):
    def change(x, ref, rng):
        shift = sds * np.nanstd(ref)
        if np.all(np.mod(ref[~np.isnan(ref)], 1) == 0):  # counts shift as counts do: Poisson(rate + shift)
            return x + rng.poisson(shift, x.size)
        return x + shift

    return change


def _cap(x, ref, rng):
    return np.minimum(x, np.nanpercentile(ref, 90))


def _unit(factor: float):
    def change(x, ref, rng):
        out = x.copy()
        rows = rng.random(x.size) < 0.05
        out[rows] *= factor
        return out

    return change


def _more_missing(points: float):
    def change(x, ref, rng):
        out = x.copy()
        present = ~np.isnan(out)
        # of the present values, blank enough to raise the missing rate by `points`
        out[present & (rng.random(x.size) < points / (1 - MISSING))] = np.nan
        return out

    return change


def _out_of_range(points: float):
    def change(x, ref, rng):
        out = x.copy()
        rows = rng.random(x.size) < points
        out[rows] = np.nanmax(ref) + np.abs(rng.normal(0.0, np.nanstd(ref), rows.sum())) + 1e-9
        return out

    return change


#: (family, size label, change); "none" is unchanged data
NUMERIC_CHANGES = [
    ("none", "", lambda x, ref, rng: x),
    ("mean shift", "+0.01 sd", _mean(0.01)),
    ("mean shift", "+0.02 sd", _mean(0.02)),
    ("mean shift", "+0.05 sd", _mean(0.05)),
    ("mean shift", "+0.1 sd", _mean(0.1)),
    ("mean shift", "+0.2 sd", _mean(0.2)),
    ("mean shift", "+0.5 sd", _mean(0.5)),
    ("spread change", "sd x1.05", _spread(1.05)),
    ("spread change", "sd x1.1", _spread(1.1)),
    ("spread change", "sd x1.25", _spread(1.25)),
    ("capping", "at the reference p90", _cap),
    ("unit error", "5 % of rows x100", _unit(100.0)),
    ("unit error", "5 % of rows x1000", _unit(1000.0)),
    ("missing rate", "+2 pp", _more_missing(0.02)),
    ("missing rate", "+5 pp", _more_missing(0.05)),
    ("missing rate", "+40 pp (50 % missing)", _more_missing(0.40)),
    ("out of range", "+0.5 pp beyond the max", _out_of_range(0.005)),
    ("out of range", "+1 pp beyond the max", _out_of_range(0.01)),
]


def _move(points: float, source: str):
    def change(p: np.ndarray) -> np.ndarray:
        q = p.copy()
        order = np.argsort(-p, kind="stable")
        if source == "largest":  # out of the largest category into the second
            give, take = order[0], order[1]
        else:  # into the smallest category, out of the next smallest that can spare it
            take = order[-1]
            give = next(i for i in order[::-1][1:] if p[i] >= points + 0.005)
        q[give] -= points
        q[take] += points
        return q

    return change


def _new(points: float):
    def change(p: np.ndarray) -> np.ndarray:
        return np.concatenate((p * (1 - points), [points]))

    return change


CATEGORICAL_CHANGES = [
    ("none", "", lambda p: p),
    ("category move", "1 pp into the smallest", _move(0.01, "small")),
    ("category move", "2 pp into the smallest", _move(0.02, "small")),
    ("category move", "5 pp into the smallest", _move(0.05, "small")),
    ("category move", "2 pp, out of the largest", _move(0.02, "largest")),
    ("category move", "5 pp, out of the largest", _move(0.05, "largest")),
    ("new categories", "0.5 %", _new(0.005)),
    ("new categories", "1 %", _new(0.01)),
    ("missing rate", "+5 pp", None),
]

#: the changes each target applies to (family, size label)
TARGETS = [
    ("mean shift", "+0.1 sd"),
    ("spread change", "sd x1.1"),
    ("capping", "at the reference p90"),
    ("unit error", "5 % of rows x100"),
    ("unit error", "5 % of rows x1000"),
    ("missing rate", "+5 pp"),
    ("out of range", "+1 pp beyond the max"),
    ("new categories", "1 %"),
    ("category move", "2 pp into the smallest"),
]


def with_missing(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    x = x.astype("float64")
    x[rng.random(x.size) < MISSING] = np.nan
    return x


def judged(profile: dict, values, kind: str) -> bool:
    state = state_for(profile)
    if kind == "numeric":
        for start in range(0, len(values), 65_536):  # chunked, as evaluate reads
            state.add(values[start : start + 65_536])
    else:
        for start in range(0, len(values), 65_536):
            state.add(values.iloc[start : start + 65_536])
    return bool(_compare(REGISTRY, None, "x", profile, state)["drifted"])


def ks_flags(reference: np.ndarray, current: np.ndarray) -> bool:
    a, b = reference[~np.isnan(reference)], current[~np.isnan(current)]
    return bool(stats.ks_2samp(a, b).pvalue < 0.05)


def chi2_flags(reference: pd.Series, current: pd.Series) -> bool:
    table = pd.concat([reference.value_counts(), current.value_counts()], axis=1).fillna(0).to_numpy().T
    table = table[:, table.sum(axis=0) > 0]
    return bool(stats.chi2_contingency(table, correction=False).pvalue < 0.05)


def categorical_values(rng: np.random.Generator, p: np.ndarray, n: int, missing: float = MISSING) -> pd.Series:
    names = np.array([f"c{i}" for i in range(len(p))], dtype=object)
    values = pd.Series(names[rng.choice(len(p), n, p=p / p.sum())], dtype=object)
    values[rng.random(n) < missing] = None
    return values


def run(sizes: list[int], trials: list[int], reference_rows: int, seed: int, out: Path | None = None) -> dict:
    """Every trial at every size; with `out`, the results so far are written after each trial
    (a run stopped early leaves a valid file that says how many trials it completed)."""
    rng = np.random.default_rng(seed)
    done: list[int] = []
    counts: dict[tuple, list[int]] = {}

    def tally(kind: str, family: str, label: str, n: int, mine: bool, theirs: bool, shape: str) -> None:
        for key in ((kind, family, label, n, None), (kind, family, label, n, shape)):
            cell = counts.setdefault(key, [0, 0, 0])
            cell[0] += mine
            cell[1] += theirs
            cell[2] += 1

    for n, repeats in zip(sizes, trials, strict=True):
        started = time.perf_counter()
        for trial in range(repeats):
            for shape, draw in NUMERIC_SHAPES.items():
                reference = with_missing(rng, draw(rng, reference_rows))
                profile = column_profile(pd.Series(reference))
                base = with_missing(rng, draw(rng, n))
                for family, label, change in NUMERIC_CHANGES:
                    current = change(base, reference, rng)
                    mine = judged(profile, current, "numeric")
                    tally("numeric", family, label, n, mine, ks_flags(reference, current), shape)
            for shape, p in CATEGORICAL_SHAPES.items():
                reference = categorical_values(rng, p, reference_rows)
                profile = column_profile(reference)
                for family, label, change in CATEGORICAL_CHANGES:
                    if change is None:  # missing rate +5 pp
                        current = categorical_values(rng, p, n, MISSING + 0.05)
                    else:
                        current = categorical_values(rng, change(p), n)
                    mine = judged(profile, current, "categorical")
                    theirs = chi2_flags(reference.dropna(), current.dropna())
                    tally("categorical", family, label, n, mine, theirs, shape)
            if out is not None:
                snapshot = summarize(counts, [*done, n], [*trials[: len(done)], trial + 1], reference_rows, seed)
                out.write_text(json.dumps(snapshot, indent=1) + "\n", encoding="utf-8")
        done.append(n)
        print(f"  {n:>9,} rows: {repeats} trials in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return summarize(counts, sizes, trials, reference_rows, seed)


def summarize(counts: dict, sizes: list[int], trials: list[int], reference_rows: int, seed: int) -> dict:
    rows = [
        {"kind": k, "change": f, "size": s, "rows": n, "modelcycle": c[0] / c[2], "p_value": c[1] / c[2]}
        | {"columns": c[2]}
        for (k, f, s, n, shape), c in counts.items()
        if shape is None
    ]
    by_shape = [
        {"shape": shape, "change": f, "size": s, "rows": n, "modelcycle": c[0] / c[2], "columns": c[2]}
        for (k, f, s, n, shape), c in counts.items()
        if shape is not None
    ]
    return {
        "command": "OMP_NUM_THREADS=1 .venv/bin/python bench/drift_power.py "
        f"--sizes {','.join(map(str, sizes))} --trials {','.join(map(str, trials))} "
        f"--reference {reference_rows} --seed {seed}",
        "reference_rows": reference_rows,
        "sizes": sizes,
        "trials": trials,
        "numeric_shapes": list(NUMERIC_SHAPES),
        "categorical_shapes": list(CATEGORICAL_SHAPES),
        "missing": MISSING,
        "rows": rows,
        "by_shape": by_shape,
    }


def targets(results: dict) -> list[tuple[str, bool]]:
    """(target text, met) for each target of the issue."""
    by = {(r["change"], r["size"], r["kind"], r["rows"]): r for r in results["rows"]}
    out = []
    for family, label in TARGETS:
        cells = [r for (f, s, _, _), r in by.items() if (f, s) == (family, label)]
        worst = min(r["modelcycle"] for r in cells)
        out.append((f"{family} {label}: detected >= 95 % at every size (lowest {worst:.1%})", worst >= 0.95))
    nulls = [r for r in results["rows"] if r["change"] == "none"]
    worst = max(r["modelcycle"] for r in nulls)
    out.append((f"unchanged columns flagged <= 1 % at every size (highest {worst:.2%})", worst <= 0.01))
    big = max(results["sizes"])
    tiny = [r for r in results["rows"] if r["size"] in ("+0.01 sd", "+0.02 sd") and r["rows"] == big]
    worst = max(r["modelcycle"] for r in tiny)
    out.append((f"mean shifts <= 0.02 sd flagged in 0 % at {big:,} rows (highest {worst:.1%})", worst == 0))
    return out


def table(results: dict) -> str:
    """The detection table: one line per change, modelcycle / p-value test at each size."""
    sizes = results["sizes"]
    head = "| column | change | " + " | ".join(f"{n:,} rows: modelcycle / p < 0.05" for n in sizes) + " |"
    lines = [head, "|" + "---|" * (2 + len(sizes))]
    seen: dict[tuple, dict] = {}
    for r in results["rows"]:
        seen.setdefault((r["kind"], r["change"], r["size"]), {})[r["rows"]] = r
    for (kind, family, label), cells in seen.items():
        change = "no change" if family == "none" else f"{family} {label}"
        values = " | ".join(f"{cells[n]['modelcycle']:.1%} / {cells[n]['p_value']:.1%}" for n in sizes)
        lines.append(f"| {kind} | {change} | {values} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--trials", default="200,40,10")
    parser.add_argument("--reference", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "drift_power.json"))
    parser.add_argument("--merge", nargs="+", help="combine result files of single sizes (run apart) into --out")
    parser.add_argument("--no-estimates", action="store_true", help="leave out the estimate-against-truth table")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    trials = [int(t) for t in args.trials.split(",")]
    if args.merge:
        parts = [json.loads(Path(p).read_text(encoding="utf-8")) for p in args.merge]
        results = {**parts[0], "rows": [], "by_shape": [], "sizes": [], "trials": [], "command": []}
        for part in parts:
            for key in ("rows", "by_shape", "sizes", "trials"):
                results[key] += part[key]
            results["command"].append(part["command"])
        trials = results["trials"]
    else:
        results = run(sizes, trials, args.reference, args.seed, Path(args.out))
    results["targets"] = [{"target": t, "met": met} for t, met in targets(results)]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    shapes = f"{len(NUMERIC_SHAPES)} numeric and {len(CATEGORICAL_SHAPES)} categorical shapes"
    print(f"share of columns flagged; {shapes}, trials per size {trials}; reference {args.reference:,} rows\n")
    print(table(results))
    if not args.no_estimates:
        # The label-free estimate's error against the true metrics on covariate-shifted datasets.
        sys.path.insert(0, str(ROOT / "bench"))
        import estimate_error

        print("\nestimated performance against truth (bench/estimate_error.py):\n")
        print(estimate_error.render(estimate_error.run(args.seed)))
    print()
    for text, met in targets(results):
        print(f"target: {text} {'met' if met else 'NOT met'}")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
