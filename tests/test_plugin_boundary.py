"""The built-in plugins use what a third-party plugin can: `modelcycle` and `modelcycle.plugin`.

Anything else they imported from the core would be a door third-party plugins do not have."""

from __future__ import annotations

import ast
from pathlib import Path

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
ALLOWED = {"modelcycle", "modelcycle.plugin"}


def core_imports(path: Path) -> list[str]:
    """'line: module' for each import of a modelcycle module other than the allowed ones."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "modelcycle":  # `from modelcycle import alerts` reaches a module too
                names += [f"modelcycle.{alias.name}" for alias in node.names if alias.name != "hookimpl"]
        else:
            continue
        found += [f"{node.lineno}: {name}" for name in names if name.split(".")[0] == "modelcycle"]
    return [entry for entry in found if entry.split(": ", 1)[1] not in ALLOWED]


def test_built_in_plugins_import_only_the_plugin_module() -> None:
    files = sorted(PLUGINS.rglob("*.py"))
    assert len(files) > 20  # the scan sees the plugins
    offenders = {str(path.relative_to(PLUGINS)): core_imports(path) for path in files}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_scan_catches_a_core_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import modelcycle\nfrom modelcycle import hookimpl\nfrom modelcycle.plugin import Store\n"
        "from modelcycle.data import resolve\nfrom modelcycle import alerts\nimport modelcycle.scenarios\n",
        encoding="utf-8",
    )
    assert core_imports(sample) == ["4: modelcycle.data", "5: modelcycle.alerts", "6: modelcycle.scenarios"]


def test_built_in_plugin_constructors_type_their_context_as_the_plugin_context() -> None:
    """``context`` is a modelcycle.plugin.PluginContext (or None outside a project), not Any."""
    untyped = []
    for path in sorted(PLUGINS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                for arg in [*node.args.args, *node.args.kwonlyargs]:
                    if arg.arg == "context" and "PluginContext" not in ast.unparse(
                        arg.annotation or ast.Constant(None)
                    ):
                        untyped.append(f"{path.relative_to(PLUGINS)}:{node.lineno} {node.name}")
    assert untyped == []
