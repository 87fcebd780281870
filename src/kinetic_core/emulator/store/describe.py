"""Describe Global and sObject Describe bodies built from the schema.

Key sets and JSON types follow a real API v48+ describe (the fixtures under
``shared/fixtures/salesforce-responses/cumulusci``). Flags a real org derives from metadata we do not
model (layouts, feeds, MRU) are fixed per object family: "business" objects (Account, Contact,
Opportunity, Lead, Case, User and every custom object) are layoutable, searchable and feed-enabled;
setup objects (Organization, Profile, PermissionSet, PermissionSetAssignment) are not. [I]

Example:
    >>> from kinetic_core.emulator.store.custom import build_schema
    >>> body = describe_sobject(build_schema(), build_schema().get("Account"), "62.0")
    >>> body["keyPrefix"], body["urls"]["describe"]
    ('001', '/services/data/v62.0/sobjects/Account/describe')
"""

from __future__ import annotations

from typing import Any

from kinetic_core.emulator.store.schema import FieldDef, FieldType, ObjectDef, Schema

MASTER_RECORD_TYPE_ID = "012000000000000AAA"
_BUSINESS = frozenset({"account", "contact", "opportunity", "lead", "case", "user"})
_MERGEABLE = frozenset({"account", "contact", "lead", "case"})
_NOT_GROUPABLE = frozenset(
    {
        FieldType.DOUBLE,
        FieldType.CURRENCY,
        FieldType.PERCENT,
        FieldType.DATETIME,
        FieldType.MULTIPICKLIST,
        FieldType.ADDRESS,
        FieldType.LOCATION,
    }
)
_PERSON_NAMES = frozenset({"contact", "lead", "user"})


def _business(obj: ObjectDef) -> bool:
    return obj.custom or obj.name.lower() in _BUSINESS


def _urls(obj: ObjectDef, api_version: str) -> dict[str, str]:
    base = f"/services/data/v{api_version}/sobjects/{obj.name}"
    urls = {
        "rowTemplate": f"{base}/{{ID}}",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "describe": f"{base}/describe",
        "sobject": base,
    }
    if _business(obj):
        urls.update(
            compactLayouts=f"{base}/describe/compactLayouts",
            approvalLayouts=f"{base}/describe/approvalLayouts",
            listviews=f"{base}/listviews",
            quickActions=f"{base}/quickActions",
            layouts=f"{base}/describe/layouts",
        )
    return urls


def _global_entry(obj: ObjectDef, api_version: str) -> dict[str, Any]:
    business = _business(obj)
    return {
        "activateable": False,
        "createable": obj.createable,
        "custom": obj.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": obj.deletable,
        "deprecatedAndHidden": False,
        "feedEnabled": business,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label or obj.name,
        "labelPlural": obj.label_plural or obj.label or obj.name,
        "layoutable": business,
        "mergeable": obj.name.lower() in _MERGEABLE,
        "mruEnabled": business,
        "name": obj.name,
        "queryable": obj.queryable,
        "replicateable": True,
        "retrieveable": True,
        "searchable": business,
        "triggerable": True,
        "undeletable": obj.deletable,
        "updateable": obj.updateable,
        "urls": _urls(obj, api_version),
    }


def describe_global(schema: Schema, api_version: str) -> dict[str, Any]:
    """The Describe Global body: ``{"encoding", "maxBatchSize", "sobjects": [...]}`` sorted by name.

    Example:
        >>> from kinetic_core.emulator.store.custom import build_schema
        >>> describe_global(build_schema(), "62.0")["sobjects"][0]["name"]
        'Account'
    """
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [_global_entry(obj, api_version) for obj in schema],
    }


def _byte_length(f: FieldDef) -> int:
    if f.type in (FieldType.ID, FieldType.REFERENCE):
        return 18
    return f.length * 3 if f.is_text else 0


def _length(f: FieldDef) -> int:
    if f.type in (FieldType.ID, FieldType.REFERENCE):
        return 18
    return f.length if f.is_text else 0


def _extra_type_info(obj: ObjectDef, f: FieldDef) -> str | None:
    if f.extra_type_info is not None:
        return f.extra_type_info
    if f.type is FieldType.TEXTAREA:
        return "plaintextarea"
    if f.name == "Name" and obj.name.lower() in _PERSON_NAMES:
        return "personname"
    return None


