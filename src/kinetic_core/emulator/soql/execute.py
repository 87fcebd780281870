"""Running compiled plans on the store's SQLite connection and shaping rows as Salesforce records.

Record queries run in two steps: :func:`snapshot` lists the matching rowids in result
order (cheap: one integer per row), then :func:`fetch` loads any slice of them with
every selected column. Pages of a cursor are slices of one snapshot, so they stay
stable while the data changes.
"""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .plan import AggregatePlan, Child, ChildPlan, Compound, Leaf, Node, Parent, RecordPlan
from .planner import where_sql

FETCH_CHUNK = 2000
"""Rowids per ``IN (...)`` statement (well below SQLite's variable limit)."""

ChildResults = dict[str, dict[str, dict[str, Any]]]


def _limit_params(limit: int | None, offset: int | None) -> tuple[int, int]:
    return (-1 if limit is None else limit), (offset or 0)


def snapshot(
    conn: sqlite3.Connection, plan: RecordPlan, now: datetime, *, include_deleted: bool
) -> array[int]:
    """Rowids of every matching record, in result order (ORDER BY, then insertion order)."""
    where = where_sql(plan.filter, plan.not_deleted, include_deleted)
    sql = (
        f"SELECT {plan.alias}.rowid FROM {plan.filter_from_sql} WHERE {where.text} "
        f"ORDER BY {plan.order_sql} LIMIT ? OFFSET ?"
    )
    cur = conn.execute(sql, (*where.bind(now), *_limit_params(plan.limit, plan.offset)))
    out: array[int] = array("q")
    while True:
        chunk = cur.fetchmany(10000)
        if not chunk:
            return out
        out.extend(r[0] for r in chunk)


def fetch(conn: sqlite3.Connection, plan: RecordPlan, rowids: Sequence[int]) -> list[tuple[Any, ...]]:
    """The full rows (``rowid, Id, *columns``) for ``rowids``, in that order."""
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(rowids), FETCH_CHUNK):
        part = list(rowids[start : start + FETCH_CHUNK])
        marks = ",".join("?" * len(part))
        sql = f"SELECT {plan.select_sql} FROM {plan.from_sql} WHERE {plan.alias}.rowid IN ({marks})"
        by_rowid = {row[0]: row for row in conn.execute(sql, part)}
        out.extend(by_rowid[r] for r in part if r in by_rowid)
    return out


def fetch_children(
    conn: sqlite3.Connection,
    plan: RecordPlan,
    rows: Sequence[tuple[Any, ...]],
    now: datetime,
    url_prefix: str,
    *,
    include_deleted: bool,
) -> ChildResults:
    """Every subquery's result per parent id (only parents with at least one child appear)."""
    parent_ids = [row[1] for row in rows]
    out: ChildResults = {}
    for node in plan.nodes:
        if isinstance(node, Child):
            out[node.key] = _child_results(conn, node.plan, parent_ids, now, url_prefix, include_deleted)
    return out


def _child_results(
    conn: sqlite3.Connection,
    child: ChildPlan,
    parent_ids: list[str],
    now: datetime,
    url_prefix: str,
    include_deleted: bool,
) -> dict[str, dict[str, Any]]:
    rec = child.record
    where = where_sql(rec.filter, rec.not_deleted, include_deleted)
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for start in range(0, len(parent_ids), FETCH_CHUNK):
        part = parent_ids[start : start + FETCH_CHUNK]
        marks = ",".join("?" * len(part))
        sql = (
            f"SELECT {rec.select_sql}, {child.fk_sql} FROM {rec.from_sql} "
            f"WHERE {child.fk_sql} IN ({marks}) AND {where.text} ORDER BY {rec.order_sql}"
        )
        for row in conn.execute(sql, (*part, *where.bind(now))):
            grouped.setdefault(row[-1], []).append(row)
    results: dict[str, dict[str, Any]] = {}
    first = rec.offset or 0
    for parent_id, kids in grouped.items():
        window = kids[first:] if rec.limit is None else kids[first : first + rec.limit]
        if window:
            records = render(rec, window, url_prefix, {})
            results[parent_id] = {"totalSize": len(records), "done": True, "records": records}
    return results


def render(
    plan: RecordPlan, rows: Sequence[tuple[Any, ...]], url_prefix: str, children: ChildResults
) -> list[dict[str, Any]]:
    """Rows -> Salesforce record dicts (``attributes`` first, then fields in SELECT order)."""
    type_name = plan.obj.name
    base = f"{url_prefix}{type_name}/"
    nodes = plan.nodes
    simple = all(isinstance(n, Leaf) for n in nodes)
    out: list[dict[str, Any]] = []
    append = out.append
    if simple:
        leaves = [(n.key, n.index, n.conv) for n in nodes if isinstance(n, Leaf)]
        for row in rows:
            rec: dict[str, Any] = {"attributes": {"type": type_name, "url": base + row[1]}}
            for key, index, conv in leaves:
                value = row[index]
                rec[key] = value if conv is None or value is None else conv(value)
            append(rec)
        return out
    for row in rows:
        rec = {"attributes": {"type": type_name, "url": base + row[1]}}
        _fill(rec, row, nodes, url_prefix, children)
        append(rec)
    return out


