"""WHERE / HAVING -> SQL, with Salesforce's literal typing rules.

Semantics kept from Salesforce: string comparisons ignore case; ``!=`` and ``NOT IN``
also match null values; ``= null`` / ``!= null`` test for null; 15-character id
literals match their 18-character form; relative date literals cover whole UTC days.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kinetic_core.emulator.store import ids, numbers
from kinetic_core.emulator.store.schema import FieldDef, FieldType, ObjectDef

from . import ast as a
from . import messages as m
from .context import EXACT_NUMBERS
from .functions import FunctionCompiler
from .parser import unescape
from .scope import DateBound, Resolved, Scope, Sql

_NUMERIC = frozenset({FieldType.INT, FieldType.LONG, FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT})
_ID_TYPES = frozenset({FieldType.ID, FieldType.REFERENCE})
_SQL_OP = {
    a.CompareOp.EQ: "=",
    a.CompareOp.NE: "IS NOT",
    a.CompareOp.LT: "<",
    a.CompareOp.LE: "<=",
    a.CompareOp.GT: ">",
    a.CompareOp.GE: ">=",
}


@dataclass(frozen=True)
class Target:
    """The left side of a predicate: its SQL, display name and type."""

    sql: str
    name: str
    type: FieldType
    nocase: bool
    field: FieldDef | None = None


AggregateSql = Callable[[a.Aggregate], tuple[str, FieldType, str]]
"""Compiles an aggregate call to (sql, result type, display name); supplied by the planner for HAVING."""

ScopeFactory = Callable[[ObjectDef, str | None], Scope]


class ConditionCompiler:
    """Compiles one condition tree within a :class:`Scope`."""

    def __init__(
        self,
        scope: Scope,
        new_scope: ScopeFactory,
        aggregate_sql: AggregateSql | None = None,
        group_keys: frozenset[str] | None = None,
    ) -> None:
        self.scope = scope
        self.soql = scope.soql
        self.new_scope = new_scope
        self.aggregate_sql = aggregate_sql
        self.group_keys = group_keys
        self.used_keys: set[tuple[str, ...]] = set()

    def compile(self, cond: a.Condition) -> Sql:
        if isinstance(cond, a.And | a.Or):
            parts = [self.compile(c) for c in cond.items]
            glue = " AND " if isinstance(cond, a.And) else " OR "
            return Sql(
                "(" + glue.join(p.text for p in parts) + ")", tuple(x for p in parts for x in p.params)
            )
        if isinstance(cond, a.Not):
            inner = self.compile(cond.item)
            return Sql(f"(NOT COALESCE({inner.text}, 0))", inner.params)
        if isinstance(cond, a.Comparison):
            return self._comparison(cond)
        if isinstance(cond, a.InList):
            return self._in_list(cond)
        if isinstance(cond, a.Includes):
            return self._includes(cond)
        return self._semi_join(cond)

    # ---- operands ---------------------------------------------------------------------------------------

    def target(self, operand: a.Operand) -> Target:
        if isinstance(operand, a.Aggregate):
            if self.aggregate_sql is None:
                raise m.malformed(self.soql, operand.pos, "Aggregate functions are only allowed in HAVING")
            sql, kind, display = self.aggregate_sql(operand)
            return Target(sql, display, kind, False)
        if isinstance(operand, a.FuncCall):
            expr = FunctionCompiler(self.soql, self.scope, self._resolve).compile(operand, "where")
            if self.group_keys is not None and expr.key not in self.group_keys:
                raise m.malformed(
                    self.soql, operand.pos, f"Field must be grouped or aggregated: {expr.display}"
                )
            if expr.resolved is not None:
                self.used_keys.add(expr.resolved.key)
            return Target(expr.sql, expr.display, expr.type, expr.nocase, expr.field)
        res = self._resolve(operand, "filtered")
        if self.group_keys is not None and res.dotted.lower() not in self.group_keys:
            raise m.malformed(
                self.soql, operand.pos, f"Field must be grouped or aggregated: {res.field.name}"
            )
        self.used_keys.add(res.key)
        return self._field_target(res)

    def _resolve(self, path: a.FieldPath, use: str) -> Resolved:
        res = self.scope.resolve(path)
        if res.field.is_compound:
            raise m.compound_field(self.soql, path.pos, res.field.name, use)
        return res

    @staticmethod
    def _field_target(res: Resolved) -> Target:
        return Target(res.sql, res.field.name, res.field.type, res.nocase, res.field)

    # ---- literals ---------------------------------------------------------------------------------------

    def param(self, t: Target, lit: a.Literal) -> Any:
        """The stored-form parameter for a literal compared with ``t`` (raises on a type mismatch)."""
        kind = t.type
        if isinstance(lit, a.NullLit):
            return None
        if kind is FieldType.BOOLEAN:
            if not isinstance(lit, a.BoolLit):
                raise m.bad_filter_value(self.soql, lit.pos, t.name, "boolean", quoted=False)
            return 1 if lit.value else 0
        if kind in _NUMERIC:
            if not isinstance(lit, a.NumberLit):
                expected = "int" if kind in (FieldType.INT, FieldType.LONG) else "double"
                raise m.bad_filter_value(self.soql, lit.pos, t.name, expected, quoted=False)
            if kind in EXACT_NUMBERS:  # the stored form: equal values are equal in SQL
                return numbers.stored_text(lit.text)
            return lit.value
        if kind is FieldType.DATE:
            if not isinstance(lit, a.DateLit):
                raise m.bad_filter_value(self.soql, lit.pos, t.name, "date", quoted=False)
            return lit.value
        if kind is FieldType.DATETIME:
            if not isinstance(lit, a.DateTimeLit):
                raise m.bad_filter_value(self.soql, lit.pos, t.name, "dateTime", quoted=False)
            return lit.value
        if not isinstance(lit, a.StringLit):
            raise m.bad_filter_value(self.soql, lit.pos, t.name, "string", quoted=True)
        if kind in _ID_TYPES:
            if lit.value == "":
                return None
            if not ids.is_well_formed(lit.value):
                raise m.bad_id(self.soql, lit.pos, lit.value)
            return ids.to18(lit.value)
        return lit.value

    def _collate(self, t: Target) -> str:
        return " COLLATE NOCASE" if t.nocase else ""

    # ---- predicates -------------------------------------------------------------------------------------

    def _comparison(self, cond: a.Comparison) -> Sql:
        t = self.target(cond.left)
        lit = cond.value
        if cond.op is a.CompareOp.LIKE:
            return self._like(t, lit)
        if isinstance(lit, a.DateRangeLit):
            return self._date_range(t, cond.op, lit)
        value = self.param(t, lit)
        if value is None:
            if cond.op is a.CompareOp.EQ:
                return Sql(f"{t.sql} IS NULL")
            if cond.op is a.CompareOp.NE:
                return Sql(f"{t.sql} IS NOT NULL")
            return Sql("0")
        if t.type in EXACT_NUMBERS and cond.op not in (a.CompareOp.EQ, a.CompareOp.NE):
            return _number_order(t.sql, _SQL_OP[cond.op], value)
        return Sql(f"{t.sql} {_SQL_OP[cond.op]} ?{self._collate(t)}", (value,))

    def _like(self, t: Target, lit: a.Literal) -> Sql:
        if not isinstance(lit, a.StringLit) or t.type in _NUMERIC or t.type in (FieldType.BOOLEAN,):
            raise m.bad_filter_value(self.soql, lit.pos, t.name, "string", quoted=True)
        try:
            pattern = unescape(lit.raw, like=True)
        except ValueError:
            raise m.malformed(self.soql, lit.pos, "Invalid string literal: illegal escape sequence") from None
        return Sql(f"{t.sql} LIKE ? ESCAPE '\\'", (pattern,))

    def _date_range(self, t: Target, op: a.CompareOp, lit: a.DateRangeLit) -> Sql:
        if t.type not in (FieldType.DATE, FieldType.DATETIME):
            raise m.bad_filter_value(
                self.soql, lit.pos, t.name, _type_word(t.type), quoted=t.type not in _NUMERIC
            )
        is_dt = t.type is FieldType.DATETIME
        start = DateBound(lit.name, lit.n, is_dt, end=False)
        end = DateBound(lit.name, lit.n, is_dt, end=True)
        col = t.sql
        if op is a.CompareOp.EQ:
            return Sql(f"({col} >= ? AND {col} < ?)", (start, end))
        if op is a.CompareOp.NE:
            return Sql(f"({col} IS NULL OR {col} < ? OR {col} >= ?)", (start, end))
        if op is a.CompareOp.LT:
            return Sql(f"{col} < ?", (start,))
        if op is a.CompareOp.LE:
            return Sql(f"{col} < ?", (end,))
        if op is a.CompareOp.GT:
            return Sql(f"{col} >= ?", (end,))
        return Sql(f"{col} >= ?", (start,))

    def _in_list(self, cond: a.InList) -> Sql:
        t = self.target(cond.left)
        ranges = [v for v in cond.values if isinstance(v, a.DateRangeLit)]
        plain = [self.param(t, v) for v in cond.values if not isinstance(v, a.DateRangeLit)]
        has_null = any(v is None for v in plain)
        values = [v for v in plain if v is not None]
        parts: list[Sql] = []
        if values:
            marks = ", ".join("?" * len(values))
            parts.append(Sql(f"{t.sql}{self._collate(t)} IN ({marks})", tuple(values)))
        parts.extend(self._date_range(t, a.CompareOp.EQ, r) for r in ranges)
        if has_null:
            parts.append(Sql(f"{t.sql} IS NULL"))
        if not parts:
            return Sql("1" if cond.negated else "0")
        body = Sql(" OR ".join(p.text for p in parts), tuple(x for p in parts for x in p.params))
        if not cond.negated:
            return Sql(f"({body.text})", body.params)
        null_ok = "" if has_null else f"{t.sql} IS NULL OR "
        return Sql(f"({null_ok}NOT ({body.text}))", body.params)

    def _includes(self, cond: a.Includes) -> Sql:
        t = self.target(cond.left)
        if t.type is not FieldType.MULTIPICKLIST:
            raise m.not_multipicklist(self.soql, cond.left.pos)
        alternatives: list[Sql] = []
        for lit in cond.values:
            if not isinstance(lit, a.StringLit):
                raise m.bad_filter_value(self.soql, lit.pos, t.name, "string", quoted=True)
            terms = [s.strip() for s in lit.value.split(";") if s.strip()]
            if not terms:
                continue
            texts = [f"(';' || {t.sql} || ';') LIKE ? ESCAPE '\\'" for _ in terms]
            params = tuple("%;" + _like_escape(term) + ";%" for term in terms)
            alternatives.append(Sql("(" + " AND ".join(texts) + ")", params))
        if not alternatives:
            body = Sql("0")
        else:
            body = Sql(
                "(" + " OR ".join(s.text for s in alternatives) + ")",
                tuple(x for s in alternatives for x in s.params),
            )
        if not cond.excludes:
            return body
        return Sql(f"({t.sql} IS NULL OR NOT {body.text})", body.params)

    def _semi_join(self, cond: a.InSubquery) -> Sql:
        t = self.target(cond.left)
        sub = cond.query
        if t.type not in _ID_TYPES:
            raise m.invalid_field(
                self.soql, cond.left.pos, "Only Id or reference fields may be used with a semi-join subquery"
            )
        obj = self.scope.schema.get(sub.sobject)
        if obj is None or not obj.queryable:
            raise m.invalid_type(self.soql, sub.sobject_pos, sub.sobject)
        if len(sub.select) != 1 or not isinstance(sub.select[0], a.SelectField) or sub.group_by:
            raise m.malformed(
                self.soql, sub.pos, "The inner select field must be a single Id or reference field"
            )
        inner = self.new_scope(obj, sub.alias)
        picked = inner.resolve(sub.select[0].path)
        if picked.field.type not in _ID_TYPES:
            raise m.invalid_field(
                self.soql,
                sub.select[0].path.pos,
                "The selected field in a semi-join must be an Id or reference",
            )
        filters: list[Sql] = [Sql(f"{picked.sql} IS NOT NULL")]
        deleted = inner.not_deleted()
        if deleted:
            filters.append(Sql(deleted))
        if sub.where is not None:
            filters.append(ConditionCompiler(inner, self.new_scope).compile(sub.where))
        where = " AND ".join(f.text for f in filters)
        params = tuple(x for f in filters for x in f.params)
        limit = f" LIMIT {sub.limit}" if sub.limit is not None else ""
        select = f"SELECT {picked.sql} FROM {inner.from_sql()} WHERE {where}{limit}"
        if cond.negated:
            return Sql(f"({t.sql} IS NULL OR {t.sql} NOT IN ({select}))", params)
        return Sql(f"{t.sql} IN ({select})", params)


def _number_order(sql: str, op: str, value: Any) -> Sql:
    """``sql op value`` by exact value for numbers stored in mixed forms: the nearest doubles first, the
    exact remainders (``kc_numtie``, only evaluated on equal doubles) when the doubles are equal."""
    double, tie = numbers.order_key(sql)
    strict = op[0]
    text = f"({double} {strict} kc_numreal(?) OR ({double} = kc_numreal(?) AND {tie} {op} kc_numtie(?)))"
    return Sql(text, (value,) * 3)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _type_word(kind: FieldType) -> str:
    if kind is FieldType.BOOLEAN:
        return "boolean"
    if kind in _NUMERIC:
        return "double"
    return "string"
