"""Schema metadata of the emulated org: objects, fields, relationships, storage layout.

This module is the contract between the store, the SOQL engine and the bulk
engine. Storage convention (one SQLite table per sObject):

* table name: ``ObjectDef.table`` (``"sobj_" + lower(name)``);
* column name: ``FieldDef.column`` (the lower-cased API name, always quoted in SQL);
* stored representation by ``FieldDef.type`` (see ``SQL_TYPES``):
  text types as TEXT; ``boolean`` as INTEGER 0/1; ``int``/``long`` as INTEGER;
  ``double``/``currency``/``percent`` exactly, as INTEGER, REAL or decimal TEXT
  (see ``numbers``); ``date`` as TEXT ``YYYY-MM-DD``;
  ``datetime`` as TEXT ``YYYY-MM-DDTHH:MM:SS.fffZ`` in UTC (sorts correctly);
  ``time`` as TEXT ``HH:MM:SS.fff``; ``multipicklist`` as TEXT ``a;b``.
* ``Id`` is the 18-char id (TEXT PRIMARY KEY); ``IsDeleted`` is 0/1; SQLite's
  implicit rowid gives the insertion order, the default order of query results.

Conversions between stored values and API (JSON / CSV) values live in
``kinetic_core.emulator.store.values``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FieldType(StrEnum):
    """Field types as describe reports them."""

    ID = "id"
    BOOLEAN = "boolean"
    STRING = "string"
    TEXTAREA = "textarea"
    PICKLIST = "picklist"
    MULTIPICKLIST = "multipicklist"
    COMBOBOX = "combobox"
    REFERENCE = "reference"
    CURRENCY = "currency"
    DOUBLE = "double"
    PERCENT = "percent"
    INT = "int"
    LONG = "long"
    DATE = "date"
    DATETIME = "datetime"
    TIME = "time"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    ENCRYPTEDSTRING = "encryptedstring"
    BASE64 = "base64"
    ADDRESS = "address"
    LOCATION = "location"


COMPOUND_TYPES = frozenset({FieldType.ADDRESS, FieldType.LOCATION})
"""Compound fields: read-only views over their component fields, never stored themselves."""


SQL_TYPES: dict[FieldType, str] = {
    FieldType.BOOLEAN: "INTEGER",
    FieldType.INT: "INTEGER",
    FieldType.LONG: "INTEGER",
    FieldType.CURRENCY: "BLOB",
    FieldType.DOUBLE: "BLOB",
    FieldType.PERCENT: "BLOB",
}
"""SQLite column type per field type; every type not listed is TEXT. Number columns have no affinity:
they keep the INTEGER, REAL or decimal TEXT they are given (see ``numbers``)."""

SOAP_TYPES: dict[FieldType, str] = {
    FieldType.ID: "tns:ID",
    FieldType.REFERENCE: "tns:ID",
    FieldType.BOOLEAN: "xsd:boolean",
    FieldType.INT: "xsd:int",
    FieldType.LONG: "xsd:long",
    FieldType.CURRENCY: "xsd:double",
    FieldType.DOUBLE: "xsd:double",
    FieldType.PERCENT: "xsd:double",
    FieldType.DATE: "xsd:date",
    FieldType.DATETIME: "xsd:dateTime",
    FieldType.TIME: "xsd:time",
    FieldType.BASE64: "xsd:base64Binary",
    FieldType.ADDRESS: "urn:address",
    FieldType.LOCATION: "urn:location",
}
"""``soapType`` per field type; every type not listed is ``xsd:string``."""

TEXT_TYPES = frozenset(
    {
        FieldType.STRING,
        FieldType.TEXTAREA,
        FieldType.PICKLIST,
        FieldType.MULTIPICKLIST,
        FieldType.COMBOBOX,
        FieldType.EMAIL,
        FieldType.PHONE,
        FieldType.URL,
        FieldType.ENCRYPTEDSTRING,
    }
)


@dataclass(frozen=True)
class FieldDef:
    """One field of an sObject.

    ``required`` (derived) means: must be given on create. ``child_relationship_name``
    is set on reference fields and names the parent-to-child relationship
    (``Contact.AccountId`` -> ``Contacts`` on Account).
    """

    name: str
    type: FieldType
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default_value: Any = None
    external_id: bool = False
    unique: bool = False
    id_lookup: bool = False
    name_field: bool = False
    case_sensitive: bool = False
    picklist_values: tuple[str, ...] = ()
    restricted_picklist: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    child_relationship_name: str | None = None
    cascade_delete: bool = False
    custom: bool = False
    calculated: bool = False
    auto_number: bool = False
    display_format: str | None = None
    """Auto-number pattern such as ``{00000000}`` or ``INV-{0000}`` (added by the store team)."""
    compound_field_name: str | None = None
    """The compound field this one is a component of (``BillingCity`` -> ``BillingAddress``)."""
    extra_type_info: str | None = None
    """Describe's ``extraTypeInfo`` when the type alone does not give it (``imageurl``, ``personname``)."""
    picklist_labels: tuple[tuple[str, str], ...] = ()
    """``(value, label)`` for picklist values whose label differs from the value (``toLabel()``)."""
    describe_flags: tuple[tuple[str, Any], ...] = ()
    """Describe flags a real org reports that the store does not derive (``("filterable", False)``)."""

    @property
    def column(self) -> str:
        """SQLite column name (quote it in SQL)."""
        return self.name.lower()

    @property
    def sql_type(self) -> str:
        return SQL_TYPES.get(self.type, "TEXT")

    @property
    def soap_type(self) -> str:
        return SOAP_TYPES.get(self.type, "xsd:string")

    @property
    def required(self) -> bool:
        """Must be present (non-null) on create."""
        return self.createable and not self.nillable and not self.defaulted_on_create

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES

    @property
    def is_compound(self) -> bool:
        """An ``address``/``location`` field: no column of its own, its value built from components."""
        return self.type in COMPOUND_TYPES

    def label_of(self, value: str) -> str:
        """The picklist label shown for ``value`` (the value itself unless a label was declared)."""
        for v, label in self.picklist_labels:
            if v == value:
                return label
        return value


