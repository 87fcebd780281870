"""describe: key sets and JSON types compared with real recorded describe responses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kinetic_core.emulator.store import build_schema, describe_global, describe_sobject
from kinetic_core.emulator.store.schema import FieldType

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "salesforce-responses" / "cumulusci"
needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared fixtures not present")


def body(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["response"]["body"]


def json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "number", float: "number", str: "string", list: "list", dict: "dict"}[
        type(value)
    ]


def assert_same_shape(ours: dict[str, Any], real: dict[str, Any], where: str) -> None:
    """Same keys; same JSON type wherever both values are non-null."""
    assert set(ours) == set(real), f"{where}: missing {set(real) - set(ours)}, extra {set(ours) - set(real)}"
    for key, value in real.items():
        if value is not None and ours[key] is not None:
            assert json_kind(ours[key]) == json_kind(value), f"{where}.{key}"


@needs_fixtures
def test_describe_global_shape() -> None:
    real = body("describe_global_200.json")
    ours = describe_global(build_schema(), "62.0")
    assert set(ours) == set(real)
    assert ours["encoding"] == "UTF-8"
    assert ours["maxBatchSize"] == 200
    real_account = next(s for s in real["sobjects"] if s["name"] == "Account")
    our_account = next(s for s in ours["sobjects"] if s["name"] == "Account")
    assert_same_shape(our_account, real_account, "Account")
    assert set(our_account["urls"]) == set(real_account["urls"])
    real_plain = next(s for s in real["sobjects"] if not s["layoutable"] and s["keyPrefix"])
    our_plain = next(s for s in ours["sobjects"] if s["name"] == "Organization")
    assert_same_shape(our_plain, real_plain, "Organization")
    assert set(our_plain["urls"]) == set(real_plain["urls"])


@needs_fixtures
@pytest.mark.parametrize(("fixture", "sobject"), [("describe_account_200.json", "Account"),
                                                  ("describe_contact_200.json", "Contact")])  # fmt: skip
def test_describe_sobject_shape(fixture: str, sobject: str) -> None:
    real = body(fixture)
    schema = build_schema()
    ours = describe_sobject(schema, schema.get(sobject), "62.0", instance_url="https://127.0.0.1:8443")  # type: ignore[arg-type]
    newer = {"associateEntityType", "associateParentEntity", "sobjectDescribeOption"}
    assert set(real) - set(ours) == set()
    assert set(ours) - set(real) <= newer
    for key, value in real.items():
        if value is not None and ours[key] is not None:
            assert json_kind(ours[key]) == json_kind(value), key
    real_fields = {f["name"]: f for f in real["fields"]}
    our_fields = {f["name"]: f for f in ours["fields"]}
    for name in (
        "Id",
        "Name",
        "OwnerId",
        "CreatedDate",
        "IsDeleted",
        "AccountId",
        "Email",
        "Type",
        "AnnualRevenue",
    ):
        if name in real_fields and name in our_fields:
            ours_f, real_f = our_fields[name], real_fields[name]
            assert_same_shape(ours_f, real_f, f"{sobject}.{name}")
            for flag in ("type", "soapType", "createable", "updateable", "nillable", "referenceTo",
                         "relationshipName", "nameField", "length"):  # fmt: skip
                assert ours_f[flag] == real_f[flag], f"{sobject}.{name}.{flag}"
    real_rel = real["childRelationships"][0]
    for rel in ours["childRelationships"]:
        assert_same_shape(rel, real_rel, "childRelationship")
    assert_same_shape(ours["recordTypeInfos"][0], real["recordTypeInfos"][-1], "recordTypeInfo")
    assert set(ours["urls"]) - {"defaultValues"} == set(real["urls"]) - {"defaultValues"}
    assert ours["urls"]["uiNewRecord"] == f"https://127.0.0.1:8443/{ours['keyPrefix']}/e"


def test_describe_content() -> None:
    schema = build_schema()
    account = describe_sobject(schema, schema.get("Account"), "61.0")  # type: ignore[arg-type]
    assert account["keyPrefix"] == "001"
    assert account["urls"]["sobject"] == "/services/data/v61.0/sobjects/Account"
    fields = {f["name"]: f for f in account["fields"]}
    ext = fields["External_Id__c"]
    assert (ext["externalId"], ext["unique"], ext["idLookup"], ext["custom"], ext["length"]) == (
        True,
        True,
        True,
        True,
        255,
    )
    assert fields["Industry"]["picklistValues"][0] == {
        "active": True, "defaultValue": False, "label": "Agriculture", "validFor": None, "value": "Agriculture",  # noqa: E501
    }  # fmt: skip
    rels = {(r["childSObject"], r["field"]): r for r in account["childRelationships"]}
    assert rels[("Contact", "AccountId")]["relationshipName"] == "Contacts"
    assert rels[("Contact", "AccountId")]["cascadeDelete"] is True
    assert rels[("Opportunity", "AccountId")]["relationshipName"] == "Opportunities"
    assert rels[("Account", "ParentId")]["relationshipName"] == "ChildAccounts"
    case = describe_sobject(schema, schema.get("Case"), "62.0")  # type: ignore[arg-type]
    number = next(f for f in case["fields"] if f["name"] == "CaseNumber")
    assert number["autoNumber"]
    assert not number["createable"]
    status = next(f for f in case["fields"] if f["name"] == "Status")
    assert status["defaultedOnCreate"]
    assert [v["value"] for v in status["picklistValues"] if v["defaultValue"]] == ["New"]
    contact = describe_sobject(schema, schema.get("Contact"), "62.0")  # type: ignore[arg-type]
    cases = {r["relationshipName"] for r in contact["childRelationships"] if r["childSObject"] == "Case"}
    assert cases == {"Cases"}
    for obj in schema:
        for f in describe_sobject(schema, obj, "62.0")["fields"]:
            assert f["type"] in {t.value for t in FieldType}
            if f["name"] in ("Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate",
                             "LastModifiedById", "SystemModstamp"):  # fmt: skip
                assert not f["createable"], (obj.name, f["name"])
                assert not f["updateable"], (obj.name, f["name"])
    names = [s["name"] for s in describe_global(schema, "62.0")["sobjects"]]
    assert names == sorted(names)
    assert {"Account", "PermissionSetAssignment", "Organization"} <= set(names)
    prefixes = {s["name"]: s["keyPrefix"] for s in describe_global(schema, "62.0")["sobjects"]}
    assert prefixes == {
        "Account": "001", "Contact": "003", "Opportunity": "006", "Lead": "00Q", "Case": "500", "User": "005",
        "Organization": "00D", "Profile": "00e", "PermissionSet": "0PS", "PermissionSetAssignment": "0Pa",
    }  # fmt: skip
