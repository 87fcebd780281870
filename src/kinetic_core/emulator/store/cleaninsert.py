"""Writing a whole batch of creates column by column, when no row of it can fail.

:func:`~kinetic_core.emulator.store.columnar.convert_columns` turns a CSV batch into converted columns;
:func:`plan_clean_insert` completes them into every stored column (defaults, the owner, person names,
parent ids found by external id) and checks, with a few set-based queries, that no row could get an
error; :func:`insert_columns` writes them. Any batch it declines takes the row pipeline, which gives
the exact per-row outcomes; property tests compare both.

Example:
    >>> sql_literal("O'Brien")
    "'O''Brien'"
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from itertools import repeat
from typing import Any

from kinetic_core.emulator.store.columnar import SKIP as _SKIP
from kinetic_core.emulator.store.columnar import Columns
from kinetic_core.emulator.store.database import is_nocase, quote
from kinetic_core.emulator.store.writer import ObjectPlan, chunks, find_by_key, person_name


def plan_clean_insert(
    conn: sqlite3.Connection, plan: ObjectPlan, batch: Columns, count: int, owner_id: str
) -> dict[str, Any] | None:
    """Every stored column of a batch of creates, when no row can fail; None sends it row by row.

    A column is a list (one value per row) or a constant. Declines (None) whenever a row could get an
    error or a value the columns cannot express: cell errors, denied fields, an ``Id`` column, derived
    fields other than a person's name, auto-numbers, missing required values, parents that are not
    found exactly once by their external id, lookups that are not plain existing ids of the acting
    user, or unique values already taken or repeated. The caller then runs the row pipeline, which
    produces the exact per-row outcomes.
    """
    if batch.errors or batch.denied or batch.has_id or plan.auto_numbers:
        return None
    if plan.derives and not plan.derives_name:
        return None
    parents: dict[str, set[str]] = {}
    resolved = _resolve_lookup_columns(conn, batch, parents)
    if resolved is None:
        return None
    skipped = {*batch.skipped, *(name for name, values in resolved if _SKIP in values)}
    cols = _stored_columns(plan, [*zip(batch.names, batch.values, strict=True), *resolved], skipped)
    _fill_defaults(plan, cols, owner_id)
    if plan.derives_name:
        _derive_names(cols, count)
    if _missing_required(plan, cols):
        return None
    if not _references_ok(conn, plan, cols, owner_id, parents) or not _unique_ok(conn, plan, cols, count):
        return None
    return cols


def _resolve_lookup_columns(
    conn: sqlite3.Connection, batch: Columns, parents: dict[str, set[str]]
) -> list[tuple[str, list[Any]]] | None:
    """Each lookup column as its reference column of parent ids; None when a parent is not found once.

    ``parents`` gets, by reference column, the ids found (live records of an object the reference
    accepts, read in this transaction: :func:`_references_ok` need not look them up again).
    """
    out: list[tuple[str, list[Any]]] = []
    for lk in batch.lookups:
        nocase = is_nocase(lk.key)
        present = set(lk.values)
        present.discard(_SKIP)
        present.discard(None)
        found = find_by_key(conn, lk.target, lk.key, present)
        ids: dict[Any, Any] = {_SKIP: _SKIP, None: None}
        for value in present:
            hits = found.get(value.lower() if nocase and isinstance(value, str) else value, [])
            if len(hits) != 1:
                return None
            ids[value] = hits[0]
        parents.setdefault(lk.ref.column, set()).update(ids[v] for v in present)
        out.append((lk.ref.column, list(map(ids.__getitem__, lk.values))))
    return out


def _stored_columns(
    plan: ObjectPlan, columns: list[tuple[str, list[Any]]], skipped: set[str]
) -> dict[str, Any]:
    """Empty cells (``_SKIP``, in the ``skipped`` columns) take the field's default on create, else null."""
    defaults = dict(plan.defaults)
    cols: dict[str, Any] = {}
    for name, values in columns:
        if name in skipped:
            default = defaults.get(name)
            values = [default if v is _SKIP else v for v in values]
        cols[name] = values
    return cols


def _fill(cols: dict[str, Any], name: str, value: Any) -> None:
    """Replace nulls (or an absent column) by ``value``."""
    current = cols.get(name)
    if isinstance(current, list):
        if None in current:
            cols[name] = [value if v is None else v for v in current]
    elif current is None:
        cols[name] = value


def _fill_defaults(plan: ObjectPlan, cols: dict[str, Any], owner_id: str) -> None:
    for name, default in plan.defaults:
        cols.setdefault(name, default)
    for name in plan.booleans:
        _fill(cols, name, 0)
    if plan.has_owner:
        _fill(cols, "ownerid", owner_id)


