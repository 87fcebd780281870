"""Column-at-a-time parsing of Bulk CSV batches whose rows share one header.

The row-at-a-time :class:`~kinetic_core.emulator.store.writer.RowParser` resolves, converts and checks
every cell of every row. A Bulk batch has one header, so this module resolves each column once (a column
plan), converts whole columns with C-level shortcuts (a text column within its length limit is kept
as it is; a column without empty or ``#N/A`` cells goes through one ``map``), and only walks cell by
cell through the columns that need it. The outcome is the same list of :class:`Pending` rows, with the
same errors, as parsing row by row; batches it does not handle (relationship columns, mixed headers,
JSON values) return None and take the row-by-row path.

Example:
    >>> from kinetic_core.emulator.store.custom import build_schema
    >>> from kinetic_core.emulator.store.writer import ObjectPlan, RowParser
    >>> schema = build_schema()
    >>> parser = RowParser(ObjectPlan(schema, schema.get("Account")), "csv", insert=True)
    >>> [p.values for p in parse_columns(parser, [{"Name": "A", "Phone": ""}, {"Name": "B", "Phone": "1"}])]
    [{'name': 'A'}, {'name': 'B', 'phone': '1'}]
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, overload

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store import messages
from kinetic_core.emulator.store.database import is_nocase, quote
from kinetic_core.emulator.store.schema import FieldDef, FieldType, ObjectDef
from kinetic_core.emulator.store.values import (
    NULL_MARKER,
    UNCHANGED,
    csv_converter,
    emails_as_given,
    plain_text_limit,
)
from kinetic_core.emulator.store.writer import (
    Lookup,
    ObjectPlan,
    Pending,
    RowParser,
    chunks,
    find_by_key,
    person_name,
)


class _Skip:
    """Marks an empty CSV cell: the field is left out of the row's values."""


_SKIP: Any = _Skip()


