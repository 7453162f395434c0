"""The `modelcycle` command exits without the interpreter's teardown, and loses nothing by it:
its exit status, every byte it printed, the exit handlers, and threads still at work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def command(*args: str, before: str = "") -> subprocess.CompletedProcess[str]:
    """`modelcycle ARGS` as the console script runs it, with `before` run first in the process."""
    code = f"import sys\n{before}\nsys.argv = ['modelcycle', *{list(args)!r}]\nfrom modelcycle.cli import console\nconsole()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)


def test_the_console_script_is_the_one_that_leaves_fast() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"modelcycle": "modelcycle.cli:console"}


def test_exit_status_is_kept() -> None:
    assert command("--version").returncode == 0
    unknown = command("frobnicate")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: no such command 'frobnicate'")


def test_system_exit_codes_read_as_python_reads_them(capsys) -> None:
    from modelcycle.leaving import _status

    assert (_status(None), _status(0), _status(3), _status(258)) == (0, 0, 3, 2)
    assert _status("stopped: the reason") == 1 and capsys.readouterr().err == "stopped: the reason\n"


def test_a_long_output_arrives_whole_through_a_pipe() -> None:
    done = command("schema")
    assert done.returncode == 0 and json.loads(done.stdout)["title"] == "modelcycle.toml"
    assert len(done.stdout) > 10_000


def test_exit_handlers_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    before = f"import atexit, pathlib\natexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')"
    assert command("--version", before=before).returncode == 0
    assert marker.read_text() == "yes"


def test_a_thread_still_at_work_is_waited_for(tmp_path: Path) -> None:
    marker = tmp_path / "finished"
    before = (
        "import threading, time, pathlib\n"
        f"threading.Thread(target=lambda: (time.sleep(0.5), pathlib.Path({str(marker)!r}).write_text('done'))).start()"
    )
    done = command("frobnicate", before=before)
    assert done.returncode == 2 and marker.read_text() == "done"


def closed_pipe_run(*args: str) -> subprocess.CompletedProcess[str]:
    """`modelcycle ARGS` writing into a pipe nobody reads any more, as `modelcycle … | head` leaves it."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte: every write fails, none by luck
    code = f"import sys\nsys.argv = ['modelcycle', *{list(args)!r}]\nfrom modelcycle.cli import console\nconsole()"
    try:
        return subprocess.run(
            [sys.executable, "-c", code], stdout=write, stderr=subprocess.PIPE, text=True, env=ENV, timeout=120
        )
    finally:
        os.close(write)


def test_a_reader_that_stops_early_costs_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "modelcycle.toml").write_text('[project]\nname = "p"\n', encoding="utf-8")
    for args in (("schema",), ("--help",), ("--version",), ("--project", str(tmp_path), "status")):
        done = closed_pipe_run(*args)
        assert (done.returncode, done.stderr) == (1, ""), (args, done.stderr)
