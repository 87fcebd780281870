"""Custom objects and custom fields from a YAML schema file, and :func:`build_schema`.

File format (every key except ``type`` is optional)::

    objects:                         # custom objects; names end in __c
      Invoice__c:
        label: Invoice               # default: the name without __c, underscores as spaces
        label_plural: Invoices       # default: label + "s"
        key_prefix: a0X              # default: the next free of a00, a01, ... a09, a0A, ...
        name_field:                  # the Name field: text (default) or an auto-number
          label: Invoice Number
          type: autonumber           # or: text (then `length`, default 80)
          format: "INV-{0000}"
        fields:
          Amount__c: {type: currency, precision: 16, scale: 2, required: true}
          Status__c: {type: picklist, values: [Draft, Sent, Paid], restricted: true, default: Draft}
          Tags__c: {type: multipicklist, values: [a, b, c]}
          Account__c: {type: reference, to: Account, relationship: Account__r, child: Invoices__r}
          Deal__c: {type: masterdetail, to: Opportunity}    # required lookup, cascade delete
          Code__c: {type: text, length: 20, external_id: true, unique: true}
    fields:                          # custom fields added to standard objects
      Account:
        Tier__c: {type: picklist, values: [Gold, Silver, Bronze]}

Field ``type`` values: ``text`` (alias ``string``), ``textarea``, ``longtextarea``, ``picklist``,
``multipicklist``, ``checkbox`` (``boolean``), ``int``, ``long``, ``number`` (``double``), ``currency``,
``percent``, ``date``, ``datetime``, ``time``, ``email``, ``phone``, ``url``, ``reference``
(``lookup``), ``masterdetail``, ``autonumber``, ``encryptedstring``.
Other field keys: ``label``, ``length``, ``precision``, ``scale``, ``required``, ``unique``,
``external_id``, ``case_sensitive``, ``values``, ``restricted``, ``default``, ``to``, ``relationship``
(default: the field name with ``__r``), ``child`` (default: the plural label of the object with ``__r``),
``cascade_delete``, ``format`` (auto-number pattern). Every custom object gets the standard system
fields plus ``Name`` and ``OwnerId``.

Example:
    >>> schema = build_schema()
    >>> schema.get("account").key_prefix
    '001'
"""

from __future__ import annotations

import string
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from kinetic_core.emulator.store import fieldkit
from kinetic_core.emulator.store.schema import FieldDef, FieldType, ObjectDef, Schema
from kinetic_core.emulator.store.standard import standard_objects
from kinetic_core.yamlsafe import load_yaml


class SchemaError(ValueError):
    """A schema file that cannot be used; the message names the file, object and field."""


_SIMPLE_TYPES: dict[str, FieldType] = {
    "text": FieldType.STRING,
    "string": FieldType.STRING,
    "textarea": FieldType.TEXTAREA,
    "longtextarea": FieldType.TEXTAREA,
    "checkbox": FieldType.BOOLEAN,
    "boolean": FieldType.BOOLEAN,
    "int": FieldType.INT,
    "long": FieldType.LONG,
    "number": FieldType.DOUBLE,
    "double": FieldType.DOUBLE,
    "currency": FieldType.CURRENCY,
    "percent": FieldType.PERCENT,
    "date": FieldType.DATE,
    "datetime": FieldType.DATETIME,
    "time": FieldType.TIME,
    "email": FieldType.EMAIL,
    "phone": FieldType.PHONE,
    "url": FieldType.URL,
    "encryptedstring": FieldType.ENCRYPTEDSTRING,
}
_OTHER_TYPES = ("picklist", "multipicklist", "reference", "lookup", "masterdetail", "autonumber")
_FIELD_KEYS = frozenset(
    {
        "type", "label", "length", "precision", "scale", "required", "unique", "external_id",
        "case_sensitive", "values", "restricted", "default", "to", "relationship", "child",
        "cascade_delete", "format", "description",
    }
)  # fmt: skip
_OBJECT_KEYS = frozenset({"label", "label_plural", "key_prefix", "name_field", "fields", "description"})
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _label_of(api_name: str) -> str:
    return api_name.removesuffix("__c").replace("_", " ")


