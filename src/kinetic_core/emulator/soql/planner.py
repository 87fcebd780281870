"""Syntax tree + schema -> :class:`~.plan.QueryPlan` (validation and SQL generation in one pass)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from kinetic_core.emulator.store.compound import component_keys
from kinetic_core.emulator.store.schema import TEXT_TYPES, FieldDef, FieldType, ObjectDef, Schema
from kinetic_core.emulator.store.values import to_json

from . import ast as a
from . import messages as m
from .conditions import ConditionCompiler
from .functions import Expr, FunctionCompiler, contains_aggregate
from .plan import (
    AggColumn,
    AggregatePlan,
    Child,
    ChildPlan,
    ColumnInfo,
    Compound,
    Converter,
    CsvColumn,
    Feature,
    Leaf,
    Node,
    Parent,
    QueryPlan,
    RecordPlan,
    grouping_sets,
)
from .scope import Resolved, Scope, Sql, q

_PLAIN_JSON = TEXT_TYPES | {FieldType.ID, FieldType.REFERENCE, FieldType.DATE}
_NUMERIC = frozenset({FieldType.INT, FieldType.LONG, FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT})


_FAST_JSON: dict[FieldType, Converter] = {
    FieldType.BOOLEAN: bool,
    FieldType.INT: int,
    FieldType.LONG: int,
    FieldType.DOUBLE: float,
    FieldType.CURRENCY: float,
    FieldType.PERCENT: float,
}
"""Shortcuts equal to ``to_json`` for non-null values of these types (renderers skip nulls)."""


def json_converter(f: FieldDef) -> Converter | None:
    """None when the stored value already is the JSON value (text, ids, dates); else ``to_json``."""
    if f.type in _PLAIN_JSON:
        return None
    return _FAST_JSON.get(f.type) or partial(to_json, f)


def _to_int(v: Any) -> Any:
    return None if v is None else int(v)


def _to_float(v: Any) -> Any:
    return None if v is None else float(v)


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
    return _Planner(soql, schema).top(query)


class _Planner:
    def __init__(self, soql: str, schema: Schema) -> None:
        self.soql = soql
        self.schema = schema
        self.scopes = 0
        self.features: set[Feature] = set()

    def new_scope(self, obj: ObjectDef, alias: str | None) -> Scope:
        self.scopes += 1
        return Scope(self.soql, self.schema, obj, f"t{self.scopes}", alias)

    def object(self, query: a.Query) -> ObjectDef:
        obj = self.schema.get(query.sobject)
        if obj is None or not obj.queryable:
            raise m.invalid_type(self.soql, query.sobject_pos, query.sobject)
        return obj

    def top(self, query: a.Query) -> QueryPlan:
        obj = self.object(query)
        self._check_common(query)
        is_aggregate = (
            bool(query.group_by)
            or query.having is not None
            or any(isinstance(s, a.SelectAggregate) or _aggregate_call(s) for s in query.select)
        )
        if is_aggregate:
            agg, columns = self.aggregate(query, obj)
            return QueryPlan(self.soql, obj, None, agg, columns, frozenset(self.features))
        scope = self.new_scope(obj, query.alias)
        rec, columns = self.records(query, scope, allow_children=True)
        return QueryPlan(self.soql, obj, rec, None, columns, frozenset(self.features))

    def _check_common(self, query: a.Query) -> None:
        if query.offset is not None:
            self.features.add(Feature.OFFSET)
            if query.offset > m.MAX_OFFSET:
                raise m.offset_too_large(self.soql, query.offset_pos or query.pos)
        if query.group_by:
            self.features.add(Feature.GROUP_BY)

    def _resolve(self, scope: Scope, path: a.FieldPath, use: str) -> Resolved:
        """Resolve a field used other than selected: compound fields can only be selected."""
        res = scope.resolve(path)
        if res.field.is_compound:
            raise m.compound_field(self.soql, path.pos, res.field.name, use)
        return res

    def functions(self, scope: Scope, aggregates: bool = False) -> FunctionCompiler:
        agg = partial(self.aggregate_sql, scope) if aggregates else None
        return FunctionCompiler(self.soql, scope, partial(self._resolve, scope), agg)

    # ---- record queries ---------------------------------------------------------------------------------

    def records(
        self, query: a.Query, scope: Scope, *, allow_children: bool
    ) -> tuple[RecordPlan, tuple[ColumnInfo, ...]]:
        columns: list[str] = []
        roots: list[Any] = []
        parents: dict[tuple[str, ...], _ParentBuilder] = {}
        seen: set[str] = set()
        csv: list[CsvColumn] = []
        infos: list[ColumnInfo] = []

        def add_field(res: Resolved, pos: a.Pos, expr: Expr | None = None, alias: str | None = None) -> None:
            dotted = res.dotted if alias is None else alias
            if dotted.lower() in seen:
                raise m.malformed(self.soql, pos, f"duplicate field selected: {dotted}")
            seen.add(dotted.lower())
            holder = roots
            for hop in res.hops:
                builder = parents.get(hop.key)
                if builder is None:
                    columns.append(f'{hop.alias}."id"')
                    builder = _ParentBuilder(hop.rel_name, hop.obj.name, len(columns) + 1)
                    parents[hop.key] = builder
                    holder.append(builder)
                holder = builder.children
            infos.append(_field_info(res))
            if res.field.is_compound:
                # Read-only view over its components; Bulk 2.0 refuses it (Feature.COMPOUND).
                self.features.add(Feature.COMPOUND)
                parts = []
                for key, part in component_keys(res.owner, res.field):
                    columns.append(f"{res.alias}.{q(part.column)}")
                    parts.append((key, len(columns) + 1, json_converter(part)))
                holder.append(Compound(res.field.name, tuple(parts)))
                return
            if expr is not None:  # toLabel(), FORMAT(), convertCurrency() over this field
                self.features.add(Feature.FUNCTION)
                columns.append(expr.sql)
                conv = expr.conv if expr.conv is not None else json_converter(res.field)
                holder.append(Leaf(alias or res.field.name, len(columns) + 1, conv))
                return
            columns.append(res.sql)
            index = len(columns) + 1
            holder.append(Leaf(res.field.name, index, json_converter(res.field)))
            csv.append(CsvColumn(dotted, index, res.field))

        for item in query.select:
            if isinstance(item, a.SelectField):
                if item.alias is not None:
                    raise m.malformed(
                        self.soql, item.path.pos, "Only aggregate expressions use field aliasing"
                    )
                add_field(scope.resolve(item.path), item.path.pos)
            elif isinstance(item, a.SelectFunc):
                expr = self.functions(scope).compile(item.call, "select")
                assert expr.resolved is not None
                add_field(expr.resolved, item.call.pos, expr, item.alias)
            elif isinstance(item, a.SelectFields):
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
                    wanted = item.scope is a.FieldsScope.ALL or f.custom == (
                        item.scope is a.FieldsScope.CUSTOM
                    )
                    if wanted and f.name.lower() not in seen:
                        add_field(scope.resolve(a.FieldPath((f.name,), item.pos)), item.pos)
            elif isinstance(item, a.SelectSubquery):
                self.features.add(Feature.SUBQUERY)
                if not allow_children:
                    raise m.malformed(self.soql, item.pos, "Nested subqueries are not supported")
                child, info = self.child(item, scope.obj)
                if child.relationship.lower() in seen:
                    raise m.malformed(self.soql, item.pos, f"duplicate field selected: {child.relationship}")
                seen.add(child.relationship.lower())
                roots.append(Child(child.relationship, child))
                infos.append(info)
            elif isinstance(item, a.SelectTypeof):
                self.features.add(Feature.TYPEOF)
                raise m.malformed(self.soql, item.pos, "TYPEOF is not supported by the local emulator")
            else:
                raise m.malformed(self.soql, item.agg.pos, "Aggregate functions are not allowed here")

        compiler = ConditionCompiler(scope, self.new_scope)
        where = compiler.compile(query.where) if query.where is not None else None
        order = [self.order_item(o, scope, compiler.used_keys) for o in query.order_by]
        order.append(f"{scope.alias}.rowid")
        plan = RecordPlan(
            obj=scope.obj,
            alias=scope.alias,
            from_sql=scope.from_sql(),
            filter_from_sql=scope.from_sql(compiler.used_keys),
            columns=tuple(columns),
            nodes=tuple(_freeze(n) for n in roots),
            filter=where,
            not_deleted=scope.not_deleted(),
            order_sql=", ".join(order),
            ordered=bool(query.order_by),
            limit=query.limit,
            offset=query.offset,
            csv=tuple(csv),
        )
        return plan, tuple(infos)

    def order_item(self, item: a.OrderItem, scope: Scope, used: set[tuple[str, ...]]) -> str:
        if isinstance(item.expr, a.Aggregate):
            raise m.malformed(self.soql, item.expr.pos, "Ordering by an aggregate requires GROUP BY")
        if isinstance(item.expr, a.FuncCall):
            expr = self.functions(scope).compile(item.expr, "order")
            if expr.resolved is not None:
                used.add(expr.resolved.key)
            return _order_text(expr.sql, expr.nocase, item)
        res = self._resolve(scope, item.expr, "sorted")
        used.add(res.key)
        return _order_text(res.sql, res.nocase, item)

    def child(self, item: a.SelectSubquery, parent: ObjectDef) -> tuple[ChildPlan, ColumnInfo]:
        sub = item.query
        rel = self.schema.child_relationship(parent.name, sub.sobject)
        child_obj = self.schema.get(rel.child_object) if rel else None
        if rel is None or child_obj is None:
            raise m.bad_child_relationship(self.soql, sub.sobject_pos, sub.sobject)
        if sub.group_by or any(isinstance(s, a.SelectAggregate) or _aggregate_call(s) for s in sub.select):
            raise m.malformed(self.soql, sub.pos, "Aggregate functions are not supported in subqueries")
        self._check_common(sub)
        scope = self.new_scope(child_obj, sub.alias)
        fk = child_obj.field(rel.field)
        assert fk is not None
        record, infos = self.records(sub, scope, allow_children=False)
        plan = ChildPlan(rel.relationship_name, record, f"{scope.alias}.{q(fk.column)}")
        info = ColumnInfo(rel.relationship_name, rel.relationship_name, None, aggregate=True, join=infos)
        return plan, info

    # ---- aggregate queries ------------------------------------------------------------------------------

    def aggregate(self, query: a.Query, obj: ObjectDef) -> tuple[AggregatePlan, tuple[ColumnInfo, ...]]:
        scope = self.new_scope(obj, query.alias)
        funcs = self.functions(scope, aggregates=True)
        group_sql: list[str] = []
        group_exprs: list[str] = []
        group_keys: dict[str, int] = {}
        for group in query.group_by:
            if isinstance(group, a.FuncCall):
                expr = funcs.compile(group, "group")
                sql, nocase, key = expr.sql, expr.nocase, expr.key
            else:
                res = self._resolve(scope, group, "grouped")
                sql, nocase, key = res.sql, res.nocase, res.dotted.lower()
            group_keys[key] = len(group_sql)
            group_sql.append(sql)
            group_exprs.append(sql + (" COLLATE NOCASE" if nocase else ""))
        count_only = any(isinstance(s, a.SelectAggregate) and s.agg.arg is None for s in query.select)
        if count_only and len(query.select) > 1:
            bad = next(s for s in query.select if isinstance(s, a.SelectAggregate) and s.agg.arg is None)
            assert isinstance(bad, a.SelectAggregate)
            raise m.malformed(self.soql, bad.agg.pos, "COUNT() must be the only element in the SELECT list")
        self.features.add(Feature.AGGREGATE)
        columns: list[AggColumn] = []
        nodes: list[Leaf] = []
        infos: list[ColumnInfo] = []
        expr_n = 0

        def expr_key(alias: str | None) -> str:
            nonlocal expr_n
            if alias:
                return alias
            expr_n += 1
            return f"expr{expr_n - 1}"

        def grouped(key: str, shown: str, pos: a.Pos) -> int:
            if key not in group_keys:
                raise m.malformed(self.soql, pos, f"Field must be grouped or aggregated: {shown}")
            return group_keys[key]

        for item in query.select:
            if isinstance(item, a.SelectField):
                res = scope.resolve(item.path)
                index = grouped(res.dotted.lower(), res.field.name, item.path.pos)
                key = item.alias or res.field.name
                columns.append(AggColumn(res.sql, group=index))
                nodes.append(Leaf(key, len(columns) - 1, json_converter(res.field)))
                infos.append(ColumnInfo(key, res.field.name, res.field, aggregate=False))
            elif isinstance(item, a.SelectAggregate):
                sql, kind, display = self.aggregate_sql(scope, item.agg)
                key = "expr0" if item.agg.arg is None else expr_key(item.alias)
                columns.append(AggColumn(sql))
                nodes.append(Leaf(key, len(columns) - 1, self._agg_converter(scope, item.agg, kind)))
                infos.append(ColumnInfo(key, display, None, aggregate=True, number=kind in _NUMERIC))
            elif isinstance(item, a.SelectFunc) and item.call.func is a.Func.GROUPING:
                if query.group_kind is None:
                    raise m.malformed(
                        self.soql,
                        item.call.pos,
                        "GROUPING() is only valid with GROUP BY ROLLUP or GROUP BY CUBE",
                    )
                arg = item.call.args[0] if len(item.call.args) == 1 else None
                if not isinstance(arg, a.FieldPath):
                    raise m.malformed(self.soql, item.call.pos, "GROUPING() takes one grouped field")
                res = self._resolve(scope, arg, "grouped")
                index = grouped(res.dotted.lower(), res.field.name, arg.pos)
                key = expr_key(item.alias)
                columns.append(AggColumn("0", grouping=index))
                nodes.append(Leaf(key, len(columns) - 1, _to_int))
                infos.append(
                    ColumnInfo(key, f"GROUPING({res.field.name})", None, aggregate=True, number=True)
                )
            elif isinstance(item, a.SelectFunc):
                self.features.add(Feature.FUNCTION)
                expr = funcs.compile(item.call, "select")
                if expr.aggregate:
                    key, index_of = expr_key(item.alias), None
                elif item.call.func in a.DATE_FUNCS:
                    index_of = grouped(expr.key, expr.display, item.call.pos)
                    key = expr_key(item.alias)
                else:  # toLabel(), FORMAT(), convertCurrency() of a grouped field
                    assert expr.resolved is not None
                    res = expr.resolved
                    index_of = grouped(res.dotted.lower(), res.field.name, item.call.pos)
                    key = item.alias or res.field.name
                columns.append(AggColumn(expr.sql, group=index_of))
                nodes.append(Leaf(key, len(columns) - 1, expr.conv))
                infos.append(ColumnInfo(key, expr.display, expr.field, aggregate=expr.aggregate))
            else:
                pos = item.pos if not isinstance(item, a.SelectAggregate) else item.agg.pos
                raise m.malformed(self.soql, pos, "This SELECT item is not allowed in an aggregate query")
        frozen_keys = frozenset(group_keys)
        compiler = ConditionCompiler(scope, self.new_scope)
        where = compiler.compile(query.where) if query.where is not None else None
        having = None
        if query.having is not None:
            having_compiler = ConditionCompiler(
                scope, self.new_scope, partial(self.aggregate_sql, scope), frozen_keys
            )
            having = having_compiler.compile(query.having)
        order = [self._agg_order(o, scope, frozen_keys) for o in query.order_by]
        plan = AggregatePlan(
            obj=obj,
            from_sql=scope.from_sql(),
            select_sql=", ".join(c.sql for c in columns) if columns else "COUNT(*)",
            filter=where,
            not_deleted=scope.not_deleted(),
            group_sql=", ".join(group_exprs),
            having=having,
            order_sql=", ".join(order),
            limit=query.limit,
            offset=query.offset,
            nodes=tuple(nodes),
            count_only=count_only,
            group_sets=grouping_sets(query.group_kind, len(group_exprs)),
            group_exprs=tuple(group_exprs),
            columns=tuple(columns),
        )
        return plan, tuple(infos)

    def aggregate_sql(self, scope: Scope, agg: a.Aggregate) -> tuple[str, FieldType, str]:
        """SQL, result type and display name (``avg(Amount)``) of one aggregate call."""
        func = agg.func
        if agg.arg is None:
            return "COUNT(*)", FieldType.INT, "count()"
        res = self._resolve(scope, agg.arg, "aggregated")
        display = f"{func.value.lower()}({res.field.name})"
        col = res.sql
        if func is a.AggFunc.COUNT:
            return f"COUNT({col})", FieldType.INT, display
        if func is a.AggFunc.COUNT_DISTINCT:
            collate = " COLLATE NOCASE" if res.nocase else ""
            return f"COUNT(DISTINCT {col}{collate})", FieldType.INT, display
        if func in (a.AggFunc.SUM, a.AggFunc.AVG):
            if res.field.type not in _NUMERIC:
                raise m.invalid_field(
                    self.soql,
                    agg.pos,
                    f"field {res.field.name} does not support aggregate operator {func.value}",
                )
            # Decimal arithmetic, as Salesforce sums its stored decimals (see store.database.ExactSum).
            if func is a.AggFunc.AVG:
                return f"kc_exact_avg({col})", FieldType.DOUBLE, display
            if res.field.type in (FieldType.INT, FieldType.LONG):
                return f"SUM({col})", FieldType.INT, display
            return f"kc_exact_sum({col})", FieldType.DOUBLE, display
        if res.field.type in (FieldType.BOOLEAN, FieldType.MULTIPICKLIST, FieldType.TEXTAREA):
            raise m.invalid_field(
                self.soql, agg.pos, f"field {res.field.name} does not support aggregate operator {func.value}"
            )
        return f"{func.value}({col})", res.field.type, display

    def _agg_converter(self, scope: Scope, agg: a.Aggregate, kind: FieldType) -> Converter | None:
        if agg.func in (a.AggFunc.COUNT, a.AggFunc.COUNT_DISTINCT):
            return _to_int
        if agg.func in (a.AggFunc.SUM, a.AggFunc.AVG):
            return _to_int if kind is FieldType.INT else _to_float
        assert agg.arg is not None
        return json_converter(scope.resolve(agg.arg).field)

    def _agg_order(self, item: a.OrderItem, scope: Scope, group_keys: frozenset[str]) -> str:
        if isinstance(item.expr, a.Aggregate):
            sql, _, _ = self.aggregate_sql(scope, item.expr)
            return _order_text(sql, False, item)
        if isinstance(item.expr, a.FuncCall):
            expr = self.functions(scope, aggregates=True).compile(item.expr, "order")
            if not expr.aggregate and expr.key not in group_keys:
                raise m.malformed(
                    self.soql, item.expr.pos, f"Field must be grouped or aggregated: {expr.display}"
                )
            return _order_text(expr.sql, expr.nocase, item)
        res = self._resolve(scope, item.expr, "sorted")
        if res.dotted.lower() not in group_keys:
            raise m.malformed(
                self.soql, item.expr.pos, f"Field must be grouped or aggregated: {res.field.name}"
            )
        return _order_text(res.sql, res.nocase, item)


def _aggregate_call(item: a.SelectItem) -> bool:
    """A SELECT item that makes the query an aggregate one: a date function, GROUPING() or FORMAT(MIN(x))."""
    if not isinstance(item, a.SelectFunc):
        return False
    call = item.call
    return call.func in a.DATE_FUNCS or call.func is a.Func.GROUPING or contains_aggregate(call)


def _order_text(sql: str, nocase: bool, item: a.OrderItem) -> str:
    nulls_first = (not item.descending) if item.nulls_first is None else item.nulls_first
    collate = " COLLATE NOCASE" if nocase else ""
    direction = "DESC" if item.descending else "ASC"
    return f"{sql}{collate} {direction} NULLS {'FIRST' if nulls_first else 'LAST'}"


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
