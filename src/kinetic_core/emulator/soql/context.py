"""What the planning of one SOQL statement shares between record and aggregate queries.

:class:`PlanContext` holds the statement's text, the schema, the table aliases handed out and the
features used; the record planner (:mod:`.planner`) and the aggregate planner (:mod:`.aggregates`)
both work through it. Also here: how a stored value becomes its JSON value, and the ORDER BY text.
"""

from __future__ import annotations

from functools import partial

from kinetic_core.emulator.store import numbers
from kinetic_core.emulator.store.schema import TEXT_TYPES, FieldDef, FieldType, ObjectDef, Schema
from kinetic_core.emulator.store.values import to_json

from . import ast as a
from . import messages as m
from .functions import AggregateSql, FunctionCompiler, contains_aggregate
from .plan import Converter, Feature
from .scope import Resolved, Scope

_PLAIN_JSON = TEXT_TYPES | {FieldType.ID, FieldType.REFERENCE, FieldType.DATE}

_FAST_JSON: dict[FieldType, Converter] = {
    FieldType.BOOLEAN: bool,
    FieldType.INT: int,
    FieldType.LONG: int,
    FieldType.DOUBLE: numbers.json_value,
    FieldType.CURRENCY: numbers.json_value,
    FieldType.PERCENT: numbers.json_value,
}
"""Shortcuts equal to ``to_json`` for non-null values of these types (renderers skip nulls)."""


def json_converter(f: FieldDef) -> Converter | None:
    """None when the stored value already is the JSON value (text, ids, dates); else ``to_json``."""
    if f.type in _PLAIN_JSON:
        return None
    return _FAST_JSON.get(f.type) or partial(to_json, f)


class PlanContext:
    """The statement being planned: its text, the schema, the scopes handed out, the features used.

    Example:
        >>> from kinetic_core.emulator.store.schema import FieldDef, FieldType, ObjectDef
        >>> ctx = PlanContext("SELECT Id FROM Thing__c", Schema([ObjectDef("Thing__c", "a00",
        ...                   (FieldDef("Id", FieldType.ID),))]))
        >>> ctx.new_scope(ctx.object(a.Query((), "thing__c", (1, 16))), None).alias
        't1'
    """

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

    def check_common(self, query: a.Query) -> None:
        if query.offset is not None:
            self.features.add(Feature.OFFSET)
            if query.offset > m.MAX_OFFSET:
                raise m.offset_too_large(self.soql, query.offset_pos or query.pos)
        if query.group_by:
            self.features.add(Feature.GROUP_BY)

    def resolve(self, scope: Scope, path: a.FieldPath, use: str) -> Resolved:
        """Resolve a field used other than selected: compound fields can only be selected."""
        res = scope.resolve(path)
        if res.field.is_compound:
            raise m.compound_field(self.soql, path.pos, res.field.name, use)
        return res

    def functions(self, scope: Scope, aggregate_sql: AggregateSql | None = None) -> FunctionCompiler:
        return FunctionCompiler(self.soql, scope, partial(self.resolve, scope), aggregate_sql)


def aggregate_call(item: a.SelectItem) -> bool:
    """A SELECT item that makes the query an aggregate one: a date function, GROUPING() or FORMAT(MIN(x))."""
    if not isinstance(item, a.SelectFunc):
        return False
    call = item.call
    return call.func in a.DATE_FUNCS or call.func is a.Func.GROUPING or contains_aggregate(call)


EXACT_NUMBERS = frozenset({FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT})
"""Types stored exactly in mixed forms (see ``store.numbers``): ordered and compared by exact value."""


def order_text(sql: str, nocase: bool, item: a.OrderItem, kind: FieldType | None = None) -> str:
    """One ORDER BY term: direction, NULLS FIRST/LAST (Salesforce's default: first when ascending).

    A number (``kind`` in :data:`EXACT_NUMBERS`) sorts by two terms, its double then its exact
    remainder, so INTEGER, REAL and decimal TEXT values sort by their exact values.
    """
    nulls_first = (not item.descending) if item.nulls_first is None else item.nulls_first
    collate = " COLLATE NOCASE" if nocase else ""
    direction = "DESC" if item.descending else "ASC"
    tail = f"{direction} NULLS {'FIRST' if nulls_first else 'LAST'}"
    if kind in EXACT_NUMBERS:
        return ", ".join(f"{term} {tail}" for term in numbers.order_key(sql))
    return f"{sql}{collate} {tail}"
