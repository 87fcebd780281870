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
class AggColumn:
    """One column of an aggregate SELECT: ``group`` is the GROUP BY item it shows (null on the
    ROLLUP/CUBE subtotal rows that leave that item out); ``grouping`` marks ``GROUPING(item)``."""

    sql: str
    group: int | None = None
    grouping: int | None = None


def grouping_sets(kind: str | None, count: int) -> tuple[tuple[int, ...], ...] | None:
    """The grouping sets of ``GROUP BY ROLLUP(...)`` / ``CUBE(...)`` over ``count`` items (None: plain).

    Example:
        >>> grouping_sets("ROLLUP", 2)
        ((0, 1), (0,), ())
        >>> grouping_sets("CUBE", 2)
        ((0, 1), (0,), (1,), ())
    """
    if kind is None:
        return None
    if kind == "ROLLUP":
        return tuple(tuple(range(n)) for n in range(count, -1, -1))
    sets = [tuple(i for i in range(count) if mask & (1 << (count - 1 - i))) for mask in range(2**count)]
    return tuple(sorted(sets, key=lambda s: (-len(s), s)))


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
    group_sets: tuple[tuple[int, ...], ...] | None = None
    group_exprs: tuple[str, ...] = ()
    columns: tuple[AggColumn, ...] = ()


class Feature(StrEnum):
    """SOQL features some callers (Bulk 2.0) refuse."""

    SUBQUERY = "subquery"
    AGGREGATE = "aggregate"
    GROUP_BY = "group_by"
    OFFSET = "offset"
    TYPEOF = "typeof"
    FIELDS = "fields"
    COMPOUND = "compound"
    FUNCTION = "function"


@dataclass(frozen=True)
class QueryPlan:
    """The compiled form of one SOQL statement."""

    soql: str
    obj: ObjectDef
    records: RecordPlan | None
    aggregate: AggregatePlan | None
    columns: tuple[ColumnInfo, ...]
    features: frozenset[Feature]