def _derive_names(cols: dict[str, Any], count: int) -> None:
    """``Name`` of person records from first and last name (see :func:`writer.derive`)."""
    first, last = cols.get("firstname"), cols.get("lastname")
    if first is None and last is None:
        return
    firsts = first if isinstance(first, list) else [first] * count
    lasts = last if isinstance(last, list) else [last] * count
    if all(v is None or isinstance(v, str) for v in (first, last) if not isinstance(v, list)):
        # Text fields hold strings (or null): person_name() spelled out without a call per row.
        pairs = zip(firsts, lasts, strict=True)
        cols["name"] = [f"{f} {n}" if f and n else (f or n or None) for f, n in pairs]
    else:
        cols["name"] = [person_name(f, n) for f, n in zip(firsts, lasts, strict=True)]


def _missing_required(plan: ObjectPlan, cols: dict[str, Any]) -> bool:
    for name, _ in plan.required_cols:
        current = cols.get(name)
        if current is None or (isinstance(current, list) and None in current):
            return True
    return False


def _references_ok(
    conn: sqlite3.Connection,
    plan: ObjectPlan,
    cols: dict[str, Any],
    owner_id: str,
    parents: dict[str, set[str]],
) -> bool:
    """Whether every reference names a live record of an object it accepts (``parents``: already known)."""
    wanted: dict[str, set[str]] = {}
    for column, _, reference_to in plan.reference_cols:
        current = cols.get(column)
        distinct: set[Any] = set(current) if isinstance(current, list) else {current}
        distinct.discard(None)
        distinct.discard(owner_id)
        distinct -= parents.get(column, set())
        for value in distinct:
            target = plan.schema.by_prefix(value[:3])
            if target is None or target.name not in reference_to:
                return False
            wanted.setdefault(target.table, set()).add(value)
    for table, id_set in wanted.items():
        found = 0
        for part in chunks(sorted(id_set)):
            marks = ", ".join("?" for _ in part)
            sql = f"SELECT count(*) FROM {quote(table)} WHERE isdeleted = 0 AND id IN ({marks})"
            found += conn.execute(sql, part).fetchone()[0]
        if found != len(id_set):
            return False
    return True


def _unique_ok(conn: sqlite3.Connection, plan: ObjectPlan, cols: dict[str, Any], count: int) -> bool:
    for f in plan.unique:
        current = cols.get(f.column)
        values = current if isinstance(current, list) else [current] * count
        present = [v for v in values if v is not None]
        if not present:
            continue
        nocase = is_nocase(f)
        norms = {v.lower() if nocase and isinstance(v, str) else v for v in present}
        if len(norms) != len(present) or find_by_key(conn, plan.obj, f, present):
            return False
    return True


def sql_literal(value: Any) -> str | None:
    """``value`` written as an SQL literal; None when it must be bound (floats, bytes, booleans, text
    holding NUL, integers beyond 64 bits).

    Example:
        >>> sql_literal("O'Brien"), sql_literal(0), sql_literal(None), sql_literal(1.5)
        ("'O''Brien'", '0', 'NULL', None)
    """
    if value is None:
        return "NULL"
    if type(value) is int and -(2**63) <= value < 2**63:
        return str(value)
    if type(value) is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


def insert_columns(conn: sqlite3.Connection, plan: ObjectPlan, cols: dict[str, Any], count: int) -> None:
    """Insert a batch of ``count`` rows given column by column (a list per column, or a constant).

    Constants go into the statement as literals where they can (audit fields, defaults, the owner).
    The per-row values are first bound into a temporary table without indexes or type affinity
    (so they reach the object's table exactly as bound), then copied by one ``INSERT ... SELECT``
    in input order: SQLite does the index-heavy insert in one call, which costs less CPU than one
    call per row and runs without Python's global lock.
    """
    names: list[str] = []
    slots: list[str] = []
    series: list[Iterable[Any]] = []
    for column in plan.columns:
        if column not in cols:
            continue
        value = cols[column]
        names.append(quote(column))
        literal = None if isinstance(value, list) else sql_literal(value)
        if literal is None:
            slots.append(f"c{len(series)}")
            series.append(value if isinstance(value, list) else repeat(value, count))
        else:
            slots.append(literal)
    target = f"INSERT INTO {quote(plan.obj.table)} ({', '.join(names)})"
    if not series:
        conn.executemany(f"{target} VALUES ({', '.join(slots)})", repeat((), count))
        return
    width = len(series)
    temp = f"kc_rows_{width}"
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {temp} ({', '.join(f'c{i}' for i in range(width))})")
    try:
        rows = zip(*series, strict=False)
        conn.executemany(f"INSERT INTO temp.{temp} VALUES ({', '.join('?' * width)})", rows)
        conn.execute(f"{target} SELECT {', '.join(slots)} FROM temp.{temp} ORDER BY rowid")
    finally:
        conn.execute(f"DELETE FROM temp.{temp}")
