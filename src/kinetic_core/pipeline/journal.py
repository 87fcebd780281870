"""The run journal: a SQLite file that makes a pipeline run resumable after a crash or ``kill -9``.

Write-ahead discipline, one committed transaction per step:

1. ``begin_batch``: the batch (its source row range and the strategy) is recorded *before* anything
   is sent;
2. ``add_job``: every Bulk job id is recorded as soon as the job exists, before its data is uploaded;
3. ``complete_batch``: the outcome counts and every failed row are recorded together with the batch's
   ``done`` state.

At any moment at most one batch is ``sending``. A resumed run skips the rows of ``done`` batches and
settles the ``sending`` one (see :mod:`kinetic_core.pipeline.recover`). WAL mode: a committed step
survives the process being killed.

One run at a time: :meth:`Journal.open` takes an advisory lock on ``<journal>.lock`` (see
:mod:`kinetic_core.lockfile`) before it reads anything and holds it until :meth:`Journal.close`.
A second run of the same journal is refused at once with ``RunLockedError`` naming the holder
(pid, host, start time); a lock left by a process that died is free again and taken over.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kinetic_core.errors import ConfigError
from kinetic_core.lockfile import LockFile
from kinetic_core.runfiles import run_lock

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    batch_no INTEGER PRIMARY KEY, first_row INTEGER NOT NULL, last_row INTEGER NOT NULL,
    row_count INTEGER NOT NULL, strategy TEXT NOT NULL, state TEXT NOT NULL,
    successful INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
    unprocessed INTEGER NOT NULL DEFAULT 0, in_doubt INTEGER NOT NULL DEFAULT 0,
    recovered INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, batch_no INTEGER NOT NULL, part INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
    row_number INTEGER NOT NULL, batch_no INTEGER NOT NULL, status TEXT NOT NULL, error_code TEXT,
    error_message TEXT, error_fields TEXT, record TEXT);
CREATE INDEX IF NOT EXISTS failures_row ON failures (row_number);
CREATE INDEX IF NOT EXISTS failures_batch ON failures (batch_no);
"""

SENDING = "sending"
DONE = "done"


@dataclass(frozen=True)
class FailureRow:
    """One row that did not load: failed, unprocessed, or in doubt.

    Attributes:
        row_number: the source row number.
        status: ``failed``, ``unprocessed`` or ``in_doubt``.
        error_code / error_message / error_fields: why (``MAPPING_ERROR``/``INVALID_ROW`` for rows that
            never reached Salesforce).
        record: the source record (JSON-ready), when there is one.
    """

    row_number: int
    status: str
    error_code: str | None
    error_message: str | None
    error_fields: tuple[str, ...] = ()
    record: dict[str, Any] | None = None


@dataclass(frozen=True)
class BatchRecord:
    """A batch as the journal knows it."""

    batch_no: int
    first_row: int
    last_row: int
    row_count: int
    strategy: str
    state: str


@dataclass(frozen=True)
class BatchCounts:
    """Outcome counts of one batch."""

    successful: int = 0
    failed: int = 0
    unprocessed: int = 0
    in_doubt: int = 0


