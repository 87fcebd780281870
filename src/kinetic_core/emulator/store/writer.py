"""Turning API rows into stored rows: parsing, defaults, derived fields and batch-wide checks.

The store validates in Python before it touches SQLite: each input row becomes a :class:`Pending`
(values keyed by column, relationship lookups still to resolve, or an error), then whole batches are
checked against the database with a few ``IN (...)`` queries per object: parent lookups by external
id, reference existence, unique values.

Example:
    >>> from kinetic_core.emulator.store.custom import build_schema
    >>> schema = build_schema()
    >>> plan = ObjectPlan(schema, schema.get("Account"))
    >>> RowParser(plan, "csv", insert=True).parse({"Name": "Acme"}).values
    {'name': 'Acme'}
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store import ids, messages
from kinetic_core.emulator.store.database import is_nocase, quote
from kinetic_core.emulator.store.fieldkit import AUDIT_FIELDS
from kinetic_core.emulator.store.schema import FieldDef, FieldType, ObjectDef, Schema
from kinetic_core.emulator.store.values import NULL_MARKER, UNCHANGED, csv_converter, json_converter

_CHUNK = 500
_PERSON_NAME_OBJECTS = frozenset({"contact", "lead", "user"})
_DERIVING_OBJECTS = _PERSON_NAME_OBJECTS | {"opportunity", "case"}


@dataclass
class Lookup:
    """A parent given by one of its indexed fields: ``Account.External_Id__c = A1``."""

    ref: FieldDef
    target: ObjectDef
    key: FieldDef
    value: Any
    shown: str


@dataclass(slots=True)
class Pending:
    """One input row on its way to SQLite (``lookups`` is a shared empty tuple until one is added)."""

    index: int
    values: dict[str, Any] = field(default_factory=dict)
    lookups: list[Lookup] | tuple[()] = ()
    record_id: str | None = None
    existing: dict[str, Any] | None = None
    error: ApiError | None = None
    created: bool = True

    def fail(self, error: ApiError) -> None:
        if self.error is None:
            self.error = error


def _as_given(value: Any) -> Any:
    return value


_Converters = dict[str, tuple[FieldDef, Callable[[Any], Any]]]


def _converters(obj: ObjectDef, make: Callable[[FieldDef], Callable[[Any], Any]]) -> _Converters:
    """Each field's converter by column; compound fields are read-only views, kept (unconverted) so a
    write names them as denied."""
    return {f.column: (f, _as_given if f.is_compound else make(f)) for f in obj.fields}


def _create_defaults(stored: tuple[FieldDef, ...] | list[FieldDef]) -> list[tuple[str, Any]]:
    """(column, stored default) of the fields defaulted on create (checkboxes as 0/1)."""
    out = []
    for f in stored:
        if f.defaulted_on_create and f.default_value is not None:
            is_bool = f.type is FieldType.BOOLEAN
            out.append((f.column, int(bool(f.default_value)) if is_bool else f.default_value))
    return out


def _required_fields(obj: ObjectDef) -> list[FieldDef]:
    """Fields a create must set: not nillable, createable, not managed by the store."""
    managed = {"id", "ownerid", *(a.lower() for a in AUDIT_FIELDS)}
    return [
        f
        for f in obj.fields
        if not f.nillable and f.column not in managed and not f.auto_number and f.createable
    ]


class ObjectPlan:
    """Per-object precomputation: converters, defaults, required fields, SQL texts."""

    def __init__(self, schema: Schema, obj: ObjectDef) -> None:
        self.schema = schema
        self.obj = obj
        stored = obj.stored_fields
        fields = obj.fields
        self.columns = [f.column for f in stored]
        self.by_column = {f.column: f for f in stored}
        self.json_conv = _converters(obj, json_converter)
        self.csv_conv = _converters(obj, csv_converter)
        self.defaults = _create_defaults(stored)
        self.required = _required_fields(obj)
        self.booleans = [f.column for f in fields if f.type is FieldType.BOOLEAN]
        self.auto_numbers = [f for f in fields if f.auto_number]
        self.unique = [f for f in fields if f.unique]
        self.references = [f for f in fields if f.type is FieldType.REFERENCE and f.name not in AUDIT_FIELDS]
        self.required_cols = [(f.column, f.name) for f in self.required if f.type is not FieldType.BOOLEAN]
        self.reference_cols = [(f.column, f.name, f.reference_to) for f in self.references]
        self.select_sql = f"SELECT {', '.join(quote(c) for c in self.columns)} FROM {quote(obj.table)}"
        self.has_owner = "ownerid" in self.by_column
        self.derives = obj.name.lower() in _DERIVING_OBJECTS
        self.derives_name = obj.name.lower() in _PERSON_NAME_OBJECTS
        self.not_null_cols = [(f.column, f.name) for f in fields if not f.nillable]

    def insert_sql(self, columns: tuple[str, ...]) -> str:
        return (
            f"INSERT INTO {quote(self.obj.table)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )

    def update_sql(self, columns: tuple[str, ...]) -> str:
        sets = ", ".join(f"{quote(c)} = ?" for c in columns)
        return f"UPDATE {quote(self.obj.table)} SET {sets} WHERE id = ?"


# ------------------------------------------------------------------------------------------ row parsing


def _relationship(plan: ObjectPlan, key: str, raw: Any, source: str) -> Lookup | tuple[FieldDef, Any] | None:
    """Resolve ``Account.External_Id__c`` (CSV) or ``"Account": {"External_Id__c": ...}`` (JSON)."""
    obj = plan.obj
    if source == "csv":
        rel_part, _, key_name = key.partition(".")
        type_name, _, rel_name = rel_part.rpartition(":")
        value: Any = raw
    else:
        type_name, rel_name = "", key
        if raw is None:
            key_name, value = "", None
        else:
            items = [(k, v) for k, v in raw.items() if k != "attributes"]
            if len(items) != 1:
                raise messages.bad_relationship_value(key)
            key_name, value = items[0]
    ref = obj.relationship(rel_name)
    if ref is None:
        raise messages.no_such_column(key, obj.name)
    if source == "csv" and value == "":
        return None
    if value is None or (source == "csv" and value == NULL_MARKER):
        return (ref, None)
    target = plan.schema.get(type_name or ref.reference_to[0])
    if target is None or target.name not in ref.reference_to:
        raise messages.no_such_column(key, obj.name)
    key_field = target.field(key_name)
    if key_field is None:
        raise messages.no_such_column(key_name, target.name)
    if not (key_field.external_id or key_field.id_lookup):
        raise messages.bad_relationship_field(key_field.name, target.name)
    conv = csv_converter(key_field) if source == "csv" else json_converter(key_field)
    stored = conv(value)
    if key_field.name == "Id":
        return (ref, stored)
    return Lookup(ref, target, key_field, stored, str(value))


_SPECIAL = "special"


class RowParser:
    """Parses the rows of one batch, remembering how each distinct column header resolves."""

    def __init__(self, plan: ObjectPlan, source: str, *, insert: bool) -> None:
        self.plan = plan
        self.csv = source == "csv"
        self.source = source
        self.insert = insert
        self._conv = plan.csv_conv if self.csv else plan.json_conv
        self._keys: dict[str, tuple[str, Callable[[Any], Any], FieldDef, bool] | str] = {}

    def _classify(self, key: str) -> tuple[str, Callable[[Any], Any], FieldDef, bool] | str:
        lower = key.lower()
        entry = self._conv.get(lower)
        if entry is None or lower == "id":
            return _SPECIAL
        fdef, conv = entry
        return (fdef.column, conv, fdef, fdef.createable if self.insert else fdef.updateable)

    def entry(self, key: str) -> tuple[str, Callable[[Any], Any], FieldDef, bool] | str:
        """How ``key`` resolves: (column, converter, field, allowed), or a marker for special keys."""
        found = self._keys.get(key)
        if found is None:
            found = self._keys[key] = self._classify(key)
        return found

    def _special(self, pending: Pending, key: str, raw: Any) -> None:
        lower = key.lower()
        if lower == "attributes" and not self.csv:
            return
        if lower == "id":
            if self.insert and raw not in (None, "", UNCHANGED):
                raise messages.id_on_insert()
            return
        plan = self.plan
        if "." in key if self.csv else (isinstance(raw, dict) or plan.obj.relationship(key) is not None):
            resolved = _relationship(plan, key, raw, self.source)
            if isinstance(resolved, Lookup):
                if not pending.lookups:
                    pending.lookups = []
                assert isinstance(pending.lookups, list)
                pending.lookups.append(resolved)
                pending.values.pop(resolved.ref.column, None)
            elif resolved is not None:
                pending.values[resolved[0].column] = resolved[1]
            return
        raise messages.no_such_column(key, plan.obj.name)

    def parse(self, row: Mapping[str, Any], index: int = 0) -> Pending:
        """Convert one API row (JSON values or CSV text); an error lands in ``Pending.error``."""
        pending = Pending(index)
        values = pending.values
        keys = self._keys
        is_csv = self.csv
        denied: list[str] = []
        try:
            for key, raw in row.items():
                entry = keys.get(key)
                if entry is None:
                    entry = keys[key] = self._classify(key)
                if isinstance(entry, str):
                    self._special(pending, key, raw)
                    continue
                column, conv, fdef, allowed = entry
                if is_csv:
                    if raw == "":
                        continue
                    if raw == NULL_MARKER:
                        value = None
                    else:
                        try:
                            value = conv(raw)
                        except ApiError as exc:
                            if exc.error_code == "INVALID_FIELD":
                                col = list(row).index(key)
                                raise messages.csv_type_error(raw, fdef.soap_type, fdef.name, col) from None
                            raise
                else:
                    value = conv(raw)
                if not allowed:
                    denied.append(fdef.name)
                    continue
                values[column] = value
            if denied:
                raise messages.not_insertable(denied)
        except ApiError as exc:
            pending.error = exc
        return pending


# ------------------------------------------------------------------------------------ defaults, derived


def person_name(first: Any, last: Any) -> str | None:
    """The derived ``Name`` of a person record: first and last name, whichever are set."""
    name = " ".join(str(p) for p in (first, last) if p)
    return name or None


def derive(plan: ObjectPlan, values: dict[str, Any], merged: Mapping[str, Any], now: str) -> None:
    """Set read-only fields computed from others (Name, IsClosed, IsWon, ClosedDate)."""
    name = plan.obj.name.lower()
    if name in _PERSON_NAME_OBJECTS and ("firstname" in values or "lastname" in values):
        values["name"] = person_name(merged.get("firstname"), merged.get("lastname"))
    elif name == "opportunity" and "stagename" in values:
        stage = merged.get("stagename")
        values["isclosed"] = int(stage in ("Closed Won", "Closed Lost"))
        values["iswon"] = int(stage == "Closed Won")
    elif name == "case" and "status" in values:
        closed = merged.get("status") == "Closed"
        values["isclosed"] = int(closed)
        if closed and not merged.get("closeddate"):
            values["closeddate"] = now
        elif not closed:
            values["closeddate"] = None


def complete_inserts(plan: ObjectPlan, pendings: list[Pending], owner_id: str, now: str) -> None:
    """Apply defaults, derived fields and the required-field check to every row being created (rows
    with an error are left alone); the per-object work is hoisted out of the loop."""
    defaults, booleans, required = plan.defaults, plan.booleans, plan.required_cols
    has_owner, derives = plan.has_owner, plan.derives
    for p in pendings:
        if p.error is not None:
            continue
        values = p.values
        for column, default in defaults:
            if column not in values:
                values[column] = default
        for column in booleans:
            if values.get(column) is None:
                values[column] = 0
        if has_owner and values.get("ownerid") is None:
            values["ownerid"] = owner_id
        if derives:
            derive(plan, values, values, now)
        for column, _ in required:
            if values.get(column) is None:
                p.fail(messages.required_missing([n for c, n in required if values.get(c) is None]))
                break


def complete_update(plan: ObjectPlan, pending: Pending, now: str) -> None:
    """Derived fields and the required-field check for a row being updated."""
    assert pending.existing is not None
    values = pending.values
    for column in plan.booleans:
        if column in values and values[column] is None:
            values[column] = 0
    if plan.derives:
        derive(plan, values, {**pending.existing, **values}, now)
    missing = [name for column, name in plan.not_null_cols if column in values and values[column] is None]
    if missing:
        pending.fail(messages.required_missing(missing))


# ---------------------------------------------------------------------------------- batch-wide checks


def chunks(items: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def find_by_key(
    conn: sqlite3.Connection,
    obj: ObjectDef,
    key: FieldDef,
    values: Iterable[Any],
    *,
    include_deleted: bool = False,
) -> dict[Any, list[str]]:
    """Map each key value to the ids of the records holding it (case-insensitive for text keys)."""
    nocase = is_nocase(key)
    wanted = list({(v.lower() if nocase else v) for v in values if v is not None})
    out: dict[Any, list[str]] = defaultdict(list)
    collate = " COLLATE NOCASE" if nocase else ""
    deleted = "" if include_deleted else " AND isdeleted = 0"
    for part in chunks(wanted):
        sql = (
            f"SELECT {quote(key.column)}, id FROM {quote(obj.table)} "
            f"WHERE {quote(key.column)}{collate} IN ({', '.join('?' for _ in part)}){deleted} ORDER BY rowid"
        )
        for value, record_id in conn.execute(sql, part):
            out[value.lower() if nocase else value].append(record_id)
    return out


def resolve_lookups(conn: sqlite3.Connection, pendings: list[Pending]) -> None:
    """Replace parent lookups by external id with the parent's id (or a row error)."""
    groups: dict[tuple[str, str], list[Lookup]] = defaultdict(list)
    for p in pendings:
        if p.error is None:
            for lk in p.lookups:
                groups[(lk.target.name, lk.key.name)].append(lk)
    found: dict[tuple[str, str], dict[Any, list[str]]] = {
        gk: find_by_key(conn, lks[0].target, lks[0].key, (lk.value for lk in lks))
        for gk, lks in groups.items()
    }
    for p in pendings:
        if p.error is not None:
            continue
        for lk in p.lookups:
            hits = found[(lk.target.name, lk.key.name)].get(
                lk.value.lower() if is_nocase(lk.key) and isinstance(lk.value, str) else lk.value, []
            )
            if not hits:
                p.fail(messages.foreign_key_not_found(lk.shown, lk.key.name, lk.target.name, lk.ref.name))
            elif len(hits) > 1:
                p.fail(messages.foreign_key_multiple(lk.shown, lk.key.name, lk.target.name, lk.ref.name))
            else:
                p.values[lk.ref.column] = hits[0]


