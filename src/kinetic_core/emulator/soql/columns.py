"""The ``GET /query?q=...&columns=true`` answer: column metadata instead of records.

Shape (as the Salesforce CLI reads it): ``{"columnMetadata": [...], "entityName",
"groupBy", "idSelected", "keyPrefix"}``; each column has ``aggregate, apexType,
booleanType, columnName, custom, displayName, foreignKeyName, insertable,
joinColumns, numberType, textType, updatable``. Parent relationships are a column
named after the relationship whose ``joinColumns`` hold the selected field;
subqueries are ``aggregate: true`` columns whose ``joinColumns`` are the child's.
"""

from __future__ import annotations

from typing import Any

from kinetic_core.emulator.store.schema import FieldDef, FieldType

from .plan import ColumnInfo, QueryPlan

_APEX_TYPES: dict[FieldType, str] = {
    FieldType.ID: "Id",
    FieldType.REFERENCE: "Id",
    FieldType.BOOLEAN: "Boolean",
    FieldType.INT: "Integer",
    FieldType.LONG: "Long",
    FieldType.DOUBLE: "Double",
    FieldType.CURRENCY: "Decimal",
    FieldType.PERCENT: "Decimal",
    FieldType.DATE: "Date",
    FieldType.DATETIME: "Datetime",
    FieldType.TIME: "Time",
    FieldType.BASE64: "Blob",
}
_NUMBER_TYPES = frozenset(
    {FieldType.INT, FieldType.LONG, FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT}
)


def apex_type(f: FieldDef) -> str:
    """Apex type name of a field (text types are ``String``)."""
    return _APEX_TYPES.get(f.type, "String")


def _column(info: ColumnInfo) -> dict[str, Any]:
    f = info.field
    return {
        "aggregate": info.aggregate,
        "apexType": apex_type(f) if f is not None else ("Double" if info.number else None),
        "booleanType": f is not None and f.type is FieldType.BOOLEAN,
        "columnName": info.name,
        "custom": bool(f is not None and f.custom) or info.name.endswith("__r"),
        "displayName": info.display,
        "foreignKeyName": info.foreign_key,
        "insertable": bool(f is not None and f.createable and not info.aggregate),
        "joinColumns": [_column(j) for j in info.join],
        "numberType": info.number or (f is not None and f.type in _NUMBER_TYPES),
        "textType": f is not None and f.is_text,
        "updatable": bool(f is not None and f.updateable and not info.aggregate),
    }


def columns_metadata(plan: QueryPlan) -> dict[str, Any]:
    """The metadata document for a compiled query.

    Example:
        >>> from kinetic_core.emulator.store.schema import ObjectDef, Schema
        >>> from kinetic_core.emulator.soql.parser import parse_soql
        >>> from kinetic_core.emulator.soql.planner import plan_query
        >>> s = Schema([ObjectDef("Thing__c", "a00", (FieldDef("Id", FieldType.ID),))])
        >>> soql = "SELECT Id FROM Thing__c"
        >>> doc = columns_metadata(plan_query(soql, parse_soql(soql), s))
        >>> doc["idSelected"], doc["columnMetadata"][0]["apexType"]
        (True, 'Id')
    """
    return {
        "columnMetadata": [_column(c) for c in plan.columns],
        "entityName": plan.obj.name,
        "groupBy": bool(plan.aggregate is not None and plan.aggregate.group_sql),
        "idSelected": any(c.name == "Id" and c.field is not None and not c.join for c in plan.columns),
        "keyPrefix": plan.obj.key_prefix,
    }
