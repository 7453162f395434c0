"""modelcycle-example-plugin: a notifier and a metric, registered through one entry point.

* notifier ``jsonl``: appends every alert as one JSON object per line to a local file;
* metric ``top_decile_lift``: how much more often the positive class occurs among the
  10 % highest-scored rows than among all rows (binary models).

``pip install modelcycle-example-plugin`` is all a user does: the entry point
``[project.entry-points.modelcycle] example = "modelcycle_example"`` makes every project
load this module. This module only imports its neighbours, never numpy: every plugin is
imported each time a project opens, so loading must stay cheap.
"""

from __future__ import annotations

from modelcycle import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_notifiers():
    from .notifier import JsonlNotifier

    return [JsonlNotifier]


@hookimpl
def register_metrics():
    from .metrics import TopDecileLift  # imports numpy: only when metrics are needed

    return [TopDecileLift]
