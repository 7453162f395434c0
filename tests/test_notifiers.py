"""The built-in notifiers against real servers on loopback: an aiosmtpd SMTP server (plain,
STARTTLS with a certificate made here, implicit TLS, AUTH), a threaded HTTP server for
apprise's json:// webhooks, and the project's store for the file outbox."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from modelcycle.errors import SettingsError
from modelcycle.interfaces import Message
from modelcycle.plugin import PluginContext
from modelcycle.settings import validate_options
from modelcycle_apprise import AppriseNotifier
from modelcycle_apprise import DeliveryError as AppriseDeliveryError
from modelcycle_email import DeliveryError as EmailDeliveryError
from modelcycle_email import EmailNotifier
from modelcycle_outbox import FileNotifier

pytestmark = pytest.mark.timeout(60)

USER, PASSWORD = "alerts", "s3cret-Pa55word"
MESSAGE = Message(
    subject="[churn] ERROR: auc_floor",
    text="roc_auc 0.61 is below 0.70\nsee the dashboard",
    html="<p>roc_auc <b>0.61</b> is below 0.70</p>",
    alert={"id": "a1b2c3", "notifier": "n", "about": {"kind": "check", "check": "auc_floor", "outcome": "ERROR"}},
)


# -- helpers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(project: Any, name: str) -> Any:
    """What the core does for [notifiers.NAME]: find the class, validate the options, construct."""
    section = project.settings.notifiers[name]
    cls = project.plugin_class("notifiers", section.type, f"notifiers.{name}.type")
    options = validate_options(project.settings, cls.Options, section.model_extra or {}, ("notifiers", name))
    return cls(options, context=PluginContext(project, notifier=name))


def make(cls: type, project: Any, name: str = "n", **options: Any) -> Any:
    options = validate_options(project.settings, cls.Options, options, ("notifiers", name))
    return cls(options, context=PluginContext(project, notifier=name))


@pytest.fixture
def project(make_project: Callable[..., Any]) -> Any:
    return make_project()


# -- SMTP server ---------------------------------------------------------------------------


class Recorder:
    """aiosmtpd handler keeping every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[email.message.EmailMessage]:
        wire = [e.content.replace(b"\r\n", b"\n") for e in self.envelopes]  # SMTP sends CRLF
        return [email.message_from_bytes(data, policy=email.policy.default) for data in wire]


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A CA made for this run, the server's context for 127.0.0.1, and the CA's PEM file."""
    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return {"server_context": server_context, "ca_file": str(ca_file)}


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[Recorder, int]]]:
    """smtp_server(**aiosmtpd options) → (recorder, port) of a running server on 127.0.0.1."""
    from aiosmtpd.controller import Controller

    controllers = []

    def start(**kwargs: Any) -> tuple[Recorder, int]:
        recorder = Recorder()
        port = free_port()
        controller = Controller(recorder, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return recorder, port

    yield start
    for controller in controllers:
        controller.stop()


def mail_options(port: int, **more: Any) -> dict[str, Any]:
    options = {
        "host": "127.0.0.1",
        "port": port,
        "sender": "ML alerts <ml-alerts@example.com>",
        "to": ["oncall@example.com", "lead@example.com"],
        "cc": ["audit@example.com"],
        "timeout": 5,
    }
    options.update(more)
    return options


# -- email ---------------------------------------------------------------------------------


def test_email_plain_delivers_text_and_html(project: Any, smtp_server: Callable[..., Any]) -> None:
    recorder, port = smtp_server()
    notifier = make(EmailNotifier, project, **mail_options(port, starttls=False))
    notifier.send(MESSAGE)

    [envelope] = recorder.envelopes
    assert envelope.mail_from == "ml-alerts@example.com"
    assert sorted(envelope.rcpt_tos) == ["audit@example.com", "lead@example.com", "oncall@example.com"]
    [mail] = recorder.messages()
    assert mail["Subject"] == MESSAGE.subject
    assert mail["From"] == "ML alerts <ml-alerts@example.com>"
    assert mail["To"] == "oncall@example.com, lead@example.com"
    assert mail["Cc"] == "audit@example.com"
    assert mail["Message-ID"].endswith("@example.com>")
    assert mail.get_content_type() == "multipart/alternative"
    assert mail.get_body(("plain",)).get_content().strip() == MESSAGE.text
    assert mail.get_body(("html",)).get_content().strip() == MESSAGE.html
    assert notifier.target() == (
        f"email to oncall@example.com, lead@example.com (cc audit@example.com) via 127.0.0.1:{port}"
    )


def test_email_without_html_is_plain_text(project: Any, smtp_server: Callable[..., Any]) -> None:
    recorder, port = smtp_server()
    make(EmailNotifier, project, **mail_options(port, starttls=False, cc=[])).send(Message("s", "only text"))
    [mail] = recorder.messages()
    assert mail.get_content_type() == "text/plain"
    assert mail["Cc"] is None
    assert mail.get_content().strip() == "only text"


def test_email_starttls_and_login(project: Any, smtp_server: Callable[..., Any], tls: dict[str, Any]) -> None:
    recorder, port = smtp_server(
        tls_context=tls["server_context"], require_starttls=True, authenticator=authenticator, auth_require_tls=True
    )
    options = mail_options(port, username=USER, password=PASSWORD, ca_file=tls["ca_file"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # STARTTLS with credentials: nothing to warn about
        notifier = make(EmailNotifier, project, **options)
    assert notifier.starttls and notifier.port == port
    notifier.send(MESSAGE)
    [mail] = recorder.messages()
    assert mail["Subject"] == MESSAGE.subject

    wrong = make(EmailNotifier, project, "wrong", **{**options, "password": "not-" + PASSWORD})
    with pytest.raises(EmailDeliveryError) as caught:
        wrong.send(MESSAGE)
    text = str(caught.value)
    assert f"127.0.0.1:{port}" in text and "535" in text and "refused" in text
    assert PASSWORD not in text and "not-" + PASSWORD not in text
    assert "\n" not in text
    assert len(recorder.envelopes) == 1


def test_email_starttls_checks_the_certificate(
    project: Any, smtp_server: Callable[..., Any], tls: dict[str, Any]
) -> None:
    recorder, port = smtp_server(tls_context=tls["server_context"], require_starttls=True)
    untrusted = make(EmailNotifier, project, **mail_options(port))  # the system CAs do not know the test CA
    with pytest.raises(EmailDeliveryError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        untrusted.send(MESSAGE)
    make(EmailNotifier, project, **mail_options(port, validate_certs=False)).send(MESSAGE)
    assert len(recorder.envelopes) == 1


def test_email_starttls_refuses_a_server_without_it(project: Any, smtp_server: Callable[..., Any]) -> None:
    recorder, port = smtp_server()  # no TLS at all: must not fall back to sending in the clear
    with pytest.raises(EmailDeliveryError, match="STARTTLS"):
        make(EmailNotifier, project, **mail_options(port)).send(MESSAGE)
    assert recorder.envelopes == []


def test_email_implicit_tls(project: Any, smtp_server: Callable[..., Any], tls: dict[str, Any]) -> None:
    recorder, port = smtp_server(ssl_context=tls["server_context"])
    notifier = make(EmailNotifier, project, **mail_options(port, use_tls=True, ca_file=tls["ca_file"]))
    assert (notifier.use_tls, notifier.starttls) == (True, False)
    notifier.send(MESSAGE)
    assert len(recorder.envelopes) == 1


def test_email_server_down_fails_fast(project: Any) -> None:
    port = free_port()  # nothing listens there
    notifier = make(EmailNotifier, project, **mail_options(port, starttls=False, timeout=2))
    started = time.monotonic()
    with pytest.raises(EmailDeliveryError, match=f"could not deliver email via 127.0.0.1:{port}: "):
        notifier.send(MESSAGE)
    assert time.monotonic() - started < 2


def test_email_silent_server_times_out(project: Any) -> None:
    with socket.socket() as listener:  # accepts connections (backlog) but never says a word
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        port = listener.getsockname()[1]
        notifier = make(EmailNotifier, project, **mail_options(port, starttls=False, timeout=1))
        started = time.monotonic()
        with pytest.raises(EmailDeliveryError, match="timed out after 1s"):
            notifier.send(MESSAGE)
        assert time.monotonic() - started < 4


def test_email_send_inside_a_running_event_loop(project: Any, smtp_server: Callable[..., Any]) -> None:
    recorder, port = smtp_server()
    notifier = make(EmailNotifier, project, **mail_options(port, starttls=False))

    async def from_async_code() -> None:
        notifier.send(MESSAGE)

    asyncio.run(from_async_code())
    assert len(recorder.envelopes) == 1


class Refusing(Recorder):
    """Refuses recipients whose address starts with one of `refused`."""

    def __init__(self, *refused: str) -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address.startswith(self.refused):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_server() -> Iterator[Callable[..., tuple[Recorder, int]]]:
    from aiosmtpd.controller import Controller

    controllers = []

    def start(*refused: str) -> tuple[Recorder, int]:
        handler, port = Refusing(*refused), free_port()
        controllers.append(Controller(handler, hostname="127.0.0.1", port=port))
        controllers[-1].start()
        return handler, port

    yield start
    for controller in controllers:
        controller.stop()


def test_email_every_recipient_refused(project: Any, refusing_server: Callable[..., Any]) -> None:
    handler, port = refusing_server("")
    with pytest.raises(
        EmailDeliveryError, match="every recipient was refused: oncall@example.com \\(550 5.1.1 no such"
    ):
        make(EmailNotifier, project, **mail_options(port, starttls=False)).send(MESSAGE)
    assert handler.envelopes == []


def test_email_some_recipients_refused_warns(project: Any, refusing_server: Callable[..., Any]) -> None:
    handler, port = refusing_server("lead@")
    with pytest.warns(UserWarning, match="the server refused lead@example.com \\(550"):
        make(EmailNotifier, project, **mail_options(port, starttls=False)).send(MESSAGE)
    [envelope] = handler.envelopes  # delivered to the others: not retried, so they get no duplicate
    assert sorted(envelope.rcpt_tos) == ["audit@example.com", "oncall@example.com"]


def test_email_credentials_in_the_clear_warn_once(project: Any) -> None:
    options = mail_options(25, starttls=False, username=USER, password=PASSWORD)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = make(EmailNotifier, project, "relay", **options)
        make(EmailNotifier, project, "relay", **options)
    assert [w.category for w in caught] == [UserWarning]
    assert "in the clear" in str(caught[0].message) and PASSWORD not in str(caught[0].message)
    assert first.port == 25


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"starttls": True, "use_tls": True}, r"^use_tls: cannot be true together with starttls = true"),
        ({"username": USER}, r"^password: required when username is given"),
        ({"to": []}, r"^to: give at least one recipient"),
        ({"to": ["oncall"]}, r"^to\[0\]: 'oncall' is not an email address"),
        ({"sender": "a@x\nBcc: evil@x"}, r"^sender: an address cannot contain a line break"),
        ({"host": "smtp://mail.example.com"}, r"^host: 'smtp://mail.example.com' is not a host name"),
        ({"ca_file": "missing.pem"}, r"^ca_file: no file at .*missing.pem"),
        ({"ca_file": "x.pem", "validate_certs": False}, r"^ca_file: has no effect with validate_certs = false"),
    ],
)
def test_email_option_mistakes(project: Any, options: dict[str, Any], error: str) -> None:
    with pytest.raises(SettingsError, match=error):
        make(EmailNotifier, project, **mail_options(587, **options))


def test_email_ports_and_text_from_the_environment(project: Any) -> None:
    base = {k: v for k, v in mail_options(0).items() if k not in ("port", "timeout")}
    assert make(EmailNotifier, project, **base).port == 587
    assert make(EmailNotifier, project, **base, use_tls=True).port == 465
    assert make(EmailNotifier, project, **base, starttls=False).port == 25
    # ${NAME} values reach plugins as text
    texted = make(EmailNotifier, project, **base, port="2525", starttls="false", timeout="2.5")
    assert (texted.port, texted.starttls, texted.options.timeout) == (2525, False, 2.5)
    with pytest.raises(SettingsError, match=r"notifiers\.n\.port: input should be a valid integer"):
        make(EmailNotifier, project, **base, port="smtp")


# -- HTTP server for apprise ------------------------------------------------------------------


class Webhook:
    """A real HTTP server on 127.0.0.1 recording POSTs; paths starting with /fail answer 500."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.down = False  # True: every path answers 500
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = 500 if self.path.startswith("/fail") or owner.down else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def json(self, i: int = -1) -> dict[str, Any]:
        return json.loads(self.requests[i]["body"])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    server = Webhook()
    yield server
    server.close()