class HeaderRows(Sequence[Mapping[str, Any]]):
    """Rows of one CSV batch held as one header and lists of cells (each as wide as the header).

    A sequence of mappings like any other batch; the column path reads whole columns without building
    a dict per row, and a row's dict is built only when the row parser asks for it.

    Example:
        >>> rows = HeaderRows(("Name", "Phone"), [["A", ""], ["B", "1"]])
        >>> rows[1], rows.column(0)
        ({'Name': 'B', 'Phone': '1'}, ['A', 'B'])
    """

    def __init__(self, keys: tuple[str, ...], cells: list[list[str]]) -> None:
        self.keys = keys
        self.cells = cells

    def __len__(self) -> int:
        return len(self.cells)

    @overload
    def __getitem__(self, index: int) -> Mapping[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Mapping[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> Mapping[str, Any] | Sequence[Mapping[str, Any]]:
        if isinstance(index, slice):
            return HeaderRows(self.keys, self.cells[index])
        return dict(zip(self.keys, self.cells[index], strict=True))

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        keys = self.keys
        return (dict(zip(keys, row, strict=True)) for row in self.cells)

    def column(self, index: int) -> list[str]:
        return [row[index] for row in self.cells]


def _column(rows: Sequence[Mapping[str, Any]], key: str, index: int) -> list[Any]:
    if isinstance(rows, HeaderRows):
        return rows.column(index)
    return [row[key] for row in rows]


def same_header(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...] | None:
    """The keys shared by every row, in the same order; None when any row differs (``rows`` non-empty)."""
    if isinstance(rows, HeaderRows):
        return rows.keys
    keys = tuple(rows[0])
    for row in rows:
        if len(row) != len(keys) or tuple(row) != keys:
            return None
    return keys


def _plain_within(cells: list[Any], limit: int) -> bool:
    """Whether every cell is text without NUL and within ``limit`` characters (0: no limit)."""
    try:
        return (not limit or max(map(len, cells)) <= limit) and "\x00" not in "\x01".join(cells)
    except TypeError:  # a None cell (rows given as mappings): cell by cell
        return False


def _all_text(cells: list[Any]) -> bool:
    return set(map(type, cells)) <= {str}


def _convert_column(
    cells: list[Any],
    conv: Callable[[Any], Any],
    fdef: FieldDef,
    col: int,
    errors: dict[int, ApiError],
    *,
    typed_errors: bool = True,
) -> list[Any]:
    """Stored values of one column (``_SKIP`` for empty cells); cell errors go to ``errors``.

    ``typed_errors`` turns a converter's ``INVALID_FIELD`` into the CSV type error naming the column
    (what the row parser does for plain fields; relationship values keep the converter's error).
    """
    limit = plain_text_limit(fdef)
    if (limit is not None and _plain_within(cells, limit)) or (
        fdef.type is FieldType.EMAIL and _all_text(cells) and emails_as_given(fdef, cells)
    ):  # the converter would give back every non-empty cell as it is
        if "" not in cells and NULL_MARKER not in cells:
            return cells
        return [_SKIP if c == "" else None if c == NULL_MARKER else c for c in cells]
    if limit is None:
        try:
            return [_SKIP if c == "" else None if c == NULL_MARKER else conv(c) for c in cells]
        except ApiError:
            pass  # redo cell by cell to place each error on its row
    out: list[Any] = []
    append = out.append
    for i, raw in enumerate(cells):
        if raw == "":
            append(_SKIP)
            continue
        if raw == NULL_MARKER:
            append(None)
            continue
        try:
            append(conv(raw))
        except ApiError as exc:
            if typed_errors and exc.error_code == "INVALID_FIELD":
                exc = messages.csv_type_error(raw, fdef.soap_type, fdef.name, col)
            if i not in errors:
                errors[i] = exc
            append(_SKIP)
    return out


@dataclass(frozen=True)
class LookupColumn:
    """A ``Rel.Field`` column: parents found by ``key`` on ``target``; ``values`` are converted cells
    (``_SKIP`` for empty cells, None for ``#N/A``), ``shown`` the cells as uploaded."""

    ref: FieldDef
    target: ObjectDef
    key: FieldDef
    values: list[Any]
    shown: list[Any]


@dataclass
class Columns:
    """A batch converted column by column: stored values (``_SKIP`` for empty cells) and row problems."""

    names: list[str] = field(default_factory=list)
    values: list[list[Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: dict[int, ApiError] = field(default_factory=dict)
    denied: dict[int, list[str]] = field(default_factory=dict)
    lookups: list[LookupColumn] = field(default_factory=list)
    has_id: bool = False

    def add(self, column: str, values: list[Any]) -> None:
        self.names.append(column)
        self.values.append(values)
        if _SKIP in values:
            self.skipped.append(column)

    def claims(self, column: str) -> bool:
        """Whether a column (plain or the reference of a lookup) is already part of the batch."""
        return column in self.names or any(lk.ref.column == column for lk in self.lookups)


def relationship_key(plan: ObjectPlan, key: str) -> tuple[FieldDef, ObjectDef, FieldDef] | None:
    """How a CSV ``[Type:]Rel.Field`` column resolves (reference, parent object, parent key field).

    None when any part does not resolve: the row parser then reports it on the rows it concerns.
    """
    rel_part, _, key_name = key.partition(".")
    type_name, _, rel_name = rel_part.rpartition(":")
    ref = plan.obj.relationship(rel_name)
    if ref is None:
        return None
    target = plan.schema.get(type_name or ref.reference_to[0])
    if target is None or target.name not in ref.reference_to:
        return None
    key_field = target.field(key_name)
    if key_field is None or not (key_field.external_id or key_field.id_lookup):
        return None
    return ref, target, key_field


def _add_relationship(
    out: Columns, plan: ObjectPlan, key: str, col: int, rows: Sequence[Mapping[str, Any]]
) -> bool:
    """Convert a relationship column into ``out``; False when the row parser must handle the batch."""
    resolved = relationship_key(plan, key) if "." in key else None
    if resolved is None:
        return False
    ref, target, key_field = resolved
    if out.claims(ref.column):
        return False  # two columns setting one lookup: their order matters, row by row keeps it
    cells = _column(rows, key, col)
    values = _convert_column(cells, csv_converter(key_field), key_field, col, out.errors, typed_errors=False)
    if key_field.name == "Id":
        out.add(ref.column, values)
    else:
        out.lookups.append(LookupColumn(ref, target, key_field, values, cells))
    return True


def convert_columns(parser: RowParser, rows: Sequence[Mapping[str, Any]]) -> Columns | None:
    """Convert a CSV batch column by column; None when the batch needs the row-by-row parser."""
    if not parser.csv or not rows:
        return None
    keys = same_header(rows)
    if keys is None:
        return None
    out = Columns()
    errors, denied = out.errors, out.denied
    for col, key in enumerate(keys):
        entry = parser.entry(key)
        if isinstance(entry, str):
            if key.lower() != "id":
                if _add_relationship(out, parser.plan, key, col, rows):
                    continue
                return None  # unknown column: row by row keeps the exact semantics
            out.has_id = True
            if parser.insert:
                for i, cell in enumerate(_column(rows, key, col)):
                    if cell not in (None, "", UNCHANGED) and i not in errors:
                        errors[i] = messages.id_on_insert()
            continue
        column, conv, fdef, allowed = entry
        if out.claims(column):
            return None
        values = _convert_column(_column(rows, key, col), conv, fdef, col, errors)
        if not allowed:
            for i, value in enumerate(values):
                if value is not _SKIP and i not in errors:
                    denied.setdefault(i, []).append(fdef.name)
            continue
        out.add(column, values)
    return out


def parse_columns(parser: RowParser, rows: Sequence[Mapping[str, Any]]) -> list[Pending] | None:
    """Parse a CSV batch column by column; None when the batch needs the row-by-row parser.

    Example:
        >>> # pendings = parse_columns(RowParser(plan, "csv", insert=True), rows) or [...row by row...]
    """
    batch = convert_columns(parser, rows)
    return None if batch is None else build_pendings(batch, len(rows))


def build_pendings(batch: Columns, count: int) -> list[Pending]:
    """The row-by-row form of a converted batch (what :meth:`RowParser.parse` gives for each row)."""
    value_cols, skip_cols = batch.names, batch.skipped
    if batch.values:
        pendings = [
            Pending(i, dict(zip(value_cols, vals, strict=True)))
            for i, vals in enumerate(zip(*batch.values, strict=True))
        ]
    else:
        pendings = [Pending(i) for i in range(count)]
    if skip_cols:
        for p in pendings:
            row_values = p.values
            for column in skip_cols:
                if row_values[column] is _SKIP:
                    del row_values[column]
    for lk in batch.lookups:
        _add_lookups(pendings, lk)
    for i, exc in batch.errors.items():
        pendings[i].error = exc
    for i, names in batch.denied.items():
        if pendings[i].error is None:
            pendings[i].error = messages.not_insertable(names)
    return pendings


def _add_lookups(pendings: list[Pending], lk: LookupColumn) -> None:
    column = lk.ref.column
    for p, value, shown in zip(pendings, lk.values, lk.shown, strict=True):
        if value is _SKIP:
            continue
        if value is None:
            p.values[column] = None
            continue
        if not p.lookups:
            p.lookups = []
        assert isinstance(p.lookups, list)
        p.lookups.append(Lookup(lk.ref, lk.target, lk.key, value, str(shown)))


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
