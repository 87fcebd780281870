"""Files and directories of a data dir are its owner's alone: files 0600, directories 0700.

The data dir holds live tokens (``auth.sqlite``), records (``org.sqlite``), private keys and the
credentials in ``emulator.json``. Everything here creates with the private mode from the first byte
(never a world-readable window before a ``chmod``); SQLite gives its ``-wal``/``-shm`` files the mode
of the database file, so creating that file 0600 before SQLite opens it covers them too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` (and every missing parent) 0700; tighten ``path`` when it already exists.

    Example:
        >>> private_dir(tmp_path / "org" / "bulk").stat().st_mode & 0o777  # doctest: +SKIP
        448
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):  # each new level 0700, not only the last one
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
    _tighten(path, DIR_MODE)
    return path


def private_opener(path: str, flags: int) -> int:
    """An ``opener`` for :func:`open` that creates files 0600: ``open(p, "w", opener=private_opener)``."""
    return os.open(path, flags, FILE_MODE)


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists and is 0600 (an existing file is tightened, its content kept)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    _tighten(path, FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, the file readable by its owner only from the first byte."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _tighten(path: Path, mode: int) -> None:
    """Drop group/other bits of a path this user owns (files from older versions were 0644)."""
    try:
        info = path.stat()
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(path, mode)
    except OSError:
        pass
