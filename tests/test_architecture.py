"""The core's layers, read from its source: facade -> context -> recipes and services -> store.

The import graph of core/modelcycle is built with `ast` (every import counts: at module level,
inside functions, and under TYPE_CHECKING), then checked: it has no cycle, and only the facade
and its users import project.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "core" / "modelcycle"
PACKAGE = "modelcycle"

# who may import project.py: the package's lazy exports, the CLI, the demo (a script that plays
# the lifecycle through the public API, as a user would) and the pytest fixtures that open
# projects for plugin authors' tests
FACADE_USERS = {"modelcycle", "modelcycle.cli", "modelcycle.demo", "modelcycle.testing", "modelcycle.project"}


def module_name(path: Path, root: Path = CORE) -> str:
    parts = [PACKAGE, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = CORE) -> dict[str, Path]:
    return {module_name(path, root): path for path in sorted(root.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of the package that `name` imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            submodules = {f"{target}.{alias.name}" for alias in node.names} & known
            found.update(submodules)  # `from . import alerts`: the submodule
            if len(submodules) < len(node.names):  # a name defined in `target` itself
                found.add(target)
    return {f for f in found if f in known and f != name}


def import_graph(root: Path = CORE) -> dict[str, set[str]]:
    found = modules(root)
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path that ends where it starts, or None (depth-first, three colours)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read_from_the_source() -> None:
    graph = import_graph()
    assert "modelcycle.context" in graph["modelcycle.project"]  # a module-level relative import
    assert "modelcycle.train" in graph["modelcycle.project"]  # one inside a method
    assert "modelcycle.context" in graph["modelcycle.retention"]  # one under TYPE_CHECKING
    assert "modelcycle.dashboard.build" in graph["modelcycle.dashboard"]  # from a package's __init__
    assert "modelcycle.history" in graph["modelcycle.dashboard.build"]  # two levels up


def test_the_core_import_graph_has_no_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_only_the_facade_and_its_users_import_project() -> None:
    importers = sorted(name for name, targets in import_graph().items() if "modelcycle.project" in targets)
    assert set(importers) <= FACADE_USERS, f"below the facade, these import project.py: {importers}"


def test_recipes_depend_on_the_context_not_the_facade() -> None:
    graph = import_graph()
    recipes = ("train", "score", "evaluate", "checks", "alerts", "scenarios", "scheduler", "retention", "status")
    for recipe in recipes:
        assert "modelcycle.context" in graph[f"modelcycle.{recipe}"], recipe
    assert "modelcycle.context" in graph["modelcycle.dashboard.build"]


@pytest.mark.parametrize(
    ("sources", "cycle"),
    [
        ({"a.py": "from . import b\n", "b.py": "def f():\n    from .a import x\n"}, ["a", "b", "a"]),
        ({"a.py": "from .b import y\n", "b.py": "import os\n"}, None),
        (
            {
                "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import z\n",
                "c.py": "from . import a\n",
            },
            ["a", "c", "a"],
        ),
    ],
)
def test_the_check_finds_a_cycle_when_there_is_one(tmp_path: Path, sources: dict[str, str], cycle: list[str]) -> None:
    """The checker itself: a cycle through a lazy or a type-only import is found; none is invented."""
    for file, text in {"__init__.py": "", **sources}.items():
        (tmp_path / file).write_text(text)
    found = find_cycle(import_graph(tmp_path))
    assert found == (None if cycle is None else [f"{PACKAGE}.{m}" for m in cycle])


def test_a_facade_import_below_the_facade_is_caught(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "project.py").write_text("from .context import Context\n")
    (tmp_path / "context.py").write_text("")
    (tmp_path / "train.py").write_text("from .project import Project\n")
    graph = import_graph(tmp_path)
    importers = {name for name, targets in graph.items() if "modelcycle.project" in targets}
    assert importers == {"modelcycle.train"} and not importers <= FACADE_USERS


def test_the_core_imports_no_plugin_package() -> None:
    """Built-ins are plugins like any other: the core reaches them through the plugin host only."""
    reached = {}
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                targets = [node.module or ""]
            plugins = [t for t in targets if t.split(".")[0].startswith("modelcycle_")]
            if plugins:
                reached[name] = plugins
    assert reached == {}, f"core modules importing plugin packages: {reached}"


def test_no_two_core_modules_define_a_class_of_the_same_name() -> None:
    """One name, one meaning: a class name defined in two modules (two PluginInfo, say) reads as
    the same thing where it is not."""
    where: dict[str, list[str]] = {}
    for name, path in modules().items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:  # module-level classes
            if isinstance(node, ast.ClassDef):
                where.setdefault(node.name, []).append(name)
    assert {name: found for name, found in where.items() if len(found) > 1} == {}


def test_the_facade_names_what_its_recipes_return() -> None:
    """Project's methods return their records, named without importing pandas at start-up."""
    import typing

    import pandas as pd
    from modelcycle import project
    from modelcycle.compare import VersionComparison
    from modelcycle.interfaces import Executor, Notifier
    from modelcycle.records import ScoreSummary
    from modelcycle.train import TrainResult

    names = {**vars(project), "pd": pd, "VersionComparison": VersionComparison, "TrainResult": TrainResult}
    names.update(Executor=Executor, Notifier=Notifier, threading=__import__("threading"))

    def returns(method: str) -> object:
        return typing.get_type_hints(getattr(project.Project, method), globalns=names)["return"]

    assert returns("train") is TrainResult and returns("compare") is VersionComparison
    assert returns("score") == pd.DataFrame | ScoreSummary and returns("history") is pd.DataFrame
    assert returns("notifier") is Notifier
    untyped = [
        name for name in dir(project.Project) if not name.startswith("_") and callable(getattr(project.Project, name))
    ]
    untyped = [name for name in untyped if returns(name) is typing.Any]
    assert untyped == ["load_model"]  # a fitted model of any library
