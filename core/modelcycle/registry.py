"""Saved models on a Store: numbered immutable versions and an append-only activation log.

Layout (see docs/storage.md)::

    models/<model>/artifacts/<token>/model.<format>   written first, named by a random token
    models/<model>/versions/…                         a Journal: entry N is version N's metadata
    models/<model>/activations/…                      a Journal: the activation log

A version becomes visible only when its metadata entry is claimed, and the metadata
names an artifact that is already complete with its sha256. The active version is
the last activation-log entry.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .errors import IntegrityError, ModelcycleError, NotFoundError
from .interfaces import Store
from .journal import Entry, Journal
from .names import check_name


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Registry:
    def __init__(self, store: Store, redact: Callable[[Any], Any] = lambda v: v) -> None:
        self.store = store
        self.redact = redact

    def _versions(self, model: str) -> Journal:
        return Journal(self.store, f"models/{check_name(model, 'model name')}/versions")

    def _activations(self, model: str) -> Journal:
        return Journal(self.store, f"models/{check_name(model, 'model name')}/activations")

    # -- versions --------------------------------------------------------------------

    def create_version(
        self,
        model: str,
        artifact: bytes,
        *,
        artifact_format: str,
        metadata: dict[str, Any],
        actor: str,
        attachments: dict[str, bytes] | None = None,
    ) -> Entry:
        """Store the artifact and its attachments, then claim the next version number for the metadata.

        Attachments (the reference profile, the dashboard's insights) are objects too large
        for the version list; the metadata names each with its sha256.
        """
        check_name(model, "model name")
        check_name(artifact_format, "artifact format")
        folder = f"models/{model}/artifacts/{uuid.uuid4().hex}"
        described = self._put(f"{folder}/model.{artifact_format}", artifact)
        described["format"] = artifact_format
        stored = {
            check_name(name, "attachment name"): self._put(f"{folder}/{name}", data)
            for name, data in (attachments or {}).items()
        }
        metadata = self.redact({**metadata, "attachments": stored} if stored else metadata)

        def make(seq: int, _previous: Entry | None) -> Entry:
            return {
                **metadata,
                "model": model,
                "version": seq,
                "created_at": now_iso(),
                "created_by": actor,
                "artifact": described,
            }

        _, entry = self._versions(model).append(make)
        return entry

    def _put(self, key: str, data: bytes) -> dict[str, Any]:
        self.store.write(key, data)
        return {"key": key, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    def _verified(self, model: str, version: int, what: str, described: dict[str, Any]) -> bytes:
        data = self.store.get(described["key"])
        if data is None:
            raise IntegrityError(
                f"{what} of model '{model}' version {version} is missing from the store "
                f"({described['key']}); activate another version or retrain"
            )
        digest = hashlib.sha256(data).hexdigest()
        if digest != described["sha256"]:
            raise IntegrityError(
                f"{what} of model '{model}' version {version} does not match its recorded sha256 "
                f"(expected {described['sha256'][:12]}…, found {digest[:12]}…): it changed after it was "
                "stored, so it is refused; activate another version or retrain"
            )
        return data

    def read_attachment(self, model: str, version: int, name: str) -> bytes | None:
        """An attachment's bytes (verified), or None when the version has none of that name."""
        entry = self.version(model, version)
        described = (entry.get("attachments") or {}).get(name)
        return None if described is None else self._verified(model, version, name, described)

    def versions(self, model: str) -> list[Entry]:
        return self._versions(model).all()

    def version(self, model: str, version: int) -> Entry:
        entry = self._versions(model).get(version) if version >= 1 else None
        if entry is None:
            last, _ = self._versions(model).last()
            known = f"versions are 1 to {last}" if last else "it has no versions yet: train it first"
            raise NotFoundError(f"model '{model}' has no version {version}: {known}")
        return entry

    def latest(self, model: str) -> Entry | None:
        return self._versions(model).last()[1]

    def read_artifact(self, model: str, version: int) -> tuple[Entry, bytes]:
        """The version's artifact bytes, refused unless they match the recorded sha256."""
        entry = self.version(model, version)
        return entry, self._verified(model, version, "artifact", entry["artifact"])

    # -- activations -----------------------------------------------------------------

    def active(self, model: str) -> Entry | None:
        """The last activation-log entry (its `version` is the active version), or None."""
        return self._activations(model).last()[1]

    def activations(self, model: str) -> list[Entry]:
        return self._activations(model).all()

    def activate(
        self,
        model: str,
        version: int,
        *,
        actor: str,
        reason: str | None = None,
        decision: dict[str, Any] | None = None,
    ) -> Entry:
        self.version(model, version)  # must exist

        def make(seq: int, current: Entry | None) -> Entry:
            return self.redact(
                {
                    "seq": seq,
                    "kind": "activate",
                    "version": version,
                    "previous": current["version"] if current else None,
                    "back": current["seq"] if current else 0,
                    "at": now_iso(),
                    "actor": actor,
                    "reason": reason,
                    "decision": decision,
                }
            )

        return self._activations(model).append(make)[1]

    def rollback(self, model: str, *, actor: str, reason: str | None = None, expect: int | None = None) -> Entry | None:
        """Re-activate the version that was active before the current one (an undo).

        With `expect`, append nothing and return None if the target is another version (the
        log moved on since the caller guarded `expect` against gc).
        """
        log = self._activations(model)

        def make(seq: int, current: Entry | None) -> Entry:
            if current is None:
                raise NotFoundError(f"model '{model}' has no active version: nothing to roll back")
            target = log.get(current["back"])
            if target is None:
                raise ModelcycleError(
                    f"model '{model}': no version was active before version {current['version']}; "
                    "nothing to roll back to (use 'activate MODEL VERSION')"
                )
            if expect is not None and target["version"] != expect:
                raise _Moved
            return self.redact(
                {
                    "seq": seq,
                    "kind": "rollback",
                    "version": target["version"],
                    "previous": current["version"],
                    "back": target["back"],
                    "at": now_iso(),
                    "actor": actor,
                    "reason": reason,
                    "decision": None,
                }
            )

        try:
            return log.append(make)[1]
        except _Moved:
            return None


class _Moved(Exception):
    """The activation log moved on while a rollback was being guarded."""
