"""SOQL functions other than aggregates: ``toLabel()``, ``FORMAT()``, ``convertCurrency()``,
``convertTimezone()`` and the date functions, compiled to SQL over the stored values.

The emulated org has one currency, runs in UTC and starts its fiscal year in January, so
``convertCurrency()`` and ``convertTimezone()`` leave values as they are and ``FISCAL_*`` equal
``CALENDAR_*``. ``FORMAT()`` renders values as an ``en_US`` user sees them. [I] Dates are stored as
``YYYY-MM-DD`` and datetimes as ``YYYY-MM-DDTHH:MM:SS.fffZ``: the date functions read their parts.

Example:
    >>> date_sql(a.Func.CALENDAR_QUARTER, 't1."closedate"')
    '((CAST(substr(t1."closedate", 6, 2) AS INTEGER) + 2) / 3)'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kinetic_core.emulator.store.schema import FieldDef, FieldType

from . import ast as a
from . import messages as m
from .scope import Resolved, Scope

Converter = Callable[[Any], Any]
AggregateSql = Callable[[a.Aggregate], tuple[str, FieldType, str]]

FISCAL_YEAR_START_MONTH = 1
"""The emulated org's fiscal year starts in January (Organization.FiscalYearStartMonth). [I]"""

_NUMERIC = frozenset({FieldType.INT, FieldType.LONG, FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT})
_DATETIME_ONLY = frozenset({a.Func.DAY_ONLY, a.Func.HOUR_IN_DAY})
_NOT_SUPPORTED = frozenset({a.Func.DISTANCE, a.Func.GEOLOCATION})


def _int(sql: str) -> str:
    return f"CAST({sql} AS INTEGER)"


def date_sql(func: a.Func, col: str) -> str:
    """SQL computing a date function over a stored date or datetime column (null stays null)."""
    year, month, day = (
        _int(f"substr({col}, 1, 4)"),
        _int(f"substr({col}, 6, 2)"),
        _int(f"substr({col}, 9, 2)"),
    )
    day_of_year = _int(f"strftime('%j', substr({col}, 1, 10))")
    weekday = _int(f"strftime('%w', substr({col}, 1, 10))")
    parts = {
        a.Func.CALENDAR_YEAR: year,
        a.Func.FISCAL_YEAR: year,
        a.Func.CALENDAR_MONTH: month,
        a.Func.FISCAL_MONTH: month,
        a.Func.CALENDAR_QUARTER: f"(({month} + 2) / 3)",
        a.Func.FISCAL_QUARTER: f"(({month} + 2) / 3)",
        a.Func.DAY_IN_MONTH: day,
        a.Func.DAY_IN_WEEK: f"({weekday} + 1)",
        a.Func.DAY_IN_YEAR: day_of_year,
        a.Func.DAY_ONLY: f"substr({col}, 1, 10)",
        a.Func.HOUR_IN_DAY: _int(f"substr({col}, 12, 2)"),
        a.Func.WEEK_IN_MONTH: f"(({day} - 1) / 7 + 1)",
        a.Func.WEEK_IN_YEAR: f"(({day_of_year} - 1) / 7 + 1)",
    }
    return parts[func]


@dataclass(frozen=True)
class Expr:
    """A compiled function call.

    ``key`` is the canonical lower-case text used to match a GROUP BY item; ``field`` the field the
    call reads (None for ``FORMAT`` of an aggregate); ``conv`` turns the SQL value into the JSON one.
    """

    sql: str
    type: FieldType
    display: str
    key: str
    field: FieldDef | None
    nocase: bool
    conv: Converter | None
    resolved: Resolved | None
    aggregate: bool


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def label_converter(f: FieldDef) -> Converter:
    """Stored picklist value(s) -> label(s) (multi-select values keep their ``;`` separators)."""
    labels = dict(f.picklist_labels)
    if not labels:
        return _same
    if f.type is FieldType.MULTIPICKLIST:
        return lambda v: ";".join(labels.get(part, part) for part in str(v).split(";"))
    return lambda v: labels.get(v, v)


