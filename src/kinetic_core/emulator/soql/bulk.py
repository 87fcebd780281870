"""Bulk API 2.0 query support: what a query job refuses, and CSV rows streamed in chunks.

Streaming never holds the store lock between chunks: unordered queries page through
the table by rowid (keyset), ordered ones snapshot the matching rowids once and load
them a chunk at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from kinetic_core.emulator.store.schema import TEXT_TYPES, FieldDef, FieldType, Schema
from kinetic_core.emulator.store.values import to_csv

from . import ast as a
from . import messages as m
from .execute import fetch, snapshot
from .parser import parse_soql
from .plan import Feature, QueryPlan, RecordPlan
from .planner import where_sql

if TYPE_CHECKING:
    from kinetic_core.emulator.store.records import Store

CSV_CHUNK = 5000
"""Rows loaded per statement while streaming CSV."""

_PLAIN_CSV = TEXT_TYPES | {FieldType.ID, FieldType.REFERENCE, FieldType.DATE, FieldType.DATETIME}


@dataclass(frozen=True)
class BulkQueryPlan:
    """A SOQL statement accepted for a Bulk 2.0 query job."""

    soql: str
    object_name: str
    plan: QueryPlan

    @property
    def columns(self) -> list[str]:
        """CSV header: canonical dotted names in SELECT order."""
        assert self.plan.records is not None
        return [c.header for c in self.plan.records.csv]


def plan_bulk(soql: str, schema: Schema, planner: Callable[[str], QueryPlan]) -> BulkQueryPlan:
    """Validate ``soql`` for Bulk 2.0 (see :meth:`QueryEngine.validate_bulk`).

    Example:
        >>> plan_bulk("SELECT Id FROM Nope", Schema([]), lambda s: None)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        kinetic_core.emulator.errors.ApiError: INVALIDENTITY: Entity 'Nope' is not supported by the Bulk API.
    """
    query = parse_soql(soql)
    obj = schema.get(query.sobject)
    if obj is None or not obj.queryable or not obj.bulk_supported:
        raise m.bulk_entity(query.sobject)
    for item in query.select:
        if isinstance(item, a.SelectSubquery):
            raise m.bulk_unsupported(m.BULK_SUBQUERY)
        if isinstance(item, a.SelectTypeof):
            raise m.bulk_unsupported(m.BULK_TYPEOF)
        if isinstance(item, a.SelectFields):
            raise m.bulk_unsupported(m.BULK_FIELDS)
        if isinstance(item, a.SelectAggregate):
            raise m.bulk_unsupported(m.BULK_AGGREGATE)
    if query.group_by or query.having is not None:
        raise m.bulk_unsupported(m.BULK_GROUP_BY)
    if query.offset is not None:
        raise m.bulk_unsupported(m.BULK_OFFSET)
    plan = planner(soql)
    if Feature.COMPOUND in plan.features:
        raise m.bulk_compound()
    if Feature.FUNCTION in plan.features:
        raise m.bulk_unsupported(m.BULK_FUNCTIONS)
    return BulkQueryPlan(soql, obj.name, plan)


def _plain(value: Any) -> str:
    return "" if value is None else str(value)


def csv_converter(f: FieldDef) -> Callable[[Any], str]:
    """Stored value -> CSV text for one field (stored text and datetimes already are the CSV form)."""
    if f.type in _PLAIN_CSV:
        return _plain
    return partial(to_csv, f)


def csv_rows(
    store: Store, bulk: BulkQueryPlan, now: datetime, *, include_deleted: bool
) -> tuple[list[str], Iterator[list[str]]]:
    """Header and lazy rows for a Bulk 2.0 query (see :meth:`QueryEngine.iter_csv_rows`)."""
    rec = bulk.plan.records
    assert rec is not None
    header = [c.header for c in rec.csv]
    return header, _rows(store, rec, now, include_deleted)


def _rows(store: Store, rec: RecordPlan, now: datetime, include_deleted: bool) -> Iterator[list[str]]:
    cells = [(c.index, csv_converter(c.field)) for c in rec.csv]
    for chunk in _chunks(store, rec, now, include_deleted):
        for row in chunk:
            yield [conv(row[index]) for index, conv in cells]


def _chunks(
    store: Store, rec: RecordPlan, now: datetime, include_deleted: bool
) -> Iterator[list[tuple[Any, ...]]]:
    if rec.ordered or rec.offset:
        with store.read() as conn:
            rowids = snapshot(conn, rec, now, include_deleted=include_deleted)
        for start in range(0, len(rowids), CSV_CHUNK):
            with store.read() as conn:
                rows = fetch(conn, rec, rowids[start : start + CSV_CHUNK])
            yield rows
        return
    where = where_sql(rec.filter, rec.not_deleted, include_deleted)
    params = where.bind(now)
    sql = (
        f"SELECT {rec.select_sql} FROM {rec.from_sql} WHERE {rec.alias}.rowid > ? AND {where.text} "
        f"ORDER BY {rec.alias}.rowid LIMIT ?"
    )
    remaining = rec.limit
    last = -1
    while remaining is None or remaining > 0:
        size = CSV_CHUNK if remaining is None else min(CSV_CHUNK, remaining)
        with store.read() as conn:
            rows = conn.execute(sql, (last, *params, size)).fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]
        if remaining is not None:
            remaining -= len(rows)
        if len(rows) < size:
            return
