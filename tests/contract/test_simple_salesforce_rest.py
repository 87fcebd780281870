"""simple-salesforce (unchanged, from PyPI) against the emulator over HTTPS: REST, SOQL, describe, errors.

The client gets ``instance_url`` + ``session_id`` from a token issued by the emulator's OAuth endpoint
and a ``requests.Session`` that trusts the emulator's CA (simple-salesforce always speaks ``https://``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from contract_helpers import OrgHandle, password_token, trusting_session
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

pytestmark = pytest.mark.contract

MISSING_ACCOUNT_ID = "001000000000000AAA"  # well-formed (valid checksum), never issued


@pytest.fixture(scope="module")
def module_session(tls_org: OrgHandle) -> Iterator[requests.Session]:
    session = trusting_session(tls_org)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="module")
def token(tls_org: OrgHandle, module_session: requests.Session) -> dict[str, Any]:
    return password_token(module_session, tls_org)


@pytest.fixture(scope="module")
def sf(tls_org: OrgHandle, module_session: requests.Session, token: dict[str, Any]) -> Salesforce:
    return Salesforce(
        instance_url=token["instance_url"],
        session_id=token["access_token"],
        session=module_session,
        version=tls_org.api_version,
    )


def tag() -> str:
    return uuid.uuid4().hex[:10]


def error_code(exc: Any) -> str:
    """The first errorCode of a simple-salesforce exception's decoded body (a JSON array per B.10)."""
    content = exc.content
    assert isinstance(content, list), f"error body is not a JSON array: {content!r}"
    return str(content[0]["errorCode"])


def insert_many(sf: Salesforce, sobject: str, records: list[dict[str, Any]]) -> list[str]:
    """Create records 200 at a time through ``composite/sobjects`` (D.1) and return their ids."""
    ids: list[str] = []
    for start in range(0, len(records), 200):
        chunk = [{"attributes": {"type": sobject}, **r} for r in records[start : start + 200]]
        results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": chunk})
        assert isinstance(results, list)
        assert len(results) == len(chunk)
        assert all(r["success"] for r in results), results[:3]
        ids.extend(r["id"] for r in results)
    return ids


def test_token_response_has_what_simple_salesforce_needs(tls_org: OrgHandle, token: dict[str, Any]) -> None:
    assert token["token_type"] == "Bearer"
    assert token["access_token"]
    parsed = urlparse(token["instance_url"])
    assert parsed.scheme == "https"
    assert f"{parsed.hostname}:{parsed.port}" == urlparse(tls_org.instance_url).netloc
    org_id, user_id = token["id"].rstrip("/").split("/")[-2:]
    assert org_id.startswith("00D")
    assert len(org_id) == 18
    assert user_id.startswith("005")
    assert len(user_id) == 18
    assert str(token["issued_at"]).isdigit()
    assert token["signature"]


def test_account_crud(sf: Salesforce) -> None:
    name = f"SS Crud {tag()}"
    created = sf.Account.create({"Name": name, "Phone": "555-0100", "AnnualRevenue": 12345678})
    assert created["success"] is True
    assert created["errors"] == []
    account_id = created["id"]
    assert len(account_id) == 18
    assert account_id.startswith("001")

    record = sf.Account.get(account_id)
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v{sf.sf_version}/sobjects/Account/{account_id}",
    }
    assert record["Id"] == account_id
    assert record["Name"] == name
    assert record["Phone"] == "555-0100"
    assert record["AnnualRevenue"] == 12345678.0  # sent by the org as 1.2345678E7
    assert record["IsDeleted"] is False
    assert sf.Account.get(account_id[:15])["Id"] == account_id

    assert sf.Account.update(account_id, {"Name": f"{name} v2", "Phone": None}) == 204
    updated = sf.Account.get(account_id)
    assert updated["Name"] == f"{name} v2"
    assert updated["Phone"] is None

    assert sf.Account.delete(account_id) == 204
    assert sf.query(f"SELECT Id FROM Account WHERE Id = '{account_id}'")["totalSize"] == 0
    gone = sf.query_all(f"SELECT Id, IsDeleted FROM Account WHERE Id = '{account_id}'", include_deleted=True)
    assert [(r["Id"], r["IsDeleted"]) for r in gone["records"]] == [(account_id, True)]


