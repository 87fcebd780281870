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

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store import messages
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
)


class _Skip:
    """Marks an empty CSV cell: the field is left out of the row's values."""


_SKIP: Any = _Skip()
SKIP = _SKIP
"""The empty-cell marker in converted columns (for :mod:`~kinetic_core.emulator.store.cleaninsert`)."""


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
