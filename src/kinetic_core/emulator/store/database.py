"""SQLite plumbing of the store: connection settings, tables and migrations, sequences, counters.

Besides one table per sObject (see ``schema``), the file holds three bookkeeping tables:
``_kc_meta`` (key/value: org id, schema version), ``_kc_seq`` (next record number per key prefix and
next auto-number per field) and ``_kc_counters`` (per-minute buckets of rolling counters).

Example:
    >>> import sqlite3
    >>> from kinetic_core.emulator.store.custom import build_schema
    >>> conn = sqlite3.connect(":memory:", isolation_level=None)
    >>> ensure_tables(conn, build_schema())
    >>> conn.execute("SELECT count(*) FROM sobj_account").fetchone()[0]
    0
"""

from __future__ import annotations

import logging
import sqlite3
from decimal import Context, Decimal
from pathlib import Path
from typing import Any, cast

from kinetic_core.emulator.private import private_dir, private_file
from kinetic_core.emulator.store import numbers
from kinetic_core.emulator.store.fieldkit import AUDIT_FIELDS
from kinetic_core.emulator.store.schema import FieldDef, FieldType, ObjectDef, Schema

log = logging.getLogger(__name__)

_BOOKKEEPING = (
    "CREATE TABLE IF NOT EXISTS _kc_meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE IF NOT EXISTS _kc_seq (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS _kc_counters (name TEXT NOT NULL, minute INTEGER NOT NULL, "
    "n INTEGER NOT NULL, PRIMARY KEY (name, minute))",
)
WINDOW_MINUTES = 24 * 60
PAGE_SIZE = 16_384
WAL_CHECKPOINT_BYTES = 64 << 20


_SUM_CONTEXT = Context(prec=200)


class ExactSum:
    """SQLite aggregate ``kc_exact_sum``: the decimal sum of number values, in their stored form.

    Salesforce sums and averages the decimal values it stores, so ``SUM`` over ten 0.1 amounts is 1.0,
    not the 0.9999999999999999 of binary floating point. Each stored value is read as its exact decimal
    (a REAL as the shortest decimal that round-trips: the value the client sent) and summed exactly.

    Example:
        >>> conn = sqlite3.connect(":memory:")
        >>> register_functions(conn)
        >>> conn.execute("SELECT kc_exact_sum(x) FROM (SELECT 0.1 AS x UNION ALL SELECT 0.2)").fetchone()
        (0.3,)
    """

    def __init__(self) -> None:
        self.total = Decimal(0)
        self.count = 0

    def step(self, value: object) -> None:
        if isinstance(value, int | float | str):
            self.total = _SUM_CONTEXT.add(self.total, numbers.exact(value))
            self.count += 1

    def finalize(self) -> numbers.Stored | None:
        return numbers.stored_decimal(self.total) if self.count else None


class ExactAvg(ExactSum):
    """SQLite aggregate ``kc_exact_avg``: the decimal mean of number values; the nearest double when
    the mean has no finite decimal form (a third)."""

    def finalize(self) -> numbers.Stored | None:
        if not self.count:
            return None
        mean = self.total / self.count
        if _SUM_CONTEXT.multiply(mean, self.count) == self.total:
            return numbers.stored_decimal(mean)
        return float(mean)


class ExactMin:
    """SQLite aggregate ``kc_exact_min``: the smallest number value by its exact decimal value (SQLite's
    own ``MIN`` would put a decimal TEXT after every INTEGER and REAL)."""

    def __init__(self) -> None:
        self.best: numbers.Stored | None = None

    def before(self, value: numbers.Stored, best: numbers.Stored) -> bool:
        if type(value) is type(best) and not isinstance(value, str):
            return value < best  # type: ignore[operator]
        return numbers.exact(value) < numbers.exact(best)

    def step(self, value: object) -> None:
        if isinstance(value, int | float | str) and (self.best is None or self.before(value, self.best)):
            self.best = value

    def finalize(self) -> numbers.Stored | None:
        return self.best


class ExactMax(ExactMin):
    """SQLite aggregate ``kc_exact_max``: the largest number value by its exact decimal value."""

    def before(self, value: numbers.Stored, best: numbers.Stored) -> bool:
        return super().before(best, value)


def register_functions(conn: sqlite3.Connection) -> None:
    """Add the store's SQL functions (exact number aggregates, ``kc_numreal``, ``kc_numtie``)."""
    # typeshed wants finalize() -> int; SQLite takes any SQL value (here a number, TEXT or NULL).
    conn.create_aggregate("kc_exact_sum", 1, cast(Any, ExactSum))
    conn.create_aggregate("kc_exact_avg", 1, cast(Any, ExactAvg))
    conn.create_aggregate("kc_exact_min", 1, cast(Any, ExactMin))
    conn.create_aggregate("kc_exact_max", 1, cast(Any, ExactMax))
    conn.create_function("kc_numreal", 1, numbers.nearest, deterministic=True)
    conn.create_function("kc_numtie", 1, numbers.order_tie, deterministic=True)


