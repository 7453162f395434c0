"""The dashboard: one self-contained HTML file built from what modelcycle stored, or the same
page served live and read-only on loopback.

    from modelcycle.dashboard import build, serve
    build(project, "dashboard.html")        # -> Path
    serve(project)                          # http://127.0.0.1:8765/ until Ctrl-C

See docs/dashboard.md for what is shown and where each number comes from.
"""

from __future__ import annotations

from .build import build, render
from .serve import make_server, serve

__all__ = ["build", "make_server", "render", "serve"]
