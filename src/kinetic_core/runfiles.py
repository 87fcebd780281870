"""Files a run owns: its lock, the places its output goes, and result file names that never collide.

* :func:`run_lock` takes the advisory lock of a journal or a job manifest for the life of a run
  (see :mod:`kinetic_core.lockfile`); a second live run is refused with :class:`RunLockedError`.
* :func:`check_writable` proves, before the first record is sent, that a results or failures
  directory can take a file (created if missing, then a probe file is written, synced and
  removed); otherwise :class:`OutputNotWritableError` names the path and says nothing was sent.
* :func:`new_run_id` and :func:`create_exclusive` name result files uniquely per run and never
  overwrite a file that is already there.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from kinetic_core.errors import OutputNotWritableError, RunLockedError
from kinetic_core.lockfile import LockFile, LockHeld

PROBE_BYTES = 4096
"""Bytes written (and synced) by the probe: enough for a full disk to refuse it."""


def run_lock(path: Path, what: str, subject: str, advice: str = "") -> LockFile:
    """Take the lock at ``path`` for this run, or refuse at once.

    Args:
        path: the lock file (next to the journal or manifest it guards).
        what: what this run does (recorded for a run that is refused later).
        subject: what is locked, for the message, e.g. ``the journal contacts.journal.sqlite``.
        advice: appended to the message.

    Raises:
        RunLockedError: a live process holds the lock.

    Example:
        >>> lock = run_lock(Path("c.journal.sqlite.lock"), "sync c", "the journal c")  # doctest: +SKIP
        >>> lock.release()                                                           # doctest: +SKIP
    """
    lock = LockFile(path, what)
    try:
        lock.acquire()
    except LockHeld as held:
        holder = held.holder
        who = holder.describe() if holder is not None else "another process"
        tail = f"; {advice}" if advice else ""
        raise RunLockedError(
            f"{subject} is in use by another run: {who}{tail}",
            path=path,
            pid=holder.pid if holder else None,
            host=holder.host if holder else None,
            started=holder.started if holder else None,
        ) from None
    return lock


def check_writable(directory: Path, what: str = "results directory") -> Path:
    """Create ``directory`` if missing and prove a file can be written there; returns it.

    Raises:
        OutputNotWritableError: it is a file, read-only, on a full disk, or cannot be created.

    Example:
        >>> import tempfile
        >>> check_writable(Path(tempfile.mkdtemp()) / "out").is_dir()
        True
    """
    directory = Path(directory)
    probe = directory / f".kinetic-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        if directory.exists() and not directory.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "it is a file, not a directory", str(directory))
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            pending = memoryview(b"\0" * PROBE_BYTES)
            while pending:  # a short write is what a nearly full disk gives first: write on until refused
                written = os.write(fd, pending)
                if written <= 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(directory))
                pending = pending[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputNotWritableError(
            f"cannot write to the {what} {directory}: {reason}; nothing was sent", path=directory
        ) from None
    return directory


def new_run_id(
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    token: Callable[[], str] = lambda: secrets.token_hex(3),
) -> str:
    """A run id for file names: UTC time to the second plus a random suffix.

    Example:
        >>> new_run_id(lambda: dt.datetime(2026, 1, 2, 3, 4, 5), lambda: "a1b2c3")
        '20260102T030405Z-a1b2c3'
    """
    return f"{now():%Y%m%dT%H%M%SZ}-{token()}"


def create_exclusive(
    directory: Path, name: str, labels: Sequence[str], suffix: str = "-records.csv"
) -> dict[str, tuple[Path, IO[str]]]:
    """Create ``<name>-<label><suffix>`` for each label, never replacing a file that exists.

    When one of them exists already, none is kept and the set is created as ``<name>-2-...``,
    ``<name>-3-...`` and so on. Returns the open text handles (UTF-8, ``newline=""``) by label.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> first = create_exclusive(d, "load", ["success"])
        >>> second = create_exclusive(d, "load", ["success"])
        >>> [p.name for p, _ in (first["success"], second["success"])]
        ['load-success-records.csv', 'load-2-success-records.csv']
        >>> for _, h in (*first.values(), *second.values()):
        ...     h.close()
    """
    attempt = 1
    while True:
        stem = name if attempt == 1 else f"{name}-{attempt}"
        opened: dict[str, tuple[Path, IO[str]]] = {}
        try:
            for label in labels:
                path = directory / f"{stem}-{label}{suffix}"
                opened[label] = (path, path.open("x", encoding="utf-8", newline=""))
        except FileExistsError:
            for path, handle in opened.values():
                handle.close()
                path.unlink(missing_ok=True)
            attempt += 1
            continue
        except BaseException:
            for path, handle in opened.values():
                handle.close()
                path.unlink(missing_ok=True)
            raise
        return opened


__all__ = ["check_writable", "create_exclusive", "new_run_id", "run_lock"]
