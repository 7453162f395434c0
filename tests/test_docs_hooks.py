"""docs/hooks.md carries a reference generated from modelcycle.hookspecs: keep them equal."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from types import ModuleType

from modelcycle import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs"


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load_script("gen_hooks")


def hook_specs() -> list:
    """Found independently of the script: every function pluggy marked as a spec."""
    return [f for _, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, "modelcycle_spec")]


def test_there_are_hooks() -> None:
    assert len(hook_specs()) >= 1
    assert {f.__name__ for f in hook_specs()} == {f.__name__ for f in gen.hooks()}


def test_every_hook_is_documented_with_its_exact_arguments() -> None:
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    for hook in hook_specs():
        args = ", ".join(inspect.signature(hook).parameters)
        expected = f"## {hook.__name__}({args})"
        assert expected in headings, f"docs/hooks.md lacks the heading {expected!r}"
        assert sum(h.startswith(f"## {hook.__name__}(") for h in headings) == 1, hook.__name__


def test_every_docstring_is_in_the_page() -> None:
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    for hook in hook_specs():
        first_line = inspect.getdoc(hook).splitlines()[0]
        assert first_line in text, f"{hook.__name__}: docstring missing from docs/hooks.md"


def test_generated_block_is_up_to_date() -> None:
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    _, block, _ = gen.split_doc(text)
    assert block == gen.render(), "docs/hooks.md is out of date: run python docs/gen_hooks.py"
