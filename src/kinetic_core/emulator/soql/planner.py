"""Syntax tree + schema -> :class:`~.plan.QueryPlan` (validation and SQL generation in one pass).

Record queries (fields, parent paths, child subqueries, WHERE, ORDER BY) are planned here; aggregate
queries by :mod:`.aggregates`; both share the statement's :class:`~.context.PlanContext`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kinetic_core.emulator.store.compound import component_keys
from kinetic_core.emulator.store.schema import ObjectDef, Schema

from . import ast as a
from . import messages as m
from .aggregates import AggregatePlanner
from .conditions import ConditionCompiler
from .context import PlanContext, aggregate_call, json_converter, order_text
from .functions import Expr
from .plan import (
    Child,
    ChildPlan,
    ColumnInfo,
    Compound,
    CsvColumn,
    Feature,
    Leaf,
    Node,
    Parent,
    QueryPlan,
    RecordPlan,
)
from .scope import Resolved, Scope, Sql, q


@dataclass
class _ParentBuilder:
    key: str
    type_name: str
    id_index: int
    children: list[Any] = field(default_factory=list)

    def freeze(self) -> Parent:
        return Parent(self.key, self.type_name, self.id_index, tuple(_freeze(c) for c in self.children))


def _freeze(node: Any) -> Node:
    if isinstance(node, _ParentBuilder):
        return node.freeze()
    assert isinstance(node, Leaf | Parent | Child | Compound)
    return node


@dataclass
class _Selection:
    """The SQL columns, result tree and CSV columns of one record query, built field by field."""

    soql: str
    features: set[Feature]
    columns: list[str] = field(default_factory=list)
    roots: list[Any] = field(default_factory=list)
    parents: dict[tuple[str, ...], _ParentBuilder] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    csv: list[CsvColumn] = field(default_factory=list)
    infos: list[ColumnInfo] = field(default_factory=list)

    def claim(self, name: str, pos: a.Pos) -> None:
        """A name of the result (a field, an alias, a child relationship): each only once."""
        if name.lower() in self.seen:
            raise m.malformed(self.soql, pos, f"duplicate field selected: {name}")
        self.seen.add(name.lower())

    def _holder(self, res: Resolved) -> list[Any]:
        """The node list the field goes in: the root's, or its parent path's (made on first use)."""
        holder = self.roots
        for hop in res.hops:
            builder = self.parents.get(hop.key)
            if builder is None:
                self.columns.append(f'{hop.alias}."id"')
                builder = _ParentBuilder(hop.rel_name, hop.obj.name, len(self.columns) + 1)
                self.parents[hop.key] = builder
                holder.append(builder)
            holder = builder.children
        return holder

    def add_field(
        self, res: Resolved, pos: a.Pos, expr: Expr | None = None, alias: str | None = None
    ) -> None:
        dotted = res.dotted if alias is None else alias
        self.claim(dotted, pos)
        holder = self._holder(res)
        self.infos.append(_field_info(res))
        if res.field.is_compound:
            # Read-only view over its components; Bulk 2.0 refuses it (Feature.COMPOUND).
            self.features.add(Feature.COMPOUND)
            parts = []
            for key, part in component_keys(res.owner, res.field):
                self.columns.append(f"{res.alias}.{q(part.column)}")
                parts.append((key, len(self.columns) + 1, json_converter(part)))
            holder.append(Compound(res.field.name, tuple(parts)))
            return
        if expr is not None:  # toLabel(), FORMAT(), convertCurrency() over this field
            self.features.add(Feature.FUNCTION)
            self.columns.append(expr.sql)
            conv = expr.conv if expr.conv is not None else json_converter(res.field)
            holder.append(Leaf(alias or res.field.name, len(self.columns) + 1, conv))
            return
        self.columns.append(res.sql)
        index = len(self.columns) + 1
        holder.append(Leaf(res.field.name, index, json_converter(res.field)))
        self.csv.append(CsvColumn(dotted, index, res.field))


def plan_query(soql: str, query: a.Query, schema: Schema) -> QueryPlan:
    """Validate ``query`` against ``schema`` and compile it.

    Raises:
        kinetic_core.emulator.errors.ApiError: INVALID_TYPE, INVALID_FIELD, MALFORMED_QUERY ...

    Example:
        >>> from kinetic_core.emulator.store.schema import FieldDef, FieldType, ObjectDef
        >>> s = Schema([ObjectDef("Thing__c", "a00", (FieldDef("Id", FieldType.ID),))])
        >>> plan_query("SELECT Id FROM thing__c", a.Query((a.SelectField(a.FieldPath(("Id",), (1, 8))),),
        ...            "thing__c", (1, 20)), s).obj.name
        'Thing__c'
    """
    return _Planner(PlanContext(soql, schema)).top(query)


class _Planner:
    """Plans the record queries of one statement (with their child subqueries); hands aggregate ones on."""

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        self.soql = ctx.soql
        self.schema = ctx.schema
        self.features = ctx.features

    def top(self, query: a.Query) -> QueryPlan:
        ctx = self.ctx
        obj = ctx.object(query)
        ctx.check_common(query)
        is_aggregate = (
            bool(query.group_by)
            or query.having is not None
            or any(isinstance(s, a.SelectAggregate) or aggregate_call(s) for s in query.select)
        )
        if is_aggregate:
            agg, columns = AggregatePlanner(ctx).plan(query, obj)
            return QueryPlan(self.soql, obj, None, agg, columns, frozenset(self.features))
        scope = ctx.new_scope(obj, query.alias)
        rec, columns = self.records(query, scope, allow_children=True)
        return QueryPlan(self.soql, obj, rec, None, columns, frozenset(self.features))

    # ---- record queries ---------------------------------------------------------------------------------

    def records(
        self, query: a.Query, scope: Scope, *, allow_children: bool
    ) -> tuple[RecordPlan, tuple[ColumnInfo, ...]]:
        sel = _Selection(self.soql, self.features)
        for item in query.select:
            self._select(item, query, scope, sel, allow_children=allow_children)
        compiler = ConditionCompiler(scope, self.ctx.new_scope)
        where = compiler.compile(query.where) if query.where is not None else None
        order = [self.order_item(o, scope, compiler.used_keys) for o in query.order_by]
        order.append(f"{scope.alias}.rowid")
        plan = RecordPlan(
            obj=scope.obj,
            alias=scope.alias,
            from_sql=scope.from_sql(),
            filter_from_sql=scope.from_sql(compiler.used_keys),
            columns=tuple(sel.columns),
            nodes=tuple(_freeze(n) for n in sel.roots),
            filter=where,
            not_deleted=scope.not_deleted(),
            order_sql=", ".join(order),
            ordered=bool(query.order_by),
            limit=query.limit,
            offset=query.offset,
            csv=tuple(sel.csv),
        )
        return plan, tuple(sel.infos)

    def _select(
        self, item: a.SelectItem, query: a.Query, scope: Scope, sel: _Selection, *, allow_children: bool
    ) -> None:
        """Add one item of the SELECT list to ``sel``."""
        if isinstance(item, a.SelectField):
            if item.alias is not None:
                raise m.malformed(self.soql, item.path.pos, "Only aggregate expressions use field aliasing")
            sel.add_field(scope.resolve(item.path), item.path.pos)
        elif isinstance(item, a.SelectFunc):
            expr = self.ctx.functions(scope).compile(item.call, "select")
            assert expr.resolved is not None
            sel.add_field(expr.resolved, item.call.pos, expr, item.alias)
        elif isinstance(item, a.SelectFields):
            self._select_fields(item, query, scope, sel)
        elif isinstance(item, a.SelectSubquery):
            self.features.add(Feature.SUBQUERY)
            if not allow_children:
                raise m.malformed(self.soql, item.pos, "Nested subqueries are not supported")
            child, info = self.child(item, scope.obj)
            sel.claim(child.relationship, item.pos)
            sel.roots.append(Child(child.relationship, child))
            sel.infos.append(info)
        elif isinstance(item, a.SelectTypeof):
            self.features.add(Feature.TYPEOF)
            raise m.malformed(self.soql, item.pos, "TYPEOF is not supported by the local emulator")
        else:
            raise m.malformed(self.soql, item.agg.pos, "Aggregate functions are not allowed here")

    def _select_fields(self, item: a.SelectFields, query: a.Query, scope: Scope, sel: _Selection) -> None:
        """``FIELDS(ALL | STANDARD | CUSTOM)``: every such field not selected already."""
        self.features.add(Feature.FIELDS)
        if item.scope is not a.FieldsScope.STANDARD and (
            query.limit is None or query.limit > m.FIELDS_ALL_MAX_LIMIT
        ):
            raise m.malformed(
                self.soql,
                item.pos,
                f"The SOQL FIELDS function must have a LIMIT of at most {m.FIELDS_ALL_MAX_LIMIT}",
            )
        for f in scope.obj.fields:
            wanted = item.scope is a.FieldsScope.ALL or f.custom == (item.scope is a.FieldsScope.CUSTOM)
            if wanted and f.name.lower() not in sel.seen:
                sel.add_field(scope.resolve(a.FieldPath((f.name,), item.pos)), item.pos)

    def order_item(self, item: a.OrderItem, scope: Scope, used: set[tuple[str, ...]]) -> str:
        if isinstance(item.expr, a.Aggregate):
            raise m.malformed(self.soql, item.expr.pos, "Ordering by an aggregate requires GROUP BY")
        if isinstance(item.expr, a.FuncCall):
            expr = self.ctx.functions(scope).compile(item.expr, "order")
            if expr.resolved is not None:
                used.add(expr.resolved.key)
            return order_text(expr.sql, expr.nocase, item, expr.type)
        res = self.ctx.resolve(scope, item.expr, "sorted")
        used.add(res.key)
        return order_text(res.sql, res.nocase, item, res.field.type)

    def child(self, item: a.SelectSubquery, parent: ObjectDef) -> tuple[ChildPlan, ColumnInfo]:
        sub = item.query
        rel = self.schema.child_relationship(parent.name, sub.sobject)
        child_obj = self.schema.get(rel.child_object) if rel else None
        if rel is None or child_obj is None:
            raise m.bad_child_relationship(self.soql, sub.sobject_pos, sub.sobject)
        if sub.group_by or any(isinstance(s, a.SelectAggregate) or aggregate_call(s) for s in sub.select):
            raise m.malformed(self.soql, sub.pos, "Aggregate functions are not supported in subqueries")
        self.ctx.check_common(sub)
        scope = self.ctx.new_scope(child_obj, sub.alias)
        fk = child_obj.field(rel.field)
        assert fk is not None
        record, infos = self.records(sub, scope, allow_children=False)
        plan = ChildPlan(rel.relationship_name, record, f"{scope.alias}.{q(fk.column)}")
        info = ColumnInfo(rel.relationship_name, rel.relationship_name, None, aggregate=True, join=infos)
        return plan, info


def _field_info(res: Resolved) -> ColumnInfo:
    info = ColumnInfo(res.field.name, res.field.name, res.field, aggregate=False)
    for hop in reversed(res.hops):
        info = ColumnInfo(
            hop.rel_name, hop.rel_name, None, aggregate=False, foreign_key=hop.ref_field.name, join=(info,)
        )
    return info


def where_sql(filter_: Sql | None, not_deleted: str | None, include_deleted: bool) -> Sql:
    """The WHERE body combining the soft-delete test and the query's own filter (``1`` when empty)."""
    parts: list[str] = []
    if not_deleted and not include_deleted:
        parts.append(not_deleted)
    params: tuple[Any, ...] = ()
    if filter_ is not None:
        parts.append(filter_.text)
        params = filter_.params
    return Sql(" AND ".join(parts) if parts else "1", params)
