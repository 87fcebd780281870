"""The SOQL syntax tree: frozen dataclasses produced by the parser, before any schema lookup.

Every node that can be blamed in an error message carries ``pos``, the 1-based
``(row, column)`` of its first character in the query text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

Pos: TypeAlias = tuple[int, int]


class AggFunc(StrEnum):
    """Aggregate functions SOQL knows."""

    COUNT = "COUNT"
    COUNT_DISTINCT = "COUNT_DISTINCT"
    SUM = "SUM"
    AVG = "AVG"
    MIN = "MIN"
    MAX = "MAX"


class FieldsScope(StrEnum):
    """The argument of ``FIELDS(...)``."""

    ALL = "ALL"
    STANDARD = "STANDARD"
    CUSTOM = "CUSTOM"


@dataclass(frozen=True)
class FieldPath:
    """A dotted name as written: ``Name``, ``Account.Name``, ``Contact.Account.Owner.Name``."""

    parts: tuple[str, ...]
    pos: Pos

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Aggregate:
    """``COUNT()``, ``COUNT(Id)``, ``SUM(Amount)`` ... (``arg`` is None only for ``COUNT()``)."""

    func: AggFunc
    arg: FieldPath | None
    pos: Pos


class Func(StrEnum):
    """The SOQL functions other than aggregates (upper-case names; SOQL spells some in camel case)."""

    TOLABEL = "TOLABEL"
    FORMAT = "FORMAT"
    CONVERTCURRENCY = "CONVERTCURRENCY"
    CONVERTTIMEZONE = "CONVERTTIMEZONE"
    GROUPING = "GROUPING"
    CALENDAR_MONTH = "CALENDAR_MONTH"
    CALENDAR_QUARTER = "CALENDAR_QUARTER"
    CALENDAR_YEAR = "CALENDAR_YEAR"
    DAY_IN_MONTH = "DAY_IN_MONTH"
    DAY_IN_WEEK = "DAY_IN_WEEK"
    DAY_IN_YEAR = "DAY_IN_YEAR"
    DAY_ONLY = "DAY_ONLY"
    FISCAL_MONTH = "FISCAL_MONTH"
    FISCAL_QUARTER = "FISCAL_QUARTER"
    FISCAL_YEAR = "FISCAL_YEAR"
    HOUR_IN_DAY = "HOUR_IN_DAY"
    WEEK_IN_MONTH = "WEEK_IN_MONTH"
    WEEK_IN_YEAR = "WEEK_IN_YEAR"
    DISTANCE = "DISTANCE"
    GEOLOCATION = "GEOLOCATION"


DATE_FUNCS = frozenset(
    {
        Func.CALENDAR_MONTH,
        Func.CALENDAR_QUARTER,
        Func.CALENDAR_YEAR,
        Func.DAY_IN_MONTH,
        Func.DAY_IN_WEEK,
        Func.DAY_IN_YEAR,
        Func.DAY_ONLY,
        Func.FISCAL_MONTH,
        Func.FISCAL_QUARTER,
        Func.FISCAL_YEAR,
        Func.HOUR_IN_DAY,
        Func.WEEK_IN_MONTH,
        Func.WEEK_IN_YEAR,
    }
)
"""Functions over a date or datetime field that answer a number (a date for ``DAY_ONLY``)."""


@dataclass(frozen=True)
class FuncCall:
    """``toLabel(Status)``, ``CALENDAR_YEAR(CreatedDate)``, ``FORMAT(MIN(CloseDate))`` ...

    ``name`` is the spelling as written (error messages echo it); ``args`` are field paths,
    aggregates, nested calls or literals.
    """

    func: Func
    name: str
    args: tuple[FuncArg, ...]
    pos: Pos


@dataclass(frozen=True)
class SelectField:
    path: FieldPath
    alias: str | None = None


@dataclass(frozen=True)
class SelectAggregate:
    agg: Aggregate
    alias: str | None = None


@dataclass(frozen=True)
class SelectFunc:
    call: FuncCall
    alias: str | None = None


@dataclass(frozen=True)
class SelectFields:
    """``FIELDS(ALL|STANDARD|CUSTOM)``."""

    scope: FieldsScope
    pos: Pos


@dataclass(frozen=True)
class SelectSubquery:
    """A parent-to-child subquery in the SELECT list."""

    query: Query
    pos: Pos


@dataclass(frozen=True)
class SelectTypeof:
    """``TYPEOF rel WHEN T THEN ... END``: parsed so it can be refused with a clear message."""

    relationship: str
    pos: Pos


SelectItem: TypeAlias = (
    SelectField | SelectAggregate | SelectFunc | SelectFields | SelectSubquery | SelectTypeof
)


# ---- literal values -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StringLit:
    """A quoted string: ``value`` unescaped, ``raw`` as written between the quotes (LIKE needs it)."""

    value: str
    raw: str
    pos: Pos


@dataclass(frozen=True)
class NumberLit:
    value: int | float
    text: str
    pos: Pos


@dataclass(frozen=True)
class BoolLit:
    value: bool
    pos: Pos


@dataclass(frozen=True)
class NullLit:
    pos: Pos


@dataclass(frozen=True)
class DateLit:
    """An unquoted ``YYYY-MM-DD``."""

    value: str
    pos: Pos


@dataclass(frozen=True)
class DateTimeLit:
    """An unquoted datetime, already normalised to UTC ``YYYY-MM-DDTHH:MM:SS.fffZ``."""

    value: str
    pos: Pos


@dataclass(frozen=True)
class DateRangeLit:
    """A relative date literal: ``TODAY``, ``LAST_N_DAYS:30`` (``n`` None when it takes no number)."""

    name: str
    n: int | None
    pos: Pos


Literal: TypeAlias = StringLit | NumberLit | BoolLit | NullLit | DateLit | DateTimeLit | DateRangeLit


# ---- conditions -----------------------------------------------------------------------------------------


class CompareOp(StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    LIKE = "LIKE"


Operand: TypeAlias = FieldPath | Aggregate | FuncCall
FuncArg: TypeAlias = FieldPath | Aggregate | FuncCall | StringLit | NumberLit
GroupItem: TypeAlias = FieldPath | FuncCall


@dataclass(frozen=True)
class Comparison:
    left: Operand
    op: CompareOp
    value: Literal


@dataclass(frozen=True)
class InList:
    left: Operand
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class InSubquery:
    """Semi-join / anti-join: ``Id IN (SELECT AccountId FROM Contact ...)``."""

    left: FieldPath
    query: Query
    negated: bool


@dataclass(frozen=True)
class Includes:
    """Multi-select picklist ``INCLUDES('a;b', 'c')`` / ``EXCLUDES(...)``."""

    left: FieldPath
    values: tuple[Literal, ...]
    excludes: bool


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition: TypeAlias = Comparison | InList | InSubquery | Includes | And | Or | Not


# ---- the query ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderItem:
    expr: Operand
    descending: bool = False
    nulls_first: bool | None = None  # None: Salesforce's default (first for ASC, last for DESC)


@dataclass(frozen=True)
class Query:
    """One SELECT statement (top level, child subquery or semi-join subquery)."""

    select: tuple[SelectItem, ...]
    sobject: str
    sobject_pos: Pos
    alias: str | None = None
    where: Condition | None = None
    group_by: tuple[GroupItem, ...] = ()
    group_kind: str | None = None  # None (plain GROUP BY), "ROLLUP" or "CUBE"
    having: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    offset_pos: Pos | None = None
    pos: Pos = (1, 1)