def _field(where: str, name: str, spec: Any, object_label_plural: str) -> FieldDef:
    """Build one custom field from its YAML mapping."""
    _check_field_spec(where, name, spec)
    kind = str(spec.get("type", "")).lower()
    label = str(spec.get("label") or _label_of(name))
    common = _common_options(spec)
    try:
        if kind in ("picklist", "multipicklist"):
            return _picklist_field(where, name, label, kind, spec, common)
        if kind in ("reference", "lookup", "masterdetail"):
            return _reference_field(where, name, label, kind, spec, common, object_label_plural)
        if kind == "autonumber":
            common.update(nillable=False, createable=False, updateable=False, defaulted_on_create=True)
            return fieldkit.text(
                name, label, 30, auto_number=True, display_format=_format(where, spec), **common
            )
        if kind not in _SIMPLE_TYPES:
            choices = ", ".join(sorted([*_SIMPLE_TYPES, *_OTHER_TYPES]))
            raise SchemaError(f"{where}: unknown type {spec.get('type')!r} (expected one of: {choices})")
        return _simple_field(where, name, label, kind, spec, common)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, SchemaError):
            raise
        raise SchemaError(f"{where}: {exc}") from exc


def _check_field_spec(where: str, name: str, spec: Any) -> None:
    if not name.endswith("__c") or not name[:-3].replace("_", "a").isalnum():
        raise SchemaError(f"{where}: custom field names must be alphanumeric and end in __c")
    if not isinstance(spec, dict):
        raise SchemaError(f"{where}: expected a mapping of field options, got {type(spec).__name__}")
    unknown = sorted(set(spec) - _FIELD_KEYS)
    if unknown:
        raise SchemaError(f"{where}: unknown option(s) {', '.join(unknown)}")


def _common_options(spec: dict[str, Any]) -> dict[str, Any]:
    """The options every kind of custom field takes (required, unique, external id, case)."""
    common: dict[str, Any] = {
        "custom": True,
        "nillable": not spec.get("required", False),
        "unique": bool(spec.get("unique", False)),
        "external_id": bool(spec.get("external_id", False)),
        "case_sensitive": bool(spec.get("case_sensitive", False)),
    }
    common["id_lookup"] = common["external_id"] or common["unique"]
    return common


def _picklist_field(
    where: str, name: str, label: str, kind: str, spec: dict[str, Any], common: dict[str, Any]
) -> FieldDef:
    values = spec.get("values")
    if not isinstance(values, list) or not values:
        raise SchemaError(f"{where}: a {kind} needs a non-empty `values` list")
    default = spec.get("default")
    if default is not None and str(default) not in [str(v) for v in values]:
        raise SchemaError(f"{where}: default {default!r} is not one of the values")
    return fieldkit.picklist(
        name, label, [str(v) for v in values], default=None if default is None else str(default),
        restricted=bool(spec.get("restricted", False)), multi=kind == "multipicklist",
        length=4099 if kind == "multipicklist" else 255, **common,
    )  # fmt: skip


def _reference_field(
    where: str,
    name: str,
    label: str,
    kind: str,
    spec: dict[str, Any],
    common: dict[str, Any],
    object_label_plural: str,
) -> FieldDef:
    target = spec.get("to")
    if not isinstance(target, str) or not target:
        raise SchemaError(f"{where}: a {kind} needs `to: <object name>`")
    if kind == "masterdetail":
        common.update(nillable=False, cascade_delete=True)
    else:
        common["cascade_delete"] = bool(spec.get("cascade_delete", False))
    relationship = str(spec.get("relationship") or name[:-3] + "__r")
    child = str(spec.get("child") or object_label_plural.replace(" ", "_") + "__r")
    return fieldkit.reference(name, label, target, relationship, child, **common)


