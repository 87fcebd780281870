"""One process at a time: an advisory lock file that names its holder.

A :class:`LockFile` is an OS advisory lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on
a small file, held for as long as the process keeps it open. The operating system drops the lock
when the process ends, however it ends (``kill -9`` included), so a lock left behind by a dead
process is simply free again: the next run takes it over and says so in the log. While held, the
file carries a JSON line naming the holder (pid, host, start time, what it is doing), so the run
that is refused can say who holds it.

The module uses the standard library only: the client (pipeline journals, bulk job manifests) and
the emulator (its data dir) both use it.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.lock"
    >>> with LockFile(path, "an example") as lock:
    ...     try:
    ...         LockFile(path, "a second run").acquire()
    ...     except LockHeld as held:
    ...         held.holder.what
    'an example'
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

logger = logging.getLogger(__name__)

_RETRIES = 5  # the lock file was replaced between open and lock (see LockFile.acquire)


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a lock.

    Attributes:
        pid: the process id.
        host: the host name (a pid means nothing on another machine).
        started: when the lock was taken, UTC ISO 8601.
        what: what the holder is doing, e.g. ``pipeline run contacts``.
    """

    pid: int
    host: str
    started: str
    what: str = ""

    def describe(self) -> str:
        """``pid 123 on host, since 2026-01-01T10:00:00Z`` (and what it is doing)."""
        doing = f" ({self.what})" if self.what else ""
        return f"pid {self.pid} on {self.host}, since {self.started}{doing}"

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        """The holder recorded in a lock file's text, or None when there is none (or it is unreadable)."""
        try:
            data = json.loads(text.strip() or "null")
            if not isinstance(data, dict):
                return None
            return cls(int(data["pid"]), str(data["host"]), str(data["started"]), str(data.get("what", "")))
        except (ValueError, KeyError, TypeError):
            return None


class LockHeld(Exception):
    """Another process (or another open of the same file in this process) holds the lock.

    Attributes:
        path: the lock file.
        holder: who holds it, when the file says so (None when it could not be read).
    """

    def __init__(self, path: Path, holder: Holder | None) -> None:
        who = holder.describe() if holder is not None else "a process that did not say who it is"
        super().__init__(f"{path} is held by {who}")
        self.path = path
        self.holder = holder


def read_holder(path: Path) -> Holder | None:
    """The holder a lock file names (it may be a dead process: only :meth:`LockFile.acquire` can tell)."""
    try:
        with path.open("rb") as handle:
            handle.seek(1)  # past the byte a Windows lock covers
            return Holder.parse(handle.read().decode("utf-8", "replace"))
    except OSError:
        return None


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

    _REMOVE_ON_RELEASE = False  # an open file cannot be removed there: the lock file stays

else:
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    _REMOVE_ON_RELEASE = True


class LockFile:
    """An exclusive, non-blocking advisory lock on ``path`` (see the module docstring).

    Args:
        path: the lock file (its directory is created; the file is created 0600).
        what: what the holder does, shown to a run that is refused.
        now: returns the start time to record (UTC ISO 8601); a parameter for tests.

    The file's first byte is a blank (the byte Windows locks); the holder's JSON follows it.
    A held lock's file is removed on :meth:`release`. Acquiring checks that the file locked is
    still the one at ``path`` (a releasing holder may have removed it in between), so two
    processes can never both believe they hold it.
    """

    def __init__(self, path: Path, what: str = "", *, now: Any = _now) -> None:
        self.path = Path(path)
        self.what = what
        self._now = now
        self._handle: IO[bytes] | None = None
        self._guard = threading.Lock()

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._handle is not None

    def acquire(self) -> Holder | None:
        """Take the lock now or raise :class:`LockHeld`; returns the holder of a lock left by a dead process.

        Raises:
            LockHeld: a live process holds it.
            OSError: the lock file cannot be created (e.g. a read-only directory).
        """
        with self._guard:
            if self._handle is not None:
                return None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for _ in range(_RETRIES):
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                handle = os.fdopen(fd, "r+b")
                try:
                    if not _try_lock(handle):
                        raise LockHeld(self.path, read_holder(self.path))
                    if _REMOVE_ON_RELEASE and not _same_file(handle, self.path):
                        handle.close()  # removed by its last holder after we opened it: try again
                        continue
                    handle.seek(0)
                    previous = Holder.parse(handle.read()[1:].decode("utf-8", "replace"))
                    self._write_holder(handle)
                except BaseException:
                    handle.close()
                    raise
                self._handle = handle
                if previous is not None:
                    logger.info(
                        "took over %s, left by %s (no longer running)",
                        self.path,
                        previous.describe(),
                    )
                return previous
            raise LockHeld(self.path, read_holder(self.path))

    def _write_holder(self, handle: IO[bytes]) -> None:
        holder = Holder(os.getpid(), socket.gethostname(), str(self._now()), self.what)
        handle.seek(0)
        handle.truncate()
        handle.write(b" " + json.dumps(asdict(holder)).encode("utf-8") + b"\n")
        handle.flush()

    def release(self) -> None:
        """Give the lock up (and remove the file); idempotent."""
        with self._guard:
            handle, self._handle = self._handle, None
            if handle is None:
                return
            try:
                if _REMOVE_ON_RELEASE:
                    # removed while still held: a process waiting on the old file re-opens (see acquire)
                    self.path.unlink(missing_ok=True)
                else:  # pragma: no cover - Windows
                    handle.seek(1)
                    handle.truncate()
                    _unlock(handle)
            except OSError as exc:
                logger.warning("could not tidy the lock file %s: %s", self.path, exc)
            finally:
                handle.close()

    def __enter__(self) -> LockFile:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _same_file(handle: IO[bytes], path: Path) -> bool:
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(handle.fileno())
    return (mine.st_dev, mine.st_ino) == (current.st_dev, current.st_ino)


__all__ = ["Holder", "LockFile", "LockHeld", "read_holder"]
