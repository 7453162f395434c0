"""Built-in metrics: classification (label and probability metrics) and regression.

Every metric is computed in numpy with scikit-learn's definitions (the tests hold them
equal to 1e-9, with and without sample weights) and returns NaN where it is undefined.
"""

from __future__ import annotations

from modelcycle import hookimpl

from .classification import CLASSIFICATION_METRICS
from .regression import REGRESSION_METRICS


@hookimpl
def register_metrics():
    return [*CLASSIFICATION_METRICS, *REGRESSION_METRICS]