def _simple_field(
    where: str, name: str, label: str, kind: str, spec: dict[str, Any], common: dict[str, Any]
) -> FieldDef:
    """Checkbox, number, text and the other one-type fields."""
    ftype = _SIMPLE_TYPES[kind]
    if ftype is FieldType.BOOLEAN:
        return fieldkit.boolean(name, label, bool(spec.get("default", False)), custom=True)
    if "default" in spec:
        common.update(defaulted_on_create=True, default_value=spec["default"])
    if ftype in (FieldType.INT, FieldType.LONG):
        return fieldkit.number(name, ftype, label, int(spec.get("precision", 18)), **common)
    if ftype in (FieldType.DOUBLE, FieldType.CURRENCY, FieldType.PERCENT):
        precision = int(spec.get("precision", 18))
        scale = int(spec.get("scale", 2 if ftype is FieldType.CURRENCY else 0))
        if not 0 <= scale <= precision <= 18:
            raise SchemaError(f"{where}: need 0 <= scale <= precision <= 18")
        return fieldkit.number(name, ftype, label, precision, scale, **common)
    if ftype in (FieldType.STRING, FieldType.TEXTAREA, FieldType.ENCRYPTEDSTRING):
        default_length = {"longtextarea": 32768, "textarea": 255}.get(kind)
        length = int(spec.get("length", default_length or 255))
        if not 1 <= length <= 131072:
            raise SchemaError(f"{where}: length must be between 1 and 131072")
        return FieldDef(name, ftype, label=label, length=length, **common)
    return fieldkit.typed(name, ftype, label, **common)


def _format(where: str, spec: dict[str, Any]) -> str:
    pattern = str(spec.get("format", "{0}"))
    if (
        "{" not in pattern
        or "}" not in pattern
        or not set(pattern[pattern.index("{") + 1 : pattern.index("}")]) <= {"0"}
    ):
        raise SchemaError(f"{where}: auto-number format needs a {{000}} placeholder, got {pattern!r}")
    return pattern