def check_references(
    conn: sqlite3.Connection, plan: ObjectPlan, pendings: list[Pending], known: set[str]
) -> None:
    """Every lookup value must be the id of an existing, undeleted record of a referenced object."""
    live = [p for p in pendings if p.error is None]
    present: list[tuple[str, str, set[str]]] = []
    wanted: dict[str, set[str]] = defaultdict(set)
    for column, name, reference_to in plan.reference_cols:
        distinct: set[str] = {p.values.get(column) for p in live}  # type: ignore[misc]
        distinct.discard(None)
        distinct -= known
        if not distinct:
            continue  # the common case: the column is absent, empty or the acting user everywhere
        present.append((column, name, distinct))
        bad: set[str] = set()
        for value in distinct:
            target = plan.schema.by_prefix(value[:3])
            if target is None or target.name not in reference_to:
                bad.add(value)
            else:
                wanted[target.table].add(value)
        if bad:
            for p in live:
                if p.error is None and p.values.get(column) in bad:
                    p.fail(messages.invalid_cross_reference(name))
    state: dict[str, int] = {}
    for table, id_set in wanted.items():
        for part in chunks(sorted(id_set)):
            sql = f"SELECT id, isdeleted FROM {quote(table)} WHERE id IN ({', '.join('?' for _ in part)})"
            state.update((rid, int(deleted)) for rid, deleted in conn.execute(sql, part))
    for column, name, distinct in present:
        if all(state.get(v) == 0 for v in distinct):
            continue
        for p in live:
            if p.error is not None:
                continue
            ref_id = p.values.get(column)
            if ref_id is None or ref_id in known:
                continue
            if ref_id not in state:
                p.fail(messages.invalid_cross_reference(name))
            elif state[ref_id]:
                p.fail(messages.entity_is_deleted())


