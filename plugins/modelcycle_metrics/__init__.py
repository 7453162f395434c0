"""Built-in metrics: classification (label and probability metrics) and regression;
and the built-in drift tests (psi, ks, wasserstein, chi2, js).

Every metric is computed in numpy with scikit-learn's definitions (the tests hold them
equal to 1e-9, with and without sample weights) and returns NaN where it is undefined.
The drift tests compare binned counts against the reference profile (see drift.py).
"""

from __future__ import annotations

from modelcycle import hookimpl


@hookimpl
def register_metrics():
    # imported here, not at the top: loading the plugin must not import pandas (the CLI starts fast)
    from .classification import CLASSIFICATION_METRICS
    from .regression import REGRESSION_METRICS

    return [*CLASSIFICATION_METRICS, *REGRESSION_METRICS]


@hookimpl
def register_drift_tests():
    from .drift import DRIFT_TESTS  # imports numpy; the p-values need no scipy

    return list(DRIFT_TESTS)
