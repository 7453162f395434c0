"""The block between the BEGIN/END GENERATED markers of a doc page: split, replace, check."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

BEGIN = "<!-- BEGIN GENERATED -->"
END = "<!-- END GENERATED -->"


def split_doc(text: str) -> tuple[str, str, str]:
    """(before the block, the block, after it); the markers stay in before/after."""
    start = text.index(BEGIN) + len(BEGIN)
    stop = text.index(END, start)
    return text[:start], text[start:stop].strip("\n") + "\n", text[stop:]


def updated(text: str, block: str) -> str:
    before, _, after = split_doc(text)
    return f"{before}\n\n{block}\n{after}"


def run(doc: Path, render: Callable[[], str], script: str, argv: list[str]) -> int:
    """Rewrite `doc`'s block with `render()`, or with --check only say whether it is stale."""
    text = doc.read_text(encoding="utf-8")
    block = render()
    if "--check" in argv:
        if split_doc(text)[1] != block:
            print(f"{doc} is out of date: run python docs/{script}", file=sys.stderr)
            return 1
        return 0
    new = updated(text, block)
    if new != text:
        doc.write_text(new, encoding="utf-8")
        print(f"updated {doc}")
    return 0
