"""The `apprise` notifier: one notification per alert to every URL of the section.

Apprise URLs carry their secrets (webhook tokens, passwords) inside them, so this
module never shows a URL as written: `target()` and every error use apprise's privacy
form (``url(privacy=True)``, tokens masked) without the query string, and text that
apprise logs is scrubbed of every part of the URLs that the privacy form hides.

`Apprise.notify()` returned True / False / None in apprise 1.x; apprise 2.x returns an
``AppriseResult`` whose truth is True only for status SUCCESS (PARTIAL, FAILURE,
TIMEOUT and NOMATCH are false) and which iterates per-service results carrying the
privacy URL. Both are handled: anything but full success raises :class:`DeliveryError`.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Literal

from modelcycle.plugin import Field, Message, Notifier, PluginContext, Section, SettingsError

#: alert outcome (check or scenario run) → apprise NotifyType value
_NOTIFY_TYPES = {
    "ERROR": "failure",
    "FAILED": "failure",
    "ABORTED": "failure",
    "WARNING": "warning",
    "OK": "success",
    "SUCCESS": "success",
}
#: apprise.LogCapture hooks the process-wide "apprise" logger: one capture at a time, so that
#: one notifier's error never carries another's log lines (and their secrets)
_CAPTURE = threading.Lock()
_SEPARATORS = re.compile(r"[/:@?&=#,;\s]+")
MASK = "****"


class DeliveryError(RuntimeError):
    """Apprise did not deliver to every URL (service answered an error, unreachable, timed out)."""


class AppriseOptions(Section):
    urls: list[str] = Field(
        description='Apprise URLs, one per item: "slack://…", "msteams://…", "discord://…", "json://host/path", …'
    )
    title_prefix: str | None = Field(None, description='Put before every title, e.g. "[prod]".')
    body_format: Literal["text", "markdown", "html"] = Field(
        "text", description="How the body is sent: the alert's text, the text as markdown, or its HTML."
    )


class AppriseNotifier(Notifier):
    """Sends each alert to apprise URLs: Slack, Microsoft Teams, Discord, Telegram, JSON webhooks and 100+ more."""

    name = "apprise"
    Options = AppriseOptions

    def __init__(self, options: AppriseOptions, *, context: PluginContext | None = None) -> None:
        super().__init__(options, context=context)
        import logging

        import apprise

        if not options.urls:
            raise SettingsError('give at least one apprise URL, e.g. ["json://hooks.example.com/alerts"]', key="urls")
        self._raw = list(options.urls)
        self.apprise = apprise.Apprise(asset=apprise.AppriseAsset(app_id="modelcycle", app_desc="modelcycle alerts"))
        self.shown: list[str] = []  # privacy form of each URL, in the order given
        for i, url in enumerate(options.urls):
            before = len(self.apprise)
            with _CAPTURE, apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as log:
                ok = isinstance(url, str) and bool(url.strip()) and self.apprise.add(url)
            added = len(self.apprise) - before
            if not ok:
                reason = self._scrub(_log_lines(log.getvalue()))
                raise SettingsError(
                    f"apprise cannot use this URL: {_mask_url(url)}"
                    + (f" ({reason})" if reason else "")
                    + "; check it against https://appriseit.com/services/",
                    key=f"urls[{i}]",
                )
            if added != 1:
                raise SettingsError(f"holds {added} URLs; give each URL as its own item of the list", key=f"urls[{i}]")
            self.shown.append(_short(self.apprise[len(self.apprise) - 1].url(privacy=True)))

    # -- showing ----------------------------------------------------------------------

    def target(self) -> str:
        return ", ".join(self.shown)

    # -- sending ----------------------------------------------------------------------

    def send(self, message: Message) -> None:
        import logging

        import apprise

        title = message.subject
        if self.options.title_prefix:
            title = f"{self.options.title_prefix.rstrip()} {title}"
        body, body_format = message.text, self.options.body_format
        if body_format == "html":
            if message.html:
                body = message.html
            else:
                body_format = "text"
        about = message.alert.get("about")  # what the alert is about: a check result, a scenario run
        about = about if isinstance(about, dict) else {}
        outcome = str(message.alert.get("outcome") or about.get("outcome") or "").upper()
        notify_type = _NOTIFY_TYPES.get(outcome, "info")
        with _CAPTURE, apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as log:
            try:
                result = self.apprise.notify(
                    body=body,
                    title=title,
                    notify_type=notify_type,  # plain strings: apprise 1.x has no enums
                    body_format=body_format,
                )
            except Exception as exc:  # noqa: BLE001 - apprise bug or odd input: still "not delivered"
                raise DeliveryError(
                    self._scrub(f"could not notify {self.target()}: {type(exc).__name__}: {exc}")
                ) from None
        try:
            if result is not None and bool(result):
                return
            raise DeliveryError(self._failure(result, _log_lines(log.getvalue())))
        finally:
            close = getattr(result, "close", None)  # apprise 2.x keeps result logs, maybe in temp files
            if callable(close):
                close()

    def _failure(self, result: Any, reason: str) -> str:
        status = getattr(getattr(result, "status", None), "name", None)
        if result is None or status == "NOMATCH":
            return f"apprise sent nothing to {self.target()} (no URL matched)"
        failed: list[str] = []
        delivered: list[str] = []
        try:
            for service in result:  # apprise 2.x: one NotifyResult per service tried
                (delivered if bool(service) else failed).append(_short(str(service.url)))
        except TypeError:  # apprise 1.x: a plain False
            pass
        if not failed:
            failed = list(self.shown)
        text = f"could not notify {', '.join(failed)}"
        if status == "TIMEOUT":
            text += " (timed out)"
        if reason:
            text += f": {reason}"
        if delivered:
            text += f"; delivered to {', '.join(delivered)}"
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        """One line, with every secret-looking part of the URLs masked, nor ${NAME} values."""
        text = " ".join(str(text).split())
        shown = getattr(self, "shown", [])
        safe = {*shown, *(token for url in shown for token in _tokens(url))}  # what apprise itself shows
        secrets = set()
        for url in self._raw:
            if not isinstance(url, str):
                continue
            for token in _tokens(url):
                from urllib.parse import unquote

                secrets.update({token, unquote(token)})
        for secret in sorted(secrets - safe, key=len, reverse=True):
            if len(secret) >= 3:
                text = text.replace(secret, MASK)
        return self.context.redact(text) if self.context is not None else text


def _tokens(url: str) -> list[str]:
    """The parts of a URL after its scheme, split at URL punctuation."""
    rest = url.split("://", 1)[1] if "://" in url else url
    return [t for t in _SEPARATORS.split(rest) if t]


def _mask_url(url: Any) -> str:
    """A URL apprise could not read, with everything after the scheme masked but its shape kept."""
    if not isinstance(url, str):
        return repr(type(url).__name__)
    url = url.strip()
    if not url:
        return "(empty)"
    if "://" not in url:
        return f"{MASK} (not scheme://…)"
    scheme, rest = url.split("://", 1)
    return f"{scheme}://" + re.sub(r"[^/:@?&=#,;\s]+", MASK, rest)


def _short(url: str) -> str:
    """A privacy URL without its query string (apprise's defaults, no need to show them)."""
    return url.split("?", 1)[0]


def _log_lines(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())
