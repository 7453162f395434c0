"""The `file` notifier: every alert becomes one JSON object in the store, under
``outbox/<notifier name>/<UTC timestamp>-<alert id or random id>.json``, written with
put-if-absent so concurrent senders never overwrite each other. With ``path`` each
alert is also appended, readable, to a local text file.
"""

from __future__ import annotations

import re
from typing import Any

from modelcycle.plugin import Field, Message, Notifier, PluginContext, Section, SettingsError, check_name

PREFIX = "outbox"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FileOptions(Section):
    path: str | None = Field(
        None, description="Also append each alert, readable, to this local file (relative to modelcycle.toml)."
    )


class FileNotifier(Notifier):
    """Writes each alert to an outbox in the project's store (and optionally to a local file)."""

    name = "file"
    Options = FileOptions

    def __init__(self, options: FileOptions, *, context: PluginContext | None = None) -> None:
        super().__init__(options, context=context)
        name = self.section_name
        check_name(name, "notifier name")
        self.prefix = f"{PREFIX}/{name}"
        self.path: str | None = None
        if options.path is not None:
            if not options.path.strip():
                raise SettingsError("empty; give a file name such as alerts.log, or remove the key", key="path")
            resolved = context.settings.resolve_url(options.path)
            if "://" in resolved:
                raise SettingsError(
                    f"a local file path, not a URL ({options.path}); alerts in the store are kept", key="path"
                )
            self.path = resolved

    def target(self) -> str:
        where = f"outbox in the store ({self.prefix}/)"
        return f"{where} and {self.path}" if self.path else where

    def send(self, message: Message) -> None:
        import uuid
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
        alert_id = _UNSAFE.sub("-", str(message.alert.get("id") or "")).strip(".-")[:80]
        record = {
            "notifier": self.section_name,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "alert": message.alert,
            "sent_at": now.isoformat().replace("+00:00", "Z"),
        }
        record = self.context.redact(record)  # ${NAME} values never reach the store
        store = self.context.store
        key = f"{self.prefix}/{stamp}-{alert_id or uuid.uuid4().hex}.json"
        while not store.put_json_if_absent(key, record):  # taken (same alert, same microsecond): a fresh name
            key = f"{self.prefix}/{stamp}-{alert_id or 'alert'}-{uuid.uuid4().hex[:8]}.json"
        if self.path:
            self._append(record)

    def _append(self, record: dict[str, Any]) -> None:
        from pathlib import Path

        alert_id = record["alert"].get("id") if isinstance(record["alert"], dict) else None
        head = f"=== {record['sent_at']}" + (f"  alert {alert_id}" if alert_id else "") + " ==="
        entry = f"{head}\nSubject: {record['subject']}\n\n{record['text'].rstrip()}\n\n"
        target = Path(self.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "a", encoding="utf-8") as f:  # one write: entries from two processes do not interleave
            f.write(entry)

    def sent(self) -> list[dict[str, Any]]:
        """Every message in this notifier's outbox, oldest first."""
        store = self.context.store
        return [store.get_json(key) for key in store.list(self.prefix) if key.endswith(".json")]