SECRET = "secrettoken"


def test_apprise_posts_title_and_body(project: Any, webhook: Webhook) -> None:
    url = f"json://user:{SECRET}@127.0.0.1:{webhook.port}/hooks/ml"
    notifier = make(AppriseNotifier, project, urls=[url], title_prefix="[prod]")
    notifier.send(MESSAGE)

    [request] = webhook.requests
    assert request["path"] == "/hooks/ml"
    payload = webhook.json()
    assert payload["title"] == "[prod] " + MESSAGE.subject
    assert payload["message"] == MESSAGE.text
    assert payload["type"] == "failure"  # the alert's outcome ERROR
    assert notifier.target() == f"json://user:****@127.0.0.1:{webhook.port}/hooks/ml"
    assert SECRET not in notifier.target()


def test_apprise_header_token_stays_hidden(project: Any, webhook: Webhook) -> None:
    # apprise's privacy form shows custom headers (?+X-Token=…) as written: the query is never shown
    notifier = make(AppriseNotifier, project, urls=[f"json://127.0.0.1:{webhook.port}/ml?+X-Token={SECRET}"])
    assert notifier.target() == f"json://127.0.0.1:{webhook.port}/ml"
    notifier.send(MESSAGE)
    assert webhook.requests[0]["headers"]["X-Token"] == SECRET
    webhook.down = True
    with pytest.raises(AppriseDeliveryError) as caught:
        notifier.send(MESSAGE)
    assert SECRET not in str(caught.value)


