"""CSV in and out for Bulk API 2.0: streaming reader over uploaded parts, header plan, line encoders.

Input rules: UTF-8 with or without BOM, the job's delimiter and line ending, RFC 4180
quoting (``""`` escapes, embedded newlines), header matched case-insensitively,
relationship columns ``Rel.Field`` (and ``Type:Rel.Field``). Files are read with the
``csv`` module straight from disk, one record at a time.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from kinetic_core.csvread import read_rows
from kinetic_core.emulator.bulk.models import LineEnding, Operation
from kinetic_core.emulator.store.schema import ObjectDef, Schema


class JobFailure(Exception):
    """A whole-file problem: the job becomes ``Failed`` with this ``errorMessage``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class BadRecord:
    """A record the CSV parser could not read (e.g. a field over the parser's size limit)."""

    message: str


Record = list[str] | BadRecord


def line_ending_error(setting: LineEnding) -> JobFailure:
    return JobFailure(
        "ClientInputError : LineEnding is invalid on user data. "
        f"Current LineEnding setting is {setting.value}"
    )


def _check_line_ending(path: Path, setting: LineEnding) -> None:
    with path.open("rb") as fh:
        first = fh.readline()
    if not first.endswith(b"\n"):
        return
    crlf = first.endswith(b"\r\n")
    if crlf != (setting is LineEnding.CRLF):
        raise line_ending_error(setting)


class InputReader:
    """Streams the header and records of a job's uploaded parts (in upload order).

    A later part whose first row repeats the header (case-insensitively) has that row
    dropped [I: several uploads append].

    Example:
        >>> with InputReader([Path("data.csv")], ",", LineEnding.LF) as reader:  # doctest: +SKIP
        ...     header = reader.header
        ...     rows = list(reader.records())
    """

    def __init__(
        self, parts: list[Path], delimiter: str, line_ending: LineEnding, *, check: bool = True
    ) -> None:
        self._parts = parts
        self._delimiter = delimiter
        self._line_ending = line_ending
        self._stack = ExitStack()
        self.header: list[str] | None = None
        self._first: Iterator[list[str]] | None = None
        for part in parts if check else ():
            _check_line_ending(part, line_ending)
        if parts:
            self._first = self._open(parts[0])
            self.header = self._next_row(self._first)

    @classmethod
    def unchecked(cls, parts: list[Path], delimiter: str, line_ending: LineEnding) -> InputReader:
        """A reader that skips the line-ending check (to echo rows of a failed job)."""
        return cls(parts, delimiter, line_ending, check=False)

    def __enter__(self) -> InputReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    def _open(self, path: Path) -> Iterator[list[str]]:
        fh = self._stack.enter_context(path.open("r", encoding="utf-8-sig", newline="", errors="replace"))
        return read_rows(fh, self._delimiter)

    @staticmethod
    def _next_row(reader: Iterator[list[str]]) -> list[str] | None:
        for row in reader:
            if row:
                return row
        return None

    def records(self) -> Iterator[Record]:
        """Every data record across parts; unreadable records come as :class:`BadRecord`."""
        if self._first is None or self.header is None:
            return
        yield from self._records(self._first)
        lowered = [h.lower() for h in self.header]
        for part in self._parts[1:]:
            reader = self._open(part)
            first = self._next_row(reader)
            if first is None:
                continue
            if [c.lower() for c in first] != lowered:
                yield first
            yield from self._records(reader)

    @staticmethod
    def _records(reader: Iterator[list[str]]) -> Iterator[Record]:
        while True:
            try:
                yield from filter(None, reader)  # blank lines dropped without a Python-level loop
                return
            except csv.Error as exc:
                yield BadRecord(f"CSV parse error: {exc}")


@dataclass(frozen=True)
class HeaderPlan:
    """How each uploaded column maps to a store key (canonical field or ``Rel.Field``)."""

    columns: list[str]
    keys: list[str]
    id_index: int | None
    ext_index: int | None


