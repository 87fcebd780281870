"""Aggregate queries (GROUP BY, ROLLUP, CUBE, HAVING, aggregate and date functions) -> AggregatePlan."""

from __future__ import annotations

from functools import partial
from typing import Any

from kinetic_core.emulator.store import numbers
from kinetic_core.emulator.store.schema import FieldType, ObjectDef

from . import ast as a
from . import messages as m
from .conditions import ConditionCompiler
from .context import EXACT_NUMBERS, PlanContext, json_converter, order_text
from .functions import FunctionCompiler
from .plan import AggColumn, AggregatePlan, ColumnInfo, Converter, Feature, Leaf, grouping_sets
from .scope import Scope

NUMERIC = frozenset({FieldType.INT, FieldType.LONG, FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT})
"""Field types SUM and AVG accept; their aggregate columns are numbers in query metadata."""


def _to_int(v: Any) -> Any:
    return None if v is None else int(v)


def _to_number(v: Any) -> Any:
    return None if v is None else numbers.json_value(v)


class AggregatePlanner:
    """Plans the aggregate queries of one statement (see :func:`.planner.plan_query`)."""

    def __init__(self, ctx: PlanContext) -> None:
        self.ctx = ctx
        self.soql = ctx.soql
        self.features = ctx.features

    def functions(self, scope: Scope) -> FunctionCompiler:
        """A function compiler that also takes aggregate calls (``FORMAT(MIN(x))``)."""
        return self.ctx.functions(scope, partial(self.aggregate_sql, scope))

    def plan(self, query: a.Query, obj: ObjectDef) -> tuple[AggregatePlan, tuple[ColumnInfo, ...]]:
        """The plan and result columns of an aggregate query (GROUP BY, HAVING, aggregate functions)."""
        scope = self.ctx.new_scope(obj, query.alias)
        funcs = self.functions(scope)
        group_sql: list[str] = []
        group_exprs: list[str] = []
        group_keys: dict[str, int] = {}
        for group in query.group_by:
            if isinstance(group, a.FuncCall):
                expr = funcs.compile(group, "group")
                sql, nocase, key = expr.sql, expr.nocase, expr.key
            else:
                res = self.ctx.resolve(scope, group, "grouped")
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
                infos.append(ColumnInfo(key, display, None, aggregate=True, number=kind in NUMERIC))
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
                res = self.ctx.resolve(scope, arg, "grouped")
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
        compiler = ConditionCompiler(scope, self.ctx.new_scope)
        where = compiler.compile(query.where) if query.where is not None else None
        having = None
        if query.having is not None:
            having_compiler = ConditionCompiler(
                scope, self.ctx.new_scope, partial(self.aggregate_sql, scope), frozen_keys
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
        res = self.ctx.resolve(scope, agg.arg, "aggregated")
        display = f"{func.value.lower()}({res.field.name})"
        col = res.sql
        if func is a.AggFunc.COUNT:
            return f"COUNT({col})", FieldType.INT, display
        if func is a.AggFunc.COUNT_DISTINCT:
            collate = " COLLATE NOCASE" if res.nocase else ""
            return f"COUNT(DISTINCT {col}{collate})", FieldType.INT, display
        if func in (a.AggFunc.SUM, a.AggFunc.AVG):
            if res.field.type not in NUMERIC:
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
                self.soql,
                agg.pos,
                f"field {res.field.name} does not support aggregate operator {func.value}",
            )
        if res.field.type in EXACT_NUMBERS:  # exact values in mixed stored forms
            return f"kc_exact_{func.value.lower()}({col})", res.field.type, display
        return f"{func.value}({col})", res.field.type, display

    def _agg_converter(self, scope: Scope, agg: a.Aggregate, kind: FieldType) -> Converter | None:
        if agg.func in (a.AggFunc.COUNT, a.AggFunc.COUNT_DISTINCT):
            return _to_int
        if agg.func in (a.AggFunc.SUM, a.AggFunc.AVG):
            return _to_int if kind is FieldType.INT else _to_number
        assert agg.arg is not None
        return json_converter(scope.resolve(agg.arg).field)

    def _agg_order(self, item: a.OrderItem, scope: Scope, group_keys: frozenset[str]) -> str:
        if isinstance(item.expr, a.Aggregate):
            sql, kind, _ = self.aggregate_sql(scope, item.expr)
            return order_text(sql, False, item, kind)
        if isinstance(item.expr, a.FuncCall):
            expr = self.functions(scope).compile(item.expr, "order")
            if not expr.aggregate and expr.key not in group_keys:
                raise m.malformed(
                    self.soql, item.expr.pos, f"Field must be grouped or aggregated: {expr.display}"
                )
            return order_text(expr.sql, expr.nocase, item, expr.type)
        res = self.ctx.resolve(scope, item.expr, "sorted")
        if res.dotted.lower() not in group_keys:
            raise m.malformed(
                self.soql, item.expr.pos, f"Field must be grouped or aggregated: {res.field.name}"
            )
        return order_text(res.sql, res.nocase, item, res.field.type)
