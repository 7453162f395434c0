"""A seeded, realistic churn table that drifts month after month, for `modelcycle demo`.

Month 0 trains the model. Later months drift in their covariates (charges rise,
more month-to-month contracts, a new payment method appears) and in the relation
to the label (support calls matter more, tenure protects less), so performance
falls and drift grows the way it does in production.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONTRACTS = ["month-to-month", "one-year", "two-year"]
PAYMENTS = ["card", "transfer", "check"]
REGIONS = ["north", "south", "east", "west"]


def month(index: int, rows: int, seed: int = 7) -> pd.DataFrame:
    """Customers observed in month `index` (0 = the training month) with their churn label."""
    rng = np.random.default_rng(seed * 1000 + index)
    drift = index / 6.0  # 0 at training time, 1 after six months
    tenure = rng.gamma(shape=2.0, scale=14.0 * (1 - 0.35 * drift), size=rows).round(0)
    charges = rng.normal(65 + 18 * drift, 20, size=rows).clip(15, 160).round(2)
    calls = rng.poisson(1.2 + 1.5 * drift, size=rows)
    contract_p = np.array([0.45 + 0.3 * drift, 0.3 - 0.15 * drift, 0.25 - 0.15 * drift])
    contract = rng.choice(CONTRACTS, size=rows, p=contract_p / contract_p.sum())
    payments = PAYMENTS + (["crypto"] if index >= 3 else [])
    payment_p = np.array([0.45, 0.3, 0.25] + ([0.08 * index] if index >= 3 else []))
    payment = rng.choice(payments, size=rows, p=payment_p / payment_p.sum())
    region = rng.choice(REGIONS, size=rows)
    age = rng.normal(42, 13, size=rows).clip(18, 90).round(0)
    partner = rng.random(rows) < 0.5
    last_login = rng.exponential(8 + 10 * drift, size=rows).round(0)
    logit = 1.8 * (
        -0.9
        - 0.35 * drift
        - (0.05 * (1 - 0.8 * drift)) * tenure
        + 0.02 * (charges - 65)
        + (0.3 + 0.2 * drift) * (calls - 1.2 - 1.5 * drift)
        + np.select([contract == "month-to-month", contract == "one-year"], [1.2, 0.2], -0.7) * (1 - 0.8 * drift)
        + 0.04 * (last_login - 8) * drift
        + np.where(payment == "check", 0.5, 0.0) * (1 - drift)
        - 0.3 * partner
        + np.where(payment == "crypto", 0.9, 0.0)
    )
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{index:02d}{i:06d}" for i in range(rows)],
            "tenure_months": tenure,
            "monthly_charges": charges,
            "support_calls": calls,
            "contract": contract,
            "payment_method": payment,
            "region": region,
            "age": age,
            "has_partner": partner,
            "days_since_login": last_login,
            "churned": churned,
        }
    )
    missing = rng.random(rows) < 0.03
    frame.loc[missing, "age"] = np.nan
    return frame
