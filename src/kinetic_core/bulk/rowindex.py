"""The on-disk index that maps result rows back to input row numbers when the merge cannot.

Salesforce echoes each row's original columns in the result files but promises
no order. :mod:`.rowmap` first merges a job's result files with its input (no
index); a job whose rows came back in another order, re-quoted or incomplete is
matched here instead, one SQLite file per job: its rows are parsed back from
the byte range of the input they were uploaded from (:func:`add_input_range`) and
recorded as ``(part, key, row_number)`` where ``key`` is a digest of its cell values
(:func:`kinetic_core.bulk.codec.row_key`). Result rows are
recorded with the same key computed from the columns they echo. Matching pairs
the k-th result row with a given key to the k-th input row with that key
(duplicates are consumed in input order). A result row whose key matches
nothing (a value the server normalised) takes the lowest unmatched row of its
job; input rows that no result file mentions become *unprocessed*. So every
input row ends in exactly one outcome: ``successful + failed + unprocessed == total``.

Everything lives in SQLite, so memory stays flat whatever the load size.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence, Set
from pathlib import Path
from typing import Any

from kinetic_core.bulk.codec import row_key
from kinetic_core.bulk.csvfile import CsvLayout, parse_range

logger = logging.getLogger(__name__)

SUCCESS, FAILED, UNPROCESSED = 0, 1, 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS input (part INTEGER NOT NULL, key BLOB NOT NULL, row INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS result (
    part INTEGER NOT NULL, kind INTEGER NOT NULL, seq INTEGER NOT NULL, job_id TEXT, key BLOB,
    sf_id TEXT, created INTEGER, code TEXT, message TEXT, fields TEXT, data TEXT, row INTEGER);
CREATE TABLE IF NOT EXISTS jobs (part INTEGER PRIMARY KEY, job_id TEXT, state TEXT, error TEXT);
"""

ResultRow = tuple[int, bytes | None, str | None, bool | None, str | None, str | None, str | None, str]
"""(seq, key, sf_id, created, code, message, fields, data): ``data`` is the cells packed by
:func:`~kinetic_core.bulk.codec.pack_cells`."""


