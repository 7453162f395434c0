"""Secrets out of everything shown or stored: one redactor, applied to the printed form.

Values that came from ``${NAME}`` in modelcycle.toml are secrets. A secret is rarely printed
as is: ``repr()`` doubles its backslashes and escapes its quotes, JSON escapes them again, a URL
percent-quotes it, HTML turns its quotes into entities. So the redactor replaces the secret
*and each of those printed forms* (and those forms of those forms: a repr inside a traceback)
with the placeholder it came from, in whatever text leaves the process.

Every settings file loaded in a process adds its secrets to :data:`PROCESS` as well, the
redactor of last resort: the command line passes everything it writes to stdout and stderr
through it (tracebacks and warnings included), and :func:`modelcycle.interfaces.dump_json`
passes every JSON object written to the store through it.
"""

from __future__ import annotations

import html
import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, TextIO

#: shorter values are not redacted: they would mangle unrelated text
MIN_LENGTH = 3
#: shorter values are redacted only where they stand alone (not inside a word or a hex digest:
#: a secret "123" must not rewrite a sha256 recorded in the store)
WHOLE_WORD_BELOW = 8


def _python_inner(text: str) -> list[str]:
    """The inside of repr(text) with either quote: repr picks one, an f-string's !r the same."""
    inner = repr(text)[1:-1]
    single = repr(text + "'\"")[1:-4]  # forces the single-quoted form, quotes escaped
    return [inner, single, single.replace("\\'", "'"), single.replace('"', '\\"')]


def _printed_forms(text: str) -> list[str]:
    return [
        *_python_inner(text),
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        urllib.parse.quote(text, safe=""),
        urllib.parse.quote(text),
        urllib.parse.quote_plus(text),
        html.escape(text),
        html.escape(text).replace("&#x27;", "&#39;").replace("&quot;", "&#34;"),  # markupsafe's entities
    ]


def printed_forms(secret: str, depth: int = 2) -> set[str]:
    """`secret` and the ways it is printed, escaped up to `depth` times (a repr of a repr …)."""
    forms = {secret}
    layer = {secret}
    for _ in range(depth):
        layer = {form for text in layer for form in _printed_forms(text)} - forms
        forms |= layer
    return forms


def _pattern(form: str) -> str:
    if len(form) >= WHOLE_WORD_BELOW:
        return re.escape(form)
    return r"(?<![A-Za-z0-9])" + re.escape(form) + r"(?![A-Za-z0-9])"


class Redactor:
    """Replaces secrets, in any printed form, with the placeholder they came from (``${NAME}``).

    Call it on text, or on a structure of dicts and lists (keys and strings are redacted).
    A redactor made with `parent` adds each secret to the parent too.
    """

    def __init__(self, parent: Redactor | None = None) -> None:
        self._values: dict[str, str] = {}
        self._parent = parent
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self._shown: dict[str, str] = {}
        self._placeholders: set[str] = set()

    def add(self, value: str, placeholder: str) -> None:
        if len(value) < MIN_LENGTH:
            return
        with self._lock:
            if value not in self._values:
                self._values[value] = placeholder
                self._pattern = None
        if self._parent is not None:
            self._parent.add(value, placeholder)

    def __bool__(self) -> bool:
        return bool(self._values)

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                shown: dict[str, str] = {}
                for secret, placeholder in self._values.items():
                    for form in printed_forms(secret):
                        if len(form) >= MIN_LENGTH:
                            shown.setdefault(form, placeholder)
                self._shown = shown
                self._placeholders = set(self._values.values())
                kept = [re.escape(p) for p in sorted(self._placeholders, key=len, reverse=True)]  # tried first
                forms = [_pattern(f) for f in sorted(shown, key=len, reverse=True)]
                self._pattern = re.compile("|".join([*kept, *forms]))
            return self._pattern

    def text(self, value: str) -> str:
        """`value` with every secret, in any printed form, replaced by its placeholder.

        A placeholder already in the text is left alone (it may hold its own value: ``${TOKEN}``
        for a secret "TOKEN"), so redacting twice gives the same text."""
        pattern = self._compiled()
        if pattern is None:
            return value

        def replace(match: re.Match[str]) -> str:
            found = match.group(0)
            return found if found in self._placeholders else self._shown[found]

        return pattern.sub(replace, value)

    def __call__(self, value: Any, *, keys: bool = True) -> Any:
        """`value` redacted: text, or the strings of a structure (its mapping keys too, unless not `keys`)."""
        if not self._values:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {(self.text(k) if keys and isinstance(k, str) else k): self(v, keys=keys) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v, keys=keys) for v in value]
        return value


#: every secret any settings file loaded in this process interpolated
PROCESS = Redactor()


class RedactedStream:
    """A text stream that writes through `redact`, a line at a time (or whatever a flush() holds).

    Whole lines are redacted at once, so a secret is never split between two writes; text
    without a newline waits for the next newline or flush. Anything else is the wrapped
    stream's, except its binary `buffer`, which would bypass the redaction.
    """

    def __init__(self, stream: TextIO, redact: Callable[[str], str]) -> None:
        self.wrapped = stream
        self._redact = redact
        self._pending = ""

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._pending += text
        if "\n" in self._pending:
            complete, _, self._pending = self._pending.rpartition("\n")
            self.wrapped.write(self._redact(complete + "\n"))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self.wrapped.write(self._redact(pending))
        self.wrapped.flush()

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":
            raise AttributeError("a redacted stream has no binary buffer")
        return getattr(self.wrapped, name)
