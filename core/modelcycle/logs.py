"""The ``modelcycle`` logger hierarchy: problems are logged each time they happen.

``warnings.warn`` shows a repeated message once per process, so a scheduler that fails the
same way every tick would say so once and then never again. Long-running work (the scheduler,
scenario runs, alert delivery, plugin event hooks, lease renewal) logs instead, on loggers
named ``modelcycle.<part>``. Where a Python caller should also get a Python warning,
:func:`warn` logs and warns (the command line shows the log line only, not the same text twice).

Every record passes through the redactor of every secret a settings file interpolated
(:data:`modelcycle.redaction.PROCESS`) before any handler sees it: each logger handed out by
:func:`get_logger` carries :class:`RedactionFilter`, so a handler an application adds
(to ``modelcycle`` or to the root logger) never receives a secret either.

A Python application sees these records once it configures logging (``logging.basicConfig()``).
The command line adds one stderr handler, at the level of ``--log-level`` or
``MODELCYCLE_LOG_LEVEL`` (default: warning), and removes it when the command ends.
"""

from __future__ import annotations

import logging
import sys
import warnings

ROOT = "modelcycle"
ENV = "MODELCYCLE_LOG_LEVEL"
LEVELS = ("debug", "info", "warning", "error", "critical")
DEFAULT_LEVEL = "warning"


class RedactionFilter(logging.Filter):
    """Replaces secrets in a record's message, traceback and stack with their ``${NAME}``.

    The message is formatted here (``msg % args``) so that a secret passed as an argument is
    redacted too; the record then carries the finished text and no arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        from . import redaction

        redact = redaction.PROCESS.text
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactionFilter()
# a library's convention: nothing is printed unless the application (or the command line) asks
logging.getLogger(ROOT).addHandler(logging.NullHandler())


def get_logger(part: str = "") -> logging.Logger:
    """The logger ``modelcycle.<part>`` (``modelcycle`` itself without `part`), redacting its records."""
    logger = logging.getLogger(f"{ROOT}.{part}" if part else ROOT)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


class StderrHandler(logging.Handler):
    """Writes ``level: message`` lines to whatever ``sys.stderr`` is when the record arrives
    (the command line's redacted stream; a test's captured one)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging must never end the work it reports on
            self.handleError(record)


class _LineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if record.exc_text or record.exc_info:
            text += "\n" + (record.exc_text or self.formatException(record.exc_info))  # type: ignore[arg-type]
        return text


_handler: StderrHandler | None = None


def level_number(level: str) -> int:
    """logging's number of a level name given on the command line (any case)."""
    name = level.strip().lower()
    if name not in LEVELS:
        raise ValueError(f"log level '{level}' is not one of {', '.join(LEVELS)}")
    return getattr(logging, name.upper())


def configure(level: str = DEFAULT_LEVEL) -> None:
    """Log ``modelcycle`` records at `level` and above to stderr, one line each (the command line's setup)."""
    global _handler
    unconfigure()
    handler = StderrHandler()
    handler.setFormatter(_LineFormatter())
    handler.addFilter(_FILTER)
    logger = get_logger()
    logger.addHandler(handler)
    logger.setLevel(level_number(level))
    _handler = handler


def unconfigure() -> None:
    """Remove what :func:`configure` added; the ``modelcycle`` logger's level goes back to unset."""
    global _handler
    if _handler is not None:
        logger = get_logger()
        logger.removeHandler(_handler)
        logger.setLevel(logging.NOTSET)
        _handler = None


def warn(logger: logging.Logger, message: str, category: type[Warning] = UserWarning, stacklevel: int = 2) -> None:
    """Log `message` as a warning every time, and show it as a Python warning to a Python caller.

    On the command line (its stderr handler installed) the log line says it already: no warning."""
    logger.warning("%s", message)
    if _handler is None:
        warnings.warn(message, category, stacklevel=stacklevel + 1)
