"""Every console example marked runnable in README.md and docs/ runs, exits as shown and prints what it shows.

The marker is an HTML comment on the line before the fence (docs/index.md#runnable-examples):

    <!-- runnable -->                 an empty folder
    <!-- runnable: cancer -->         the breast-cancer tour project: data/patients.csv (400 rows),
                                      data/feedback.csv (169 rows) and the settings of the last
                                      ```toml block above the marker on the same page
    <!-- runnable: init exit=2 -->    a folder after `modelcycle init .`; every command exits 2
    <!-- runnable: exact -->          the lines printed are exactly the lines shown (numbers aside)
    <!-- runnable: exit=0,2 -->       one exit status per command, in order
    <!-- runnable: columns=100 -->    the terminal width tables are drawn for (default 200)

Each `$ ` line is run with bash in that folder, with the installed `modelcycle` first on PATH.
The lines under it are what it prints: each must appear, in order, among the lines printed (stdout
then stderr). Numbers (metrics, timestamps, sizes) may differ, whitespace and the length of a
table's rules too, and `…` in a shown line stands for any text.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!--\s*runnable(?::\s*(?P<options>[^>]*?))?\s*-->$")
SETUPS = ("empty", "init", "cancer")


@dataclass
class Command:
    line: str
    shown: list[str] = field(default_factory=list)


@dataclass
class Example:
    page: Path
    lineno: int
    setup: str
    exits: list[int]
    settings: str
    commands: list[Command]
    exact: bool = False
    columns: int = 200

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.lineno}"


def runnable_examples(page: Path) -> list[Example]:
    """The marked fenced blocks of `page`, with their commands and shown output."""
    lines = page.read_text(encoding="utf-8").splitlines()
    examples: list[Example] = []
    toml = ""
    i = 0
    while i < len(lines):
        if lines[i].startswith("````"):  # a block showing Markdown source, markers included: not run
            i = lines.index(lines[i][: len(lines[i]) - len(lines[i].lstrip("`"))], i + 1) + 1
            continue
        if lines[i].startswith("```toml"):
            end = lines.index("```", i + 1)
            toml = "\n".join(lines[i + 1 : end]) + "\n"
            i = end + 1
            continue
        marked = MARKER.match(lines[i].strip())
        if not marked:
            i += 1
            continue
        assert lines[i + 1].startswith("```"), f"{page}:{i + 1}: a runnable marker must stand right above a fence"
        options = (marked["options"] or "").split()
        setup = next((o for o in options if "=" not in o and o != "exact"), "empty")
        assert setup in SETUPS, f"{page}:{i + 1}: unknown set-up {setup!r}; one of {SETUPS}"
        values = dict(o.split("=", 1) for o in options if "=" in o)
        unknown = set(values) - {"exit", "columns"}
        assert not unknown, f"{page}:{i + 1}: unknown option {sorted(unknown)[0]!r}; exit=N[,N…] or columns=N"
        end = lines.index("```", i + 2)
        commands: list[Command] = []
        for text in lines[i + 2 : end]:
            if text.startswith("$ "):
                commands.append(Command(text[2:]))
            else:
                assert commands, f"{page}:{i + 3}: a runnable block starts with a '$ ' line"
                commands[-1].shown.append(text)
        statuses = [int(n) for n in values.get("exit", "0").split(",")]
        if len(statuses) == 1:
            statuses *= len(commands)
        assert len(statuses) == len(commands), (
            f"{page}:{i + 1}: exit= gives {len(statuses)} statuses for {len(commands)} commands"
        )
        columns = int(values.get("columns", "200"))
        examples.append(Example(page, i + 1, setup, statuses, toml, commands, "exact" in options, columns))
        i = end + 1
    return examples


EXAMPLES = [example for page in PAGES for example in runnable_examples(page)]

_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def normalized(line: str) -> str:
    """Numbers become 0, whitespace runs and table rules shrink to one character."""
    line = _NUMBER.sub("0", line)
    line = re.sub(r"━+", "━", re.sub(r"─+", "─", line))
    return " ".join(line.split())


def missing_lines(shown: list[str], printed: str) -> list[str]:
    """The shown lines not found, in order, among the printed ones (empty when all are there)."""
    actual = [normalized(line) for line in printed.splitlines()]
    position = 0
    for expected in shown:
        if expected.strip() in ("", "...", "…"):
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in normalized(expected).split("…")))
        found = next((k for k in range(position, len(actual)) if pattern.fullmatch(actual[k])), None)
        if found is None:
            return [expected]
        position = found + 1
    return []


def cancer_data(folder: Path) -> None:
    """The tour's data: scikit-learn's breast-cancer set, 400 rows to train on and 169 of feedback."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.rename(columns=lambda c: c.replace(" ", "_"))
    frame["diagnosis"] = frame.pop("target").map(dict(enumerate(bunch.target_names)))
    frame.insert(0, "patient_id", range(1, len(frame) + 1))
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    (folder / "data").mkdir()
    frame.iloc[:400].to_csv(folder / "data" / "patients.csv", index=False)
    frame.iloc[400:].to_csv(folder / "data" / "feedback.csv", index=False)


