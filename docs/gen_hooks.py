"""Render the hooks reference in docs/hooks.md from modelcycle.hookspecs.

hookspecs.py is the one place where hooks are documented; this script copies its
docstrings, one ``## hook_name(arg, ...)`` heading per hook in source order, into
the block between ``<!-- BEGIN GENERATED -->`` and ``<!-- END GENERATED -->``.
tests/test_docs_hooks.py checks that the block is up to date.

    python docs/gen_hooks.py           # rewrite the block in docs/hooks.md
    python docs/gen_hooks.py --check   # exit 1 if the block is out of date
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelcycle import hookspecs
from modelcycle.records import HOOK_PAYLOADS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generated_block import BEGIN, END, run, split_doc, updated  # noqa: E402, F401 - shared by both generators

DOC = Path(__file__).resolve().parent / "hooks.md"
MARKER = "modelcycle_spec"  # the attribute pluggy.HookspecMarker("modelcycle") sets


def hooks() -> list[Callable[..., Any]]:
    """Every hook specification in hookspecs.py, in source order."""
    found = [f for _, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, MARKER)]
    return sorted(found, key=lambda f: f.__code__.co_firstlineno)


def arguments(hook: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(hook).parameters)


def heading(hook: Callable[..., Any]) -> str:
    return f"## {hook.__name__}({', '.join(arguments(hook))})"


def signature(hook: Callable[..., Any]) -> str:
    """The typed signature as written in hookspecs.py (annotations are strings there)."""
    params = []
    for name, param in inspect.signature(hook).parameters.items():
        params.append(f"{name}: {param.annotation}" if param.annotation is not param.empty else name)
    returns = inspect.signature(hook).return_annotation
    tail = f" -> {returns}" if returns is not inspect.Signature.empty else ""
    return f"{hook.__name__}({', '.join(params)}){tail}"


_ROLE = re.compile(r":(?:func|class|mod|data|meth|attr):`~?([^`]+)`")


def to_markdown(doc: str) -> str:
    """The docstrings' light reST as Markdown: roles → code, ``::`` blocks → fences."""
    lines = _ROLE.sub(r"`\1`", doc).splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            text = line.rstrip()[:-2].rstrip()
            if text:
                out.append(text + ":")
            i += 1
            while i < len(lines) and not lines[i].strip():
                i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            out += ["", "```python", *inspect.cleandoc("\n".join(block)).splitlines(), "```", ""]
            continue
        out.append(line)
        i += 1
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def payloads(hook: Callable[..., Any]) -> list[str]:
    """For each argument a record type describes (records.HOOK_PAYLOADS): the keys it always has."""
    out: list[str] = []
    for name in arguments(hook):
        record = HOOK_PAYLOADS.get(name)
        if record is None:
            continue
        summary = (inspect.getdoc(record) or "").splitlines()[0]
        out += [
            f"`{name}` is a `modelcycle.records.{record.__name__}`: {summary} Its fields read as attributes "
            f"(`{name}.{dataclasses.fields(record)[0].name}`) and, as a dict, it has the whole stored "
            "document, with at least these keys:",
            "",
            "| key | type |",
            "|---|---|",
        ]
        shown = [f for f in dataclasses.fields(record) if f.repr]
        out += [f"| `{f.name}` | `{str(f.type).replace('|', '&#124;')}` |" for f in shown]
        out.append("")
    return out


def render() -> str:
    """The generated Markdown: the contract's overview, then one section per hook."""
    out = ["## The two families", "", to_markdown(inspect.getdoc(hookspecs) or ""), ""]
    for hook in hooks():
        out += [
            heading(hook),
            "",
            f"`{signature(hook)}`",
            "",
            to_markdown(inspect.getdoc(hook) or ""),
            "",
        ]
        out += payloads(hook)
    return "\n".join(out).rstrip("\n") + "\n"


# -- the markers ---------------------------------------------------------------------


def main(argv: list[str]) -> int:
    return run(DOC, render, "gen_hooks.py", argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
