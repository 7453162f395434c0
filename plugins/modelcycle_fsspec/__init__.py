"""Built-in stores: a local folder (fast path on the OS) and any other fsspec URL."""

from __future__ import annotations

from modelcycle import hookimpl

from .stores import FsspecStore, LocalFolderStore


@hookimpl
def register_stores():
    return [LocalFolderStore, FsspecStore]
