"""Built-in scenario steps (retrain, evaluate, check, score, notify, python) and triggers
(cron, dataset-changed, after-scenario)."""

from __future__ import annotations

from modelcycle import hookimpl


@hookimpl
def register_steps():
    from .steps import STEPS

    return list(STEPS)


@hookimpl
def register_triggers():
    from .triggers import TRIGGERS

    return list(TRIGGERS)
