"""Name resolution for one query level: field paths -> columns, parent relationships -> LEFT JOINs.

Storage follows :mod:`kinetic_core.emulator.store.schema`: one table per object
(``ObjectDef.table``), one column per field (``FieldDef.column``), always quoted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kinetic_core.emulator.store.schema import FieldDef, FieldType, ObjectDef, Schema

from . import ast as a
from . import messages as m
from .dates import stored_bounds

MAX_PARENT_LEVELS = 5
"""Salesforce allows five levels of child-to-parent traversal."""


def q(identifier: str) -> str:
    """Quote an SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class DateBound:
    """A query parameter known only at execution time: one end of a relative date range."""

    name: str
    n: int | None
    datetime_field: bool
    end: bool

    def value(self, now: datetime) -> str:
        start, stop = stored_bounds(self.name, self.n, now, datetime_field=self.datetime_field)
        return stop if self.end else start


@dataclass(frozen=True)
class Sql:
    """An SQL fragment and its parameters (some may be :class:`DateBound`)."""

    text: str
    params: tuple[Any, ...] = ()

    def bind(self, now: datetime) -> tuple[Any, ...]:
        """Parameters with every date bound evaluated against ``now``."""
        if not any(isinstance(p, DateBound) for p in self.params):
            return self.params
        return tuple(p.value(now) if isinstance(p, DateBound) else p for p in self.params)


@dataclass(frozen=True)
class Join:
    """``LEFT JOIN table AS alias ON alias.id = parent_alias.column``."""

    key: tuple[str, ...]
    alias: str
    obj: ObjectDef
    parent_alias: str
    column: str
    rel_name: str
    ref_field: FieldDef

    @property
    def sql(self) -> str:
        on = f'{self.alias}."id" = {self.parent_alias}.{q(self.column)}'
        return f"LEFT JOIN {q(self.obj.table)} AS {self.alias} ON {on}"


@dataclass(frozen=True)
class Resolved:
    """A field path resolved against the schema."""

    field: FieldDef
    owner: ObjectDef
    alias: str
    key: tuple[str, ...]
    hops: tuple[Join, ...]

    @property
    def sql(self) -> str:
        return f"{self.alias}.{q(self.field.column)}"

    @property
    def dotted(self) -> str:
        """Canonical dotted name: ``Account.Owner.Name``."""
        return ".".join([*(j.rel_name for j in self.hops), self.field.name])

    @property
    def nocase(self) -> bool:
        return self.field.is_text and not self.field.case_sensitive


class Scope:
    """One query level: its root object, table alias and the parent joins it needed so far."""

    def __init__(
        self, soql: str, schema: Schema, obj: ObjectDef, alias: str, query_alias: str | None
    ) -> None:
        self.soql = soql
        self.schema = schema
        self.obj = obj
        self.alias = alias
        self.query_alias = query_alias.lower() if query_alias else None
        self.joins: dict[tuple[str, ...], Join] = {}

    def resolve(self, path: a.FieldPath) -> Resolved:
        """Resolve ``Account.Owner.Name`` (object-name or alias prefix allowed) to a column.

        Raises:
            kinetic_core.emulator.errors.ApiError: INVALID_FIELD for an unknown relationship or field.
        """
        parts = list(path.parts)
        if len(parts) > 1 and parts[0].lower() in {self.obj.name.lower(), self.query_alias}:
            parts = parts[1:]
        obj = self.obj
        alias = self.alias
        key: tuple[str, ...] = ()
        hops: list[Join] = []
        for rel in parts[:-1]:
            ref = obj.relationship(rel)
            target = self._target(ref)
            if ref is None or target is None or len(hops) >= MAX_PARENT_LEVELS:
                raise m.bad_relationship(self.soql, path.pos, rel)
            key = (*key, rel.lower())
            join = self.joins.get(key)
            if join is None:
                join = Join(
                    key=key,
                    alias=f"{self.alias}_{len(self.joins) + 1}",
                    obj=target,
                    parent_alias=alias,
                    column=ref.column,
                    rel_name=ref.relationship_name or rel,
                    ref_field=ref,
                )
                self.joins[key] = join
            hops.append(join)
            obj = target
            alias = join.alias
        field = obj.field(parts[-1])
        if field is None:
            if hops:
                raise m.no_such_column(self.soql, path.pos, parts[-1], obj.name)
            raise m.no_such_column(self.soql, path.pos, path.text, obj.name)
        return Resolved(field, obj, alias, key, tuple(hops))

    def _target(self, ref: FieldDef | None) -> ObjectDef | None:
        if ref is None or ref.type is not FieldType.REFERENCE:
            return None
        for name in ref.reference_to:
            target = self.schema.get(name)
            if target is not None:
                return target
        return None

    def from_sql(self, keys: set[tuple[str, ...]] | None = None) -> str:
        """``FROM`` clause with the joins for ``keys`` (and their ancestors); all joins when None."""
        parts = [f"{q(self.obj.table)} AS {self.alias}"]
        for key, join in self.joins.items():
            if keys is None or any(k[: len(key)] == key for k in keys):
                parts.append(join.sql)
        return " ".join(parts)

    def not_deleted(self) -> str | None:
        """The soft-delete filter of the root table, if the object has ``IsDeleted``."""
        if self.obj.field("IsDeleted") is None:
            return None
        return f'{self.alias}."isdeleted" = 0'
