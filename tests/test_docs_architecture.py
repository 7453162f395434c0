"""docs/architecture.md names every module of the core, so the map cannot fall behind the code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_core_module_is_on_the_map() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"([A-Za-z_]+\.py)\b", text))
    core = ROOT / "core" / "modelcycle"
    modules = {p.name for p in core.glob("*.py") if p.name != "__init__.py"}
    modules |= {p.name for p in (core / "dashboard").glob("*.py") if p.name != "__init__.py"}
    assert sorted(modules - named) == []
