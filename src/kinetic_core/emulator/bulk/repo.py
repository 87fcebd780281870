"""Job persistence: one ``bulk_job`` table in the store's SQLite file.

Keeping jobs in the store's database lets a batch's record writes and the job's
progress counters commit in one transaction, so a restart never applies a batch
twice. Every statement goes through ``Store.transaction()`` / ``Store.read()``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from kinetic_core.emulator.bulk.models import (
    ColumnDelimiter,
    Job,
    JobKind,
    JobState,
    LineEnding,
    Operation,
)
from kinetic_core.emulator.bulk.ports import StoreLike
from kinetic_core.emulator.store.ids import make_id

_DDL = """
CREATE TABLE IF NOT EXISTS bulk_job (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    state TEXT NOT NULL,
    modstamp TEXT NOT NULL,
    processed INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0,
    processing_ms INTEGER NOT NULL DEFAULT 0,
    error_message TEXT,
    rows_done INTEGER NOT NULL DEFAULT 0,
    batches_done INTEGER NOT NULL DEFAULT 0,
    parts INTEGER NOT NULL DEFAULT 0,
    upload_bytes INTEGER NOT NULL DEFAULT 0,
    finalized INTEGER NOT NULL DEFAULT 0
)
"""

_COLUMNS = (
    "seq",
    "id",
    "kind",
    "config",
    "state",
    "modstamp",
    "processed",
    "failed",
    "retries",
    "processing_ms",
    "error_message",
    "rows_done",
    "batches_done",
    "parts",
    "upload_bytes",
    "finalized",
)
_MUTABLE = frozenset(_COLUMNS[4:])
"""Columns an update may set: all but seq, id, kind and config."""

JOB_KEY_PREFIX = "750"


class JobRepo:
    """CRUD for bulk jobs in the store's database.

    Example:
        >>> repo = JobRepo(store)  # doctest: +SKIP
        >>> repo.get("7508c0000000001AAA")  # doctest: +SKIP
    """

    def __init__(self, store: StoreLike) -> None:
        self._store = store
        with store.transaction(), store.read() as conn:
            conn.execute(_DDL)

    def create(self, kind: JobKind, config: dict[str, Any], state: JobState, now: datetime) -> Job:
        """Insert a job and return it with its new 18-char ``750`` id."""
        with self._store.transaction(), self._store.read() as conn:
            cur = conn.execute(
                "INSERT INTO bulk_job (kind, config, state, modstamp) VALUES (?, ?, ?, ?)",
                (kind.value, json.dumps(config), state.value, now.isoformat()),
            )
            seq = int(cur.lastrowid or 0)
            job_id = make_id(JOB_KEY_PREFIX, seq)
            conn.execute("UPDATE bulk_job SET id = ? WHERE seq = ?", (job_id, seq))
            row = conn.execute(f"SELECT {_SELECT} FROM bulk_job WHERE seq = ?", (seq,)).fetchone()
        return _to_job(row)

    def get(self, job_id: str) -> Job | None:
        with self._store.read() as conn:
            row = conn.execute(f"SELECT {_SELECT} FROM bulk_job WHERE id = ?", (job_id,)).fetchone()
        return _to_job(row) if row is not None else None

    def update(self, job_id: str, **values: Any) -> None:
        """Set mutable columns (``state`` as JobState or str, ``modstamp`` as datetime)."""
        bad = set(values) - _MUTABLE
        if bad:
            raise ValueError(f"not updatable: {sorted(bad)}")
        cols = []
        params: list[Any] = []
        for key, value in values.items():
            cols.append(f"{key} = ?")
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, bool):
                value = int(value)
            elif isinstance(value, JobState):
                value = value.value
            params.append(value)
        params.append(job_id)
        with self._store.transaction(), self._store.read() as conn:
            conn.execute(f"UPDATE bulk_job SET {', '.join(cols)} WHERE id = ?", params)

    def delete(self, job_id: str) -> None:
        with self._store.transaction(), self._store.read() as conn:
            conn.execute("DELETE FROM bulk_job WHERE id = ?", (job_id,))

    def page(self, kind: JobKind, offset: int, limit: int) -> list[Job]:
        with self._store.read() as conn:
            rows = conn.execute(
                f"SELECT {_SELECT} FROM bulk_job WHERE kind = ? AND id IS NOT NULL"
                " ORDER BY seq LIMIT ? OFFSET ?",
                (kind.value, limit, offset),
            ).fetchall()
        return [_to_job(r) for r in rows]

    def pending(self) -> list[Job]:
        """Jobs the worker must look at: queued, running, or terminal but not yet finalised."""
        with self._store.read() as conn:
            rows = conn.execute(
                f"SELECT {_SELECT} FROM bulk_job WHERE id IS NOT NULL"
                " AND (state IN (?, ?) OR (finalized = 0 AND state IN (?, ?, ?)))"
                " ORDER BY seq",
                (
                    JobState.UPLOAD_COMPLETE.value,
                    JobState.IN_PROGRESS.value,
                    JobState.JOB_COMPLETE.value,
                    JobState.FAILED.value,
                    JobState.ABORTED.value,
                ),
            ).fetchall()
        return [_to_job(r) for r in rows]


_SELECT = ", ".join(_COLUMNS)


def _to_job(row: Any) -> Job:
    values = [row[c] for c in _COLUMNS] if isinstance(row, dict) else list(row)
    rec = dict(zip(_COLUMNS, values, strict=True))
    cfg = json.loads(rec["config"])
    return Job(
        seq=rec["seq"],
        id=rec["id"],
        kind=JobKind(rec["kind"]),
        operation=Operation(cfg["operation"]),
        object=cfg["object"],
        created_by=cfg["createdById"],
        created_date=datetime.fromisoformat(cfg["createdDate"]),
        modstamp=datetime.fromisoformat(rec["modstamp"]),
        state=JobState(rec["state"]),
        api_version=cfg["apiVersion"],
        column_delimiter=ColumnDelimiter(cfg["columnDelimiter"]),
        line_ending=LineEnding(cfg["lineEnding"]),
        external_id_field=cfg.get("externalIdFieldName"),
        assignment_rule_id=cfg.get("assignmentRuleId"),
        query=cfg.get("query"),
        processed=rec["processed"],
        failed=rec["failed"],
        retries=rec["retries"],
        processing_ms=rec["processing_ms"],
        error_message=rec["error_message"],
        rows_done=rec["rows_done"],
        batches_done=rec["batches_done"],
        parts=rec["parts"],
        upload_bytes=rec["upload_bytes"],
        finalized=bool(rec["finalized"]),
    )
