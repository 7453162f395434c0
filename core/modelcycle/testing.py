"""pytest fixtures for plugin authors: test a plugin the way modelcycle tests its own.

This module is a pytest plugin, registered by modelcycle's ``[project.entry-points.pytest11]``
(``modelcycle = "modelcycle.testing"``): in any environment where modelcycle is installed,
its fixtures are available to every test, with no conftest.py and no import.

* ``modelcycle_project``: a factory opening a Project in a fresh temporary folder,
  with data files written beside ``modelcycle.toml``;
* ``memory_store``: a ``memory://`` store of its own, emptied after the test;
* ``smtp_sink``: an SMTP server on 127.0.0.1 keeping the mails it receives (aiosmtpd),
  which can be stopped and started again to play an outage;
* ``webhook_sink``: an HTTP server on 127.0.0.1 keeping the requests it receives, whose
  answer (``.status``) can be set to 500;
* ``recording_plugin``: a :class:`RecordingPlugin`, which implements every event hook and
  records each call.

Switch it off with ``pytest -p no:modelcycle``. With ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``,
switch it on with ``pytest -p modelcycle.testing``.

Loading the plugin must not slow any test run down or change it: this module imports
neither pandas nor aiosmtpd (each fixture imports what it needs), implements no pytest
hook, and its fixture names all start with a word of their own.
"""

from __future__ import annotations

import copy
import re
import socket
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import hookimpl

if TYPE_CHECKING:  # pragma: no cover - typing only
    from email.message import EmailMessage

    from .project import Project

__all__ = [
    "DEFAULT_SETTINGS",
    "EVENT_HOOKS",
    "MemoryStore",
    "RecordingPlugin",
    "SmtpSink",
    "WebhookSink",
    "memory_store",
    "modelcycle_project",
    "recording_plugin",
    "smtp_sink",
    "webhook_sink",
]

#: the settings a project gets when the test gives none
DEFAULT_SETTINGS = '[project]\nname = "test"\n'

#: every event hook of modelcycle.hookspecs, in lifecycle order
EVENT_HOOKS = (
    "after_version_created",
    "after_version_activated",
    "after_evaluation_recorded",
    "after_check_result",
    "after_alert_sent",
    "after_scenario_finished",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- projects -------------------------------------------------------------------------------------


def _write_file(folder: Path, name: str, content: Any) -> None:
    """bytes and str as they are; a pandas DataFrame as the suffix says (parquet, csv, jsonl)."""
    target = (folder / name).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise ValueError(f"files: {name!r} is outside the project folder; give a relative path")
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes | bytearray | memoryview):
        target.write_bytes(bytes(content))
    elif isinstance(content, str):
        target.write_text(content, encoding="utf-8")
    elif hasattr(content, "to_parquet") and hasattr(content, "to_csv"):  # a DataFrame: no pandas import needed
        base = name.lower()
        for suffix in (".gz", ".bz2", ".zst", ".xz"):
            base = base.removesuffix(suffix)
        if base.endswith((".parquet", ".pq")):
            content.to_parquet(target, index=False)
        elif base.endswith(".csv"):
            content.to_csv(target, index=False)
        elif base.endswith((".jsonl", ".ndjson", ".json")):
            content.to_json(target, orient="records", lines=True, date_format="iso")
        else:
            raise ValueError(
                f"files: cannot tell how to write a DataFrame to {name!r}: name it .parquet, .csv or .jsonl"
            )
    else:
        raise TypeError(f"files: {name!r} is a {type(content).__name__}; give bytes, str or a pandas DataFrame")


