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