@dataclass(frozen=True)
class ChildRelationship:
    """A parent-to-child relationship, e.g. Account.Contacts -> Contact.AccountId."""

    parent: str
    child_object: str
    field: str
    relationship_name: str
    cascade_delete: bool = False


@dataclass(frozen=True)
class ObjectDef:
    """One sObject: its name, key prefix, flags and fields."""

    name: str
    key_prefix: str
    fields: tuple[FieldDef, ...]
    label: str = ""
    label_plural: str = ""
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    bulk_supported: bool = True
    _by_lower: dict[str, FieldDef] = field(default_factory=dict, init=False, repr=False, compare=False)
    _rel_by_lower: dict[str, FieldDef] = field(default_factory=dict, init=False, repr=False, compare=False)
    _stored: tuple[FieldDef, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_stored", tuple(f for f in self.fields if not f.is_compound))
        for f in self.fields:
            self._by_lower[f.name.lower()] = f
            if f.relationship_name:
                self._rel_by_lower[f.relationship_name.lower()] = f

    @property
    def table(self) -> str:
        """SQLite table name (quote it in SQL)."""
        return "sobj_" + self.name.lower()

    @property
    def stored_fields(self) -> tuple[FieldDef, ...]:
        """The fields with a column of their own: every field but the compound ones."""
        return self._stored

    def components(self, compound: FieldDef) -> list[FieldDef]:
        """The component fields of a compound field, in describe order."""
        return [f for f in self.fields if f.compound_field_name == compound.name]

    def field(self, name: str) -> FieldDef | None:
        """Look a field up by API name, case-insensitively."""
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is ``name`` (``Account`` -> ``AccountId``)."""
        return self._rel_by_lower.get(name.lower())

    def name_field(self) -> FieldDef | None:
        return next((f for f in self.fields if f.name_field), None)


class Schema:
    """All objects of one org, looked up case-insensitively by name or key prefix.

    Example:
        >>> s = Schema([ObjectDef("Thing__c", "a00", (FieldDef("Id", FieldType.ID),))])
        >>> s.get("thing__C").name
        'Thing__c'
    """

    def __init__(self, objects: Iterable[ObjectDef]) -> None:
        self._objects: dict[str, ObjectDef] = {}
        self._by_prefix: dict[str, ObjectDef] = {}
        for obj in objects:
            self.add(obj)

    def add(self, obj: ObjectDef) -> None:
        self._objects[obj.name.lower()] = obj
        self._by_prefix[obj.key_prefix] = obj

    def get(self, name: str) -> ObjectDef | None:
        return self._objects.get(name.lower())

    def by_prefix(self, prefix: str) -> ObjectDef | None:
        return self._by_prefix.get(prefix)

    def __iter__(self) -> Iterator[ObjectDef]:
        return iter(sorted(self._objects.values(), key=lambda o: o.name))

    def __len__(self) -> int:
        return len(self._objects)

    def child_relationships(self, parent: str) -> list[ChildRelationship]:
        """Every child relationship pointing at ``parent`` (those with a name first)."""
        out: list[ChildRelationship] = []
        for obj in self:
            for f in obj.fields:
                if f.type is FieldType.REFERENCE and any(t.lower() == parent.lower() for t in f.reference_to):
                    out.append(
                        ChildRelationship(
                            parent=parent,
                            child_object=obj.name,
                            field=f.name,
                            relationship_name=f.child_relationship_name or "",
                            cascade_delete=f.cascade_delete,
                        )
                    )
        return out

    def child_relationship(self, parent: str, name: str) -> ChildRelationship | None:
        """Find ``Contacts`` on ``Account``, case-insensitively."""
        for rel in self.child_relationships(parent):
            if rel.relationship_name and rel.relationship_name.lower() == name.lower():
                return rel
        return None
