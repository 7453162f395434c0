"""modelcycle: the life of a machine-learning model in production.

Public API: :func:`open_project`, :class:`Project`, :data:`hookimpl` and the errors.
Heavy modules load on first use, so ``import modelcycle`` stays cheap for plugins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    DataError,
    IntegrityError,
    ModelcycleError,
    NotFoundError,
    PluginError,
    SettingsError,
    StoreError,
)

__version__ = "0.1.0"

from .markers import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from .project import Project, open_project

__all__ = [
    "DataError",
    "IntegrityError",
    "ModelcycleError",
    "NotFoundError",
    "PluginError",
    "Project",
    "SettingsError",
    "StoreError",
    "hookimpl",
    "open_project",
]


def __getattr__(name: str) -> Any:
    if name in ("open_project", "Project"):
        from . import project

        return getattr(project, name)
    raise AttributeError(f"module 'modelcycle' has no attribute {name!r}")
