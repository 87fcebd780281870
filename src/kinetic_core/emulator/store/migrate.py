"""Store files made by earlier versions: their REAL number columns rebuilt without type affinity.

Earlier versions declared number, currency and percent columns REAL, and SQLite turns every value
written to such a column into a double, so a value with more digits than a double holds (an 18-digit
amount) would lose them there. When a store opens, each table with such a column is rebuilt once, inside
the opening transaction (a failure leaves the file as it was): a copy declared as today's tables are
(``BLOB``, no affinity) receives every row with its rowid, each double that is a whole number below
2**53 becomes the INTEGER it is stored as today and every other value is copied as it is; the old table
is dropped, the copy takes its name and the table's indexes are created again from their own SQL.

Values already held as doubles stay the doubles they are: the digits they lost are gone. A table whose
definition holds anything the rebuild would not carry over (a collation, a constraint, a column type
this module did not write) is left as it is, with a warning.

Example:
    >>> import sqlite3
    >>> from kinetic_core.emulator.store.custom import build_schema
    >>> from kinetic_core.emulator.store.database import ensure_tables
    >>> conn = sqlite3.connect(":memory:", isolation_level=None)
    >>> ensure_tables(conn, build_schema())
    >>> rebuild_real_number_columns(conn, build_schema())  # this version's tables have nothing to rebuild
    []
"""

from __future__ import annotations

import logging
import re
import sqlite3

from kinetic_core.emulator.store.database import quote
from kinetic_core.emulator.store.schema import FieldType, Schema

log = logging.getLogger(__name__)

_NUMBER_TYPES = {FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT}
_WHOLE_DOUBLE = (
    "CASE WHEN typeof({c}) = 'real' AND abs({c}) < 9007199254740992.0 AND {c} = CAST({c} AS INTEGER) "
    "THEN CAST({c} AS INTEGER) ELSE {c} END"
)
"""A double that is a whole number below 2**53 as its INTEGER (``numbers.stored_text`` does the same)."""


def rebuild_real_number_columns(conn: sqlite3.Connection, schema: Schema) -> list[str]:
    """Rebuild every table of ``schema`` that has a REAL number column; the names of those rebuilt.

    Each table is rebuilt under its own savepoint: one that fails is rolled back, left as it was and
    named in a warning. Run it inside the transaction that opens the store.
    """
    rebuilt = []
    for obj in schema:
        numbers = {f.column.lower() for f in obj.stored_fields if f.type in _NUMBER_TYPES}
        if not numbers:
            continue
        columns = conn.execute(f"PRAGMA table_info({quote(obj.table)})").fetchall()
        real = {str(c[1]) for c in columns if str(c[1]).lower() in numbers and str(c[2]).upper() == "REAL"}
        if not real:
            continue
        conn.execute("SAVEPOINT kc_rebuild")
        try:
            done = _rebuild(conn, obj.table, columns, real)
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK TO kc_rebuild")
            log.warning(
                "store table %s keeps its REAL number columns: rebuilding it failed (%s)", obj.table, exc
            )
            done = False
        conn.execute("RELEASE kc_rebuild")
        if done:
            rebuilt.append(obj.table)
    return rebuilt


def _definition(table: str, columns: list[tuple[object, ...]], blob: set[str]) -> str:
    """``CREATE TABLE`` for ``columns`` (``PRAGMA table_info`` rows), ``blob`` ones declared BLOB: the
    form the store writes (``_column_ddl``), so comparing it with the stored SQL shows what it keeps."""
    parts = []
    for _cid, name, kind, notnull, default, pk in columns:
        part = f"{quote(str(name))} {'BLOB' if name in blob else kind}"
        part += " PRIMARY KEY" if pk else ""
        part += " NOT NULL" if notnull else ""
        part += f" DEFAULT {default}" if default is not None else ""
        parts.append(part)
    return f"CREATE TABLE {quote(table)} ({', '.join(parts)})"


def _same(sql: str, other: str) -> bool:
    """The same definition, whatever the spacing, case and quoting of plain lowercase names."""
    return _plain(sql) == _plain(other)


def _plain(sql: str) -> str:
    return re.sub(r'"([a-z0-9_]+)"', r"\1", re.sub(r"\s+", " ", sql).strip().lower())


def _rebuild(conn: sqlite3.Connection, table: str, columns: list[tuple[object, ...]], real: set[str]) -> bool:
    row = conn.execute("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", (table,)).fetchone()
    if row is None or not _same(str(row[0]), _definition(table, columns, set())):
        log.warning(
            "store table %s keeps its REAL number columns (%s): its definition has more than this version "
            "writes, so it is not rebuilt; values there are held as doubles (about 15-17 digits)",
            table,
            ", ".join(sorted(real)),
        )
        return False
    indexes = [
        str(sql)
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table,),
        )
    ]
    copy = f"{table}__kc_rebuild"
    names = [str(c[1]) for c in columns]
    values = ", ".join(_WHOLE_DOUBLE.format(c=quote(n)) if n in real else quote(n) for n in names)
    conn.execute(_definition(copy, columns, real))
    conn.execute(
        f"INSERT INTO {quote(copy)} (rowid, {', '.join(map(quote, names))}) "
        f"SELECT rowid, {values} FROM {quote(table)}"
    )
    conn.execute(f"DROP TABLE {quote(table)}")
    conn.execute(f"ALTER TABLE {quote(copy)} RENAME TO {quote(table)}")
    for sql in indexes:
        conn.execute(sql)
    log.info(
        "store table %s: number columns %s rebuilt without REAL affinity", table, ", ".join(sorted(real))
    )
    return True
