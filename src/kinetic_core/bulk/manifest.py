"""Durable job manifests: what another process needs to number a job's result rows.

When a load uploads a job it first writes ``<state_dir>/<job id>.json`` (atomically:
a temporary file renamed into place) describing the rows the job carries:

* the job (id, object, operation, external id field, ``createdDate``) and the org it
  belongs to (scheme and host of the API, never a token or a password);
* the input the rows came from: for a CSV file input, its absolute path, size and
  ``mtime_ns`` and the job's byte range in it; for records (dicts, DataFrames), the
  job's spooled CSV, kept as ``<state_dir>/<job id>.csv`` (its header, then the rows);
* the first input row number of the job, the row count, the dialect, header and columns.

:meth:`ManifestStore.problem` says why a manifest cannot be trusted any more (the file
changed, the spool is gone, the job id now names another job); the row numbers are then
left unknown rather than guessed. The files are removed by :meth:`ManifestStore.forget`.

One process at a time per job: the process that uses a manifest (the load that wrote it, until
its result is closed or the load stops; a ``get_results`` reading it, until that result is
closed) holds the advisory lock ``<job id>.lock`` beside it (:meth:`ManifestStore.hold`). Another
process that wants the same manifest is refused with ``RunLockedError`` naming the holder; the
lock of a process that died is free again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kinetic_core.bulk.csvfile import CsvLayout
from kinetic_core.bulk.models import ColumnDelimiter, JobInfo, LineEnding
from kinetic_core.lockfile import LockFile
from kinetic_core.runfiles import run_lock

if TYPE_CHECKING:
    from kinetic_core.bulk.sources import PreparedInput
    from kinetic_core.bulk.split import Chunk

logger = logging.getLogger(__name__)

MANIFEST_VERSION = 1
FILE_INPUT = "file"
SPOOL_INPUT = "spool"


class BulkResumeWarning(UserWarning):
    """A job's manifest could not be used: its result rows get no input row numbers."""


def org_key(http: Any) -> str:
    """``scheme://host[:port]`` of the org an HTTP session talks to (no path, no credentials).

    Example:
        >>> class H:
        ...     def data_url(self, suffix: str) -> str:
        ...         return "https://me:pw@acme.my.salesforce.com/services/data/v62.0/" + suffix
        >>> org_key(H())
        'https://acme.my.salesforce.com'
    """
    parts = urlsplit(str(http.data_url("jobs/ingest")))
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


