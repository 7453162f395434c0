"""Shell completion through the installed console script, as bash, zsh and fish call it (docs/cli.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("modelcycle"))


def _run(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE], env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("shell", "marks"),
    [
        ("bash", ["_modelcycle_completion() {", "complete -o nosort -F _modelcycle_completion modelcycle"]),
        ("zsh", ["#compdef modelcycle", "compdef _modelcycle_completion modelcycle"]),
        ("fish", ["function _modelcycle_completion", "complete --no-files --command modelcycle"]),
    ],
)
def test_the_completion_script_is_printed_for_each_shell(tmp_path: Path, shell: str, marks: list[str]) -> None:
    result = _run({"_MODELCYCLE_COMPLETE": f"{shell}_source"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage:" not in result.stdout  # not the help, as before
    for mark in marks:
        assert mark in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("shell", "cword", "expected"),
    [
        ("bash", "1", "plain,versions"),
        ("zsh", "1", "plain\nversions\n"),
        ("fish", "ve", "plain,versions\t"),
    ],
)
def test_completing_ve_offers_versions(tmp_path: Path, shell: str, cword: str, expected: str) -> None:
    env = {"_MODELCYCLE_COMPLETE": f"{shell}_complete", "COMP_WORDS": "modelcycle ve", "COMP_CWORD": cword}
    result = _run(env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(expected)
    assert "scheduler" not in result.stdout and "train" not in result.stdout
    assert not (tmp_path / "modelcycle.toml").exists() and list(tmp_path.iterdir()) == []


def test_subcommands_and_options_complete_too(tmp_path: Path) -> None:
    env = {"_MODELCYCLE_COMPLETE": "bash_complete", "COMP_WORDS": "modelcycle scenario r", "COMP_CWORD": "2"}
    assert _run(env, tmp_path).stdout.split() == ["plain,run", "plain,runs"]
    env = {"_MODELCYCLE_COMPLETE": "bash_complete", "COMP_WORDS": "modelcycle versions m --j", "COMP_CWORD": "3"}
    assert _run(env, tmp_path).stdout.split() == ["plain,--json"]


def test_bash_sources_the_script_and_completes_with_it(tmp_path: Path) -> None:
    """The script as a user's ~/.bashrc evals it, driven by bash itself."""
    bash = shutil.which("bash")
    assert bash, "bash is needed for this test"
    script = (
        'eval "$(_MODELCYCLE_COMPLETE=bash_source modelcycle)"\n'
        "COMP_WORDS=(modelcycle ve); COMP_CWORD=1\n"
        "_modelcycle_completion modelcycle\n"  # as bash calls it on <Tab>: $1 is the command
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{Path(EXE).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([bash, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["versions"]


@pytest.mark.parametrize("instruction", ["tcsh_source", "bash_script", "bash"])
def test_an_unknown_completion_request_is_one_error_line(tmp_path: Path, instruction: str) -> None:
    result = _run({"_MODELCYCLE_COMPLETE": instruction}, tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"error: _MODELCYCLE_COMPLETE='{instruction}' is not a completion request: "
        "use bash_source, zsh_source or fish_source (see docs/cli.md)\n"
    )
    assert result.stdout == ""
