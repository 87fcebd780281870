"""Bulk API 1.0 over HTTP (Starlette TestClient; batches processed on demand by the 2.0 worker)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinetic_core.emulator.app import create_app
from kinetic_core.emulator.org import Org, OrgSettings

with warnings.catch_warnings():  # this Starlette release deprecates TestClient on plain httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = "/services/async/62.0"
NS = "{http://www.force.com/2009/06/asyncapi/dataload}"
XML = {"Content-Type": "application/xml; charset=utf-8"}
JSON = {"Content-Type": "application/json"}
JOB_INFO_ORDER = [
    "id",
    "operation",
    "object",
    "createdById",
    "createdDate",
    "systemModstamp",
    "state",
    "concurrencyMode",
    "contentType",
    "numberBatchesQueued",
    "numberBatchesInProgress",
    "numberBatchesCompleted",
    "numberBatchesFailed",
    "numberBatchesTotal",
    "numberRecordsProcessed",
    "numberRetries",
    "apiVersion",
    "numberRecordsFailed",
    "totalProcessingTime",
    "apiActiveProcessingTime",
    "apexProcessingTime",
]


def job_xml(**fields: str) -> bytes:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<jobInfo xmlns="http://www.force.com/2009/06/asyncapi/dataload">{inner}</jobInfo>'
    ).encode()


def xml_fields(resp: httpx.Response) -> dict[str, str]:
    root = ElementTree.fromstring(resp.content)
    return {child.tag.removeprefix(NS): child.text or "" for child in root}


class Api:
    def __init__(self, org: Org, client: TestClient) -> None:
        self.org = org
        self.client = client
        self.session = org.tokens.issue_access(
            org.admin_user_id, "admin@kinetic.local", "api", ttl_seconds=3600
        ).token

    def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        all_headers = {"X-SFDC-Session": self.session, **(headers or {})}
        return self.client.request(method, BASE + path, headers=all_headers, **kw)

    def process(self) -> None:
        assert self.org.bulk is not None
        self.org.bulk.run_pending()

    def xml_job(self, **fields: str) -> str:
        resp = self.call("POST", "/job", XML, content=job_xml(**fields))
        assert resp.status_code == 201, resp.text
        return xml_fields(resp)["id"]

    def json_job(self, **fields: Any) -> str:
        resp = self.call("POST", "/job", JSON, content=json.dumps(fields))
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])

    def batch(self, job_id: str, data: bytes, content_type: str) -> str:
        resp = self.call("POST", f"/job/{job_id}/batch", {"Content-Type": content_type}, content=data)
        assert resp.status_code == 201, resp.text
        return xml_fields(resp)["id"] if resp.content.startswith(b"<?xml") else str(resp.json()["id"])


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    org = Org(OrgSettings(data_dir=tmp_path), sleep=lambda _s: None)
    try:
        with TestClient(create_app(org), base_url=org.base_url) as client:
            yield Api(org, client)
    finally:
        org.close()


def error_of(resp: httpx.Response) -> tuple[int, str, str]:
    if resp.headers["content-type"].startswith("application/json"):
        body = resp.json()
        return resp.status_code, body["exceptionCode"], body["exceptionMessage"]
    root = ElementTree.fromstring(resp.content)
    assert root.tag == f"{NS}error"
    fields = xml_fields(resp)
    return resp.status_code, fields["exceptionCode"], fields["exceptionMessage"]


def test_csv_insert_job_lifecycle_and_ordered_results(api: Api) -> None:
    resp = api.call(
        "POST", "/job", XML, content=job_xml(operation="insert", object="Contact", contentType="CSV")
    )
    assert resp.status_code == 201
    assert resp.headers["content-type"].startswith("application/xml")
    info = xml_fields(resp)
    assert list(info) == JOB_INFO_ORDER
    assert (info["state"], info["concurrencyMode"], info["apiVersion"]) == ("Open", "Parallel", "62.0")
    assert info["id"].startswith("750")
    assert info["createdDate"].endswith("Z")
    job_id = info["id"]

    data = b'LastName,Email\nNg,ng@example.com\n,no-name@example.com\n"Smith, Jr.",not-an-email\nLee,#N/A\n'
    batch_id = api.batch(job_id, data, "text/csv")
    assert batch_id.startswith("751")
    assert xml_fields(api.call("GET", f"/job/{job_id}/batch/{batch_id}"))["state"] == "Queued"
    early = api.call("GET", f"/job/{job_id}/batch/{batch_id}/result")
    assert error_of(early)[:2] == (400, "InvalidBatch")

    api.process()
    batch = xml_fields(api.call("GET", f"/job/{job_id}/batch/{batch_id}"))
    assert (batch["state"], batch["numberRecordsProcessed"], batch["numberRecordsFailed"]) == (
        "Completed",
        "4",
        "2",
    )
    result = api.call("GET", f"/job/{job_id}/batch/{batch_id}/result")
    assert result.headers["content-type"].startswith("text/csv")
    lines = result.text.splitlines()
    assert lines[0] == '"Id","Success","Created","Error"'
    assert lines[1].startswith('"003')
    assert lines[1].endswith('","true","true",""')
    assert (
        lines[2]
        == '"","false","false","REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"'
    )
    assert (
        lines[3]
        == '"","false","false","INVALID_EMAIL_ADDRESS:Email: invalid email address: not-an-email:Email --"'
    )
    assert lines[4].endswith('","true","true",""')
    assert len(lines) == 5
    assert api.call("GET", f"/job/{job_id}/batch/{batch_id}/request").content == data

    closed = api.call("POST", f"/job/{job_id}", XML, content=job_xml(state="Closed"))
    info = xml_fields(closed)
    assert info["state"] == "Closed"
    assert (info["numberBatchesCompleted"], info["numberBatchesTotal"]) == ("1", "1")
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == ("4", "2")
    late = api.call("POST", f"/job/{job_id}/batch", {"Content-Type": "text/csv"}, content=b"LastName\nX\n")
    assert error_of(late)[:2] == (400, "InvalidJobState")
    listed = ElementTree.fromstring(api.call("GET", f"/job/{job_id}/batch").content)
    assert listed.tag == f"{NS}batchInfoList"
    assert [b.findtext(f"{NS}id") for b in listed] == [batch_id]


def test_json_upsert_with_nulls_and_relationships(api: Api) -> None:
    account = api.json_job(operation="insert", object="Account", contentType="JSON")
    api.batch(
        account, json.dumps([{"Name": "Parent", "External_Id__c": "ACC-1"}]).encode(), "application/json"
    )
    api.process()
    job_id = api.json_job(
        operation="upsert", object="Contact", contentType="JSON", externalIdFieldName="External_Id__c"
    )
    rows = [
        {"External_Id__c": "C-1", "LastName": "One", "Title": "T", "Account": {"External_Id__c": "ACC-1"}},
        {"External_Id__c": "C-2", "LastName": "Two", "Title": "T"},
    ]
    api.batch(job_id, json.dumps(rows).encode(), "application/json")
    api.process()
    again = api.json_job(
        operation="upsert", object="Contact", contentType="JSON", externalIdFieldName="External_Id__c"
    )
    batch_id = api.batch(
        again,
        json.dumps([{"External_Id__c": "C-1", "Title": None}, {"LastName": "X"}]).encode(),
        "application/json",
    )
    api.process()
    info = api.call("GET", f"/job/{again}/batch/{batch_id}", JSON).json()
    assert list(info) == sorted(info)
    assert info["state"] == "Completed"
    results = api.call("GET", f"/job/{again}/batch/{batch_id}/result", JSON).json()
    assert results[0]["success"] is True
    assert results[0]["created"] is False
    assert results[1] == {
        "success": False,
        "created": False,
        "id": None,
        "errors": [
            {
                "fields": [],
                "message": "External_Id__c not specified in an upsert call",
                "statusCode": "MISSING_ARGUMENT",
            }
        ],
    }
    stored = api.org.store.get("Contact", results[0]["id"], ["Title", "AccountId", "LastName"])
    assert stored["Title"] is None  # null cleared the field
    assert stored["LastName"] == "One"
    assert str(stored["AccountId"]).startswith("001")


def test_xml_insert_and_xml_results(api: Api) -> None:
    job_id = api.xml_job(operation="insert", object="Contact", contentType="XML")
    data = (
        b'<?xml version="1.0" encoding="UTF-8"?><sObjects xmlns="http://www.force.com/2009/06/asyncapi/dataload">'
        b"<sObject><LastName>Xml</LastName><Title>Eng</Title></sObject><sObject><Title>None</Title></sObject></sObjects>"
    )
    batch_id = api.batch(job_id, data, "application/xml")
    api.process()
    root = ElementTree.fromstring(api.call("GET", f"/job/{job_id}/batch/{batch_id}/result").content)
    results = list(root)
    assert [r.findtext(f"{NS}success") for r in results] == ["true", "false"]
    assert results[1].findtext(f"{NS}errors/{NS}statusCode") == "REQUIRED_FIELD_MISSING"


def test_query_csv_and_query_all(api: Api) -> None:
    insert = api.xml_job(operation="insert", object="Contact", contentType="CSV")
    api.batch(insert, b'LastName\n"Q, 1"\nQ2\n', "text/csv")
    api.process()
    contact = api.org.store.find_ids("Contact", "LastName", "Q2")[0]
    api.org.store.delete_many("Contact", [contact], hard=False)
    for operation, expected in (
        ("query", ['"LastName"', '"Q, 1"']),
        ("queryAll", ['"LastName"', '"Q, 1"', '"Q2"']),
    ):
        job_id = api.xml_job(operation=operation, object="Contact", contentType="CSV")
        resp = api.call(
            "POST",
            f"/job/{job_id}/batch",
            {"Content-Type": "text/csv"},
            content=b"SELECT LastName FROM Contact ORDER BY LastName",
        )
        batch_id = xml_fields(resp)["id"]
        api.process()
        listing = ElementTree.fromstring(api.call("GET", f"/job/{job_id}/batch/{batch_id}/result").content)
        assert listing.tag == f"{NS}result-list"
        result_id = listing.findtext(f"{NS}result")
        assert result_id is not None
        assert result_id.startswith("752")
        records = api.call("GET", f"/job/{job_id}/batch/{batch_id}/result/{result_id}")
        assert records.text.splitlines() == expected
        assert xml_fields(api.call("GET", f"/job/{job_id}/batch/{batch_id}"))[
            "numberRecordsProcessed"
        ] == str(len(expected) - 1)
        wrong = api.call("GET", f"/job/{job_id}/batch/{batch_id}/result/752000000000000")
        assert error_of(wrong)[:2] == (400, "InvalidBatch")


def test_bad_query_fails_the_batch_with_the_soql_error(api: Api) -> None:
    job_id = api.json_job(operation="query", object="Contact", contentType="JSON")
    batch_id = api.batch(job_id, b"SELECT Nope__c FROM Contact", "application/json")
    api.process()
    info = api.call("GET", f"/job/{job_id}/batch/{batch_id}", JSON).json()
    assert info["state"] == "Failed"
    assert info["stateMessage"].startswith("InvalidBatch : Failed to process query: INVALID_FIELD")


def test_abort_marks_queued_batches_not_processed(api: Api) -> None:
    job_id = api.xml_job(operation="insert", object="Contact", contentType="CSV")
    batch_id = api.batch(job_id, b"LastName\nA\n", "text/csv")
    aborted = xml_fields(api.call("POST", f"/job/{job_id}", XML, content=job_xml(state="Aborted")))
    assert aborted["state"] == "Aborted"
    api.process()
    assert xml_fields(api.call("GET", f"/job/{job_id}/batch/{batch_id}"))["state"] == "NotProcessed"
    assert api.org.store.find_ids("Contact", "LastName", "A") == []
    again = api.call("POST", f"/job/{job_id}", XML, content=job_xml(state="Closed"))
    assert error_of(again)[:2] == (400, "InvalidJobState")


def test_malformed_batches_fail_with_a_message(api: Api) -> None:
    job_id = api.json_job(operation="insert", object="Contact", contentType="JSON")
    not_array = api.batch(job_id, b'{"LastName": "x"}', "application/json")
    bad_column = api.json_job(operation="insert", object="Contact", contentType="CSV")
    unknown_field = api.batch(bad_column, b"LastName,Nope__c\nA,B\n", "text/csv")
    api.process()
    first = api.call("GET", f"/job/{job_id}/batch/{not_array}", JSON).json()
    assert first["state"] == "Failed"
    assert first["stateMessage"] == "InvalidBatch : A JSON batch must be an array of records"
    second = xml_fields(api.call("GET", f"/job/{bad_column}/batch/{unknown_field}"))
    assert second["state"] == "Failed"
    assert "Nope__c" in second["stateMessage"]
    wrong_type = api.call("POST", f"/job/{bad_column}/batch", JSON, content=b"[]")
    assert error_of(wrong_type)[:2] == (400, "InvalidBatch")


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        (
            {"operation": "insert", "object": "Nope__c", "contentType": "CSV"},
            "InvalidJob",
            "Unable to find object: Nope__c",
        ),
        (
            {"operation": "merge", "object": "Contact", "contentType": "CSV"},
            "InvalidJob",
            "Invalid operation: merge",
        ),
        (
            {"operation": "insert", "object": "Contact", "contentType": "ZIP_CSV"},
            "InvalidJob",
            "Invalid contentType: ZIP_CSV",
        ),
        (
            {"operation": "upsert", "object": "Contact", "contentType": "CSV"},
            "InvalidJob",
            "External ID was blank for Contact. An External ID must be specified for upsert.",
        ),
    ],
)
def test_job_creation_errors(api: Api, fields: dict[str, str], code: str, message: str) -> None:
    assert error_of(api.call("POST", "/job", XML, content=job_xml(**fields))) == (400, code, message)
    assert error_of(api.call("POST", "/job", JSON, content=json.dumps(fields))) == (400, code, message)


def test_session_version_and_url_errors(api: Api) -> None:
    body = job_xml(operation="insert", object="Contact", contentType="CSV")
    no_session = api.client.post(f"{BASE}/job", headers=XML, content=body)
    assert error_of(no_session) == (400, "InvalidSessionId", "Invalid session id")
    bearer = api.client.post(
        f"{BASE}/job", headers={**XML, "Authorization": f"Bearer {api.session}"}, content=body
    )
    assert error_of(bearer)[1] == "InvalidSessionId"
    old = api.client.post(
        "/services/async/29.0/job", headers={**XML, "X-SFDC-Session": api.session}, content=body
    )
    assert error_of(old)[:2] == (400, "InvalidVersion")
    assert error_of(api.call("GET", "/job/7508d0000000001AAA"))[:2] == (400, "InvalidJob")
    assert error_of(api.call("GET", "/nowhere")) == (404, "InvalidUrl", "Unknown or Invalid URL")
    assert api.org.request_counts().get("bulk_v1") == 5


def test_pk_chunking_header_is_accepted(api: Api) -> None:
    resp = api.call(
        "POST",
        "/job",
        {**JSON, "Sforce-Enable-PKChunking": "chunkSize=50000"},
        content=json.dumps({"operation": "query", "object": "Account", "contentType": "JSON"}),
    )
    assert resp.status_code == 201
    assert resp.json()["operation"] == "query"


def test_batch_interrupted_by_a_restart_runs_once_after_it(tmp_path: Path) -> None:
    settings = OrgSettings(data_dir=tmp_path / "org")
    org = Org(settings, sleep=lambda _s: None)
    try:
        assert org.bulk_v1 is not None
        job = org.bulk_v1.create_job(
            {"operation": "insert", "object": "Contact", "contentType": "CSV"},
            user_id=org.admin_user_id,
            api_version="62.0",
        )
        batch = org.bulk_v1.add_batch(job.id, b"LastName\nRestart\n", "text/csv")
        assert org.bulk_v1.store.start_batch(batch.id, org.clock())  # the process dies mid-batch
        (org.bulk_v1.store.work_path(batch, "result.tmp")).write_text("partial", encoding="utf-8")
    finally:
        org.close()
    reopened = Org(settings, sleep=lambda _s: None)
    try:
        assert reopened.bulk is not None
        assert reopened.bulk_v1 is not None
        assert reopened.bulk_v1.get_batch(job.id, batch.id).state.value == "Queued"
        reopened.bulk.run_pending()
        reopened.bulk.run_pending()
        done = reopened.bulk_v1.get_batch(job.id, batch.id)
        assert (done.state.value, done.processed, done.failed) == ("Completed", 1, 0)
        assert len(reopened.store.find_ids("Contact", "LastName", "Restart")) == 1
        _, _, path = reopened.bulk_v1.batch_result(job.id, batch.id)
        assert path is not None
        assert path.read_text(encoding="utf-8").startswith('"Id","Success","Created","Error"\n"003')
    finally:
        reopened.close()


def test_hard_delete_needs_the_permission(api: Api) -> None:
    insert = api.xml_job(operation="insert", object="Contact", contentType="CSV")
    api.batch(insert, b"LastName\nGone\n", "text/csv")
    api.process()
    contact = api.org.store.find_ids("Contact", "LastName", "Gone")[0]
    hard = api.xml_job(operation="hardDelete", object="Contact", contentType="CSV")
    batch_id = api.batch(hard, f"Id\n{contact}\n".encode(), "text/csv")
    api.process()
    assert xml_fields(api.call("GET", f"/job/{hard}/batch/{batch_id}"))["state"] == "Completed"
    assert api.org.query_engine is not None
    soql = "SELECT COUNT() FROM Contact WHERE LastName = 'Gone'"
    assert api.org.query_engine.count(soql, include_deleted=True) == 0  # gone, not in the recycle bin

    standard = api.org.store.user_by_username("standard@kinetic.local")
    assert standard is not None
    token = api.org.tokens.issue_access(
        str(standard["Id"]), "standard@kinetic.local", "api", ttl_seconds=60
    ).token
    refused = api.client.post(
        f"{BASE}/job",
        headers={**XML, "X-SFDC-Session": token},
        content=job_xml(operation="hardDelete", object="Contact", contentType="CSV"),
    )
    assert error_of(refused) == (
        400,
        "FeatureNotEnabled",
        "The user does not have the Bulk API Hard Delete permission",
    )


_V1_PATHS = [
    "/job",
    "/job/{job}",
    "/job/{job}/batch",
    "/job/{job}/batch/{seg}",
    "/job/{job}/batch/{seg}/request",
    "/job/{job}/batch/{seg}/result",
    "/job/{job}/batch/{seg}/result/{seg}",
    "/{seg}",
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    template=st.sampled_from(_V1_PATHS),
    seg=st.sampled_from(["7518d0000000001AAA", "751", "x" * 40, "%2e%2e"]),
    content_type=st.sampled_from(["application/json", "application/xml", "text/csv", "text/plain"]),
    body=st.one_of(
        st.binary(max_size=64),
        st.sampled_from(
            [
                job_xml(operation="insert", object="Contact", contentType="CSV"),
                job_xml(state="Closed"),
                b'{"operation":"upsert","object":"Contact","contentType":"JSON"}',
                b'{"state":"Aborted"}',
                b'[{"LastName":{"x":[1]}}]',
                b'LastName\n"open quote\n',
                b"<sObjects><sObject><LastName><a/></LastName></sObject></sObjects>",
            ]
        ),
    ),
)
def test_random_requests_answer_bulk_errors_never_500(
    api: Api, method: str, template: str, seg: str, content_type: str, body: bytes
) -> None:
    job = api.json_job(operation="insert", object="Contact", contentType="JSON")
    path = template.replace("{job}", job).replace("{seg}", seg)
    resp = api.call(method, path, {"Content-Type": content_type}, content=body)
    assert resp.status_code < 500, (method, path, resp.text)
    api.process()
    if resp.status_code >= 400:
        _, code, message = error_of(resp)
        assert code
        assert message
    for batch in api.org.bulk_v1.list_batches(job) if api.org.bulk_v1 else []:
        assert batch.state.value in ("Completed", "Failed")


def test_compound_field_fails_the_query_batch_as_salesforce_does(api: Api) -> None:
    job_id = api.json_job(operation="query", object="Account", contentType="JSON")
    batch_id = api.batch(job_id, b"SELECT Id, BillingAddress FROM Account", "application/json")
    api.process()
    info = api.call("GET", f"/job/{job_id}/batch/{batch_id}", JSON).json()
    assert info["state"] == "Failed"
    assert info["stateMessage"] == (
        "InvalidBatch : Failed to process query: FUNCTIONALITY_NOT_ENABLED: "
        "Selecting compound data not supported in Bulk Query"
    )