def test_apprise_body_format_html(project: Any, webhook: Webhook) -> None:
    notifier = make(AppriseNotifier, project, urls=[f"json://127.0.0.1:{webhook.port}/x"], body_format="html")
    notifier.send(MESSAGE)
    notifier.send(Message("no html", "plain words"))
    assert webhook.json(0)["message"] == MESSAGE.html
    assert webhook.json(1)["message"] == "plain words"


def test_apprise_server_error_raises_without_the_token(project: Any, webhook: Webhook) -> None:
    url = f"json://user:{SECRET}@127.0.0.1:{webhook.port}/fail"
    notifier = make(AppriseNotifier, project, urls=[url])
    with pytest.raises(AppriseDeliveryError) as caught:
        notifier.send(MESSAGE)
    text = str(caught.value)
    assert text.startswith(f"could not notify json://user:****@127.0.0.1:{webhook.port}/fail")
    assert "500" in text
    assert SECRET not in text and "\n" not in text
    assert len(webhook.requests) == 1


def test_apprise_partial_failure_names_the_failed_url(project: Any, webhook: Webhook) -> None:
    good = f"json://127.0.0.1:{webhook.port}/ok"
    bad = f"json://user:{SECRET}@127.0.0.1:{webhook.port}/fail"
    notifier = make(AppriseNotifier, project, urls=[good, bad])
    with pytest.raises(AppriseDeliveryError) as caught:
        notifier.send(MESSAGE)
    text = str(caught.value)
    assert f"could not notify json://user:****@127.0.0.1:{webhook.port}/fail" in text
    assert f"delivered to json://127.0.0.1:{webhook.port}/ok" in text
    assert SECRET not in text
    assert sorted(r["path"] for r in webhook.requests) == ["/fail", "/ok"]