class Journal:
    """One pipeline's journal file.

    Args:
        path: the SQLite file (created with its parent directory).
        checkpoint: called with a step name after each commit (``batch_started``, ``job_created``,
            ``batch_done``); tests use it to stop the process at a precise point.

    Example:
        >>> journal = Journal(Path("contacts.journal.sqlite"))   # doctest: +SKIP
        >>> journal.open({"object": "Contact"}, resume=False)    # doctest: +SKIP
        False
    """

    def __init__(self, path: Path, *, checkpoint: Any = None, what: str = "") -> None:
        self.path = Path(path)
        self._checkpoint = checkpoint
        self._what = what or f"a run of {self.path.name}"
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._run_lock: LockFile | None = None

    @property
    def lock_path(self) -> Path:
        """The lock file held while a run has the journal open."""
        return Path(f"{self.path}.lock")

    # ------------------------------------------------------------------ lifecycle
    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        return conn

    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._conn is not None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the journal is not open")
        return self._conn

    def open(self, fingerprint: dict[str, Any], *, resume: bool) -> bool:
        """Open for a run; True when it continues an earlier, unfinished run.

        Without ``resume`` an unfinished earlier run is an error (loading again would duplicate
        rows); a finished one is replaced by a fresh journal. With ``resume`` the fingerprint
        (object, operation, source, mapping) must match the earlier run's.

        Raises:
            RunLockedError: another run (alive) has this journal open.
            ConfigError: see above.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._run_lock = run_lock(
            self.lock_path,
            self._what,
            f"the journal {self.path}",
            "nothing was sent; wait for that run to end (a lock left by a process that died is taken over)",
        )
        try:
            return self._open(fingerprint, resume=resume)
        except BaseException:
            self.close()
            raise

    def _open(self, fingerprint: dict[str, Any], *, resume: bool) -> bool:
        previous = self._read_meta() if self.path.exists() else {}
        stored = previous.get("fingerprint")
        status = previous.get("status")
        if stored is not None and status != "finished":
            if not resume:
                raise ConfigError(
                    f"an earlier run recorded in {self.path} did not finish: pass --resume to continue it "
                    "(or delete that file to start over, which may load rows twice)"
                )
            if json.loads(stored) != json.loads(json.dumps(fingerprint, sort_keys=True, default=str)):
                raise ConfigError(
                    f"{self.path} belongs to a run with a different object, operation, source or mapping; "
                    "delete it to start over"
                )
            self._conn = self._connect()
            self._set_meta("status", "running")
            return True
        same = stored is not None and json.loads(stored) == json.loads(
            json.dumps(fingerprint, sort_keys=True, default=str)
        )
        if resume and status == "finished" and same:
            self._conn = self._connect()
            return True
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._conn = self._connect()
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)",
                (json.dumps(fingerprint, sort_keys=True, default=str),),
            )
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('status', 'running')")
            self.conn.execute("COMMIT")
        return False

    def _read_meta(self) -> dict[str, str]:
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        except sqlite3.Error:
            return {}
        try:
            return dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error:
            return {}
        finally:
            conn.close()

    def _set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        """Close the connection (the file stays) and give up the run's lock."""
        with self._lock:
            try:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None
            finally:
                if self._run_lock is not None:
                    self._run_lock.release()
                    self._run_lock = None

    def finish(self) -> None:
        """Mark the run finished (a later run without --resume starts afresh)."""
        self._set_meta("status", "finished")

    @property
    def finished(self) -> bool:
        """True when the run was marked finished."""
        with self._lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'status'").fetchone()
        return bool(row and row[0] == "finished")

    def route(self) -> dict[str, Any] | None:
        """The API decision recorded for this run (``strategy``, ``reason``), or None."""
        with self._lock:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'route'").fetchone()
        value = json.loads(row[0]) if row else None
        return value if isinstance(value, dict) else None

    def record_route(self, route: dict[str, Any]) -> None:
        """Record the run's API decision before the first batch (a resumed run reuses it)."""
        self._set_meta("route", json.dumps(route, sort_keys=True))

    def _step(self, name: str) -> None:
        if self._checkpoint is not None:
            self._checkpoint(name)

    # ------------------------------------------------------------------ batches
    def done_through(self) -> int:
        """The last source row number covered by a batch that is done or in flight (0: none)."""
        with self._lock:
            row = self.conn.execute("SELECT MAX(last_row) FROM batches").fetchone()
        return int(row[0] or 0)

    def inflight(self) -> BatchRecord | None:
        """The batch that was being sent when the run stopped, if any."""
        with self._lock:
            row = self.conn.execute(
                "SELECT batch_no, first_row, last_row, row_count, strategy, state FROM batches "
                "WHERE state = ? ORDER BY batch_no LIMIT 1",
                (SENDING,),
            ).fetchone()
        return BatchRecord(*row) if row else None

    def begin_batch(self, first_row: int, last_row: int, row_count: int, strategy: str) -> int:
        """Record a batch about to be sent; returns its number."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            cur = self.conn.execute(
                "INSERT INTO batches (first_row, last_row, row_count, strategy, state) "
                "VALUES (?, ?, ?, ?, ?)",
                (first_row, last_row, row_count, strategy, SENDING),
            )
            self.conn.execute("COMMIT")
            batch_no = int(cur.lastrowid or 0)
        self._step("batch_started")
        return batch_no

    def abandon_batch(self, batch_no: int) -> None:
        """Forget a batch that provably reached nothing (its call was refused as a whole)."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("DELETE FROM jobs WHERE batch_no = ?", (batch_no,))
            self.conn.execute("DELETE FROM batches WHERE batch_no = ?", (batch_no,))
            self.conn.execute("COMMIT")

    def add_job(self, batch_no: int, job_id: str, part: int) -> None:
        """Record a Bulk job created for a batch (called before its data is uploaded)."""
        with self._lock:
            self.conn.execute("INSERT OR IGNORE INTO jobs VALUES (?, ?, ?)", (job_id, batch_no, part))
        self._step("job_created")

    def jobs(self, batch_no: int | None = None) -> list[str]:
        """Job ids of one batch (or of the whole run), in creation order."""
        with self._lock:
            if batch_no is None:
                rows = self.conn.execute("SELECT job_id FROM jobs ORDER BY rowid").fetchall()
            else:
                rows = self.conn.execute(
                    "SELECT job_id FROM jobs WHERE batch_no = ? ORDER BY rowid", (batch_no,)
                ).fetchall()
        return [str(r[0]) for r in rows]

    def complete_batch(
        self, batch_no: int, counts: BatchCounts, failures: Sequence[FailureRow], *, recovered: bool = False
    ) -> None:
        """Record a batch's outcome and its failed rows in one transaction."""
        rows = [
            (
                f.row_number,
                batch_no,
                f.status,
                f.error_code,
                f.error_message,
                ",".join(f.error_fields),
                json.dumps(f.record, default=str) if f.record is not None else None,
            )
            for f in failures
        ]
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("DELETE FROM failures WHERE batch_no = ?", (batch_no,))
            self.conn.executemany("INSERT INTO failures VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            self.conn.execute(
                "UPDATE batches SET state = ?, successful = ?, failed = ?, unprocessed = ?, in_doubt = ?, "
                "recovered = ? WHERE batch_no = ?",
                (
                    DONE,
                    counts.successful,
                    counts.failed,
                    counts.unprocessed,
                    counts.in_doubt,
                    int(recovered),
                    batch_no,
                ),
            )
            self.conn.execute("COMMIT")
        self._step("batch_done")

    # ------------------------------------------------------------------ reading
    def totals(self) -> dict[str, int]:
        """Totals over the done batches: rows, successful, failed, unprocessed, in_doubt, batches."""
        with self._lock:
            row = self.conn.execute(
                "SELECT COUNT(*), SUM(row_count), SUM(successful), SUM(failed), SUM(unprocessed), "
                "SUM(in_doubt), SUM(recovered) FROM batches WHERE state = ?",
                (DONE,),
            ).fetchone()
        keys = ("batches", "rows", "successful", "failed", "unprocessed", "in_doubt", "recovered")
        return {k: int(v or 0) for k, v in zip(keys, row, strict=True)}

    def rows_by_strategy(self) -> dict[str, int]:
        """Rows of done batches by strategy."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT strategy, SUM(row_count) FROM batches WHERE state = ? GROUP BY strategy", (DONE,)
            ).fetchall()
        return {str(s): int(n or 0) for s, n in rows}

    def error_counts(self) -> dict[str, int]:
        """Failed/unprocessed/in-doubt rows by error code, most frequent first."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT COALESCE(error_code, 'UNKNOWN'), COUNT(*) FROM failures GROUP BY 1 ORDER BY 2 DESC, 1"
            ).fetchall()
        return {str(code): int(n) for code, n in rows}

    def iter_failures(self) -> Iterator[FailureRow]:
        """Every recorded failure in source row order (read in pages, not all at once)."""
        last = (-1, -1)
        while True:
            with self._lock:
                page = self.conn.execute(
                    "SELECT rowid, row_number, status, error_code, error_message, error_fields, record "
                    "FROM failures WHERE (row_number, rowid) > (?, ?) ORDER BY row_number, rowid LIMIT 1000",
                    last,
                ).fetchall()
            if not page:
                return
            for rowid, number, status, code, message, fields, record in page:
                last = (number, rowid)
                yield FailureRow(
                    int(number),
                    str(status),
                    code,
                    message,
                    tuple(f for f in (fields or "").split(",") if f),
                    json.loads(record) if record else None,
                )
