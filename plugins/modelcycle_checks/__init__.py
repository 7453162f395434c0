"""Built-in check type: thresholds on a value, absolute or against a baseline."""

from __future__ import annotations

from modelcycle import hookimpl

from .threshold import ThresholdCheck


@hookimpl
def register_check_types():
    return [ThresholdCheck]