def test_apprise_unreachable_server(project: Any) -> None:
    port = free_port()
    notifier = make(AppriseNotifier, project, urls=[f"json://user:{SECRET}@127.0.0.1:{port}/x"])
    started = time.monotonic()
    with pytest.raises(AppriseDeliveryError, match="Connection error") as caught:
        notifier.send(MESSAGE)
    assert SECRET not in str(caught.value)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "url",
    [
        f"nonsense://{SECRET}@example.com/x",
        f"slack://{SECRET}/only-two-parts",
        f"{SECRET} without a scheme",
        "json://",
    ],
)
def test_apprise_unusable_url_is_a_settings_error(project: Any, url: str) -> None:
    good = "json://hooks.example.com/ok"
    with pytest.raises(SettingsError, match=r"^urls\[1\]: apprise cannot use this URL: ") as caught:
        make(AppriseNotifier, project, urls=[good, url])
    assert SECRET not in str(caught.value)


def test_apprise_option_mistakes(project: Any) -> None:
    with pytest.raises(SettingsError, match=r"^urls: give at least one apprise URL"):
        make(AppriseNotifier, project, urls=[])
    with pytest.raises(SettingsError, match=r"^urls\[0\]: holds 2 URLs"):
        make(AppriseNotifier, project, urls=["json://a.example/x, json://b.example/y"])
    with pytest.raises(SettingsError, match=r"notifiers\.n\.urls: required key is missing"):
        make(AppriseNotifier, project)


