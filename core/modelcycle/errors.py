"""The one error family users see: each message names the culprit and the fix."""

from __future__ import annotations


class ModelcycleError(Exception):
    """Anything a user can get wrong. The CLI prints it on one line and exits 2."""

    exit_code = 2


class SettingsError(ModelcycleError):
    """modelcycle.toml is missing, malformed, or names something that does not exist."""


class PluginError(ModelcycleError):
    """A plugin failed to load, registered a bad or duplicate name, or misbehaved."""

    def __init__(self, message: str, plugin: str | None = None) -> None:
        super().__init__(message)
        self.plugin = plugin


class NotFoundError(ModelcycleError):
    """A model, version or other named object does not exist."""


class NameError_(ModelcycleError):
    """A name is empty, too long, or could escape the store."""


class DataError(ModelcycleError):
    """A dataset cannot be read or does not fit what the model expects."""


class IntegrityError(ModelcycleError):
    """Stored bytes do not match the hash recorded for them: refuse to use them."""


class CorruptObjectError(IntegrityError):
    """An object in the store cannot be decoded: it was damaged or changed outside modelcycle."""


class StoreError(ModelcycleError):
    """The store cannot be reached or refused an operation."""
