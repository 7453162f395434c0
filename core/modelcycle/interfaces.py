"""Base classes that plugins subclass. Register hooks return these classes; the core
instantiates them from validated settings, so a plugin never guesses its constructor.

Every class carries `name`, the word users write in modelcycle.toml to pick it.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar


class Plugged:
    """What every registered class has: a unique, lowercase `name` and a docstring."""

    name: ClassVar[str] = ""


class Store(Plugged, ABC):
    """Where all state lives. Keys are '/'-separated paths relative to the store's root.

    The whole consistency story rests on two promises a Store must keep:
    `write` replaces an object atomically (a reader sees the old bytes or the new,
    never a mix) and `put_if_absent` creates an object only if no object has that
    key, atomically, even between machines. Nothing else is assumed: no locks,
    no rename, no consistent listing.
    """

    #: URL schemes this store serves ("file", "s3", …); "*" serves any scheme, as a fallback.
    protocols: ClassVar[tuple[str, ...]] = ()

    def __init__(self, url: str, options: Mapping[str, Any]) -> None:
        self.url = url
        self.options = dict(options)

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no object with this key."""

    @abstractmethod
    def write(self, key: str, data: bytes) -> None:
        """Create or atomically replace the object."""

    @abstractmethod
    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create the object and return True, or return False if the key exists already."""

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Every key below `prefix` (a folder-like prefix, without trailing slash), sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""

    def describe(self) -> str:
        """The URL to show people (never with credentials)."""
        return self.url

    # Helpers every store gets for free.
    def get_json(self, key: str) -> Any | None:
        data = self.get(key)
        return None if data is None else json.loads(data)

    def write_json(self, key: str, value: Any) -> None:
        self.write(key, dump_json(value))

    def put_json_if_absent(self, key: str, value: Any) -> bool:
        return self.put_if_absent(key, dump_json(value))


def dump_json(value: Any) -> bytes:
    """The one JSON encoding of stored objects: stable key order, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


class Trainer(Plugged):
    """Fits a model from a dataset's rows (the train recipe's `fit` step)."""


class Metric(Plugged):
    """A performance metric: its task, its direction, and whether it needs probabilities."""


class DriftTest(Plugged):
    """Compares a column's new distribution with the version's reference profile."""


class Notifier(Plugged):
    """A channel that delivers alerts (email, chat, webhook, file outbox)."""


class Step(Plugged):
    """One step type of a scenario (retrain, evaluate, check, notify, …)."""


class Trigger(Plugged):
    """Decides when a scenario is due (cron, dataset changed, after another scenario)."""


class Executor(Plugged):
    """Runs scoring and evaluation: in this process, or on a cluster."""