@dataclass(frozen=True)
class JobManifest:
    """Everything needed to map one job's result rows to input row numbers (see module docstring)."""

    job_id: str
    org: str
    object: str
    operation: str
    external_id_field: str | None
    created_date: str | None
    input_kind: str
    path: str
    size: int
    mtime_ns: int
    start: int
    end: int
    first_row: int
    rows: int
    delimiter: str
    line_ending: str
    header: tuple[str, ...]
    columns: tuple[str, ...]
    version: int = MANIFEST_VERSION

    def to_json(self) -> str:
        """The manifest as a JSON document."""
        return json.dumps(asdict(self), indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> JobManifest:
        """Parse :meth:`to_json` output (``ValueError`` when it is not a manifest)."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            raise ValueError("not a version 1 bulk job manifest")
        try:
            data["header"] = tuple(data["header"])
            data["columns"] = tuple(data["columns"])
            return cls(**data)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed bulk job manifest: {exc}") from None

    def layout(self) -> CsvLayout:
        """The CSV layout to parse the job's rows back (bytes ``start``..``end`` of ``path``)."""
        return CsvLayout(
            Path(self.path),
            ColumnDelimiter(self.delimiter),
            LineEnding(self.line_ending),
            self.header,
            b"",
            self.start,
        )


class ManifestStore:
    """The directory of job manifests (and kept spools) of one org.

    Example:
        >>> store = ManifestStore(Path("/tmp/bulk-jobs"), "https://acme.my.salesforce.com")  # doctest: +SKIP
        >>> store.read("750...")                                                            # doctest: +SKIP
    """

    def __init__(self, directory: Path, org: str) -> None:
        self.directory = directory
        self.org = org
        self._created: list[Path] = []
        self._lock = threading.Lock()
        self._held: dict[str, LockFile] = {}

    def ensure_directory(self) -> None:
        """Create the directory; the ones created here are removed again once empty (see :meth:`forget`)."""
        with self._lock:
            missing = [p for p in (self.directory, *self.directory.parents) if not p.exists()]
            self.directory.mkdir(parents=True, exist_ok=True)
            self._created.extend(p for p in missing if p not in self._created)

    def manifest_path(self, job_id: str) -> Path:
        """Where the manifest of ``job_id`` lives."""
        return self.directory / f"{_safe(job_id)}.json"

    def spool_path(self, job_id: str) -> Path:
        """Where the kept spool of ``job_id`` lives (record inputs only)."""
        return self.directory / f"{_safe(job_id)}.csv"

    def lock_path(self, job_id: str) -> Path:
        """The lock file of ``job_id``'s manifest."""
        return self.directory / f"{_safe(job_id)}.lock"

    def hold(self, job_id: str, what: str) -> None:
        """Take the lock of ``job_id``'s manifest for this process (a no-op when already held here).

        A lock file that cannot be created (a read-only state dir) is logged and skipped: the
        manifest itself then cannot be written either, or is only read.

        Raises:
            RunLockedError: another live process uses this job's manifest.
        """
        with self._lock:
            if job_id in self._held:
                return
        try:
            self.ensure_directory()
            lock = run_lock(
                self.lock_path(job_id),
                what,
                f"bulk job {job_id}",
                "wait for it to end; its results can be read once it has",
            )
        except OSError as exc:
            logger.warning(
                "bulk job %s: cannot take its manifest lock in %s (%s)", job_id, self.directory, exc
            )
            return
        with self._lock:
            self._held[job_id] = lock

    def let_go(self, job_id: str) -> None:
        """Give up the lock of ``job_id`` held by this process, if any (the manifest stays)."""
        with self._lock:
            lock = self._held.pop(job_id, None)
        if lock is not None:
            lock.release()

    def write(self, manifest: JobManifest) -> Path:
        """Write the manifest atomically (temporary file, fsync, rename); returns its path."""
        self.ensure_directory()
        target = self.manifest_path(manifest.job_id)
        fd, tmp = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(manifest.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def read(self, job_id: str) -> JobManifest | None:
        """The manifest of ``job_id`` for this org, or None (absent, unreadable or another org's)."""
        path = self.manifest_path(job_id)
        try:
            manifest = JobManifest.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            logger.warning("ignoring the bulk job manifest %s: %s", path, exc)
            return None
        if manifest.job_id != job_id or manifest.org != self.org:
            logger.info("the manifest %s belongs to another org (%s)", path, manifest.org)
            return None
        return manifest

    def forget(self, job_id: str) -> bool:
        """Remove the manifest and kept spool of ``job_id``, drop its lock; True if anything was removed."""
        removed = False
        for path in (self.manifest_path(job_id), self.spool_path(job_id)):
            try:
                path.unlink()
                removed = True
            except FileNotFoundError:
                pass
        self.let_go(job_id)
        with self._lock:
            for directory in sorted(self._created, key=lambda p: len(p.parts), reverse=True):
                try:
                    directory.rmdir()  # only when empty
                except OSError:
                    break
                self._created.remove(directory)
        return removed

    @staticmethod
    def problem(manifest: JobManifest, info: JobInfo) -> str | None:
        """Why ``manifest`` cannot number the rows of the job ``info`` describes (None: it can)."""
        if manifest.object.lower() != info.object.lower() or manifest.operation != info.operation.value:
            done = f"{info.operation.value} of {info.object}"
            return f"job {info.id} is a {done}, the manifest describes another"
        if manifest.created_date and info.created_date and manifest.created_date != info.created_date:
            return f"job {info.id} was created at {info.created_date}, not when the manifest was written"
        what = "input file" if manifest.input_kind == FILE_INPUT else "kept spool"
        try:
            stat = os.stat(manifest.path)
        except OSError:
            return f"the {what} {manifest.path} is gone"
        if stat.st_size != manifest.size or stat.st_mtime_ns != manifest.mtime_ns:
            return f"the {what} {manifest.path} changed after the upload (size or modification time)"
        return None


def _safe(job_id: str) -> str:
    if not job_id or not all(c.isalnum() or c in "-_" for c in job_id):
        raise ValueError(f"not a bulk job id: {job_id!r}")
    return job_id


def stat_file(path: Path) -> tuple[int, int]:
    """``(size, mtime_ns)`` of ``path``."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def write_job_manifest(
    store: ManifestStore,
    prep: PreparedInput,
    info: JobInfo,
    chunk: Chunk,
    sobject: str,
    operation: str,
    external_id_field: str | None,
) -> Path:
    """Hold and write the manifest of job ``info`` (``chunk`` of the input ``prep``) before its upload;
    returns the file to upload (for record inputs, the job's spool moved next to the manifest)."""
    store.ensure_directory()
    store.hold(info.id, f"bulk {operation} of {sobject}")
    if prep.is_file:
        source, kind, start, end = prep.layout.path.resolve(), FILE_INPUT, chunk.start, chunk.end
        upload = chunk.path
    else:
        source = upload = store.spool_path(info.id)
        try:
            os.replace(chunk.path, source)
        except OSError:  # another file system
            shutil.move(str(chunk.path), str(source))
        kind, start, end = SPOOL_INPUT, len(prep.header), chunk.bytes
    size, mtime_ns = stat_file(source)
    store.write(
        JobManifest(
            job_id=info.id,
            org=store.org,
            object=sobject,
            operation=operation,
            external_id_field=external_id_field,
            created_date=info.created_date,
            input_kind=kind,
            path=str(source),
            size=size,
            mtime_ns=mtime_ns,
            start=start,
            end=end,
            first_row=chunk.first_row,
            rows=chunk.rows,
            delimiter=prep.delimiter.value,
            line_ending=prep.line_ending.value,
            header=tuple(prep.columns),
            columns=tuple(prep.columns),
        )
    )
    return upload
