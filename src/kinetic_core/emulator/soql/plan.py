"""Validated, compiled queries: what the executor runs and how rows become records.

A plan is immutable and independent of the clock (relative dates stay
:class:`~.scope.DateBound` parameters), so one plan serves every execution of
the same SOQL text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeAlias

from kinetic_core.emulator.store.schema import FieldDef, ObjectDef

from .scope import Sql

Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class Leaf:
    """A scalar in the output: ``record[key] = conv(row[index])``."""

    key: str
    index: int
    conv: Converter | None


@dataclass(frozen=True)
class Parent:
    """A parent relationship object, ``None`` when its id column is null."""

    key: str
    type_name: str
    id_index: int
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Child:
    """A parent-to-child subquery result, filled per parent id."""

    key: str
    plan: ChildPlan


@dataclass(frozen=True)
class Compound:
    """A compound field (``BillingAddress``): an object of its components, ``None`` when all are null.

    ``parts`` are ``(key, row index, converter)`` in the key order Salesforce uses.
    """

    key: str
    parts: tuple[tuple[str, int, Converter | None], ...]


Node: TypeAlias = Leaf | Parent | Child | Compound


@dataclass(frozen=True)
class CsvColumn:
    header: str
    index: int
    field: FieldDef


@dataclass(frozen=True)
class ColumnInfo:
    """One entry of the ``columns=true`` metadata (see :mod:`.columns`)."""

    name: str
    display: str
    field: FieldDef | None
    aggregate: bool
    number: bool = False
    foreign_key: str | None = None
    join: tuple[ColumnInfo, ...] = ()


@dataclass(frozen=True)
class RecordPlan:
    """A non-aggregate SELECT.

    Row layout of :attr:`fetch_sql`: ``rowid, Id, *columns``; ``filter`` is the WHERE
    without the soft-delete test (added at execution, since queryAll differs).
    """

    obj: ObjectDef
    alias: str
    from_sql: str
    filter_from_sql: str
    columns: tuple[str, ...]
    nodes: tuple[Node, ...]
    filter: Sql | None
    not_deleted: str | None
    order_sql: str
    ordered: bool
    limit: int | None
    offset: int | None
    csv: tuple[CsvColumn, ...]

    @property
    def select_sql(self) -> str:
        return ", ".join([f"{self.alias}.rowid", f'{self.alias}."id"', *self.columns])


@dataclass(frozen=True)
class ChildPlan:
    """A parent-to-child subquery: ``record`` runs on the child object, correlated by ``fk``."""

    relationship: str
    record: RecordPlan
    fk_sql: str


@dataclass(frozen=True)
class AggregatePlan:
    """A GROUP BY / aggregate SELECT (or ``COUNT()``), executed in one statement."""

    obj: ObjectDef
    from_sql: str
    select_sql: str
    filter: Sql | None
    not_deleted: str | None
    group_sql: str
    having: Sql | None
    order_sql: str
    limit: int | None
    offset: int | None
    nodes: tuple[Leaf, ...]
    count_only: bool


class Feature(StrEnum):
    """SOQL features some callers (Bulk 2.0) refuse."""

    SUBQUERY = "subquery"
    AGGREGATE = "aggregate"
    GROUP_BY = "group_by"
    OFFSET = "offset"
    TYPEOF = "typeof"
    FIELDS = "fields"
    COMPOUND = "compound"


@dataclass(frozen=True)
class QueryPlan:
    """The compiled form of one SOQL statement."""

    soql: str
    obj: ObjectDef
    records: RecordPlan | None
    aggregate: AggregatePlan | None
    columns: tuple[ColumnInfo, ...]
    features: frozenset[Feature]
