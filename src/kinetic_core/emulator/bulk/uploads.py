"""Receiving job data: one temp file per upload, streamed to disk, committed as the next part."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO

from kinetic_core.emulator.bulk.models import client_input
from kinetic_core.emulator.private import private_opener


def base64_size(raw_bytes: int) -> int:
    """Size of ``raw_bytes`` once base64-encoded (how Salesforce counts the 150 MB cap).

    Example:
        >>> base64_size(100)
        136
    """
    return (raw_bytes + 2) // 3 * 4


class UploadWriter:
    """Writes one upload to a temp file; refuses it cleanly once the job's data passes the cap.

    Use as a context manager: an exception (including the cap error) discards the temp
    file, leaving the job's earlier data untouched; :meth:`commit` appends it to the job.

    Example:
        >>> with engine.open_upload(job_id) as upload:  # doctest: +SKIP
        ...     upload.write(b"Name\\nAcme\\n")
        ...     upload.commit()
    """

    def __init__(self, path: Path, already: int, cap: int, on_commit: Callable[[Path, int], None]) -> None:
        self.path = path
        self.size = 0
        self._already = already
        self._cap = cap
        self._on_commit = on_commit
        self._fh: IO[bytes] | None = open(path, "wb", opener=private_opener)  # noqa: SIM115
        self._done = False

    def write(self, data: bytes) -> None:
        """Append a chunk; raises ``CLIENTINPUTERROR`` (and discards) past the cap."""
        if self._fh is None:
            raise ValueError("upload already finished")
        self.size += len(data)
        encoded = base64_size(self._already + self.size)
        if encoded > self._cap:
            self.discard()
            raise client_input(
                f"Job data exceeds the maximum size: {encoded} bytes once base64-encoded, over the limit of "
                f"{self._cap} bytes (150 MB). Split the data into several jobs."
            )
        self._fh.write(data)

    def commit(self) -> None:
        """Close the temp file and add it to the job as its next part."""
        if self._fh is None:
            raise ValueError("upload already finished")
        self._fh.close()
        self._fh = None
        try:
            self._on_commit(self.path, self.size)
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise
        self._done = True

    def discard(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if not self._done:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> UploadWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.discard()