def test_contact_crud_with_parent_account(sf: Salesforce) -> None:
    t = tag()
    account_id = sf.Account.create({"Name": f"SS Parent {t}"})["id"]
    contact = sf.Contact.create({"LastName": f"Hopper {t}", "FirstName": "Grace", "AccountId": account_id})
    assert contact["success"] is True
    contact_id = contact["id"]
    assert contact_id.startswith("003")

    record = sf.Contact.get(contact_id)
    assert record["AccountId"] == account_id
    assert record["LastName"] == f"Hopper {t}"

    assert sf.Contact.update(contact_id, {"Email": f"grace.{t}@example.com"}) == 204
    rows = sf.query(f"SELECT Id, Email, Account.Name FROM Contact WHERE Id = '{contact_id}'")["records"]
    assert len(rows) == 1
    assert rows[0]["Email"] == f"grace.{t}@example.com"
    assert rows[0]["Account"]["Name"] == f"SS Parent {t}"
    assert rows[0]["Account"]["attributes"]["type"] == "Account"

    assert sf.Contact.delete(contact_id) == 204
    with pytest.raises((SalesforceResourceNotFound, SalesforceMalformedRequest)):
        sf.Contact.update(contact_id, {"Email": "late@example.com"})
    assert sf.Account.delete(account_id) == 204


def test_upsert_by_external_id_creates_then_updates(sf: Salesforce) -> None:
    ext = f"SS-EXT-{tag()}"
    first = sf.Account.upsert(f"External_Id__c/{ext}", {"Name": "Upsert one"}, raw_response=True)
    assert first.status_code == 201
    body = first.json()
    assert body["success"] is True
    assert body["created"] is True
    assert body["errors"] == []

    second = sf.Account.upsert(f"External_Id__c/{ext}", {"Name": "Upsert two"}, raw_response=True)
    assert second.status_code == 200  # API >= 46: 200 with a body, not 204 (B.5)
    assert second.json() == {"id": body["id"], "success": True, "errors": [], "created": False}

    record = sf.Account.get_by_custom_id("External_Id__c", ext)
    assert record["Id"] == body["id"]
    assert record["Name"] == "Upsert two"
    assert sf.Account.upsert(f"External_Id__c/{ext}", {"Name": "Upsert three"}) == 200


def test_query_all_and_query_more_across_three_pages(sf: Salesforce) -> None:
    prefix = f"SS Page {tag()}"
    ids = insert_many(sf, "Account", [{"Name": f"{prefix} {i:05d}"} for i in range(4100)])
    soql = f"SELECT Id, Name FROM Account WHERE Name LIKE '{prefix} %' ORDER BY Name"

    first = sf.query(soql)
    assert first["totalSize"] == 4100
    assert first["done"] is False
    assert 200 <= len(first["records"]) <= 2000
    next_url = first["nextRecordsUrl"]
    assert next_url.startswith(f"/services/data/v{sf.sf_version}/query/")

    second = sf.query_more(next_url, identifier_is_url=True)
    assert second["totalSize"] == 4100
    assert second["done"] is False
    # the bare locator form: GET {base}query/{locator}
    third = sf.query_more(second["nextRecordsUrl"].rsplit("/", 1)[-1])
    assert third["totalSize"] == 4100
    paged = first["records"] + second["records"] + third["records"]
    assert len({r["Id"] for r in paged}) == len(paged)

    everything = sf.query_all(soql)
    assert everything["totalSize"] == 4100
    names = [r["Name"] for r in everything["records"]]
    assert names == sorted(names)
    assert {r["Id"] for r in everything["records"]} == set(ids)
    assert all(r["attributes"]["type"] == "Account" for r in everything["records"])

    assert sf.Account.delete(ids[0]) == 204
    assert sf.query_all(soql)["totalSize"] == 4099
    soql_deleted = f"SELECT Id, IsDeleted FROM Account WHERE Name LIKE '{prefix} %'"
    with_deleted = sf.query_all(soql_deleted, include_deleted=True)
    assert with_deleted["totalSize"] == 4100
    assert [r["Id"] for r in with_deleted["records"] if r["IsDeleted"]] == [ids[0]]

    # a queryAll cursor continued under /queryAll/{locator} (C.1: both paths must work)
    first_all = sf.query(f"SELECT Id FROM Account WHERE Name LIKE '{prefix} %'", include_deleted=True)
    assert first_all["done"] is False
    more_all = sf.query_more(first_all["nextRecordsUrl"].rsplit("/", 1)[-1], include_deleted=True)
    assert more_all["totalSize"] == 4100


