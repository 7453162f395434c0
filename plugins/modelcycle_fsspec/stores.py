"""Stores on fsspec. Put-if-absent is the only concurrency primitive:

* local folder: write and fsync a temporary file, then ``os.link`` it to the key, which
  fails if the key exists; readers never see partial bytes; the directory is fsynced
  after every new name (and a new folder's parent after its creation), so a power loss
  cannot forget an object once put-if-absent said it was created;
* S3: a conditional PUT (``If-None-Match: *``) through s3fs ``pipe_file(mode="create")``.
  A 412 is read back: a PUT that took effect but whose reply was lost is retried by the
  client and answered 412, yet it won; the object then holds exactly the bytes sent.
  Writers of put-if-absent objects therefore make their bytes unique (a timestamp to the
  microsecond, a host:pid, a random token), so no other writer's bytes can look the same;
* memory://: a process-wide lock around every operation (one process only): fsspec's memory
  filesystem is one shared dict, and listing it while another thread writes can fail with
  "dictionary changed size during iteration".
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from modelcycle.plugin import PluginContext, Store, StoreError, confined

_MEMORY_LOCK = threading.Lock()


def _named_errors(method):
    """Turn an I/O failure into one line naming the store, the operation and the key."""

    @functools.wraps(method)
    def wrapper(self, key, *args):
        try:
            return method(self, key, *args)
        except StoreError:
            raise
        except OSError as exc:
            raise StoreError(
                f"store {self.display_url()}: {method.__name__} {key!r} failed: {type(exc).__name__}: {exc}; "
                "check that the store is reachable and writable"
            ) from exc

    return wrapper


def _is_conflict(exc: OSError) -> bool:
    """S3 answers 409 ConditionalRequestConflict when two conditional PUTs overlap."""
    cause = exc.__cause__
    status = getattr(cause, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 409 or "ConditionalRequestConflict" in f"{exc} {cause or ''}"


def _fsync_dir(folder: Path) -> None:
    """Make the names in `folder` durable: a file's own fsync does not cover its directory entry."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FsspecStore(Store):
    """Any fsspec URL: s3://bucket/prefix, memory://name, gcs://…"""

    name = "fsspec"
    protocols = ("*",)

    def __init__(self, options: Any, *, context: PluginContext | None = None) -> None:
        super().__init__(options, context=context)
        import fsspec

        url = self.url
        protocol = url.split("://", 1)[0]
        options = dict(self.storage_options)
        self._read_options: dict[str, Any] = {}
        if protocol in ("s3", "s3a"):
            # Another process may write any key at any time: never answer from a cached listing,
            # and read with one GET (s3fs otherwise asks for the size first).
            options.setdefault("use_listings_cache", False)
            self._read_options = {"max_concurrency": 1}
        try:
            self.fs, self.root = fsspec.url_to_fs(url, **options)
        except (ImportError, ValueError) as exc:
            raise StoreError(f"store {url!r} cannot be opened: {exc}") from None
        self.root = self.root.rstrip("/")
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        self._memory = protocol == "memory"
        self.requests = 0  # store operations, each one request on object stores

    def _path(self, key: str) -> str:
        return f"{self.root}/{confined(key)}"

    def _serialised(self) -> contextlib.AbstractContextManager[Any]:
        """memory://: the process-wide lock (a listing must not overlap a write); else nothing."""
        return _MEMORY_LOCK if self._memory else contextlib.nullcontext()

    @_named_errors
    def get(self, key: str) -> bytes | None:
        self.requests += 1
        try:
            with self._serialised():
                return self.fs.cat_file(self._path(key), **self._read_options)
        except FileNotFoundError:
            return None

    def _read(self, path: str) -> bytes | None:
        self.requests += 1
        try:
            return self.fs.cat_file(path, **self._read_options)
        except FileNotFoundError:
            return None

    @_named_errors
    def write(self, key: str, data: bytes) -> None:
        self.requests += 1
        with self._serialised():
            self.fs.pipe_file(self._path(key), data)

    @_named_errors
    def put_if_absent(self, key: str, data: bytes) -> bool:
        self.requests += 1
        path = self._path(key)
        if self._memory:
            with _MEMORY_LOCK:
                if self.fs.exists(path):
                    return False
                self.fs.pipe_file(path, data)
                return True
        for attempt in range(8):
            try:
                self.fs.pipe_file(path, data, mode="create")
                return True
            except FileExistsError:
                # 412: another writer's object, or our own PUT that took effect but whose reply was
                # lost, so the client retried it: the same bytes mean it was ours
                return self._read(path) == data
            except OSError as exc:  # a concurrent conditional PUT: retry, the winner shows up
                if not _is_conflict(exc) or attempt == 7:
                    raise
                time.sleep(0.05 * (attempt + 1))
        return False  # pragma: no cover - the loop returns or raises

    @_named_errors
    def list(self, prefix: str) -> list[str]:
        self.requests += 1
        base = self._path(prefix).rstrip("/") if prefix else self.root
        try:
            with self._serialised():
                found = self.fs.find(base)
        except FileNotFoundError:
            return []
        cut = len(self.root) + 1
        return sorted(p[cut:] for p in found if p.startswith(self.root + "/"))

    @_named_errors
    def delete(self, key: str) -> None:
        self.requests += 1
        with contextlib.suppress(FileNotFoundError), self._serialised():
            self.fs.rm_file(self._path(key))

    def display_url(self) -> str:
        return self.url

    def modified(self, key: str) -> float | None:
        try:
            with self._serialised():
                info = self.fs.info(self._path(key))
        except (FileNotFoundError, OSError):
            return None
        stamp = info.get("LastModified") or info.get("mtime") or info.get("created")
        if stamp is None:
            return None
        return stamp.timestamp() if hasattr(stamp, "timestamp") else float(stamp)