# -- file outbox ---------------------------------------------------------------------------------


def test_file_outbox_in_the_store_and_a_local_file(project: Any) -> None:
    notifier = make(FileNotifier, project, "outbox", path="logs/alerts.log")
    notifier.send(MESSAGE)
    notifier.send(Message("second", "no alert record"))

    keys = project.store.list("outbox/outbox")
    assert len(keys) == 2 and all(k.endswith(".json") for k in keys)
    assert keys[0].endswith("-a1b2c3.json")
    first, second = notifier.sent()
    assert {k: first[k] for k in ("subject", "text", "html", "alert")} == {
        "subject": MESSAGE.subject,
        "text": MESSAGE.text,
        "html": MESSAGE.html,
        "alert": MESSAGE.alert,
    }
    assert first["sent_at"].endswith("Z") and second["subject"] == "second" and second["html"] is None
    log = (project.settings.root / "logs" / "alerts.log").read_text(encoding="utf-8")
    assert log.count("=== ") == 2
    assert f"Subject: {MESSAGE.subject}" in log and "alert a1b2c3" in log and "no alert record" in log
    assert notifier.target() == f"outbox in the store (outbox/outbox/) and {project.settings.root / 'logs/alerts.log'}"


def test_file_outbox_same_alert_twice_keeps_both(project: Any) -> None:
    notifier = make(FileNotifier, project, "box")
    for _ in range(3):
        notifier.send(MESSAGE)
    assert len(project.store.list("outbox/box")) == 3
    assert notifier.target() == "outbox in the store (outbox/box/)"


def test_file_outbox_path_must_be_local(project: Any) -> None:
    with pytest.raises(SettingsError, match=r"^path: a local file path, not a URL"):
        make(FileNotifier, project, path="s3://bucket/alerts.log")


# -- wiring through a project -------------------------------------------------------------------