def environment(columns: int = 200) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELCYCLE_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        COLUMNS=str(columns),
        MODELCYCLE_ACTOR="alice@laptop",
        OMP_NUM_THREADS="1",
        PYTHONWARNINGS="ignore",
    )
    return env


def run(line: str, folder: Path, columns: int = 200) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line],
        cwd=folder,
        env=environment(columns),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def set_up(example: Example, folder: Path) -> None:
    if example.setup == "init":
        assert run("modelcycle init .", folder).returncode == 0
    elif example.setup == "cancer":
        assert "[models." in example.settings, f"{example.id}: no ```toml block with a model above the marker"
        cancer_data(folder)
        (folder / "modelcycle.toml").write_text(f'[project]\nname = "tour"\n\n{example.settings}')


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_the_runnable_example_runs_as_shown(example: Example, tmp_path: Path) -> None:
    set_up(example, tmp_path)
    for command, status in zip(example.commands, example.exits, strict=True):
        result = run(command.line, tmp_path, example.columns)
        said = f"{example.id}: $ {command.line}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
        assert result.returncode == status, f"exit {result.returncode}, not {status}\n{said}"
        printed = result.stdout + result.stderr
        if example.exact:
            differ = [normalized(line) for line in command.shown] != [normalized(line) for line in printed.splitlines()]
            assert not differ, f"printed differs from shown\n{said}"
        missing = missing_lines(command.shown, printed)
        assert not missing, f"shown but not printed: {missing[0]!r}\n{said}"


def test_the_pages_mark_examples_runnable() -> None:
    """The marker is in use where the pages promise it (so a typo in it cannot empty this test)."""
    pages = {example.page.name for example in EXAMPLES}
    assert {"README.md", "cli.md", "index.md"} <= pages
    assert any(command.line == "modelcycle --help" for example in EXAMPLES for command in example.commands)


def test_a_shown_line_that_is_not_printed_is_reported() -> None:
    printed = "cancer: version 1 trained  roc_auc=0.9 accuracy=0.8\n  activated: the first version\n"
    assert missing_lines(["cancer: version 2 trained  roc_auc=0.97 accuracy=0.91"], printed) == []
    assert missing_lines(["cancer: version 1 trained  roc_auc=0.97 brier=0.1"], printed) == [
        "cancer: version 1 trained  roc_auc=0.97 brier=0.1"
    ]
    assert missing_lines(["  activated: …", "cancer: version 1 …"], printed) == ["cancer: version 1 …"]  # order
    assert missing_lines(["━━━━╇━━", " a   │ b"], "━━━━━━━━╇━━━━\n a │   b\n") == []


def test_a_marker_without_a_fence_or_with_an_unknown_setup_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- runnable: nosuch -->\n```console\n$ true\n```\n")
    with pytest.raises(AssertionError, match="unknown set-up 'nosuch'"):
        runnable_examples(page)
    page.write_text("<!-- runnable -->\n\n```console\n$ true\n```\n")
    with pytest.raises(AssertionError, match="must stand right above a fence"):
        runnable_examples(page)
    page.write_text("<!-- runnable: exit=0,2 -->\n```console\n$ true\n```\n")
    with pytest.raises(AssertionError, match="exit= gives 2 statuses for 1 commands"):
        runnable_examples(page)
    page.write_text("<!-- runnable: timeout=3 -->\n```console\n$ true\n```\n")
    with pytest.raises(AssertionError, match="unknown option 'timeout'"):
        runnable_examples(page)
    page.write_text("<!-- runnable: init exit=0,2 columns=80 -->\n```console\n$ true\n$ false\nout\n```\n")
    [example] = runnable_examples(page)
    assert (example.setup, example.exits, example.columns, example.commands[1].shown) == ("init", [0, 2], 80, ["out"])
