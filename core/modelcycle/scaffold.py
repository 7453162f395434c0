"""Starting points that exist before any project does: `init` writes a settings template,
`demo` plays the lifecycle in a new folder. The CLI's `init` and `demo` call these."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .errors import ModelcycleError
from .records import DemoResult, Initialised


def init_project(directory: str | os.PathLike[str] = ".") -> Initialised:
    """Write a commented modelcycle.toml template in `directory` (never over an existing one)."""
    from importlib.resources import files

    folder = Path(directory)
    target = folder / "modelcycle.toml"
    if target.exists():
        raise ModelcycleError(f"{target} already exists: edit it, or choose another DIR")
    if folder.exists() and not folder.is_dir():
        raise ModelcycleError(f"{folder} is a file, not a folder: choose another DIR")
    text = files("modelcycle").joinpath("template.toml").read_text(encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(text.replace("{name}", folder.resolve().name), encoding="utf-8")
    return Initialised(path=str(target), next_step="define a dataset and a model, then run 'modelcycle train MODEL'")


def demo_project(directory: str | os.PathLike[str], say: Callable[[str], None] = print) -> DemoResult:
    """The demo in a new or empty `directory`; `say` gets each line of the story."""
    from .demo import run_demo

    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise ModelcycleError(f"{folder} is a file, not a folder: give 'modelcycle demo' a new or empty folder")
    story = run_demo(directory, say=say)
    return DemoResult(folder=story["folder"], data=story)
