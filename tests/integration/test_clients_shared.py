"""The shared behaviour suite: every test runs against ``SalesforceClient`` and ``AsyncSalesforceClient``
on the emulator, and both must give the same results, errors, retries and limits."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from both_clients import Opened

from kinetic_core import flatten, soql
from kinetic_core.composite import SubRequest
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import (
    EntityIsDeletedError,
    InvalidFieldError,
    InvalidTypeError,
    MalformedQueryError,
    NotFoundError,
    RequiredFieldMissingError,
)


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest, local_org: LocalOrg, tmp_path: Path) -> Iterator[Any]:
    opened = Opened(request.param, local_org, tmp_path)
    try:
        yield opened.client
    finally:
        opened.close()


def test_crud_upsert_and_errors(client: Any, local_org: LocalOrg) -> None:
    rid = client.create("Account", {"Name": "Acme", "AnnualRevenue": 1000})
    assert len(rid) == 18
    record = client.get("Account", rid, fields=["Name", "AnnualRevenue"])
    assert (record["Name"], record["AnnualRevenue"]) == ("Acme", 1000)
    client.update("Account", rid, {"Name": "Acme 2", "Id": rid})
    assert client.get("Account", rid)["Name"] == "Acme 2"
    created = client.upsert("Account", "External_Id__c", "EXT 1 & 2?", {"Name": "Ext"})
    assert created.created
    updated = client.upsert("Account", "External_Id__c", "EXT 1 & 2?", {"Name": "Ext 2"})
    assert (updated.id, updated.created) == (created.id, False)
    assert client.get("Account", created.id)["Name"] == "Ext 2"
    client.delete("Account", rid)
    with pytest.raises(EntityIsDeletedError):
        client.get("Account", rid)
    with pytest.raises(RequiredFieldMissingError):
        client.create("Account", {"Phone": "1"})
    with pytest.raises(InvalidFieldError):
        client.create("Account", {"Name": "x", "Bogus__c": 1})
    with pytest.raises(NotFoundError):
        client.create("Nope__c", {"Name": "x"})
    with pytest.raises(ValueError, match="differs"):
        client.upsert("Account", "External_Id__c", "A", {"External_Id__c": "B"})
    assert local_org.org.store.record_counts()["Account"] == 1


def test_metadata_and_limits(client: Any) -> None:
    describe = client.describe("Account")
    assert client.describe("Account") is describe
    assert any(f["name"] == "Name" for f in describe["fields"])
    assert "Account" in {o["name"] for o in client.list_objects()}
    assert client.limits()["DailyApiRequests"]["Max"] > 0
    assert client.api_usage is not None
    assert client.api_usage.used > 0


def test_query_paging_is_lazy_and_complete(client: Any) -> None:
    results = client.create_batch(
        "Account", [{"Name": f"Q{i:03d}", "External_Id__c": f"Q{i}"} for i in range(450)]
    )
    assert all(r.success for r in results)
    query = client.query("SELECT Id, Name FROM Account ORDER BY Name", batch_size=200)
    assert query.total_size == 450
    assert query.pages_fetched == 1
    names = [r["Name"] for r in query]
    assert names == [f"Q{i:03d}" for i in range(450)]
    assert query.pages_fetched == 3
    client.delete("Account", results[0].id or "")
    assert client.count("Account") == 449
    assert len(list(client.query_all("SELECT Id FROM Account"))) == 450
    one = client.query_one(soql("SELECT Id, Name FROM Account WHERE Name = {}", "Q001"))
    assert one is not None
    assert one["Name"] == "Q001"
    assert client.query_one(soql("SELECT Id FROM Account WHERE Name = {}", "x' OR Name != '")) is None
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert client.count("Account", "Name IN {} AND CreatedDate < {}", ["Q002", "Q003"], tomorrow) == 2


def test_relationship_query_and_search(client: Any) -> None:
    client.create("Account", {"Name": "Acme Rockets", "External_Id__c": "P1"})
    client.create("Contact", {"LastName": "Coyote", "Account": {"External_Id__c": "P1"}})
    row = client.query_one("SELECT Id, LastName, Account.Name FROM Contact")
    assert row is not None
    assert flatten(row)["Account.Name"] == "Acme Rockets"
    found = client.search("FIND {acme*} RETURNING Account(Name)")
    assert [r["Name"] for r in found] == ["Acme Rockets"]


def test_query_errors(client: Any) -> None:
    with pytest.raises(MalformedQueryError):
        client.query("SELECT Id FRM Account")
    with pytest.raises(InvalidFieldError):
        client.query("SELECT Bacon__c FROM Account")
    with pytest.raises(InvalidTypeError):
        client.query("SELECT Id FROM Foo__x")


@pytest.mark.parametrize("concurrency", [1, 3])
def test_composite_batches(client: Any, local_org: LocalOrg, concurrency: int) -> None:
    rows = [{"Name": f"C{i}", "External_Id__c": f"C{i}"} for i in range(401)]
    rows[200] = {"Phone": "no name"}
    created = client.create_batch("Account", rows, concurrency=concurrency)
    assert [r.index for r in created] == list(range(401))
    assert [r.index for r in created if not r.success] == [200]
    assert created[200].errors[0].code == "REQUIRED_FIELD_MISSING"
    ids = [r.id for r in created if r.success and r.id]
    updated = client.update_batch("Account", [{"Id": i, "Phone": "555"} for i in ids] + [{"Phone": "1"}])
    assert all(r.success for r in updated[:-1])
    assert updated[-1].errors[0].code == "MISSING_ID"
    upserted = client.upsert_batch(
        "Account",
        [{"External_Id__c": "C1", "Name": "C1b"}, {"External_Id__c": "NEW", "Name": "new"}],
        "External_Id__c",
    )
    assert [(r.success, r.created) for r in upserted] == [(True, False), (True, True)]
    deleted = client.delete_batch(ids, concurrency=concurrency)
    assert all(r.success for r in deleted)
    assert local_org.org.store.record_counts()["Account"] == 1


def test_all_or_none_rolls_back_the_chunk(client: Any, local_org: LocalOrg) -> None:
    results = client.create_batch("Account", [{"Name": "ok"}, {"Phone": "bad"}], all_or_none=True)
    assert not any(r.success for r in results)
    assert local_org.org.store.record_counts().get("Account", 0) == 0


def test_composite_batch_and_tree_requests(client: Any, local_org: LocalOrg) -> None:
    steps = [
        SubRequest("POST", "sobjects/Account", "acct", {"Name": "Acme"}),
        SubRequest("GET", "sobjects/Account/@{acct.id}", "read"),
    ]
    answers = client.composite(steps, all_or_none=True)
    assert [a.status for a in answers] == [201, 200]
    assert answers[1].body["Name"] == "Acme"
    batch = client.batch([SubRequest("GET", "limits"), SubRequest("GET", "sobjects/Nope__c/describe")])
    assert [b.ok for b in batch] == [True, False]
    done = client.tree("Account", [{"Name": "Parent", "Contacts": [{"LastName": "A"}, {"LastName": "B"}]}])
    assert done.ok
    assert len(done.ids) == 3
    refused = client.tree("Account", [{"Name": "P2", "Contacts": [{"FirstName": "no last name"}]}])
    assert not refused.ok
    assert refused.errors
    assert local_org.org.store.record_counts()["Contact"] == 2


def test_transient_errors_are_retried_the_same_way(client: Any, local_org: LocalOrg) -> None:
    client.count("Account")
    local_org.admin("faults", {"error_rate": 0.25, "seed": 7, "methods": ["GET"]})
    reads = [client.count("Account") for _ in range(10)]
    local_org.admin("faults", {})
    assert reads == [0] * 10
    assert local_org.org.faults.injected().get("error", 0) > 0


def test_expired_session_is_renewed(client: Any, local_org: LocalOrg) -> None:
    client.count("Account")
    local_org.admin("faults", {"session_ttl_seconds": 0.5})
    time.sleep(0.6)
    rid = client.create("Account", {"Name": "after expiry"})
    local_org.admin("faults", {})
    assert client.get("Account", rid)["Name"] == "after expiry"
    assert client.http.refresh_count >= 1
