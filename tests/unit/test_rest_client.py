"""SalesforceClient over a fake org: CRUD, upsert answers, describe cache, lazy query paging, count."""

from __future__ import annotations

import httpx
import pytest
from test_http_fakes import FakeSalesforce, Fault, fake_client

from kinetic_core import SalesforceClient, flatten
from kinetic_core.errors import (
    InvalidNameError,
    MultipleRecordsError,
    NotFoundError,
    RequiredFieldMissingError,
)
from kinetic_core.rest import UpsertResult


def test_crud_roundtrip() -> None:
    fake = FakeSalesforce()
    with fake_client(fake) as client:
        rid = client.create("Account", {"Name": "Acme", "Phone": "1"})
        assert client.get("Account", rid, fields=["Name"]) == {
            "attributes": {"type": "Account"},
            "Name": "Acme",
        }
        client.update("Account", rid, {"Id": rid, "Phone": "2"})
        assert fake.records["Account"][rid]["Phone"] == "2"
        client.delete("Account", rid)
        with pytest.raises(NotFoundError):
            client.get("Account", rid)
        with pytest.raises(RequiredFieldMissingError) as info:
            client.create("Account", {"Phone": "3"})
        assert info.value.fields == ["Name"]


def test_names_cannot_change_the_path() -> None:
    fake = FakeSalesforce()
    with fake_client(fake) as client:
        with pytest.raises(ValueError, match="sObject"):
            client.create("Account/../limits", {})
        with pytest.raises(ValueError, match="field"):
            client.get("Account", "001", fields=["Name,Id"])
        rid = fake.add("Account", Name="x")
        with pytest.raises(InvalidNameError, match="record id"):
            client.get("Account", rid + "/../../limits")  # refused before anything is sent
    assert fake.count_calls("GET", r"v62.0/limits$") == 0
    assert fake.count_calls("GET", "limits") == 0


def test_upsert_created_updated_and_external_id_encoding() -> None:
    fake = FakeSalesforce()
    with fake_client(fake) as client:
        first = client.upsert("Account", "Ext__c", "A/1 ?&", {"Name": "Acme", "Ext__c": "A/1 ?&"})
        assert first.created
        again = client.upsert("Account", "Ext__c", "A/1 ?&", {"Name": "Acme 2"})
        assert again == UpsertResult(first.id, False)
        assert fake.records["Account"][first.id]["Name"] == "Acme 2"
        with pytest.raises(ValueError, match="differs"):
            client.upsert("Account", "Ext__c", "A", {"Ext__c": "B"})
        fake.add("Account", Name="dup", Ext__c="D")
        fake.add("Account", Name="dup", Ext__c="D")
        with pytest.raises(MultipleRecordsError) as info:
            client.upsert("Account", "Ext__c", "D", {"Name": "x"})
        assert len(info.value.urls) == 2


def test_upsert_old_api_204_reads_the_id_back() -> None:
    fake = FakeSalesforce()
    rid = fake.add("Account", Name="Acme", Ext__c="E1")
    fake.faults.append(Fault(httpx.Response(204), method="PATCH"))
    with fake_client(fake) as client:
        assert client.upsert("Account", "Ext__c", "E1", {"Name": "x"}) == UpsertResult(rid, False)


def test_describe_is_cached_per_client() -> None:
    fake = FakeSalesforce()
    with fake_client(fake) as client:
        first = client.describe("Account")
        assert client.describe("account") is first
        assert client.sobject("Account").describe() is first
        client.clear_describe_cache()
        client.describe("Account")
    assert fake.count_calls("GET", "describe") == 2
    with fake_client(fake) as other:
        other.describe("Account")
    assert fake.count_calls("GET", "describe") == 3


def test_query_is_lazy_and_follows_next_records_url() -> None:
    fake = FakeSalesforce(page_size=2)
    for i in range(5):
        fake.add("Account", Name=f"A{i}")
    with fake_client(fake) as client:
        result = client.query("SELECT Id, Name FROM Account")
        assert result.total_size == 5
        assert fake.count_calls("GET", "/query") == 1
        assert next(result)["Name"] == "A0"
        assert next(result)["Name"] == "A1"
        assert fake.count_calls("GET", "/query") == 1  # page 2 not fetched until reached
        assert next(result)["Name"] == "A2"
        assert fake.count_calls("GET", "/query") == 2
        assert [r["Name"] for r in result] == ["A3", "A4"]
        assert result.pages_fetched == 3
        assert [r["Name"] for r in client.query_all("SELECT Id FROM Account")] == [f"A{i}" for i in range(5)]
    assert fake.count_calls("GET", "queryAll") == 1


def test_query_one_count_and_empty() -> None:
    fake = FakeSalesforce()
    with fake_client(fake) as client:
        assert client.query_one("SELECT Id FROM Account") is None
        fake.add("Account", Name="A")
        fake.add("Account", Name="B")
        one = client.query_one("SELECT Id FROM Account")
        assert one is not None
        assert one["Name"] == "A"
        assert client.count("Account") == 2
        assert client.count("Account", "Name = {}", "A'B") == 2
        assert client.count("SELECT COUNT() FROM Account") == 2
        assert client.sobject("Account").count() == 2
        assert [o["name"] for o in client.list_objects()][:1] == ["Account"]
        assert client.limits()["DailyApiRequests"]["Max"] == 15000
        assert client.api_usage is not None
        assert client.api_usage.used > 0


def test_sobject_helper_and_repr() -> None:
    fake = FakeSalesforce()
    with fake_client(fake) as client:
        acc = client.sobject("Account")
        rid = acc.create({"Name": "A"})
        acc.update(rid, {"Name": "B"})
        assert acc.get(rid)["Name"] == "B"
        assert acc.upsert("Ext__c", "X", {"Name": "C"}).created
        acc.delete(rid)
        assert repr(acc) == "SObject('Account')"
        assert "SalesforceClient" in repr(client)
        with pytest.raises(ValueError):
            client.sobject("Bad Name")


def test_close_runs_closers_once() -> None:
    fake = FakeSalesforce()
    closed: list[str] = []
    client = SalesforceClient(fake_client(fake).http, closers=[lambda: closed.append("x")])
    with client:
        pass
    client.close()
    assert closed == ["x"]


def test_flatten() -> None:
    record = {
        "attributes": {"type": "Contact"},
        "Id": "003",
        "Account": {
            "attributes": {"type": "Account"},
            "Name": "Acme",
            "Owner": {"attributes": {"type": "User"}, "Name": "Ann"},
        },
        "ReportsTo": None,
        "Cases": {
            "totalSize": 1,
            "done": True,
            "records": [{"attributes": {"type": "Case"}, "Subject": "S"}],
        },
        "MailingAddress": {"city": "Rome"},
    }
    assert flatten(record) == {
        "Id": "003",
        "Account.Name": "Acme",
        "Account.Owner.Name": "Ann",
        "ReportsTo": None,
        "Cases": [{"Subject": "S"}],
        "MailingAddress": {"city": "Rome"},
    }