def plan_header(
    schema: Schema, obj: ObjectDef, header: list[str], operation: Operation, ext_field: str | None
) -> HeaderPlan:
    """Resolve the uploaded header against the object; raise :class:`JobFailure` on bad columns.

    Example:
        >>> account = schema.get("Account")  # doctest: +SKIP
        >>> plan_header(schema, account, ["NAME"], Operation.INSERT, None).keys  # doctest: +SKIP
        ['Name']
    """
    keys: list[str] = []
    seen: set[str] = set()
    for col in header:
        key = _resolve_column(schema, obj, col)
        if key.lower() in seen:
            raise JobFailure(f"InvalidBatch : Duplicate field name: {col}")
        seen.add(key.lower())
        keys.append(key)
    lowered = [k.lower() for k in keys]
    id_index = lowered.index("id") if "id" in lowered else None
    ext_index: int | None = None
    if operation is Operation.UPSERT and ext_field:
        if ext_field.lower() in lowered:
            ext_index = lowered.index(ext_field.lower())
        elif ext_field.lower() != "id":
            raise JobFailure(f"InvalidBatch : Field name not found : {ext_field}")
    return HeaderPlan(columns=list(header), keys=keys, id_index=id_index, ext_index=ext_index)


def _resolve_column(schema: Schema, obj: ObjectDef, col: str) -> str:
    if "." not in col:
        field = obj.field(col)
        if field is None:
            raise JobFailure(f"InvalidBatch : Field name not found : {col}")
        return field.name
    rel_part, field_part = col.split(".", 1)
    type_name: str | None = None
    if ":" in rel_part:
        type_name, rel_part = rel_part.split(":", 1)
    ref = obj.relationship(rel_part)
    if ref is None or "." in field_part:
        raise JobFailure(f"InvalidBatch : Unable to find relationship: {rel_part}")
    targets = list(ref.reference_to)
    if type_name is not None:
        match = next((t for t in targets if t.lower() == type_name.lower()), None)
        if match is None:
            raise JobFailure(f"InvalidBatch : Unable to find relationship: {type_name}:{rel_part}")
        targets = [match]
    for target_name in targets:
        target = schema.get(target_name)
        field = target.field(field_part) if target is not None else None
        if field is not None and (field.external_id or field.id_lookup or field.name == "Id"):
            prefix = f"{target_name}:" if type_name is not None else ""
            return f"{prefix}{ref.relationship_name}.{field.name}"
    raise JobFailure(f"InvalidBatch : Field name not found : {col}")


_SPECIAL = {d: re.compile("[" + re.escape(d) + '"\r\n]') for d in (",", ";", "|", "\t", "^", "`")}


def encode_minimal(cells: list[str], delimiter: str) -> str:
    """Join cells, quoting only those that need it (``""`` escapes).

    Example:
        >>> encode_minimal(["a", "b,c"], ",")
        'a,"b,c"'
    """
    line = delimiter.join(cells)
    if '"' not in line and "\n" not in line and "\r" not in line and line.count(delimiter) == len(cells) - 1:
        return line
    special = _SPECIAL[delimiter].search
    return delimiter.join(['"' + c.replace('"', '""') + '"' if special(c) else c for c in cells])


def encode_many(rows: list[list[str]], delimiter: str) -> list[str]:
    """:func:`encode_minimal` for many rows at once (one ``csv.writer`` call).

    Rows are written with a line terminator ending in NUL and split on it; when a cell holds a NUL
    itself (the terminator's characters would change its quoting), rows are written one by one.

    Example:
        >>> encode_many([["a", "b,c"], ["x", ""]], ",")
        ['a,"b,c"', 'x,']
    """
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, quotechar='"', lineterminator=_ROW_END).writerows(rows)
    text = buf.getvalue()
    if text.count("\x00") == len(rows):
        return text.split(_ROW_END)[:-1] if rows else []
    return _encode_each(rows, delimiter)


_ROW_END = "\r\n\x00"


def _encode_each(rows: list[list[str]], delimiter: str) -> list[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, quotechar='"', lineterminator="\r\n")
    ends = []
    for row in rows:
        writer.writerow(row)
        ends.append(buf.tell())
    text = buf.getvalue()
    out = []
    start = 0
    for end in ends:
        out.append(text[start : end - 2])
        start = end
    return out


def encode_quoted(cells: list[str], delimiter: str) -> str:
    """Join cells, every one double-quoted."""
    return delimiter.join('"' + c.replace('"', '""') + '"' for c in cells)
