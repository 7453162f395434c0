"""Names of models, datasets, checks…: they become store keys, so they must not escape it."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import NameError_

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_name(name: object, what: str = "name") -> str:
    """Return `name` if it is safe as a store key component, else raise a clear error."""
    if not isinstance(name, str) or name == "":
        raise NameError_(f"{what} is empty: use letters, digits, '-', '_' or '.'")
    if ".." in name or not _NAME.fullmatch(name):
        raise NameError_(
            f"{what} {name!r} is not allowed: use 1-100 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (no spaces, slashes or '..')"
        )
    return name


def suggest(name: str, choices: Iterable[str]) -> str:
    """ "did you mean 'x'? " for the closest of `choices`, or "": the hint every unknown-name error gives."""
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"did you mean '{close[0]}'? " if close else ""