class RowIndex:
    """SQLite-backed row index and result store for one load.

    Example:
        >>> index = RowIndex(Path("load.sqlite"))   # doctest: +SKIP
        >>> index.add_many([(1, b"k1", 1)])         # doctest: +SKIP
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=OFF")
        self._conn.execute("PRAGMA synchronous=OFF")
        self._conn.execute("PRAGMA cache_size=-32768")  # 32 MB: sorts of a million rows stay fast
        self._conn.execute("PRAGMA temp_store=FILE")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection (the file stays)."""
        with self._lock:
            self._conn.close()

    def add_many(self, rows: Sequence[tuple[int, bytes, int]]) -> None:
        """Record input rows ``(part, key, row_number)``."""
        if not rows:
            return
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT INTO input VALUES (?, ?, ?)", rows)
            self._conn.execute("COMMIT")

    def set_job(self, part: int, job_id: str | None, state: str | None, error: str | None) -> None:
        """Record the job that carried ``part`` and how it ended."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?)", (part, job_id, state, error)
            )

    def add_results(self, part: int, job_id: str, kind: int, rows: Iterable[ResultRow]) -> int:
        """Record the rows of one result file; returns how many."""
        count = 0
        batch: list[tuple[Any, ...]] = []
        with self._lock:
            self._conn.execute("BEGIN")
            for seq, key, sf_id, created, code, message, fields, data in rows:
                flag = None if created is None else int(created)
                batch.append((part, kind, seq, job_id, key, sf_id, flag, code, message, fields, data))
                count += 1
                if len(batch) >= 10_000:
                    self._insert(batch)
                    batch = []
            self._insert(batch)
            self._conn.execute("COMMIT")
        return count

    def _insert(self, batch: list[tuple[Any, ...]]) -> None:
        self._conn.executemany(
            "INSERT INTO result (part, kind, seq, job_id, key, sf_id, created, code, message, fields, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )

    def resolve(self) -> dict[str, int]:
        """Assign input row numbers to result rows and add the missing rows; return the totals."""
        with self._lock:
            conn = self._conn
            conn.executescript(
                """
                BEGIN;
                CREATE INDEX IF NOT EXISTS input_key ON input (part, key, row);
                UPDATE result SET row = (
                    SELECT i.row FROM input i WHERE i.part = result.part AND i.key = result.key
                    ORDER BY i.row LIMIT 1)
                    WHERE key IS NOT NULL;
                CREATE INDEX IF NOT EXISTS result_part_row ON result (part, row);
                COMMIT;
                """
            )
            conn.execute("BEGIN")
            self._pair_duplicates(conn)
            self._assign_unmatched(conn)
            conn.execute(
                """
                INSERT INTO result
                    (part, kind, seq, job_id, key, sf_id, created, code, message, fields, data, row)
                SELECT i.part, 2, -1, j.job_id, i.key, NULL, NULL,
                    CASE WHEN j.state IN ('Failed', 'Aborted') THEN 'JOB_' || upper(j.state)
                         WHEN j.job_id IS NULL THEN 'NOT_SENT' ELSE 'NOT_IN_RESULTS' END,
                    COALESCE(j.error, CASE WHEN j.job_id IS NULL THEN 'the row was never uploaded'
                        ELSE 'the row is missing from every result file of job ' || j.job_id END),
                    NULL, NULL, i.row
                FROM input i LEFT JOIN jobs j ON j.part = i.part
                WHERE NOT EXISTS (SELECT 1 FROM result r WHERE r.part = i.part AND r.row = i.row)
                """
            )
            conn.execute("CREATE INDEX IF NOT EXISTS result_kind_row ON result (kind, row)")
            conn.execute("COMMIT")
            return self._totals(conn)

    def _pair_duplicates(self, conn: sqlite3.Connection) -> None:
        """Rows with the same content: the k-th result row takes the k-th input row (rare, so in Python)."""
        groups = conn.execute(
            "SELECT DISTINCT r.part, r.key FROM result r JOIN (SELECT part, row FROM result"
            " WHERE row IS NOT NULL GROUP BY part, row HAVING count(*) > 1) d"
            " ON d.part = r.part AND d.row = r.row"
        ).fetchall()
        if not groups:
            return
        conn.execute("CREATE INDEX IF NOT EXISTS result_key ON result (part, key)")
        for part, key in groups:
            rows = [
                r
                for (r,) in conn.execute(
                    "SELECT row FROM input WHERE part = ? AND key = ? ORDER BY row", (part, key)
                )
            ]
            rids = [
                r
                for (r,) in conn.execute(
                    "SELECT rowid FROM result WHERE part = ? AND key = ? ORDER BY kind, seq", (part, key)
                )
            ]
            for position, rid in enumerate(rids):
                row = rows[position] if position < len(rows) else None
                conn.execute("UPDATE result SET row = ? WHERE rowid = ?", (row, rid))

    def _assign_unmatched(self, conn: sqlite3.Connection) -> None:
        unmatched = conn.execute(
            "SELECT part, rowid FROM result WHERE row IS NULL ORDER BY part, kind, seq"
        ).fetchall()
        if not unmatched:
            return
        by_part: dict[int, list[int]] = {}
        for part, rid in unmatched:
            by_part.setdefault(part, []).append(rid)
        for part, rids in by_part.items():
            free = conn.execute(
                "SELECT row FROM input i WHERE part = ? AND NOT EXISTS"
                " (SELECT 1 FROM result r WHERE r.part = i.part AND r.row = i.row) ORDER BY row LIMIT ?",
                (part, len(rids)),
            ).fetchall()
            logger.warning(
                "%d result row(s) of part %d did not match their input by content; assigned by position",
                len(rids),
                part,
            )
            for rid, (row,) in zip(rids, free, strict=False):
                conn.execute("UPDATE result SET row = ? WHERE rowid = ?", (row, rid))
            if len(rids) > len(free):
                logger.warning("%d result row(s) of part %d match no input row", len(rids) - len(free), part)

    def _totals(self, conn: sqlite3.Connection) -> dict[str, int]:
        counts = dict(
            conn.execute("SELECT kind, count(*) FROM result WHERE row IS NOT NULL GROUP BY kind").fetchall()
        )
        (total,) = conn.execute("SELECT count(*) FROM input").fetchone()
        return {
            "total": int(total),
            "successful": int(counts.get(SUCCESS, 0)),
            "failed": int(counts.get(FAILED, 0)),
            "unprocessed": int(counts.get(UNPROCESSED, 0)),
        }


def add_input_range(
    index: RowIndex,
    part: int,
    layout: CsvLayout,
    start: int,
    end: int,
    first_row: int,
    skip: Set[int] = frozenset(),
) -> int:
    """Parse the rows uploaded as ``part`` (bytes ``start``..``end`` of the input) into ``index``.

    Returns the number of rows read; they are numbered from ``first_row``. Rows numbered in
    ``skip`` (already matched elsewhere) are left out.
    """
    batch: list[tuple[int, bytes, int]] = []
    row = first_row
    for cells in parse_range(layout, start, end):
        if row not in skip:
            batch.append((part, row_key(cells), row))
        row += 1
        if len(batch) >= 10_000:
            index.add_many(batch)
            batch = []
    index.add_many(batch)
    return row - first_row


def iter_results(path: Path, kind: int) -> Iterator[tuple[Any, ...]]:
    """Rows of one kind, in input order: (row, job_id, sf_id, created, code, message, fields, data).

    Opens its own connection, closed when the iteration ends or the generator is discarded.
    """
    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        sql = (
            "SELECT row, job_id, sf_id, created, code, message, fields, data FROM result"
            " WHERE kind = ? AND row IS NOT NULL ORDER BY row"
        )
        yield from conn.execute(sql, (kind,))
    finally:
        conn.close()