def test_notifiers_from_the_settings_file(
    make_project: Callable[..., Any], smtp_server: Callable[..., Any], webhook: Webhook, monkeypatch: Any
) -> None:
    recorder, port = smtp_server()
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("HOOK_TOKEN", SECRET)
    project = make_project(
        f"""
        [project]
        name = "demo"

        [notifiers.mail]
        type = "email"
        host = "127.0.0.1"
        port = "${{SMTP_PORT}}"
        starttls = false
        sender = "ml-alerts@example.com"
        to = ["oncall@example.com"]

        [notifiers.chat]
        type = "apprise"
        urls = ["json://bot:${{HOOK_TOKEN}}@127.0.0.1:{webhook.port}/chat"]

        [notifiers.box]
        type = "file"
        path = "alerts.log"
        """
    )
    assert project.plugin_class("notifiers", "email", "k") is EmailNotifier
    assert project.plugin_class("notifiers", "apprise", "k") is AppriseNotifier
    assert project.plugin_class("notifiers", "file", "k") is FileNotifier

    mail, chat, box = project.notifier("mail"), project.notifier("chat"), project.notifier("box")
    assert type(build(project, "mail")) is EmailNotifier  # the same steps by hand
    for notifier in (mail, chat, box):
        notifier.send(MESSAGE)
    assert mail.port == port and len(recorder.envelopes) == 1
    assert webhook.json()["title"] == MESSAGE.subject
    assert SECRET not in chat.target()
    assert len(project.store.list("outbox/box")) == 1
    assert Path(project.settings.root, "alerts.log").exists()


def test_notifier_settings_errors_name_the_key(make_project: Callable[..., Any]) -> None:
    with pytest.raises(
        SettingsError, match=r"modelcycle.toml: notifiers\.mail\.hots: unknown key; did you mean 'host'\?"
    ):
        make_project(
            """
            [notifiers.mail]
            type = "email"
            hots = "smtp.example.com"
            sender = "a@example.com"
            to = ["b@example.com"]
            """
        )
    project = make_project(
        f"""
        [notifiers.both]
        type = "email"
        host = "smtp.example.com"
        starttls = true
        use_tls = true
        sender = "a@example.com"
        to = ["b@example.com"]

        [notifiers.chat]
        type = "apprise"
        urls = ["slack://{SECRET}/x"]
        """
    )
    with pytest.raises(
        SettingsError, match=r"^modelcycle.toml: notifiers\.both\.use_tls: cannot be true together with starttls"
    ):
        project.notifier("both")
    with pytest.raises(
        SettingsError, match=r"^modelcycle.toml: notifiers\.chat\.urls\[0\]: apprise cannot use this URL"
    ) as caught:
        project.notifier("chat")
    assert SECRET not in str(caught.value)


def test_a_failed_webhook_keeps_the_alert_pending_until_retried(
    make_project: Callable[..., Any], webhook: Webhook
) -> None:
    from modelcycle import alerts

    project = make_project(
        f"""
        [notifiers.chat]
        type = "apprise"
        urls = ["json://bot:{SECRET}@127.0.0.1:{webhook.port}/chat"]
        """
    )
    webhook.down = True
    alert = alerts.queue(project, "chat", "subject", "text", {"kind": "check", "check": "c", "outcome": "ERROR"})
    failed = alerts.deliver(project, alert)
    assert failed["status"] == "pending" and failed["attempts"] == 1
    assert "could not notify json://bot:****@" in failed["last_error"] and SECRET not in failed["last_error"]
    assert [a["id"] for a in alerts.pending(project)] == [alert["id"]]

    webhook.down = False
    [sent] = alerts.retry(project, force=True)
    assert sent["status"] == "sent" and alerts.pending(project) == []
    assert webhook.json()["title"] == "subject" and webhook.json()["type"] == "failure"
    assert len(webhook.requests) == 2


def test_loading_the_plugins_imports_no_heavy_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, modelcycle_email, modelcycle_apprise, modelcycle_outbox; "
        "print(','.join(m for m in ('apprise', 'aiosmtplib', 'email.message', 'ssl') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_docs_list_every_option() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "notifiers.md").read_text(encoding="utf-8")
    for cls in (EmailNotifier, AppriseNotifier, FileNotifier):
        section = text.split(f"## `{cls.name}`", 1)[1].split("\n## ", 1)[0]
        for field in cls.Options.model_fields:
            assert f"| `{field}` |" in section, f"docs/notifiers.md: option {cls.name}.{field} is not documented"