def describe_field(obj: ObjectDef, f: FieldDef) -> dict[str, Any]:
    """One ``fields[]`` entry of an sObject describe."""
    long_text = f.type is FieldType.TEXTAREA and f.length > 255
    system = f.name in ("Id", "IsDeleted") or not (f.createable or f.updateable)
    default_value: Any = bool(f.default_value) if f.type is FieldType.BOOLEAN else None
    body: dict[str, Any] = {
        "aggregatable": not long_text and f.type is not FieldType.BOOLEAN and not f.is_compound,
        "aiPredictionField": False,
        "autoNumber": f.auto_number,
        "byteLength": _byte_length(f),
        "calculated": f.calculated,
        "calculatedFormula": None,
        # A standard lookup reports false here even when deleting the parent deletes the child (the
        # parent's childRelationships entry says so); master-detail custom fields report true.
        "cascadeDelete": f.cascade_delete and f.custom,
        "caseSensitive": f.case_sensitive,
        "compoundFieldName": f.compound_field_name,
        "controllerName": None,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": default_value,
        "defaultValueFormula": None,
        "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": f.digits,
        "displayLocationInDecimal": False,
        "encrypted": f.type is FieldType.ENCRYPTEDSTRING,
        "externalId": f.external_id,
        "extraTypeInfo": _extra_type_info(obj, f),
        "filterable": not long_text,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": not long_text and f.type not in _NOT_GROUPABLE,
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": f.id_lookup,
        "inlineHelpText": None,
        "label": f.label or f.name,
        "length": _length(f),
        "mask": None,
        "maskType": None,
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": False,
        "nillable": f.nillable,
        "permissionable": f.is_compound or (f.nillable and not system),
        "picklistValues": [
            {
                "active": True,
                "defaultValue": v == f.default_value,
                "label": f.label_of(v),
                "validFor": None,
                "value": v,
            }
            for v in f.picklist_values
        ],
        "polymorphicForeignKey": False,
        "precision": f.precision,
        "queryByDistance": f.is_compound,
        "referenceTargetField": None,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "relationshipOrder": 0 if f.custom and f.cascade_delete else None,
        "restrictedDelete": False,
        "restrictedPicklist": f.restricted_picklist,
        "scale": f.scale,
        "searchPrefilterable": f.type is FieldType.REFERENCE and f.name != "OwnerId" and not system,
        "soapType": f.soap_type,
        "sortable": not long_text and f.type is not FieldType.MULTIPICKLIST and not f.is_compound,
        "type": f.type.value,
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": False,
    }
    body.update(f.describe_flags)
    return body


def describe_sobject(
    schema: Schema, obj: ObjectDef, api_version: str, *, instance_url: str | None = None
) -> dict[str, Any]:
    """The sObject Describe body: the global entry plus fields, child relationships and record types.

    With ``instance_url`` (``https://host:port``) the ``urls`` of layoutable objects also carry the
    ``uiDetailTemplate``, ``uiEditTemplate`` and ``uiNewRecord`` links a real org returns.

    Example:
        >>> from kinetic_core.emulator.store.custom import build_schema
        >>> s = build_schema()
        >>> rels = describe_sobject(s, s.get("Account"), "62.0")["childRelationships"]
        >>> sorted(r["relationshipName"] for r in rels if r["childSObject"] == "Contact")
        ['Contacts']
    """
    business = _business(obj)
    plural = (obj.label_plural or obj.name).lower()
    scopes = [{"label": f"All {plural}", "name": "everything"}]
    if obj.field("OwnerId") is not None:
        scopes.append({"label": f"My {plural}", "name": "mine"})
    body = _global_entry(obj, api_version)
    body.update(
        actionOverrides=[],
        associateEntityType=None,
        associateParentEntity=None,
        childRelationships=[
            {
                "cascadeDelete": rel.cascade_delete,
                "childSObject": rel.child_object,
                "deprecatedAndHidden": False,
                "field": rel.field,
                "junctionIdListNames": [],
                "junctionReferenceTo": [],
                "relationshipName": rel.relationship_name or None,
                "restrictedDelete": False,
            }
            for rel in schema.child_relationships(obj.name)
        ],
        compactLayoutable=business,
        defaultImplementation=None,
        extendedBy=None,
        extendsInterfaces=None,
        fields=[describe_field(obj, f) for f in obj.fields],
        implementedBy=None,
        implementsInterfaces=None,
        listviewable=None,
        lookupLayoutable=None,
        namedLayoutInfos=[],
        networkScopeFieldName=None,
        recordTypeInfos=[
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": MASTER_RECORD_TYPE_ID,
                "urls": {
                    "layout": f"/services/data/v{api_version}/sobjects/{obj.name}/describe/layouts/"
                    + MASTER_RECORD_TYPE_ID
                },
            }
        ],
        searchLayoutable=business,
        sobjectDescribeOption="FULL",
        supportedScopes=scopes,
    )
    if instance_url and business:
        base = instance_url.rstrip("/")
        body["urls"].update(
            uiDetailTemplate=f"{base}/{{ID}}",
            uiEditTemplate=f"{base}/{{ID}}/e",
            uiNewRecord=f"{base}/{obj.key_prefix}/e",
        )
    return dict(sorted(body.items()))