def test_describe_global_and_sobject(sf: Salesforce) -> None:
    glob = sf.describe()
    assert glob["encoding"] == "UTF-8"
    assert glob["maxBatchSize"] == 200
    entries = {o["name"]: o for o in glob["sobjects"]}
    assert {"Account", "Contact", "Organization", "User"} <= set(entries)
    account = entries["Account"]
    assert account["keyPrefix"] == "001"
    assert account["urls"]["sobject"] == f"/services/data/v{sf.sf_version}/sobjects/Account"
    for key in ("createable", "custom", "deletable", "label", "labelPlural", "queryable", "updateable"):
        assert key in account

    describe = sf.Account.describe()
    assert describe["name"] == "Account"
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["Id"]["type"] == "id"
    assert fields["Name"]["type"] == "string"
    assert fields["Name"]["nillable"] is False
    assert fields["External_Id__c"]["externalId"] is True
    assert fields["External_Id__c"]["custom"] is True
    assert fields["Legacy_Key__c"]["externalId"] is True
    for field in describe["fields"]:
        for key in ("name", "type", "label", "length", "nillable", "createable", "updateable", "soapType"):
            assert key in field, (field["name"], key)
    assert "Contacts" in {r["relationshipName"] for r in describe["childRelationships"]}

    contact_fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert contact_fields["AccountId"]["type"] == "reference"
    assert contact_fields["AccountId"]["referenceTo"] == ["Account"]
    assert contact_fields["AccountId"]["relationshipName"] == "Account"

    basic = sf.Account.metadata()
    assert basic["objectDescribe"]["name"] == "Account"
    assert isinstance(basic["recentItems"], list)

    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.NoSuchObject__c.describe()
    assert error_code(exc.value) == "NOT_FOUND"


def test_errors_map_to_simple_salesforce_exceptions(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as not_found:
        sf.Account.get(MISSING_ACCOUNT_ID)
    assert error_code(not_found.value) == "NOT_FOUND"

    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELEC Id FRM Account")
    assert error_code(malformed.value) == "MALFORMED_QUERY"

    with pytest.raises(SalesforceMalformedRequest) as bad_field:
        sf.query("SELECT Bacon__c FROM Account")
    assert error_code(bad_field.value) == "INVALID_FIELD"

    with pytest.raises(SalesforceMalformedRequest) as bad_type:
        sf.query("SELECT Id FROM NoSuchObject__c")
    assert error_code(bad_type.value) == "INVALID_TYPE"

    with pytest.raises(SalesforceMalformedRequest) as required:
        sf.Contact.create({"FirstName": "No last name"})
    assert error_code(required.value) == "REQUIRED_FIELD_MISSING"
    assert required.value.content[0]["fields"] == ["LastName"]


def test_upsert_matching_two_records_raises_more_than_one_record(sf: Salesforce) -> None:
    key = f"LK-{tag()}"
    ids = [sf.Account.create({"Name": f"Twin {i}", "Legacy_Key__c": key})["id"] for i in range(2)]
    with pytest.raises(SalesforceMoreThanOneRecord) as exc:
        sf.Account.upsert(f"Legacy_Key__c/{key}", {"Name": "Which one?"})
    urls = exc.value.content
    assert sorted(urls) == sorted(f"/services/data/v{sf.sf_version}/sobjects/Account/{i}" for i in ids)
    assert [sf.Account.get(i)["Name"] for i in ids] == ["Twin 0", "Twin 1"]  # nothing written


def test_composite_through_restful(sf: Salesforce) -> None:
    t = tag()
    v = f"/services/data/v{sf.sf_version}"
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{v}/sobjects/Account",
                "referenceId": "newAccount",
                "body": {"Name": f"Comp {t}"},
            },
            {
                "method": "POST",
                "url": f"{v}/sobjects/Contact",
                "referenceId": "newContact",
                "body": {"LastName": f"Comp {t}", "AccountId": "@{newAccount.id}"},
            },
            {
                "method": "GET",
                "url": f"{v}/sobjects/Contact/@{{newContact.id}}?fields=Id,AccountId",
                "referenceId": "readBack",
            },
        ],
    }
    result = sf.restful("composite", method="POST", json=body)
    assert isinstance(result, dict)
    responses = result["compositeResponse"]
    assert [r["referenceId"] for r in responses] == ["newAccount", "newContact", "readBack"]
    assert [r["httpStatusCode"] for r in responses] == [201, 201, 200]
    account_id = responses[0]["body"]["id"]
    assert responses[0]["httpHeaders"]["Location"] == f"{v}/sobjects/Account/{account_id}"
    assert responses[2]["body"]["AccountId"] == account_id
    assert responses[2]["body"]["Id"] == responses[1]["body"]["id"]


