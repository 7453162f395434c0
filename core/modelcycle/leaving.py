"""How the `modelcycle` command ends: its work done, without the interpreter's teardown.

Once a command has returned, everything it wrote is written (store writes are synchronous,
the project is closed) and what is left is CPython freeing every module and object one by
one: about 0.4 s once scikit-learn, pandas and SciPy are loaded, on every `train`, `score`
or `evaluate`. The command skips that part and nothing else: the exit handlers run (they
close clients, remove temporary folders, flush logs), the streams are flushed, and while a
non-daemon thread is still at work the process ends the ordinary way, waiting for it.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable
from typing import NoReturn


def run_and_leave(main: Callable[[], object]) -> NoReturn:
    """Run `main`, then leave with its exit status (`SystemExit` as Python reads it)."""
    try:
        main()
    except SystemExit as exc:
        code = _status(exc.code)
    else:
        code = 0
    leave(code)


def leave(code: int) -> NoReturn:
    """Exit with `code` after the exit handlers and a flush, skipping the interpreter's teardown."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)  # someone is still working: Python waits for them, as always
    atexit._run_exitfuncs()  # what Python runs at exit before tearing down: clients, temp folders, logging
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`): as Python reports it at exit
            code = code or 120
    os._exit(code)


def _status(code: object) -> int:
    """SystemExit's code as the process status: None is 0, text is printed and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
