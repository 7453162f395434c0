"""The ``jsonl`` notifier: each alert becomes one line of JSON appended to a local file.

```toml
[notifiers.lines]
type = "jsonl"
path = "alerts.jsonl"        # relative to modelcycle.toml
```
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelcycle.plugin import Field, Message, Notifier, PluginContext, Section


def local_path(value: Any) -> Any:
    """Refuse what cannot be a local file, while the project opens (a ValueError names the key)."""
    if isinstance(value, str):  # anything else: the type check reports it
        if not value.strip():
            raise ValueError("empty; give a file name such as alerts.jsonl")
        if "://" in value:
            raise ValueError("a local file path, not a URL")
    return value


class JsonlOptions(Section):
    """The keys of a ``[notifiers.NAME]`` section with ``type = "jsonl"``, besides ``type``."""

    path: str = Field(
        description="The file alerts are appended to, one JSON object a line; relative to modelcycle.toml.",
        before=local_path,
    )


class JsonlNotifier(Notifier):
    """Appends each alert as one JSON line (subject, text, the alert record) to a local file."""

    name = "jsonl"
    Options = JsonlOptions

    def __init__(self, options: JsonlOptions, *, context: PluginContext) -> None:
        super().__init__(options, context=context)
        self.path = Path(context.settings.resolve_url(options.path))  # relative paths: from modelcycle.toml

    def target(self) -> str:
        return f"JSON lines in {self.path}"

    def send(self, message: Message) -> None:
        record = {
            "sent_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "notifier": self.section_name,  # the NAME of [notifiers.NAME]; self.name is the type, "jsonl"
            "subject": message.subject,
            "text": message.text,
            "alert": message.alert,
        }
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        # Any exception means "not delivered": the core keeps the alert pending and retries it.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:  # one write: lines from two processes do not mix
            f.write(line)


def read_alerts(path: str | Path) -> list[dict[str, Any]]:
    """Every record a jsonl notifier appended to `path`, oldest first (none when the file is absent)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