def test_sobject_collections_through_restful(sf: Salesforce) -> None:
    t = tag()
    records = [{"attributes": {"type": "Account"}, "Name": f"Coll {t} {i}"} for i in range(3)]
    created = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": records})
    assert isinstance(created, list)
    assert [r["success"] for r in created] == [True, True, True]
    ids = [r["id"] for r in created]

    rolled_back = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"allOrNone": True, "records": [records[0], {"attributes": {"type": "Account"}, "Phone": "1"}]},
    )
    assert isinstance(rolled_back, list)
    assert [r["success"] for r in rolled_back] == [False, False]
    assert rolled_back[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert rolled_back[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"

    with pytest.raises(SalesforceMalformedRequest) as too_many:
        sf.restful("composite/sobjects", method="POST", json={"records": [records[0]] * 201})
    assert error_code(too_many.value) == "EXCEEDED_ID_LIMIT"

    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids)})
    assert isinstance(deleted, list)
    assert [(r["id"], r["success"]) for r in deleted] == [(i, True) for i in ids]
    assert sf.query(f"SELECT COUNT() FROM Account WHERE Name LIKE 'Coll {t} %'")["totalSize"] == 0


def test_is_sandbox_and_limits(sf: Salesforce) -> None:
    assert isinstance(sf.is_sandbox(), bool)

    limits = sf.limits()
    daily = limits["DailyApiRequests"]
    assert daily["Max"] > 0
    assert 0 <= daily["Remaining"] <= daily["Max"]
    for key in ("DailyBulkApiBatches", "DailyBulkV2QueryJobs", "DataStorageMB"):
        assert {"Max", "Remaining"} <= set(limits[key]), key

    # simple-salesforce parses Sforce-Limit-Info (B.2) after every call
    usage = sf.api_usage["api-usage"]
    assert usage.total == daily["Max"]
    sf.query("SELECT Id FROM Account LIMIT 1")
    assert sf.api_usage["api-usage"].used > usage.used


def test_deleted_and_updated_windows(sf: Salesforce) -> None:
    """``SFType.deleted`` / ``updated`` (dates sent as quoted ISO 8601 with ``+00:00``)."""
    import datetime as dt

    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    kept = sf.Account.create({"Name": f"Window {tag()}"})["id"]
    gone = sf.Account.create({"Name": f"Window {tag()}"})["id"]
    sf.Account.delete(gone)
    end = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    deleted = sf.Account.deleted(start, end)
    assert gone in [r["id"] for r in deleted["deletedRecords"]]
    assert kept not in [r["id"] for r in deleted["deletedRecords"]]
    assert {"earliestDateAvailable", "latestDateCovered"} <= set(deleted)
    updated = sf.Account.updated(start, end)
    assert kept in updated["ids"]
    assert gone not in updated["ids"]


def test_search_and_quick_search(sf: Salesforce) -> None:
    tag = "Srch" + uuid.uuid4().hex[:8]
    account = sf.Account.create({"Name": f"{tag} Holdings", "Phone": "(212) 555-0142"})
    sf.Contact.create({"LastName": f"{tag}sen", "Email": f"{tag.lower()}@example.org"})
    found = sf.search(f"FIND {{{tag}*}} IN NAME FIELDS RETURNING Account(Id, Name), Contact(LastName)")
    records = found["searchRecords"]
    assert sorted(r["attributes"]["type"] for r in records) == ["Account", "Contact"]
    assert {r.get("Name") or r.get("LastName") for r in records} == {f"{tag} Holdings", f"{tag}sen"}
    quick = sf.quick_search(f"{tag.lower()}@example.org")  # FIND {...} over every searchable object
    assert [r["attributes"]["type"] for r in quick["searchRecords"]] == ["Contact"]
    by_phone = sf.search("FIND {2125550142} IN PHONE FIELDS RETURNING Account(Id)")
    assert account["id"] in [r["Id"] for r in by_phone["searchRecords"]]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.search("FIND nobraces")
    assert exc.value.content[0]["errorCode"] == "MALFORMED_SEARCH"


def test_compound_address_fields(sf: Salesforce) -> None:
    created = sf.Account.create(
        {"Name": "Compound " + uuid.uuid4().hex[:6], "BillingCity": "Lyon", "BillingLatitude": 45.764}
    )
    record = sf.Account.get(created["id"])
    assert record["BillingAddress"] == {
        "city": "Lyon", "country": None, "geocodeAccuracy": None, "latitude": 45.764, "longitude": None,
        "postalCode": None, "state": None, "street": None,
    }  # fmt: skip
    assert record["ShippingAddress"] is None
    rows = sf.query(f"SELECT BillingAddress, ShippingCity FROM Account WHERE Id = '{created['id']}'")
    assert rows["records"][0]["BillingAddress"]["city"] == "Lyon"
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert fields["BillingAddress"]["type"] == "address"
    assert fields["BillingCity"]["compoundFieldName"] == "BillingAddress"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.update(created["id"], {"BillingAddress": {"city": "Nice"}})
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