def check_unique(conn: sqlite3.Connection, plan: ObjectPlan, pendings: list[Pending]) -> None:
    """Unique fields: no clash with other records, nor between rows of the same batch."""
    for f in plan.unique:
        nocase = is_nocase(f)
        column = f.column
        rows = [p for p in pendings if p.error is None and p.values.get(column) is not None]
        if not rows:
            continue
        values = [p.values[column] for p in rows]
        existing = find_by_key(conn, plan.obj, f, values)
        if not existing:
            try:
                norms = list(map(str.lower, values)) if nocase else values
            except TypeError:
                norms = [v.lower() if isinstance(v, str) else v for v in values]
            if len(set(norms)) == len(norms):
                continue  # no clash with stored records nor inside the batch
        seen: dict[Any, str] = {}
        for p in rows:
            value = p.values[column]
            norm = value.lower() if nocase and isinstance(value, str) else value
            others = [i for i in existing.get(norm, []) if i != p.record_id]
            if others:
                p.fail(messages.duplicate_value(f.name, others[0]))
            elif norm in seen and seen[norm] != p.record_id:
                p.fail(messages.duplicate_value(f.name, seen[norm]))
            elif p.record_id is not None:
                seen[norm] = p.record_id


def auto_number(field_def: FieldDef, number: int) -> str:
    """Render an auto-number: ``{00000000}`` -> ``00001026``; ``INV-{0000}`` -> ``INV-0042``."""
    pattern = field_def.display_format or "{0}"
    start, end = pattern.find("{"), pattern.find("}")
    if start < 0 or end < start:
        return str(number)
    width = end - start - 1
    return pattern[:start] + str(number).zfill(width) + pattern[end + 1 :]


def normalise_id(plan: ObjectPlan, raw: Any) -> str:
    """A 15/18-char id of this object, as 18 chars (MALFORMED_ID otherwise)."""
    if isinstance(raw, str) and raw[:3] == plan.obj.key_prefix:
        try:
            return ids.to18(raw)
        except ValueError:
            pass
    raise messages.malformed_id(f"{plan.obj.label or plan.obj.name} ID", raw)
