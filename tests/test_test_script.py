"""scripts/test.sh without chromium: installs it as root with apt-get (CI), else one instruction and exit 1."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASH = shutil.which("bash") or "/bin/bash"
INSTRUCTION = [
    "error: the dashboard's browser tests need Chromium, as 'chromium' on PATH, and this script",
    "can install it only as root with apt-get. Install it, then run 'bash scripts/test.sh' again:",
    "  Debian, Ubuntu:  sudo apt-get install chromium",
    "  macOS:           brew install --cask chromium, then put it on PATH:",
    "                   ln -s /Applications/Chromium.app/Contents/MacOS/Chromium /usr/local/bin/chromium",
    "  elsewhere:       put a Chromium binary named 'chromium' on PATH",
]


def _ensure_chromium(path: Path) -> subprocess.CompletedProcess[str]:
    """The script's check alone, with only `path` on PATH."""
    script = f"source {ROOT / 'scripts' / 'chromium.sh'}; ensure_chromium"
    return subprocess.run([BASH, "-c", script], env={"PATH": str(path)}, capture_output=True, text=True, timeout=60)


def _bin(tmp_path: Path, **links: str) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, target in links.items():
        (folder / name).symlink_to(target)
    return folder


def test_without_chromium_nor_apt_get_it_says_how_to_install_it(tmp_path: Path) -> None:
    result = _ensure_chromium(_bin(tmp_path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == INSTRUCTION
    assert result.stdout == ""


def test_with_chromium_on_path_it_says_nothing(tmp_path: Path) -> None:
    real = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(real).exists(), "chromium is installed by scripts/test.sh before the tests run"
    result = _ensure_chromium(_bin(tmp_path, chromium=real))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_test_command_stops_with_the_instruction_before_making_a_venv(tmp_path: Path) -> None:
    """The whole script, from a copy of the repo's scripts/: it stops before python3, pip or pytest."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    path = _bin(tmp_path, dirname=shutil.which("dirname") or "/usr/bin/dirname")
    result = subprocess.run(
        [BASH, str(copy / "scripts" / "test.sh")], env={"PATH": str(path)}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == INSTRUCTION
    assert sorted(p.name for p in copy.iterdir()) == ["scripts"]  # no .venv
