"""The one error family users see: each message names the culprit and the fix."""

from __future__ import annotations


class ModelcycleError(Exception):
    """Anything a user can get wrong. The CLI prints it on one line and exits 2."""

    exit_code = 2


class SettingsError(ModelcycleError):
    """modelcycle.toml is missing, malformed, or names something that does not exist.

    `key` is the dotted key at fault and `problem` what is wrong with it and how to fix it;
    `file` is set once the key is complete (a plugin raises keys relative to its own section,
    the core places them with :meth:`under`). The one line users read is made here, from these
    fields, and nothing ever parses it back.
    """

    def __init__(self, problem: str, *, key: str | None = None, file: str | None = None) -> None:
        self.problem = problem
        self.key = key
        self.file = file
        super().__init__(": ".join(part for part in (file, key, problem) if part))

    def __reduce__(self) -> tuple:  # the fields survive pickling (an error raised on a Dask worker)
        return (_settings_error, (self.problem, self.key, self.file))

    @property
    def placed(self) -> bool:
        """Whether the error names its file: the key is complete, nothing more to prefix."""
        return self.file is not None

    def under(self, prefix: str) -> SettingsError:
        """The same error with its key placed below `prefix` ("notifiers.oncall" + "to" → "notifiers.oncall.to")."""
        if self.placed:
            return self
        if not self.key:
            key = prefix
        elif self.key.startswith("["):
            key = f"{prefix}{self.key}"
        else:
            key = f"{prefix}.{self.key}"
        return SettingsError(self.problem, key=key)


def _settings_error(problem: str, key: str | None, file: str | None) -> SettingsError:
    return SettingsError(problem, key=key, file=file)


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
