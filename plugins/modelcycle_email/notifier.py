"""The `email` notifier: one multipart message per alert, sent with aiosmtplib.

Transport security is explicit. ``starttls`` (the default) upgrades a plain connection
and refuses to send if the server cannot; ``use_tls`` speaks TLS from the first byte
(port 465); neither sends in the clear, which is allowed for internal relays but warned
about when credentials are configured. A failure raises :class:`DeliveryError`: the
alert stays pending and is retried. No error message ever contains the password.
"""

from __future__ import annotations

import re
from typing import Any

from modelcycle.plugin import Field, Message, Notifier, PluginContext, Section, SettingsError, get_logger, warn

#: (settings file, notifier name) of the notifiers already warned about credentials in the clear
_WARNED_CLEAR: set[tuple[str, str]] = set()

log = get_logger("notifiers.email")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class DeliveryError(RuntimeError):
    """The mail was not delivered (server down, TLS or login refused, timeout, recipients refused)."""


# Values that come from ${NAME} reach a plugin as text: take numbers and booleans written as text.


def _int_text(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    return value


def _float_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _bool_text(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return value


class EmailOptions(Section):
    host: str = Field(description="SMTP server name or address, e.g. smtp.example.com.")
    port: int | None = Field(
        None,
        ge=1,
        le=65535,
        before=_int_text,
        description="Default: 465 with use_tls, 587 with starttls, 25 otherwise.",
    )
    starttls: bool | None = Field(
        None,
        before=_bool_text,
        description="Upgrade the connection with STARTTLS, refusing to send if the server cannot. "
        "Default: true, unless use_tls = true.",
    )
    use_tls: bool = Field(False, before=_bool_text, description="Connect over TLS from the start (port 465).")
    username: str | None = Field(None, description="Login name; give it with password.")
    password: str | None = Field(None, description='Login password; write "${SMTP_PASSWORD}", not the secret.')
    sender: str = Field(description="The From address.")
    to: list[str] = Field(description="Recipients (at least one).")
    cc: list[str] = Field(default_factory=list, description="Copied recipients.")
    timeout: float = Field(
        10.0, gt=0, le=3600, before=_float_text, description="Seconds allowed for each network step."
    )
    validate_certs: bool = Field(
        True, before=_bool_text, description="Check the server's TLS certificate and host name."
    )
    ca_file: str | None = Field(
        None, description="PEM file of the CA(s) that signed the server's certificate (relative to modelcycle.toml)."
    )
    local_hostname: str | None = Field(None, description="Name sent in EHLO; default: this machine's FQDN.")


def _address(value: str, key: str) -> str:
    """The address as given, if it holds exactly one usable mailbox."""
    from email.utils import getaddresses

    if "\r" in value or "\n" in value:
        raise SettingsError("an address cannot contain a line break", key=key)
    found = [addr for _, addr in getaddresses([value]) if addr]
    if len(found) != 1 or "@" not in found[0] or found[0].startswith("@") or found[0].endswith("@"):
        raise SettingsError(f"{value!r} is not an email address (like alerts@example.com)", key=key)
    return value


class EmailNotifier(Notifier):
    """Sends each alert as an email (text, plus HTML when the alert has it) through an SMTP server."""

    name = "email"
    Options = EmailOptions

    def __init__(self, options: EmailOptions, *, context: PluginContext | None = None) -> None:
        super().__init__(options, context=context)
        settings = context.settings if context is not None else None
        o = options
        if not o.host.strip() or "://" in o.host or "/" in o.host:
            raise SettingsError(f"{o.host!r} is not a host name; write it without scheme or path", key="host")
        if o.use_tls and o.starttls:
            raise SettingsError(
                "cannot be true together with starttls = true; choose one: "
                "use_tls = true for TLS from the start (port 465), or starttls = true to upgrade (port 587)",
                key="use_tls",
            )
        self.use_tls = o.use_tls
        self.starttls = (not o.use_tls) if o.starttls is None else o.starttls
        self.port = o.port or (465 if self.use_tls else 587 if self.starttls else 25)
        if (o.username is None) != (o.password is None):
            given, missing = ("username", "password") if o.password is None else ("password", "username")
            raise SettingsError(f"required when {given} is given", key=missing)
        self.sender = _address(o.sender, "sender")
        if not o.to:
            raise SettingsError("give at least one recipient address", key="to")
        self.to = [_address(a, f"to[{i}]") for i, a in enumerate(o.to)]
        self.cc = [_address(a, f"cc[{i}]") for i, a in enumerate(o.cc)]
        self.ca_file: str | None = None
        if o.ca_file is not None:
            if not o.validate_certs:
                raise SettingsError("has no effect with validate_certs = false; remove one of them", key="ca_file")
            if not (self.use_tls or self.starttls):
                raise SettingsError("only used with TLS; set starttls = true or use_tls = true", key="ca_file")
            self.ca_file = _local_path(settings, o.ca_file, "ca_file")
        if o.username is not None and not (self.use_tls or self.starttls):
            key = (str(getattr(settings, "file", "")), self.section_name)
            if key not in _WARNED_CLEAR:
                _WARNED_CLEAR.add(key)
                warn(
                    log,
                    f"notifier '{self.section_name}': starttls = false and use_tls = false, so the SMTP login to "
                    f"{o.host}:{self.port} sends the username and password in the clear; "
                    "use this only with a trusted internal relay",
                    UserWarning,
                    stacklevel=2,
                )

    # -- showing ----------------------------------------------------------------------

    def target(self) -> str:
        cc = f" (cc {', '.join(self.cc)})" if self.cc else ""
        return f"email to {', '.join(self.to)}{cc} via {self.options.host}:{self.port}"

    # -- sending ----------------------------------------------------------------------

    def build(self, message: Message) -> Any:
        """The email.message.EmailMessage sent for `message`."""
        from email.message import EmailMessage
        from email.utils import formatdate, getaddresses, make_msgid

        mail = EmailMessage()
        mail["Subject"] = " ".join(message.subject.split())  # no line breaks in a header
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        if self.cc:
            mail["Cc"] = ", ".join(self.cc)
        mail["Date"] = formatdate(localtime=True)
        domain = getaddresses([self.sender])[0][1].rpartition("@")[2] or "modelcycle.invalid"
        mail["Message-ID"] = make_msgid(domain=domain)
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def send(self, message: Message) -> None:
        mail = self.build(message)
        try:
            errors = _run(lambda: self._send(mail))
        except DeliveryError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is "not delivered", said on one line
            raise DeliveryError(self._failure(exc)) from None
        if errors:  # some recipients refused, the others accepted: delivered, but say who is missing
            refused = ", ".join(f"{addr} ({self._response(resp)})" for addr, resp in errors.items())
            warn(
                log,
                self._scrub(f"email via {self.options.host}:{self.port}: the server refused {refused}"),
                UserWarning,
                stacklevel=2,
            )

    async def _send(self, mail: Any) -> dict[str, Any]:
        import aiosmtplib

        o = self.options
        kwargs: dict[str, Any] = {
            "hostname": o.host,
            "port": self.port,
            "timeout": o.timeout,
            "use_tls": self.use_tls,
            "start_tls": False if self.use_tls else self.starttls,
            "username": o.username,
            "password": o.password,
            "local_hostname": o.local_hostname,
        }
        if self.use_tls or self.starttls:
            kwargs["tls_context"] = self._tls_context()
        errors, _ = await aiosmtplib.send(mail, **kwargs)
        return errors

    def _tls_context(self) -> Any:
        import ssl

        if not self.options.validate_certs:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(
                f"email via {self.options.host}:{self.port}: cannot read ca_file {self.ca_file}: {exc}"
            ) from None

    # -- error text -------------------------------------------------------------------

    def _failure(self, exc: BaseException) -> str:
        import aiosmtplib

        where = f"{self.options.host}:{self.port}"
        if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
            cause = f"timed out after {self.options.timeout:g}s ({exc})"
        elif isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            cause = "every recipient was refused: " + ", ".join(
                f"{r.recipient} ({self._response(r)})" for r in exc.recipients
            )
        elif isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            cause = f"login as {self.options.username!r} refused ({self._response(exc)})"
        elif isinstance(exc, aiosmtplib.SMTPResponseException):
            cause = f"{type(exc).__name__}: {self._response(exc)}"
        else:
            cause = f"{type(exc).__name__}: {exc}"
        return self._scrub(f"could not deliver email via {where}: {cause}")

    @staticmethod
    def _response(resp: Any) -> str:
        code, text = getattr(resp, "code", None), getattr(resp, "message", str(resp))
        return f"{code} {text}" if code is not None else str(text)

    def _scrub(self, text: str) -> str:
        """One line, without the password in any form it travels in, nor ${NAME} values."""
        import base64

        text = " ".join(str(text).split())
        password = self.options.password
        if password:
            user = self.options.username or ""
            forms = {
                password,
                base64.b64encode(password.encode()).decode(),
                base64.b64encode(f"\0{user}\0{password}".encode()).decode(),
            }
            for form in sorted(forms, key=len, reverse=True):
                if len(form) >= 6:
                    text = text.replace(form, "****")
                else:  # a short password: only where it stands alone, not inside every word
                    text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", "****", text)
        return self.context.redact(text) if self.context is not None else text


def _local_path(settings: Any, path: str, key: str) -> str:
    import os

    resolved = settings.resolve_url(path) if settings is not None else os.path.abspath(path)
    if "://" in resolved:
        raise SettingsError(f"a local file path, not a URL ({path})", key=key)
    if not os.path.isfile(resolved):
        raise SettingsError(f"no file at {resolved}", key=key)
    return resolved


def _run(make_coroutine: Any) -> Any:
    """Run a coroutine to completion from synchronous code, even inside a running event loop."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    from concurrent.futures import ThreadPoolExecutor

    # This thread's loop is busy: run on a private loop in a helper thread and wait for it.
    with ThreadPoolExecutor(1, thread_name_prefix="modelcycle-email") as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()