def _next_prefix(taken: set[str]) -> str:
    for n in range(62 * 62):
        prefix = "a" + _BASE62[n // 62] + _BASE62[n % 62]
        if prefix not in taken:
            return prefix
    raise SchemaError("no free custom key prefix left")


def _custom_object(source: str, name: str, spec: Any, taken: set[str]) -> ObjectDef:
    where = f"{source}: object {name!r}"
    if not name.endswith("__c") or not name[:-3].replace("_", "a").isalnum():
        raise SchemaError(f"{where}: custom object names must be alphanumeric and end in __c")
    spec = spec or {}
    if not isinstance(spec, dict):
        raise SchemaError(f"{where}: expected a mapping")
    unknown = sorted(set(spec) - _OBJECT_KEYS)
    if unknown:
        raise SchemaError(f"{where}: unknown option(s) {', '.join(unknown)}")
    label = str(spec.get("label") or _label_of(name))
    plural = str(spec.get("label_plural") or label + "s")
    prefix = spec.get("key_prefix")
    if prefix is None:
        prefix = _next_prefix(taken)
    elif not isinstance(prefix, str) or len(prefix) != 3 or not prefix.isalnum() or prefix in taken:
        raise SchemaError(
            f"{where}: key_prefix must be 3 letters/digits not used by another object, got {prefix!r}"
        )
    taken.add(prefix)
    name_spec = spec.get("name_field") or {}
    if not isinstance(name_spec, dict):
        raise SchemaError(f"{where}: name_field must be a mapping")
    name_label = str(name_spec.get("label") or f"{label} Name")
    if str(name_spec.get("type", "text")).lower() == "autonumber":
        name_field = fieldkit.text(
            "Name", name_label, 30, nillable=False, createable=False, updateable=False,
            defaulted_on_create=True, auto_number=True, name_field=True,
            display_format=_format(f"{where} name_field", name_spec),
        )  # fmt: skip
    else:
        name_field = fieldkit.text("Name", name_label, int(name_spec.get("length", 80)), name_field=True)
    fields_spec = spec.get("fields") or {}
    if not isinstance(fields_spec, dict):
        raise SchemaError(f"{where}: `fields` must be a mapping of field name to options")
    custom = [
        _field(f"{where} field {fname!r}", str(fname), fspec, plural) for fname, fspec in fields_spec.items()
    ]
    fields = fieldkit.standard_object_fields(label, [name_field], tail=custom)
    # Salesforce orders a custom object's fields Id, OwnerId, IsDeleted, Name, audit fields, custom fields
    fields = (fields[0], fields[3], fields[1], fields[2], *fields[4:])
    return ObjectDef(name, prefix, fields, label, plural, custom=True)


def load_schema_file(path: Path) -> list[ObjectDef]:
    """Read a YAML schema file: custom objects, and standard objects extended with custom fields.

    Raises:
        SchemaError: the file is unreadable or invalid; the message names the object and field.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.yaml"
        >>> _ = p.write_text("objects:\\n  Thing__c:\\n    fields:\\n      Size__c: {type: int}\\n")
        >>> [o.name for o in load_schema_file(p) if o.custom]
        ['Thing__c']
    """
    source = str(path)
    try:
        data = load_yaml(Path(path).read_text(encoding="utf-8"), source)
    except OSError as exc:
        raise SchemaError(f"{source}: cannot read schema file: {exc}") from exc
    except yaml.YAMLError as exc:
        raise SchemaError(f"{source}: not valid YAML: {exc}") from exc
    data = data or {}
    if not isinstance(data, dict) or set(data) - {"objects", "fields"}:
        raise SchemaError(f"{source}: top level must be a mapping with `objects` and/or `fields`")
    standard = {o.name.lower(): o for o in standard_objects()}
    taken = {o.key_prefix for o in standard.values()}
    out: dict[str, ObjectDef] = {}
    objects = data.get("objects") or {}
    if not isinstance(objects, dict):
        raise SchemaError(f"{source}: `objects` must be a mapping of object name to options")
    for name, spec in objects.items():
        obj = _custom_object(source, str(name), spec, taken)
        if obj.name.lower() in out or obj.name.lower() in standard:
            raise SchemaError(f"{source}: object {name!r} is defined twice")
        out[obj.name.lower()] = obj
    extra = data.get("fields") or {}
    if not isinstance(extra, dict):
        raise SchemaError(f"{source}: `fields` must be a mapping of object name to fields")
    for obj_name, fields_spec in extra.items():
        base = standard.get(str(obj_name).lower()) or out.get(str(obj_name).lower())
        if base is None:
            raise SchemaError(f"{source}: fields for unknown object {obj_name!r}")
        if not isinstance(fields_spec, dict):
            raise SchemaError(f"{source}: object {obj_name!r}: fields must be a mapping")
        added = []
        for fname, fspec in fields_spec.items():
            where = f"{source}: object {base.name!r} field {fname!r}"
            if base.field(str(fname)) is not None:
                raise SchemaError(f"{where}: field already exists")
            added.append(_field(where, str(fname), fspec, base.label_plural))
        out[base.name.lower()] = ObjectDef(
            base.name, base.key_prefix, (*base.fields, *added), base.label, base.label_plural, base.custom,
            base.createable, base.updateable, base.deletable, base.queryable, base.bulk_supported,
        )  # fmt: skip
    names = {o.name.lower(): o.name for o in [*out.values(), *standard.values()]}
    return [_canonical_references(source, obj, names) for obj in out.values()]


def _canonical_references(source: str, obj: ObjectDef, names: dict[str, str]) -> ObjectDef:
    """Check every custom lookup's target exists and spell it as the object is named."""
    fields = []
    for f in obj.fields:
        if f.type is FieldType.REFERENCE:
            targets = []
            for target in f.reference_to:
                if target.lower() not in names and not f.custom:
                    targets.append(target)  # a standard lookup to an object this org does not serve
                    continue
                if target.lower() not in names:
                    where = f"{source}: object {obj.name!r} field {f.name!r}"
                    raise SchemaError(f"{where}: reference to unknown object {target!r}")
                targets.append(names[target.lower()])
            f = replace(f, reference_to=tuple(targets))
        fields.append(f)
    return replace(obj, fields=tuple(fields))


def build_schema(schema_file: Path | None = None) -> Schema:
    """The org's schema: the standard objects, extended by ``schema_file`` when given.

    Example:
        >>> build_schema().get("Contact").field("accountid").relationship_name
        'Account'
    """
    objects = {o.name.lower(): o for o in standard_objects()}
    if schema_file is not None:
        for obj in load_schema_file(schema_file):
            objects[obj.name.lower()] = obj
    return Schema(objects.values())