def connect(path: Path) -> sqlite3.Connection:
    """Open (or create) the store file in WAL mode, autocommit (transactions are explicit savepoints)."""
    private_dir(path.parent)
    private_file(path)  # before SQLite opens it: its -wal/-shm files copy this mode
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, cached_statements=512)
    register_functions(conn)
    # A new file gets 16 KiB pages (an existing one keeps its own): a Bulk batch of 10,000 records then
    # dirties a quarter as many pages, and each commit writes (and each checkpoint copies) a quarter as
    # many WAL frames, for about a quarter less CPU per batch; a single-record write costs a few
    # microseconds more. Set before the WAL switch, which writes the file's header.
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-65536")
    # Checkpoint every ~64 MB of WAL rather than SQLite's 4 MB: a 10,000-row Bulk batch rewrites the same
    # index pages many times, and each checkpoint copies (and syncs) them once.
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_BYTES // page_size}")
    return conn


def quote(identifier: str) -> str:
    """Quote an SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def is_nocase(field: FieldDef) -> bool:
    """Text keys compare case-insensitively unless declared case-sensitive."""
    return field.is_text and not field.case_sensitive


def _column_ddl(field: FieldDef) -> str:
    ddl = f"{quote(field.column)} {field.sql_type}"
    if field.name == "Id":
        ddl += " PRIMARY KEY"
    elif field.name == "IsDeleted":
        ddl += " NOT NULL DEFAULT 0"
    return ddl


def _index_columns(obj: ObjectDef) -> list[FieldDef]:
    out = []
    for f in obj.fields:
        if f.name == "Id" or f.name in AUDIT_FIELDS:
            continue
        if (
            (f.type is FieldType.REFERENCE and f.child_relationship_name)
            or f.external_id
            or f.unique
            or f.id_lookup
        ):
            out.append(f)
    return out


def _sparse_references(obj: ObjectDef, indexed: list[FieldDef]) -> list[FieldDef]:
    """Lookups without a named child relationship (mostly empty): a partial index each."""
    skip = {f.name for f in indexed} | set(AUDIT_FIELDS) | {"OwnerId"}
    return [f for f in obj.fields if f.type is FieldType.REFERENCE and f.name not in skip]


def ensure_tables(conn: sqlite3.Connection, schema: Schema) -> None:
    """Create missing tables, add missing columns (``ALTER TABLE ADD COLUMN``) and indexes."""
    for ddl in _BOOKKEEPING:
        conn.execute(ddl)
    for obj in schema:
        table = quote(obj.table)
        existing = {row[1].lower() for row in conn.execute(f"PRAGMA table_info({table})")}
        if not existing:
            cols = ", ".join(_column_ddl(f) for f in obj.stored_fields)
            conn.execute(f"CREATE TABLE {table} ({cols})")
        else:
            for f in obj.stored_fields:
                if f.column not in existing:
                    log.info("adding column %s.%s", obj.name, f.name)
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {_column_ddl(f)}")
        indexed = _index_columns(obj)
        for f in indexed:
            collate = " COLLATE NOCASE" if is_nocase(f) else ""
            index = quote(f"ix_{obj.name.lower()}_{f.column}")
            conn.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({quote(f.column)}{collate})")
        for f in _sparse_references(obj, indexed):
            # Deleting a parent clears these lookups: without an index every batch scans the table.
            index = quote(f"ixn_{obj.name.lower()}_{f.column}")
            column = quote(f.column)
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {index} ON {table} ({column}) WHERE {column} IS NOT NULL"
            )


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM _kc_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT OR REPLACE INTO _kc_meta (key, value) VALUES (?, ?)", (key, value))


def load_sequences(conn: sqlite3.Connection) -> dict[str, int]:
    """Every persisted sequence (next value to hand out)."""
    return {str(name): int(value) for name, value in conn.execute("SELECT name, value FROM _kc_seq")}


def save_sequences(conn: sqlite3.Connection, sequences: dict[str, int], names: set[str]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO _kc_seq (name, value) VALUES (?, ?)",
        [(n, sequences[n]) for n in sorted(names)],
    )


def bump_counter(conn: sqlite3.Connection, name: str, minute: int, by: int) -> None:
    """Add ``by`` to the bucket of ``minute`` and drop buckets older than the window."""
    conn.execute(
        "INSERT INTO _kc_counters (name, minute, n) VALUES (?, ?, ?) "
        "ON CONFLICT(name, minute) DO UPDATE SET n = n + excluded.n",
        (name, minute, by),
    )
    conn.execute("DELETE FROM _kc_counters WHERE name = ? AND minute <= ?", (name, minute - WINDOW_MINUTES))


def sum_counter(conn: sqlite3.Connection, name: str, minute: int) -> int:
    row = conn.execute(
        "SELECT coalesce(sum(n), 0) FROM _kc_counters WHERE name = ? AND minute > ?",
        (name, minute - WINDOW_MINUTES),
    ).fetchone()
    return int(row[0])