@pytest.fixture
def modelcycle_project(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Project]:
    """A factory opening a Project in a fresh temporary folder.

    ``modelcycle_project(settings_text=DEFAULT_SETTINGS, *, plugins=(), files={}, entry_points=True, env=None)``

    * ``settings_text`` becomes ``modelcycle.toml`` (dedented, so it can be indented in the test);
    * ``files`` maps paths relative to the project folder to their content, written before the
      project opens: bytes and str as they are, a pandas DataFrame as the suffix says (``.parquet``,
      ``.csv`` or ``.jsonl``, without the index);
    * ``plugins`` are plugin objects registered after the installed ones (see
      ``open_project``); an installed plugin is found through its entry point, so do not pass
      it again;
    * ``entry_points=False`` loads no installed third-party plugin (the built-ins still load);
    * ``env`` replaces the environment ``${NAME}`` values come from.

    Each call opens a new folder; ``project.settings.root`` is where it is. The store is the
    default ``.modelcycle`` folder inside it, unless the settings say otherwise (see
    ``memory_store``)::

        def test_my_notifier(modelcycle_project):
            project = modelcycle_project('''
                [notifiers.lines]
                type = "jsonl"
                path = "alerts.jsonl"
            ''')
            project.notifier("lines").send(Message("subject", "text"))
    """
    from . import open_project

    def make(
        settings_text: str = DEFAULT_SETTINGS,
        *,
        plugins: Iterable[object] = (),
        files: Mapping[str, Any] | None = None,
        entry_points: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Project:
        folder = tmp_path_factory.mktemp("modelcycle-project")
        for name, content in (files or {}).items():
            _write_file(folder, name, content)
        (folder / "modelcycle.toml").write_text(textwrap.dedent(settings_text), encoding="utf-8")
        return open_project(folder, plugins=plugins, entry_points=entry_points, env=env)

    return make


# -- memory store --------------------------------------------------------------------------------------


class MemoryStore:
    """A ``memory://`` store URL no other test uses (see the ``memory_store`` fixture)."""

    def __init__(self, name: str, make_project: Callable[..., Project]) -> None:
        self.name = name
        self.url = f"memory://{name}"
        self._make_project = make_project

    def __str__(self) -> str:
        return self.url

    @property
    def store_line(self) -> str:
        """The ``store = "memory://…"`` line, for a ``[project]`` section of your own."""
        return f'store = "{self.url}"'

    @property
    def settings(self) -> str:
        """A whole ``[project]`` section using this store: prepend it to the rest of your settings."""
        return f'[project]\nname = "test"\n{self.store_line}\n'

    def project(self, settings_text: str = "", **kwargs: Any) -> Project:
        """A project (``modelcycle_project`` arguments) whose store is this one.

        The store line goes into the ``[project]`` section of `settings_text` (which must not
        set ``store`` itself), or a ``[project]`` section is added when there is none.
        """
        text = textwrap.dedent(settings_text)
        header = re.search(r"^[ \t]*\[project\][ \t]*(#.*)?$", text, flags=re.MULTILINE)
        if header is None:
            text = self.settings + text
        else:
            text = f"{text[: header.end()]}\n{self.store_line}{text[header.end() :]}"
        return self._make_project(text, **kwargs)

    def _fs(self) -> Any:
        from fsspec.implementations.memory import MemoryFileSystem

        return MemoryFileSystem

    def keys(self) -> list[str]:
        """Every key in the store (relative to its root), sorted."""
        root = f"/{self.name}/"
        return sorted(path[len(root) :] for path in list(self._fs().store) if path.startswith(root))

    def clear(self) -> None:
        """Remove every object (and folder) of this store from fsspec's process-wide memory."""
        fs, root = self._fs(), f"/{self.name}"
        for path in list(fs.store):
            if path == root or path.startswith(root + "/"):
                fs.store.pop(path, None)
        fs.pseudo_dirs[:] = [d for d in fs.pseudo_dirs if not (d == root or d.startswith(root + "/"))]


@pytest.fixture
def memory_store(modelcycle_project: Callable[..., Project]) -> Iterator[MemoryStore]:
    """A ``memory://modelcycle-test-<random>`` store of this test's own, emptied afterwards.

    fsspec's memory file system is shared by the whole process, so every test gets a
    unique name, and what it stored is removed when it ends. Use it:

    * as settings: ``modelcycle_project(memory_store.settings + MORE)`` (a whole
      ``[project]`` section), or ``memory_store.store_line`` inside your own section;
    * or as a project: ``memory_store.project(settings_text, **modelcycle_project_kwargs)``.

    ``memory_store.keys()`` lists what is stored; ``memory_store.url`` is the URL.
    """
    store = MemoryStore(f"modelcycle-test-{uuid.uuid4().hex[:12]}", modelcycle_project)
    try:
        yield store
    finally:
        store.clear()


# -- SMTP sink ---------------------------------------------------------------------------------------


class SmtpSink:
    """An SMTP server on 127.0.0.1 (aiosmtpd) keeping every mail it accepts (see ``smtp_sink``)."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = _free_port()
        self.envelopes: list[Any] = []  # aiosmtpd Envelope objects: mail_from, rcpt_tos, content
        self._controller: Any = None

    @property
    def messages(self) -> list[EmailMessage]:
        """The mails received so far, parsed (``msg["Subject"]``, ``msg.get_body(("plain",))``…)."""
        import email
        import email.policy

        return [
            email.message_from_bytes(e.content.replace(b"\r\n", b"\n"), policy=email.policy.default)
            for e in self.envelopes
        ]

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Listen (again) on the same port."""
        if self._controller is not None:
            return
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
                sink.envelopes.append(envelope)
                return "250 Message accepted for delivery"

        controller = Controller(Handler(), hostname=self.host, port=self.port)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start()``, as when a mail server is down."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def notifier_settings(
        self, name: str = "mail", *, to: Iterable[str] = ("oncall@example.com",), sender: str = "ml@example.com"
    ) -> str:
        """A ``[notifiers.NAME]`` section of type ``email`` delivering here (plain SMTP, no STARTTLS)."""
        recipients = ", ".join(f'"{address}"' for address in to)
        return (
            f'\n[notifiers.{name}]\ntype = "email"\nhost = "{self.host}"\nport = {self.port}\n'
            f'starttls = false\nsender = "{sender}"\nto = [{recipients}]\ntimeout = 5\n'
        )


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """An SMTP server on 127.0.0.1 at a free port, keeping every mail it accepts.

    ``.host``, ``.port``; ``.messages`` are the mails received, parsed as
    ``email.message.EmailMessage``; ``.envelopes`` the raw aiosmtpd envelopes (sender,
    recipients). ``.stop()`` and ``.start()`` play an outage on the same port.
    ``.notifier_settings("mail")`` is a ``[notifiers.mail]`` section (type ``email``) that
    delivers here. Needs aiosmtpd (``pip install aiosmtpd``).
    """
    try:
        import aiosmtpd.controller  # noqa: F401 - checked here for a clear message
    except ImportError:
        pytest.fail("the smtp_sink fixture needs aiosmtpd: pip install aiosmtpd", pytrace=False)
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


