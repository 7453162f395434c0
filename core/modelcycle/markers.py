"""The marker plugins put on their hook implementations, in a module of its own so that the
public package and the plugin-author module hand out the same object without importing each other."""

from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("modelcycle")
"""Marker for plugin hook implementations: ``@modelcycle.hookimpl``."""