def _fill(
    rec: dict[str, Any],
    row: tuple[Any, ...],
    nodes: tuple[Node, ...],
    url_prefix: str,
    children: ChildResults,
) -> None:
    for node in nodes:
        if isinstance(node, Leaf):
            value = row[node.index]
            rec[node.key] = value if node.conv is None or value is None else node.conv(value)
        elif isinstance(node, Parent):
            parent_id = row[node.id_index]
            if parent_id is None:
                rec[node.key] = None
                continue
            sub: dict[str, Any] = {
                "attributes": {"type": node.type_name, "url": f"{url_prefix}{node.type_name}/{parent_id}"}
            }
            _fill(sub, row, node.children, url_prefix, children)
            rec[node.key] = sub
        elif isinstance(node, Compound):
            values = {key: row[index] for key, index, _ in node.parts}
            if all(v is None for v in values.values()):
                rec[node.key] = None
            else:
                rec[node.key] = {
                    key: values[key] if conv is None or values[key] is None else conv(values[key])
                    for key, _, conv in node.parts
                }
        else:
            rec[node.key] = children.get(node.key, {}).get(row[1])


def _grouping_sets_sql(plan: AggregatePlan, where: str) -> str:
    """``GROUP BY ROLLUP/CUBE`` as a UNION ALL of one GROUP BY per grouping set (SQLite has neither).

    Rows come out hierarchically: each group item ascending with its subtotal rows (null there) after
    the detail rows, the grand total last. An ORDER BY of the query may only name selected columns.
    """
    assert plan.group_sets is not None
    parts = []
    for kept in plan.group_sets:
        cols = []
        for i, col in enumerate(plan.columns):
            if col.grouping is not None:
                text = "0" if col.grouping in kept else "1"
            elif col.group is not None and col.group not in kept:
                text = "NULL"
            else:
                text = col.sql
            cols.append(f"{text} AS c{i}")
        marks = [f"{1 if g in kept else 0} AS k{g}" for g in range(len(plan.group_exprs))]
        sql = f"SELECT {', '.join(cols + marks)} FROM {plan.from_sql} WHERE {where}"
        if kept:
            sql += " GROUP BY " + ", ".join(plan.group_exprs[g] for g in kept)
        if plan.having is not None:
            sql += f" HAVING {plan.having.text}"
        parts.append(sql)
    order = plan.order_sql or ", ".join(
        f"k{g} = 0, c{i}" for g in range(len(plan.group_exprs)) for i, col in enumerate(plan.columns)
        if col.group == g
    )  # fmt: skip
    names = ", ".join(f"c{i}" for i in range(len(plan.columns)))
    union = " UNION ALL ".join(parts)
    return f"SELECT {names} FROM ({union})" + (f" ORDER BY {order}" if order else "")


def run_aggregate(
    conn: sqlite3.Connection, plan: AggregatePlan, now: datetime, *, include_deleted: bool
) -> tuple[int, list[dict[str, Any]]]:
    """Execute an aggregate plan: (totalSize, AggregateResult records); ``COUNT()`` returns no records."""
    where = where_sql(plan.filter, plan.not_deleted, include_deleted)
    params: list[Any] = []
    if plan.group_sets is not None:
        sql = _grouping_sets_sql(plan, where.text)
        for _ in plan.group_sets:
            params.extend(where.bind(now))
            if plan.having is not None:
                params.extend(plan.having.bind(now))
    else:
        sql = f"SELECT {plan.select_sql} FROM {plan.from_sql} WHERE {where.text}"
        params.extend(where.bind(now))
        if plan.group_sql:
            sql += f" GROUP BY {plan.group_sql}"
        if plan.having is not None:
            sql += f" HAVING {plan.having.text}"
            params.extend(plan.having.bind(now))
        if plan.order_sql:
            sql += f" ORDER BY {plan.order_sql}"
    sql += " LIMIT ? OFFSET ?"
    params.extend(_limit_params(plan.limit, plan.offset))
    if plan.count_only:
        if plan.group_sql:
            total = conn.execute(f"SELECT COUNT(*) FROM ({sql})", params).fetchone()[0]
        else:
            count = int(conn.execute(sql.replace(" LIMIT ? OFFSET ?", ""), params[:-2]).fetchone()[0])
            limit, offset = _limit_params(plan.limit, plan.offset)
            total = max(count - offset, 0) if limit < 0 else max(min(count - offset, limit), 0)
        return int(total), []
    records: list[dict[str, Any]] = []
    for row in conn.execute(sql, params):
        rec: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
        for leaf in plan.nodes:
            value = row[leaf.index]
            rec[leaf.key] = value if leaf.conv is None or value is None else leaf.conv(value)
        records.append(rec)
    return len(records), records