# -- webhook sink ------------------------------------------------------------------------------------


class WebhookSink:
    """An HTTP server on 127.0.0.1 recording the requests it receives (see ``webhook_sink``)."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict[str, Any]] = []
        self.status = 200
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    parsed = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                sink.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                        "json": parsed,
                    }
                )
                status = sink.status
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_POST = do_PUT = do_PATCH = _record  # noqa: N815 - http.server's names

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (add a path of your choice)."""
        return f"http://{self.host}:{self.port}"

    def json(self, index: int = -1) -> Any:
        """The JSON body of a recorded request (the last one by default)."""
        return self.requests[index]["json"]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook_sink() -> Iterator[WebhookSink]:
    """An HTTP server on 127.0.0.1 at a free port, recording each POST (and PUT, PATCH).

    ``.url`` is ``http://127.0.0.1:PORT``; ``.requests`` are dicts with ``method``, ``path``,
    ``headers``, ``body`` (bytes) and ``json`` (the parsed body, or None).
    Set ``.status = 500`` to make it fail (the request is still recorded), and back to 200.
    For apprise, ``f"json://127.0.0.1:{webhook_sink.port}/hook"`` posts here.
    """
    sink = WebhookSink()
    try:
        yield sink
    finally:
        sink.close()


# -- recording plugin ---------------------------------------------------------------------------------


class RecordingPlugin:
    """Implements every event hook and records each call as ``(hook name, arguments)``.

    Register it with ``modelcycle_project(..., plugins=[recorder])``. ``.calls`` is the list
    of calls in order; ``.names()`` their hook names; ``.of(hook)`` the arguments of each
    call of one hook. The arguments other than ``project`` are deep copies, so a record
    shows what the hook saw even if the core changes the dict later. Give two instances
    different names to register both.
    """

    def __init__(self, name: str = "recording") -> None:
        self.__name__ = name  # the plugin's name in `modelcycle plugins` and in warnings
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _record(self, hook: str, **kwargs: Any) -> None:
        kwargs = {k: v if k == "project" else copy.deepcopy(v) for k, v in kwargs.items()}
        self.calls.append((hook, kwargs))

    def names(self) -> list[str]:
        """The hook names called, in order."""
        return [name for name, _ in self.calls]

    def of(self, hook: str) -> list[dict[str, Any]]:
        """The arguments of every call of `hook`, in order."""
        if hook not in EVENT_HOOKS:
            raise ValueError(f"{hook!r} is not an event hook; event hooks: {', '.join(EVENT_HOOKS)}")
        return [kwargs for name, kwargs in self.calls if name == hook]

    def clear(self) -> None:
        self.calls.clear()

    @hookimpl
    def after_version_created(self, project: Any, model: str, version: dict[str, Any]) -> None:
        self._record("after_version_created", project=project, model=model, version=version)

    @hookimpl
    def after_version_activated(self, project: Any, model: str, activation: dict[str, Any]) -> None:
        self._record("after_version_activated", project=project, model=model, activation=activation)

    @hookimpl
    def after_evaluation_recorded(self, project: Any, model: str, evaluation: dict[str, Any]) -> None:
        self._record("after_evaluation_recorded", project=project, model=model, evaluation=evaluation)

    @hookimpl
    def after_check_result(self, project: Any, result: dict[str, Any]) -> None:
        self._record("after_check_result", project=project, result=result)

    @hookimpl
    def after_alert_sent(self, project: Any, alert: dict[str, Any]) -> None:
        self._record("after_alert_sent", project=project, alert=alert)

    @hookimpl
    def after_scenario_finished(self, project: Any, run: dict[str, Any]) -> None:
        self._record("after_scenario_finished", project=project, run=run)


@pytest.fixture
def recording_plugin() -> RecordingPlugin:
    """A fresh :class:`RecordingPlugin`: pass it in ``plugins=[...]`` and read ``.calls``."""
    return RecordingPlugin()