def _same(value: Any) -> Any:
    return value


def format_converter(kind: FieldType, scale: int) -> Converter:
    """A value -> the text an ``en_US`` user sees (``$1,234.56``, ``1/31/2024``, ``42.5%``). [I]"""

    def number(v: Any) -> str:
        return f"{float(v):,.{scale}f}" if scale else f"{round(float(v)):,}"

    if kind is FieldType.CURRENCY:
        return lambda v: ("-$" if float(v) < 0 else "$") + number(abs(float(v)))
    if kind is FieldType.PERCENT:
        return lambda v: number(v) + "%"
    if kind in _NUMERIC:
        return number
    if kind is FieldType.DATE:
        return _us_date
    if kind is FieldType.DATETIME:
        return _us_datetime
    if kind is FieldType.BOOLEAN:
        return lambda v: "true" if v else "false"
    return str


def _us_date(value: Any) -> str:
    d = date.fromisoformat(str(value)[:10])
    return f"{d.month}/{d.day}/{d.year}"


def _us_datetime(value: Any) -> str:
    text = str(value)
    moment = datetime.fromisoformat(text[:19])
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year}, {hour}:{moment.minute:02d} {half}"


class FunctionCompiler:
    """Compiles the function calls of one query level.

    ``resolve(path, use)`` resolves a field path (refusing compound fields); ``aggregate_sql``
    compiles an aggregate argument of ``FORMAT()`` and is None where aggregates are not allowed.
    """

    def __init__(
        self,
        soql: str,
        scope: Scope,
        resolve: Callable[[a.FieldPath, str], Resolved],
        aggregate_sql: AggregateSql | None = None,
    ) -> None:
        self.soql = soql
        self.scope = scope
        self.resolve = resolve
        self.aggregate_sql = aggregate_sql

    def compile(self, call: a.FuncCall, clause: str) -> Expr:
        """Compile ``call`` used in ``clause`` (``select``, ``where``, ``group``, ``order``)."""
        func = call.func
        if func in _NOT_SUPPORTED:
            raise m.not_supported(self.soql, call.pos, f"{call.name}()")
        if func is a.Func.GROUPING:
            raise m.malformed(
                self.soql, call.pos, "GROUPING() is only valid with GROUP BY ROLLUP or GROUP BY CUBE"
            )
        if func is a.Func.CONVERTTIMEZONE:
            raise m.malformed(self.soql, call.pos, "convertTimezone() can only be used in a date function")
        if func in a.DATE_FUNCS:
            return self._date(call)
        if func is a.Func.FORMAT:
            if clause in ("where", "group"):
                raise m.malformed(self.soql, call.pos, f"{call.name}() is not allowed in this clause")
            return self._format(call, clause)
        if func is a.Func.CONVERTCURRENCY and clause == "where":
            raise m.malformed(self.soql, call.pos, f"{call.name}() is not allowed in the WHERE clause")
        res = self._field_arg(call, "selected" if clause == "select" else "filtered")
        f = res.field
        if func is a.Func.CONVERTCURRENCY:
            if f.type is not FieldType.CURRENCY:
                raise m.invalid_field(
                    self.soql, call.pos, f"convertCurrency() requires a currency field: {f.name}"
                )
            return Expr(
                res.sql, f.type, f"{call.name}({res.dotted})", _key(call, res), f, False, None, res, False
            )
        if f.type not in (FieldType.PICKLIST, FieldType.MULTIPICKLIST):
            raise m.invalid_field(self.soql, call.pos, f"toLabel() requires a picklist field: {f.name}")
        labels = list(f.picklist_labels)
        sql = res.sql
        if clause != "select" and labels:
            cases = " ".join(f"WHEN {_sql_text(v)} THEN {_sql_text(label)}" for v, label in labels)
            sql = f"(CASE {res.sql} {cases} ELSE {res.sql} END)"
        conv = label_converter(f) if clause == "select" else None
        return Expr(sql, f.type, f"{call.name}({res.dotted})", _key(call, res), f, True, conv, res, False)

    # ---- pieces -----------------------------------------------------------------------------------------

    def _one_arg(self, call: a.FuncCall) -> a.FuncArg:
        if len(call.args) != 1:
            raise m.malformed(self.soql, call.pos, f"{call.name}() takes exactly one argument")
        return call.args[0]

    def _field_arg(self, call: a.FuncCall, use: str) -> Resolved:
        arg = self._one_arg(call)
        if not isinstance(arg, a.FieldPath):
            raise m.malformed(self.soql, call.pos, f"{call.name}() takes a field as its argument")
        return self.resolve(arg, use)

    def _date(self, call: a.FuncCall) -> Expr:
        arg = self._one_arg(call)
        if isinstance(arg, a.FuncCall) and arg.func is a.Func.CONVERTTIMEZONE:
            arg = self._one_arg(arg)  # the org runs in UTC: converting changes nothing
        if not isinstance(arg, a.FieldPath):
            raise m.malformed(self.soql, call.pos, f"{call.name}() takes a date or datetime field")
        res = self.resolve(arg, "filtered")
        f = res.field
        allowed = (
            (FieldType.DATETIME,) if call.func in _DATETIME_ONLY else (FieldType.DATE, FieldType.DATETIME)
        )
        if f.type not in allowed:
            kind = "datetime" if call.func in _DATETIME_ONLY else "date or datetime"
            raise m.invalid_field(
                self.soql, arg.pos, f"{call.name}() can only be used on a {kind} field: {f.name}"
            )
        kind = FieldType.DATE if call.func is a.Func.DAY_ONLY else FieldType.INT
        conv: Converter | None = None if kind is FieldType.DATE else _to_int
        display = f"{call.func.value}({res.dotted})"
        return Expr(
            date_sql(call.func, res.sql), kind, display, _key(call, res), None, False, conv, res, False
        )

    def _format(self, call: a.FuncCall, clause: str) -> Expr:
        arg = self._one_arg(call)
        display = f"{call.name}"
        if isinstance(arg, a.Aggregate):
            if self.aggregate_sql is None:
                raise m.malformed(self.soql, arg.pos, "Aggregate functions are not allowed here")
            sql, kind, shown = self.aggregate_sql(arg)
            scale = 2 if kind is FieldType.DOUBLE else 0
            if arg.arg is not None and arg.func in (a.AggFunc.MIN, a.AggFunc.MAX, a.AggFunc.SUM):
                f = self.resolve(arg.arg, "aggregated").field
                kind, scale = (f.type, f.scale) if kind is not FieldType.INT else (kind, 0)
            conv = format_converter(kind, scale)
            return Expr(sql, FieldType.STRING, f"{display}({shown})", "", None, False, conv, None, True)
        if isinstance(arg, a.FuncCall) and arg.func is a.Func.CONVERTCURRENCY:
            inner = self.compile(arg, clause)
            assert inner.field is not None
            conv = format_converter(inner.field.type, inner.field.scale)
            return Expr(
                inner.sql,
                FieldType.STRING,
                display,
                inner.key,
                inner.field,
                False,
                conv,
                inner.resolved,
                False,
            )
        if not isinstance(arg, a.FieldPath):
            raise m.malformed(self.soql, call.pos, f"{call.name}() takes a field or an aggregate function")
        res = self.resolve(arg, "selected")
        f = res.field
        conv = format_converter(f.type, f.scale)
        shown = f"{display}({res.dotted})"
        return Expr(res.sql, FieldType.STRING, shown, _key(call, res), f, False, conv, res, False)


def _key(call: a.FuncCall, res: Resolved) -> str:
    return f"{call.func.value}({res.dotted})".lower()


def _to_int(value: Any) -> Any:
    return None if value is None else int(value)


def contains_aggregate(call: a.FuncCall) -> bool:
    """Whether a call wraps an aggregate (``FORMAT(MIN(CloseDate))``)."""
    return any(
        isinstance(x, a.Aggregate) or (isinstance(x, a.FuncCall) and contains_aggregate(x)) for x in call.args
    )
