"""simple-salesforce's ``sf.bulk`` (Bulk API 1.0, JSON) against the emulator over HTTPS.

The client logs in over SOAP (username, password and security token), so its session id is the
one Bulk API 1.0 receives as ``X-SFDC-Session``. Insert, upsert and delete always poll every 5 s
(simple-salesforce has no setting for it); the first query keeps its default ``wait`` of 5 s and the
later ones poll every second to keep the suite short.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from contract_helpers import OrgHandle, RedirectAdapter, trusting_session
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError

pytestmark = pytest.mark.contract

LOGIN_HOST = "https://login.salesforce.com"
ROWS = 1200


@pytest.fixture(scope="module")
def sf(tls_org: OrgHandle) -> Iterator[Salesforce]:
    session: requests.Session = trusting_session(tls_org)
    session.mount(LOGIN_HOST, RedirectAdapter(LOGIN_HOST, tls_org.login_url))
    try:
        yield Salesforce(
            username=tls_org.username,
            password=tls_org.password,
            security_token=tls_org.security_token,
            session=session,
            version=tls_org.api_version,
        )
    finally:
        session.close()


@pytest.fixture(scope="module")
def inserted(sf: Salesforce) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    records: list[dict[str, Any]] = [
        {"LastName": f"SSV1 {tag} {i:05d}", "External_Id__c": f"ssv1-{tag}-{i}", "Email": f"p{i}@example.com"}
        for i in range(ROWS)
    ]
    records.append({"LastName": f"SSV1 {tag} bad", "Email": "not-an-email"})
    # batch_size splits the rows into several Bulk API 1.0 batches of one job
    results = sf.bulk.Contact.insert(records, batch_size=500)
    return {"tag": tag, "records": records, "results": results}


def test_insert_reports_one_result_per_row_in_order(sf: Salesforce, inserted: dict[str, Any]) -> None:
    results = inserted["results"]
    assert len(results) == ROWS + 1
    assert all(r["success"] is True and r["created"] is True for r in results[:ROWS])
    assert all(r["id"].startswith("003") for r in results[:ROWS])
    assert len({r["id"] for r in results[:ROWS]}) == ROWS
    bad = results[ROWS]
    assert bad["success"] is False
    assert bad["created"] is False
    assert bad["id"] is None
    assert bad["errors"] == [
        {
            "fields": ["Email"],
            "message": "Email: invalid email address: not-an-email",
            "statusCode": "INVALID_EMAIL_ADDRESS",
        }
    ]
    stored = sf.query(f"SELECT COUNT() FROM Contact WHERE LastName LIKE 'SSV1 {inserted['tag']} %'")
    assert stored["totalSize"] == ROWS
    first = sf.Contact.get(results[0]["id"])
    assert first["LastName"] == inserted["records"][0]["LastName"]


def test_upsert_updates_and_creates_by_external_id(sf: Salesforce, inserted: dict[str, Any]) -> None:
    tag = inserted["tag"]
    rows = [{"External_Id__c": f"ssv1-{tag}-{i}", "Title": "Upserted"} for i in range(3)]
    rows.append({"External_Id__c": f"ssv1-{tag}-new", "LastName": f"SSV1 {tag} new", "Title": "Upserted"})
    results = sf.bulk.Contact.upsert(rows, "External_Id__c")
    assert [r["created"] for r in results] == [False, False, False, True]
    assert all(r["success"] for r in results)
    assert results[0]["id"] == inserted["results"][0]["id"]
    titled = sf.query(f"SELECT COUNT() FROM Contact WHERE Title = 'Upserted' AND LastName LIKE 'SSV1 {tag}%'")
    assert titled["totalSize"] == 4


def test_query_returns_records_with_epoch_millisecond_datetimes(
    sf: Salesforce, inserted: dict[str, Any]
) -> None:
    tag = inserted["tag"]
    soql = f"SELECT Id, LastName, Email, CreatedDate FROM Contact WHERE LastName LIKE 'SSV1 {tag} 0%'"
    records = sf.bulk.Contact.query(soql)
    assert len(records) == ROWS
    first = min(records, key=lambda r: r["LastName"])
    assert first["attributes"]["type"] == "Contact"
    assert first["LastName"] == f"SSV1 {tag} 00000"
    assert first["Email"] == "p0@example.com"
    created = first["CreatedDate"]
    assert isinstance(created, int)
    assert abs(datetime.now(UTC).timestamp() - created / 1000) < 3600


def test_query_all_and_delete(sf: Salesforce, inserted: dict[str, Any]) -> None:
    tag = inserted["tag"]
    victims = [{"Id": r["id"]} for r in inserted["results"][:5]]
    deleted = sf.bulk.Contact.delete(victims)
    assert all(r["success"] for r in deleted)
    soql = f"SELECT Id, IsDeleted FROM Contact WHERE LastName LIKE 'SSV1 {tag} 0000%'"
    live = sf.bulk.Contact.query(soql, wait=1)
    every = sf.bulk.Contact.query_all(soql, wait=1)
    assert len(live) == 5  # 00005..00009 remain
    assert len(every) == 10
    assert sum(1 for r in every if r["IsDeleted"]) == 5


def test_bad_query_fails_the_batch(sf: Salesforce) -> None:
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.bulk.Contact.query("SELECT NoSuchField__c FROM Contact", wait=1)
    assert "INVALID_FIELD" in str(exc.value.content)
