"""Small constructors for :class:`FieldDef`, shared by the standard objects and the YAML loader.

Example:
    >>> text("Site", "Account Site", 80).length
    80
"""

from __future__ import annotations

from typing import Any

from kinetic_core.emulator.store.schema import FieldDef, FieldType

AUDIT_FIELDS = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp")
"""System fields set by the store on every write (never createable or updateable)."""


def text(name: str, label: str, length: int = 255, **kw: Any) -> FieldDef:
    """A ``string`` field."""
    return FieldDef(name, FieldType.STRING, label=label, length=length, **kw)


def textarea(name: str, label: str, length: int = 255, **kw: Any) -> FieldDef:
    return FieldDef(name, FieldType.TEXTAREA, label=label, length=length, **kw)


def typed(name: str, kind: FieldType, label: str, **kw: Any) -> FieldDef:
    """A field of any type with the usual length for it (email 80, phone 40, url 255)."""
    lengths = {FieldType.EMAIL: 80, FieldType.PHONE: 40, FieldType.URL: 255}
    kw.setdefault("length", lengths.get(kind, 0))
    return FieldDef(name, kind, label=label, **kw)


def picklist(
    name: str,
    label: str,
    values: tuple[str, ...] | list[str],
    *,
    default: str | None = None,
    restricted: bool = False,
    multi: bool = False,
    **kw: Any,
) -> FieldDef:
    """A ``picklist`` (or ``multipicklist``) field; a default makes it defaulted on create."""
    if default is not None:
        kw.setdefault("defaulted_on_create", True)
        kw.setdefault("default_value", default)
    kind = FieldType.MULTIPICKLIST if multi else FieldType.PICKLIST
    kw.setdefault("length", 4099 if multi else 40)
    return FieldDef(
        name, kind, label=label, picklist_values=tuple(values), restricted_picklist=restricted, **kw
    )


def boolean(name: str, label: str, default: bool = False, **kw: Any) -> FieldDef:
    """A checkbox: never null, defaulted on create."""
    return FieldDef(
        name,
        FieldType.BOOLEAN,
        label=label,
        nillable=False,
        defaulted_on_create=True,
        default_value=default,
        **kw,
    )


def number(
    name: str, kind: FieldType, label: str, precision: int = 18, scale: int = 0, **kw: Any
) -> FieldDef:
    """A ``double``/``currency``/``percent`` (precision, scale) or ``int`` (digits) field."""
    if kind in (FieldType.INT, FieldType.LONG):
        return FieldDef(name, kind, label=label, digits=precision, **kw)
    return FieldDef(name, kind, label=label, precision=precision, scale=scale, **kw)


def reference(
    name: str,
    label: str,
    to: str,
    relationship: str,
    child: str | None = None,
    **kw: Any,
) -> FieldDef:
    """A lookup: ``reference(\"AccountId\", \"Account ID\", \"Account\", \"Account\", \"Contacts\")``."""
    return FieldDef(
        name,
        FieldType.REFERENCE,
        label=label,
        length=18,
        reference_to=(to,),
        relationship_name=relationship,
        child_relationship_name=child,
        **kw,
    )


def owner(child: str | None = None) -> FieldDef:
    """``OwnerId``: a User lookup defaulted to the acting user."""
    return reference("OwnerId", "Owner ID", "User", "Owner", child, nillable=False, defaulted_on_create=True)


def external_id(name: str = "External_Id__c", label: str = "External Id", length: int = 255) -> FieldDef:
    """A custom unique external-id text field."""
    return text(name, label, length, custom=True, external_id=True, unique=True, id_lookup=True)


def id_field(label: str) -> FieldDef:
    return FieldDef(
        "Id",
        FieldType.ID,
        label=label,
        length=18,
        nillable=False,
        createable=False,
        updateable=False,
        defaulted_on_create=True,
        id_lookup=True,
    )


def is_deleted() -> FieldDef:
    return boolean("IsDeleted", "Deleted", createable=False, updateable=False)


def audit_fields() -> tuple[FieldDef, ...]:
    """CreatedDate, CreatedById, LastModifiedDate, LastModifiedById, SystemModstamp."""
    common: dict[str, Any] = {
        "nillable": False,
        "createable": False,
        "updateable": False,
        "defaulted_on_create": True,
    }
    return (
        FieldDef("CreatedDate", FieldType.DATETIME, label="Created Date", **common),
        reference("CreatedById", "Created By ID", "User", "CreatedBy", **common),
        FieldDef("LastModifiedDate", FieldType.DATETIME, label="Last Modified Date", **common),
        reference("LastModifiedById", "Last Modified By ID", "User", "LastModifiedBy", **common),
        FieldDef("SystemModstamp", FieldType.DATETIME, label="System Modstamp", **common),
    )


def computed(name: str, label: str, length: int, **kw: Any) -> FieldDef:
    """A read-only string the store derives (``Contact.Name`` from first and last name)."""
    return text(name, label, length, createable=False, updateable=False, **kw)


GEOCODE_ACCURACIES = (
    "Address", "NearAddress", "Block", "Street", "ExtendedZip", "Zip", "Neighborhood", "City", "County",
    "State", "Unknown",
)  # fmt: skip
"""Values of the ``*GeocodeAccuracy`` component of an address, in describe order."""


def address(prefix: str = "", label: str = "") -> list[FieldDef]:
    """A compound address: Street, City, State, PostalCode, Country, Latitude, Longitude,
    GeocodeAccuracy, then the read-only ``{prefix}Address`` itself (describe order of a real org).

    Example:
        >>> [f.name for f in address("Billing", "Billing")][-1]
        'BillingAddress'
    """
    lead = f"{label} " if label else ""
    compound = f"{prefix}Address"
    part: dict[str, Any] = {"compound_field_name": compound}
    return [
        textarea(f"{prefix}Street", f"{lead}Street", **part),
        text(f"{prefix}City", f"{lead}City", 40, **part),
        text(f"{prefix}State", f"{lead}State/Province", 80, **part),
        text(f"{prefix}PostalCode", f"{lead}Zip/Postal Code", 20, **part),
        text(f"{prefix}Country", f"{lead}Country", 80, **part),
        number(f"{prefix}Latitude", FieldType.DOUBLE, f"{lead}Latitude", 18, 15, **part),
        number(f"{prefix}Longitude", FieldType.DOUBLE, f"{lead}Longitude", 18, 15, **part),
        picklist(f"{prefix}GeocodeAccuracy", f"{lead}Geocode Accuracy", GEOCODE_ACCURACIES, restricted=True,
                 **part),
        FieldDef(compound, FieldType.ADDRESS, label=f"{lead}Address", createable=False, updateable=False),
    ]  # fmt: skip


def read_only(name: str, kind: FieldType, label: str, **kw: Any) -> FieldDef:
    """A field the platform maintains (``LastViewedDate``, ``PhotoUrl``): not createable, not updateable."""
    return typed(name, kind, label, createable=False, updateable=False, **kw)


def standard_object_fields(
    label: str, body: list[FieldDef], *, with_owner: bool = True, tail: list[FieldDef] | None = None
) -> tuple[FieldDef, ...]:
    """Id, IsDeleted, the object's own fields, OwnerId, the audit fields, then ``tail``."""
    fields: list[FieldDef] = [id_field(f"{label} ID"), is_deleted(), *body]
    if with_owner:
        fields.append(owner())
    fields.extend(audit_fields())
    fields.extend(tail or [])
    return tuple(fields)
