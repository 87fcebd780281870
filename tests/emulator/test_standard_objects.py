"""Standard objects field for field as a real org describes them, and compound address fields.

The describes of Account and Contact are compared with the recorded ones (cumulusci fixtures): keys,
field names and order, and every key of every field entry. What still differs is listed below, each
with its reason; a difference not listed fails the test.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from kinetic_core.emulator.store import build_schema, describe_sobject

if TYPE_CHECKING:
    from conftest import EmulatorApi

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "salesforce-responses" / "cumulusci"
needs_fixtures = pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared fixtures not present")

KNOWN_DIFFERENCES: dict[str, dict[str, dict[str, str]]] = {
    "Account": {
        "missing_fields": {
            "RecordTypeId": "present only on objects with record types; the emulated org has only Master",
            "Primary_Contact__c": "a custom field of the recorded org",
        },
        "extra_fields": {"External_Id__c": "the emulator's own custom external-id key"},
        "extra_keys": {
            "associateEntityType": "the Account recording is an older (v48) mock without these keys;",
            "associateParentEntity": "the Contact recording, made later, has them, as we do",
            "sobjectDescribeOption": "idem",
        },
    },
    "Contact": {
        "missing_fields": {},
        "extra_fields": {
            "HasOptedOutOfEmail": "a standard Contact field (object reference), absent from the recording",
            "DoNotCall": "a standard Contact field (object reference), absent from the recording",
            "External_Id__c": "the emulator's own custom external-id key",
        },
        "extra_keys": {},
    },
}
FIELD_KEYS_NOT_COMPARED = {
    "picklistValues": "compared separately: the recorded org's own values for Type/Industry/Rating",
}


def _describe(sobject: str, **kw: Any) -> dict[str, Any]:
    schema = build_schema()
    obj = schema.get(sobject)
    assert obj is not None
    return describe_sobject(schema, obj, kw.pop("version", "62.0"), **kw)


def _recorded(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))["response"]["body"]


@needs_fixtures
@pytest.mark.parametrize(("fixture", "sobject"), [("describe_account_200.json", "Account"),
                                                  ("describe_contact_200.json", "Contact")])  # fmt: skip
def test_describe_matches_the_recorded_org_field_for_field(fixture: str, sobject: str) -> None:
    real = _recorded(fixture)
    ours = _describe(sobject, version="48.0", instance_url="https://x.example")
    known = KNOWN_DIFFERENCES[sobject]
    assert set(real) - set(ours) == set()
    assert set(ours) - set(real) == set(known["extra_keys"])

    real_fields = {f["name"]: f for f in real["fields"]}
    our_fields = {f["name"]: f for f in ours["fields"]}
    assert [n for n in real_fields if n not in our_fields] == list(known["missing_fields"])
    assert [n for n in our_fields if n not in real_fields] == list(known["extra_fields"])
    common_real = [n for n in real_fields if n in our_fields]
    assert [n for n in our_fields if n in real_fields] == common_real, "describe order"

    mismatches = []
    for name in common_real:
        theirs, mine = real_fields[name], our_fields[name]
        assert set(mine) == set(theirs), name
        for key, value in theirs.items():
            if key not in FIELD_KEYS_NOT_COMPARED and mine[key] != value:
                mismatches.append(f"{name}.{key}: recorded {value!r}, ours {mine[key]!r}")
        real_values = [(p["value"], p["label"]) for p in theirs["picklistValues"]]
        our_values = [(p["value"], p["label"]) for p in mine["picklistValues"]]
        if real_values != our_values:
            mismatches.append(f"{name}.picklistValues")
    assert mismatches == []


def test_describe_details_from_the_recording() -> None:
    contact = {f["name"]: f for f in _describe("Contact")["fields"]}
    assert contact["AccountId"]["cascadeDelete"] is False  # the field says false ...
    account = _describe("Account")
    contacts = next(r for r in account["childRelationships"] if r["relationshipName"] == "Contacts")
    assert contacts["cascadeDelete"] is True  # ... the parent's relationship says deleting cascades
    assert contact["IsDeleted"]["aggregatable"] is False
    assert contact["LeadSource"]["length"] == 255
    address = contact["MailingAddress"]
    assert (address["type"], address["soapType"], address["createable"]) == ("address", "urn:address", False)
    assert contact["MailingCity"]["compoundFieldName"] == "MailingAddress"
    clean = next(p for p in contact["CleanStatus"]["picklistValues"] if p["value"] == "Matched")
    assert clean["label"] == "In Sync"


def test_compound_address_over_rest_and_soql(emulator_api: EmulatorApi) -> None:
    acc = emulator_api.create(
        "Account", Name="Acme", BillingCity="Paris", BillingCountry="France", BillingLatitude=48.8566
    )
    record = emulator_api.get(f"sobjects/Account/{acc}").json()
    assert record["BillingAddress"] == {
        "city": "Paris", "country": "France", "geocodeAccuracy": None, "latitude": 48.8566,
        "longitude": None, "postalCode": None, "state": None, "street": None,
    }  # fmt: skip
    assert list(record["BillingAddress"]) == sorted(record["BillingAddress"])
    assert record["ShippingAddress"] is None  # every component null
    assert record["PhotoUrl"] is None
    assert record["LastViewedDate"] is None
    some = emulator_api.get(f"sobjects/Account/{acc}", params={"fields": "BillingAddress"}).json()
    assert set(some) == {"attributes", "BillingAddress"}

    con = emulator_api.create("Contact", LastName="Curie", AccountId=acc, OtherStreet="1 rue X\nBat. B")
    soql = "SELECT Name, OtherAddress, MailingAddress, Account.BillingAddress FROM Contact"
    rows = emulator_api.get("query", params={"q": soql}).json()["records"]
    assert rows[0]["OtherAddress"]["street"] == "1 rue X\nBat. B"
    assert rows[0]["MailingAddress"] is None
    assert rows[0]["Account"]["BillingAddress"]["city"] == "Paris"
    assert emulator_api.get(f"sobjects/Contact/{con}").json()["OtherAddress"]["street"] == "1 rue X\nBat. B"


@pytest.mark.parametrize(
    ("soql", "word"),
    [
        ("SELECT Id FROM Account WHERE BillingAddress != null", "filtered"),
        ("SELECT Id FROM Account ORDER BY BillingAddress", "sorted"),
        ("SELECT COUNT(Id) FROM Account GROUP BY BillingAddress", "grouped"),
    ],
)
def test_compound_fields_can_only_be_selected(emulator_api: EmulatorApi, soql: str, word: str) -> None:
    response = emulator_api.get("query", params={"q": soql})
    assert response.status_code == 400
    error = response.json()[0]
    assert error["errorCode"] == "INVALID_FIELD"
    assert error["message"].endswith(f"field 'BillingAddress' can not be {word} in a query call")


def test_compound_fields_are_read_only(emulator_api: EmulatorApi) -> None:
    response = emulator_api.post("sobjects/Account", json={"Name": "A", "BillingAddress": {"city": "Rome"}})
    assert response.status_code == 400
    error = response.json()[0]
    assert error["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert error["fields"] == ["BillingAddress"]


def test_bulk_query_refuses_compound_fields(emulator_api: EmulatorApi) -> None:
    job = {"operation": "query", "query": "SELECT Id, MailingAddress FROM Contact"}
    response = emulator_api.post("jobs/query", json=job)
    assert response.status_code == 400
    message = "Selecting compound data not supported in Bulk Query"
    assert response.json() == [{"errorCode": "FUNCTIONALITY_NOT_ENABLED", "message": message}]
    components = {"operation": "query", "query": "SELECT Id, MailingCity, MailingLatitude FROM Contact"}
    assert emulator_api.post("jobs/query", json=components).status_code == 200


def test_csv_with_real_org_columns_loads(emulator_api: EmulatorApi) -> None:
    """A Contact export from a real org (Other*, geolocation, assistant, lead source) loads as it is."""
    header = "LastName,OtherCity,MailingLatitude,MailingGeocodeAccuracy,AssistantName,LeadSource,Jigsaw"
    body = f'{header}\nNöel,Zürich,47.3769,City,"Smith, J.",Web,K1\n'
    job = emulator_api.post("jobs/ingest", json={"object": "Contact", "operation": "insert"}).json()
    put = emulator_api.request(
        "PUT", f"jobs/ingest/{job['id']}/batches", content=body.encode(), headers={"Content-Type": "text/csv"}
    )
    assert put.status_code == 201
    emulator_api.patch(f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    deadline = time.monotonic() + 10
    while (info := emulator_api.get(f"jobs/ingest/{job['id']}").json())["state"] != "JobComplete":
        assert time.monotonic() < deadline, info
        time.sleep(0.02)
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (1, 0)
    rows = emulator_api.get(
        "query", params={"q": "SELECT MailingAddress, AssistantName FROM Contact WHERE OtherCity = 'Zürich'"}
    ).json()
    assert rows["totalSize"] == 1
    assert rows["records"][0]["MailingAddress"]["latitude"] == 47.3769
    assert rows["records"][0]["AssistantName"] == "Smith, J."