class LocalFolderStore(Store):
    """A folder on this machine, through the OS directly: the hot paths stay fast."""

    name = "local"
    protocols = ("", "file", "local")

    def __init__(self, options: Any, *, context: PluginContext | None = None) -> None:
        super().__init__(options, context=context)
        url = self.url
        path = url.split("://", 1)[1] if "://" in url else url
        self.root = Path(path)
        self.requests = 0

    def _path(self, key: str) -> Path:
        return self.root / confined(key)

    @_named_errors
    def get(self, key: str) -> bytes | None:
        self.requests += 1
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _folder(self, folder: Path) -> None:
        """Create `folder` and its missing parents, each made durable in its own parent."""
        missing = []
        while not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        for created in reversed(missing):
            with contextlib.suppress(FileExistsError):
                created.mkdir()
            _fsync_dir(created.parent)

    def _temp(self, final: Path, data: bytes) -> str:
        self._folder(final.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return tmp

    @_named_errors
    def write(self, key: str, data: bytes) -> None:
        self.requests += 1
        final = self._path(key)
        tmp = self._temp(final, data)
        try:
            os.replace(tmp, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise StoreError(f"cannot write {final}: {exc}") from None
        _fsync_dir(final.parent)

    @_named_errors
    def put_if_absent(self, key: str, data: bytes) -> bool:
        self.requests += 1
        final = self._path(key)
        if final.exists():
            return False
        tmp = self._temp(final, data)
        try:
            os.link(tmp, final)
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        _fsync_dir(final.parent)
        return True

    @_named_errors
    def list(self, prefix: str) -> list[str]:
        self.requests += 1
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return []
        out = []
        for folder, _dirs, files in os.walk(base):
            rel = Path(folder).relative_to(self.root).as_posix()
            out.extend(f"{rel}/{name}" if rel != "." else name for name in files if not name.endswith(".tmp"))
        return sorted(out)

    @_named_errors
    def delete(self, key: str) -> None:
        self.requests += 1
        path = self._path(key)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    def display_url(self) -> str:
        return str(self.root)

    def modified(self, key: str) -> float | None:
        try:
            return os.stat(self._path(key)).st_mtime
        except OSError:
            return None

    def leftovers(self, prefix: str) -> list[str]:
        """Temporary files a killed writer left below `prefix` (list() hides them)."""
        base = self._path(prefix) if prefix else self.root
        found = []
        for folder, _dirs, files in os.walk(base):
            rel = Path(folder).relative_to(self.root).as_posix()
            found += [f"{rel}/{name}" for name in files if name.endswith(".tmp")]
        return sorted(found)
