"""Built-in executors: `local` (this process, the default) and `dask` (a Dask cluster)."""

from __future__ import annotations

from modelcycle import hookimpl


@hookimpl
def register_executors():
    from .cluster import DaskExecutor
    from .local import LocalExecutor

    return [LocalExecutor, DaskExecutor]
