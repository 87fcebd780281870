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

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store import messages
from kinetic_core.emulator.store.schema import FieldDef
from kinetic_core.emulator.store.values import NULL_MARKER, UNCHANGED, plain_text_limit
from kinetic_core.emulator.store.writer import Pending, RowParser


class _Skip:
    """Marks an empty CSV cell: the field is left out of the row's values."""


_SKIP: Any = _Skip()


def _same_header(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...] | None:
    keys = tuple(rows[0])
    for row in rows:
        if len(row) != len(keys) or tuple(row) != keys:
            return None
    return keys


def _convert_column(
    cells: list[Any],
    conv: Callable[[Any], Any],
    fdef: FieldDef,
    col: int,
    errors: dict[int, ApiError],
) -> list[Any]:
    """Stored values of one column (``_SKIP`` for empty cells); cell errors go to ``errors``."""
    if "" not in cells and NULL_MARKER not in cells:
        limit = plain_text_limit(fdef)
        if limit is not None:
            if not limit or max(map(len, cells)) <= limit:
                return cells
        else:
            try:
                return list(map(conv, cells))
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
            if exc.error_code == "INVALID_FIELD":
                exc = messages.csv_type_error(raw, fdef.soap_type, fdef.name, col)
            if i not in errors:
                errors[i] = exc
            append(_SKIP)
    return out


def parse_columns(parser: RowParser, rows: Sequence[Mapping[str, Any]]) -> list[Pending] | None:
    """Parse a CSV batch column by column; None when the batch needs the row-by-row parser.

    Example:
        >>> # pendings = parse_columns(RowParser(plan, "csv", insert=True), rows) or [...row by row...]
    """
    if not parser.csv or not rows:
        return None
    keys = _same_header(rows)
    if keys is None:
        return None
    errors: dict[int, ApiError] = {}
    denied: dict[int, list[str]] = {}
    value_cols: list[str] = []
    value_lists: list[list[Any]] = []
    skip_cols: list[str] = []
    for col, key in enumerate(keys):
        entry = parser.entry(key)
        if isinstance(entry, str):
            if key.lower() != "id":
                return None  # relationship or unknown column: row by row keeps the exact semantics
            if parser.insert:
                for i, row in enumerate(rows):
                    if row[key] not in (None, "", UNCHANGED) and i not in errors:
                        errors[i] = messages.id_on_insert()
            continue
        column, conv, fdef, allowed = entry
        if column in value_cols:
            return None
        values = _convert_column([row[key] for row in rows], conv, fdef, col, errors)
        if not allowed:
            for i, value in enumerate(values):
                if value is not _SKIP and i not in errors:
                    denied.setdefault(i, []).append(fdef.name)
            continue
        value_cols.append(column)
        value_lists.append(values)
        if _SKIP in values:
            skip_cols.append(column)
    if value_lists:
        pendings = [
            Pending(i, dict(zip(value_cols, vals, strict=True)))
            for i, vals in enumerate(zip(*value_lists, strict=True))
        ]
    else:
        pendings = [Pending(i) for i in range(len(rows))]
    if skip_cols:
        for p in pendings:
            row_values = p.values
            for column in skip_cols:
                if row_values[column] is _SKIP:
                    del row_values[column]
    for i, exc in errors.items():
        pendings[i].error = exc
    for i, names in denied.items():
        if pendings[i].error is None:
            pendings[i].error = messages.not_insertable(names)
    return pendings
