"""Built-in notifier `file`: alerts written to an outbox in the project's store, and optionally
appended to a local text file. Needs no server: the demo's default, and a record to audit."""

from __future__ import annotations

from modelcycle import hookimpl

from .notifier import FileNotifier

__all__ = ["FileNotifier"]


@hookimpl
def register_notifiers():
    return [FileNotifier]
