"""The generated churn-like table the history and dashboard benches train and evaluate on."""

from __future__ import annotations


def frame(rows: int, seed: int, drift: bool = False):  # noqa: ANN201 - pandas is imported lazily
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    out = pd.DataFrame({f"num{i}": rng.normal(size=rows) for i in range(20)})
    for i in range(4):
        out[f"cat{i}"] = rng.choice([f"c{k}" for k in range(8)], size=rows)
    out.loc[rng.random(rows) < 0.05, "num3"] = np.nan
    if drift:
        out["num0"] += 0.4
        out["num5"] *= 1.6
        out.loc[rng.random(rows) < 0.05, "cat3"] = "c_new"
    logit = out["num0"] + 0.5 * out["num1"] - 0.3 * out["num2"] + (out["cat0"] == "c1") * 0.8
    out["churned"] = (logit + rng.normal(size=rows) > 0.5).astype(int)
    return out


#: levels of the four text columns of `mixed`: small, medium, large and one beyond one-hot's reach
MIXED_LEVELS = (5, 12, 30, 200)


def mixed(rows: int, seed: int = 0):  # noqa: ANN201 - pandas is imported lazily
    """20 numeric + 4 text columns of 5, 12, 30 and 200 levels (skewed, with rare ones), binary target.

    The train bench's table: every text column carries signal, so encoding them well matters.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    out = pd.DataFrame({f"num{i}": rng.normal(size=rows) for i in range(20)})
    out.loc[rng.random(rows) < 0.05, "num3"] = np.nan
    logit = out["num0"] + 0.5 * out["num1"] - 0.3 * out["num2"]
    for i, levels in enumerate(MIXED_LEVELS):
        weights = 1.0 / np.arange(1, levels + 1) ** 0.8  # a Zipf-like spread: a few common levels, a long tail
        codes = rng.choice(levels, size=rows, p=weights / weights.sum())
        effects = rng.normal(scale=0.6, size=levels)
        logit = logit + effects[codes]
        out[f"cat{i}"] = pd.Series([f"{chr(97 + i)}{k}" for k in range(levels)], dtype=object).to_numpy()[codes]
    out.loc[rng.random(rows) < 0.02, "cat1"] = None
    out["churned"] = (logit.fillna(0) + rng.normal(size=rows) > 0.5).astype(int)
    return out
