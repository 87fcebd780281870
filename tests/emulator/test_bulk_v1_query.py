"""Bulk API 1.0 queries: PK chunking (a batch per range of Ids, the original NotProcessed), XML results,
and Bulk API 1.0 requests counted against the daily API request limit."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from test_bulk_v1 import JSON, NS, XML, Api, TestClient, error_of, xml_fields

from kinetic_core.emulator.app import create_app
from kinetic_core.emulator.org import Org, OrgSettings
from kinetic_core.emulator.soql.chunking import ChunkingError, parse_header

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    org = Org(OrgSettings(data_dir=tmp_path), sleep=lambda _s: None)
    try:
        with TestClient(create_app(org), base_url=org.base_url) as client:
            yield Api(org, client)
    finally:
        org.close()


def _accounts(api: Api, *names: str) -> list[str]:
    return [api.org.store.insert("Account", {"Name": n}, user_id=api.org.admin_user_id) for n in names]


def _chunked_job(api: Api, header: str, content_type: str = "CSV") -> str:
    resp = api.call(
        "POST",
        "/job",
        {**JSON, "Sforce-Enable-PKChunking": header},
        content=json.dumps({"operation": "query", "object": "Account", "contentType": content_type}),
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _batches(api: Api, job_id: str) -> list[dict[str, str]]:
    root = ElementTree.fromstring(api.call("GET", f"/job/{job_id}/batch").content)
    return [{c.tag.removeprefix(NS): c.text or "" for c in b} for b in root]


def _rows(api: Api, job_id: str, batch_id: str) -> list[str]:
    listing = ElementTree.fromstring(api.call("GET", f"/job/{job_id}/batch/{batch_id}/result").content)
    result_id = listing.findtext(f"{NS}result")
    text = api.call("GET", f"/job/{job_id}/batch/{batch_id}/result/{result_id}").text
    return text.splitlines()[1:]


def test_pk_chunking_splits_a_query_into_a_batch_per_range_of_ids(api: Api) -> None:
    ids = _accounts(api, "A1", "A2", "Skip", "A4", "A5")
    api.org.store.delete_many("Account", [ids[1]], hard=False)  # a deleted Id still counts in its chunk
    job_id = _chunked_job(api, "chunkSize=2")
    original = api.batch(job_id, b"SELECT Name FROM Account WHERE Name != 'Skip'", "text/csv")
    api.process()
    batches = _batches(api, job_id)
    assert batches[0]["id"] == original
    assert batches[0]["state"] == "NotProcessed"
    chunks = batches[1:]
    assert len(chunks) == 3  # Ids 1-2, 3-4, 5
    assert all(b["state"] == "Completed" for b in chunks)
    requests = [api.call("GET", f"/job/{job_id}/batch/{b['id']}/request").text for b in chunks]
    assert requests[0] == (
        f"SELECT Name FROM Account WHERE Id >= '{ids[0]}' AND Id < '{ids[2]}' AND (Name != 'Skip')"
    )
    assert all(re.search(r"WHERE Id >= '001\w+' AND Id < '001\w+' AND \(Name", r) for r in requests)
    rows = [_rows(api, job_id, b["id"]) for b in chunks]
    assert rows == [['"A1"'], ['"A4"'], ['"A5"']]
    assert [int(b["numberRecordsProcessed"]) for b in chunks] == [len(r) for r in rows]
    job = xml_fields(api.call("GET", f"/job/{job_id}"))
    assert job["numberBatchesTotal"] == "4"
    assert job["numberBatchesCompleted"] == "3"


def test_pk_chunking_starts_at_start_row(api: Api) -> None:
    ids = _accounts(api, "B1", "B2", "B3")
    job_id = _chunked_job(api, f"chunkSize=250000; startRow={ids[1][:15]}")
    api.batch(job_id, b"SELECT Name FROM Account", "text/csv")
    api.process()
    [original, chunk] = _batches(api, job_id)
    assert original["state"] == "NotProcessed"
    assert sorted(_rows(api, job_id, chunk["id"])) == ['"B2"', '"B3"']


@pytest.mark.parametrize(
    ("soql", "reason"),
    [
        ("SELECT Name FROM Account ORDER BY Name", "no clause other than WHERE; this query has ORDER BY"),
        ("SELECT Name FROM Account LIMIT 5", "this query has LIMIT"),
        ("SELECT Name, (SELECT Id FROM Contacts) FROM Account", "does not support queries with subqueries"),
        ("SELECT Nope FROM", "Failed to process query"),
    ],
)
def test_a_query_pk_chunking_cannot_split_fails_the_original_batch(api: Api, soql: str, reason: str) -> None:
    _accounts(api, "C1")
    job_id = _chunked_job(api, "true")
    api.batch(job_id, soql.encode(), "text/csv")
    api.process()
    [only] = _batches(api, job_id)
    assert only["state"] == "Failed"
    assert reason in only["stateMessage"]


def test_pk_chunking_refuses_an_object_salesforce_does_not_chunk(api: Api) -> None:
    resp = api.call(
        "POST",
        "/job",
        {**JSON, "Sforce-Enable-PKChunking": "true"},
        content=json.dumps({"operation": "query", "object": "Profile", "contentType": "CSV"}),
    )
    job_id = resp.json()["id"]
    api.batch(job_id, b"SELECT Name FROM Profile", "text/csv")
    api.process()
    [only] = _batches(api, job_id)
    assert only["state"] == "Failed"
    assert "Entity 'Profile' is not supported by PK chunking" in only["stateMessage"]


@pytest.mark.parametrize(
    "header", ["chunkSize=250001", "chunkSize=0", "chunkSize=x", "startRow=nope", "sideways"]
)
def test_a_bad_pk_chunking_header_refuses_the_job(api: Api, header: str) -> None:
    resp = api.call(
        "POST",
        "/job",
        {**JSON, "Sforce-Enable-PKChunking": header},
        content=json.dumps({"operation": "query", "object": "Account", "contentType": "CSV"}),
    )
    assert error_of(resp)[:2] == (400, "InvalidJob")


def test_pk_chunking_header_values() -> None:
    assert parse_header(None) is None
    assert parse_header("false") is None
    assert parse_header("TRUE") == parse_header("true")
    settings = parse_header("true; chunkSize=1000")
    assert settings is not None
    assert settings.chunk_size == 1000
    with pytest.raises(ChunkingError, match="sharing objects"):
        parse_header("parent=Account")


def test_xml_query_results(api: Api) -> None:
    [rid] = _accounts(api, "X & Co")
    api.org.store.update("Account", rid, {"Website": None}, user_id=api.org.admin_user_id)
    resp = api.call("POST", "/job", XML, content=_job_xml("query", "Account", "XML"))
    assert resp.status_code == 201, resp.text
    job_id = xml_fields(resp)["id"]
    batch = api.call(
        "POST",
        f"/job/{job_id}/batch",
        {"Content-Type": "application/xml"},
        content=b"SELECT Id, Name, Website FROM Account",
    )
    batch_id = xml_fields(batch)["id"]
    api.process()
    listing = ElementTree.fromstring(api.call("GET", f"/job/{job_id}/batch/{batch_id}/result").content)
    result_id = listing.findtext(f"{NS}result")
    result = api.call("GET", f"/job/{job_id}/batch/{batch_id}/result/{result_id}")
    assert result.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(result.content)
    assert root.tag == f"{NS}queryResult"
    [record] = list(root)
    assert record.get(f"{XSI}type") == "sObject"
    children = [(c.tag.removeprefix(NS), c.text, c.get(f"{XSI}nil")) for c in record]
    assert children == [
        ("type", "Account", None),
        ("Id", rid, None),
        ("Id", rid, None),
        ("Name", "X & Co", None),
        ("Website", None, "true"),
    ]


def _job_xml(operation: str, sobject: str, content_type: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload">'
        f"<operation>{operation}</operation><object>{sobject}</object><contentType>{content_type}</contentType>"
        "</jobInfo>"
    ).encode()


def test_bulk_v1_requests_count_against_the_daily_api_limit(tmp_path: Path) -> None:
    org = Org(OrgSettings(data_dir=tmp_path, api_request_limit=3), sleep=lambda _s: None)
    try:
        with TestClient(create_app(org), base_url=org.base_url) as client:
            api = Api(org, client)
            job = api.call("POST", "/job", XML, content=_job_xml("insert", "Contact", "CSV"))
            assert job.status_code == 201
            assert job.headers["Sforce-Limit-Info"] == "api-usage=1/3"
            job_id = xml_fields(job)["id"]
            assert api.call("GET", f"/job/{job_id}").headers["Sforce-Limit-Info"] == "api-usage=2/3"
            rest = client.get(
                "/services/data/v62.0/limits", headers={"Authorization": f"Bearer {api.session}"}
            )
            assert rest.json()["DailyApiRequests"]["Remaining"] == 0
            refused = api.call("GET", f"/job/{job_id}")
            assert error_of(refused) == (403, "ExceededQuota", "TotalRequests Limit exceeded.")
            json_refused = api.call("GET", f"/job/{job_id}", JSON)
            assert error_of(json_refused)[:2] == (403, "ExceededQuota")
            assert org.api_counter.used() == 3
    finally:
        org.close()
