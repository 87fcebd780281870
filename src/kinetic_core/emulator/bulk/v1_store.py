"""Persistence of Bulk API 1.0 jobs and batches: two tables in the store's SQLite file, and files.

Files live under ``<bulk data dir>/v1/<batch id>/``: ``request`` (the batch as uploaded),
``input.csv`` (a JSON or XML batch as CSV), ``result`` (the batch result, or a query's records).
A result is written to ``result.tmp`` before the batch's transaction commits and renamed after;
on start, :meth:`V1Store.recover` finishes that rename for completed batches and puts batches
that were in progress back in the queue.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from kinetic_core.emulator.bulk.models import Operation
from kinetic_core.emulator.bulk.ports import StoreLike
from kinetic_core.emulator.bulk.v1_models import BatchState, ContentType, V1Batch, V1Job, V1JobState
from kinetic_core.emulator.store.ids import make_id

_DDL = (
    """CREATE TABLE IF NOT EXISTS bulk_v1_job (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT UNIQUE,
        config TEXT NOT NULL,
        state TEXT NOT NULL,
        created TEXT NOT NULL,
        modstamp TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS bulk_v1_batch (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT UNIQUE,
        job_id TEXT NOT NULL,
        state TEXT NOT NULL,
        state_message TEXT,
        created TEXT NOT NULL,
        modstamp TEXT NOT NULL,
        processed INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        processing_ms INTEGER NOT NULL DEFAULT 0,
        request_type TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS bulk_v1_batch_job ON bulk_v1_batch (job_id, seq)",
    "CREATE INDEX IF NOT EXISTS bulk_v1_batch_state ON bulk_v1_batch (state, seq)",
)
V1_POD = "8d"
"""[I] Bulk API 1.0 ids use their own pod so they never collide with Bulk API 2.0 job ids."""
_BATCH_COLUMNS = (
    "seq, id, job_id, state, state_message, created, modstamp, processed, failed, processing_ms, request_type"
)


def _batch(row: Any) -> V1Batch:
    return V1Batch(
        seq=row[0],
        id=row[1],
        job_id=row[2],
        state=BatchState(row[3]),
        state_message=row[4],
        created_date=datetime.fromisoformat(row[5]),
        modstamp=datetime.fromisoformat(row[6]),
        processed=row[7],
        failed=row[8],
        processing_ms=row[9],
        request_type=row[10],
    )


class V1Store:
    """Bulk API 1.0 jobs, batches and their files.

    Example:
        >>> V1Store(store, tmp_path / "v1").queued()  # doctest: +SKIP
        []
    """

    def __init__(self, store: StoreLike, root: Path) -> None:
        self._store = store
        self.root = root
        with store.transaction(), store.read() as conn:
            for ddl in _DDL:
                conn.execute(ddl)
        self.recover()

    # jobs --------------------------------------------------------------------------------------

    def create_job(self, config: dict[str, Any], now: datetime) -> V1Job:
        with self._store.transaction(), self._store.read() as conn:
            cur = conn.execute(
                "INSERT INTO bulk_v1_job (config, state, created, modstamp) VALUES (?, ?, ?, ?)",
                (json.dumps(config), V1JobState.OPEN.value, now.isoformat(), now.isoformat()),
            )
            seq = int(cur.lastrowid or 0)
            job_id = make_id("750", seq, pod=V1_POD)
            conn.execute("UPDATE bulk_v1_job SET id = ? WHERE seq = ?", (job_id, seq))
        job = self.get_job(job_id)
        assert job is not None
        return job

    def get_job(self, job_id: str) -> V1Job | None:
        with self._store.read() as conn:
            row = conn.execute(
                "SELECT seq, id, config, state, created, modstamp FROM bulk_v1_job WHERE id = ?", (job_id,)
            ).fetchone()
            if row is None:
                return None
            stats = conn.execute(
                "SELECT state, COUNT(*), SUM(processed), SUM(failed), SUM(processing_ms)"
                " FROM bulk_v1_batch WHERE job_id = ? GROUP BY state",
                (job_id,),
            ).fetchall()
        cfg = json.loads(row[2])
        counts: Counter[BatchState] = Counter()
        processed = failed = spent = 0
        for state, n, p, f, ms in stats:
            counts[BatchState(state)] += n
            processed, failed, spent = processed + (p or 0), failed + (f or 0), spent + (ms or 0)
        return V1Job(
            seq=row[0],
            id=row[1],
            operation=Operation(cfg["operation"]),
            object=cfg["object"],
            created_by=cfg["createdById"],
            created_date=datetime.fromisoformat(row[4]),
            modstamp=datetime.fromisoformat(row[5]),
            state=V1JobState(row[3]),
            content_type=ContentType(cfg["contentType"]),
            concurrency_mode=cfg["concurrencyMode"],
            api_version=cfg["apiVersion"],
            external_id_field=cfg.get("externalIdFieldName"),
            assignment_rule_id=cfg.get("assignmentRuleId"),
            pk_chunking=cfg.get("pkChunking"),
            batches=dict(counts),
            processed=processed,
            failed=failed,
            processing_ms=spent,
        )

    def set_job_state(self, job_id: str, state: V1JobState, now: datetime) -> None:
        with self._store.transaction(), self._store.read() as conn:
            conn.execute(
                "UPDATE bulk_v1_job SET state = ?, modstamp = ? WHERE id = ?",
                (state.value, now.isoformat(), job_id),
            )
            if state is V1JobState.ABORTED:
                conn.execute(
                    "UPDATE bulk_v1_batch SET state = ?, modstamp = ? WHERE job_id = ? AND state = ?",
                    (BatchState.NOT_PROCESSED.value, now.isoformat(), job_id, BatchState.QUEUED.value),
                )

    # batches -----------------------------------------------------------------------------------

    def add_batch(self, job_id: str, raw: bytes, media_type: str, now: datetime) -> V1Batch:
        with self._store.transaction(), self._store.read() as conn:
            cur = conn.execute(
                "INSERT INTO bulk_v1_batch (job_id, state, created, modstamp, request_type)"
                " VALUES (?, ?, ?, ?, ?)",
                (job_id, BatchState.QUEUED.value, now.isoformat(), now.isoformat(), media_type),
            )
            seq = int(cur.lastrowid or 0)
            batch_id = make_id("751", seq, pod=V1_POD)
            directory = self.root / batch_id
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "request").write_bytes(raw)
            conn.execute("UPDATE bulk_v1_batch SET id = ? WHERE seq = ?", (batch_id, seq))
        batch = self.get_batch(batch_id)
        assert batch is not None
        return batch

    def get_batch(self, batch_id: str) -> V1Batch | None:
        with self._store.read() as conn:
            row = conn.execute(
                f"SELECT {_BATCH_COLUMNS} FROM bulk_v1_batch WHERE id = ?", (batch_id,)
            ).fetchone()
        return _batch(row) if row is not None else None

    def batches(self, job_id: str) -> list[V1Batch]:
        with self._store.read() as conn:
            rows = conn.execute(
                f"SELECT {_BATCH_COLUMNS} FROM bulk_v1_batch WHERE job_id = ? ORDER BY seq", (job_id,)
            ).fetchall()
        return [_batch(r) for r in rows]

    def queued(self) -> list[V1Batch]:
        with self._store.read() as conn:
            rows = conn.execute(
                f"SELECT {_BATCH_COLUMNS} FROM bulk_v1_batch WHERE state = ? AND id IS NOT NULL ORDER BY seq",
                (BatchState.QUEUED.value,),
            ).fetchall()
        return [_batch(r) for r in rows]

    def start_batch(self, batch_id: str, now: datetime) -> bool:
        """``Queued`` -> ``InProgress``; False when the batch is no longer queued."""
        with self._store.transaction(), self._store.read() as conn:
            cur = conn.execute(
                "UPDATE bulk_v1_batch SET state = ?, modstamp = ? WHERE id = ? AND state = ?",
                (BatchState.IN_PROGRESS.value, now.isoformat(), batch_id, BatchState.QUEUED.value),
            )
            return cur.rowcount == 1

    def finish_batch(
        self,
        batch_id: str,
        state: BatchState,
        now: datetime,
        *,
        message: str | None = None,
        processed: int = 0,
        failed: int = 0,
        processing_ms: int = 0,
    ) -> None:
        with self._store.transaction(), self._store.read() as conn:
            conn.execute(
                "UPDATE bulk_v1_batch SET state = ?, state_message = ?, modstamp = ?, processed = ?,"
                " failed = ?, processing_ms = ? WHERE id = ?",
                (state.value, message, now.isoformat(), processed, failed, processing_ms, batch_id),
            )

    # files -------------------------------------------------------------------------------------

    def request_path(self, batch: V1Batch) -> Path:
        return self.root / batch.id / "request"

    def work_path(self, batch: V1Batch, name: str) -> Path:
        directory = self.root / batch.id
        directory.mkdir(parents=True, exist_ok=True)
        return directory / name

    def result_path(self, batch: V1Batch) -> Path | None:
        path = self.root / batch.id / "result"
        return path if path.exists() else None

    def commit_result(self, batch: V1Batch, temp: Path) -> None:
        if temp.exists():
            os.replace(temp, self.root / batch.id / "result")
        (self.root / batch.id / "input.csv").unlink(missing_ok=True)

    def recover(self) -> None:
        """After a restart: finish result renames of completed batches, requeue interrupted ones."""
        with self._store.transaction(), self._store.read() as conn:
            rows = conn.execute(
                "SELECT id, state FROM bulk_v1_batch WHERE state IN (?, ?)",
                (BatchState.IN_PROGRESS.value, BatchState.COMPLETED.value),
            ).fetchall()
            for batch_id, state in rows:
                temp = self.root / batch_id / "result.tmp"
                if state == BatchState.COMPLETED.value:
                    if temp.exists():
                        os.replace(temp, self.root / batch_id / "result")
                    continue
                temp.unlink(missing_ok=True)
                conn.execute(
                    "UPDATE bulk_v1_batch SET state = ? WHERE id = ?", (BatchState.QUEUED.value, batch_id)
                )

    def remove_files(self, batch_id: str) -> None:
        shutil.rmtree(self.root / batch_id, ignore_errors=True)
