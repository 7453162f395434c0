"""Start-up benchmarks measure modelcycle as an installed wheel runs: with bytecode.

pip compiles a wheel's modules when it installs it; an editable install does not, and
with PYTHONDONTWRITEBYTECODE set Python then recompiles every module at every start.
"""

from __future__ import annotations

import compileall
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def compile_modelcycle() -> None:
    for folder in ("core", "plugins"):
        compileall.compile_dir(ROOT / folder, quiet=1)
