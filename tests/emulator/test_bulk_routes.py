"""Bulk API 2.0 over HTTP: the ingest and query routes on the real app (Starlette TestClient)."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kinetic_core.emulator.app import create_app
from kinetic_core.emulator.org import Org, OrgSettings

with warnings.catch_warnings():  # this Starlette release deprecates TestClient on plain httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = "/services/data/v62.0/jobs"
JSON = "application/json;charset=UTF-8"


class Api:
    def __init__(self, org: Org, client: TestClient) -> None:
        self.org = org
        self.client = client
        token = org.tokens.issue_access(
            org.admin_user_id, "admin@kinetic.local", "api", ttl_seconds=3600
        ).token
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kw)

    def process(self) -> None:
        assert self.org.bulk is not None
        self.org.bulk.run_pending()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    org = Org(OrgSettings(data_dir=tmp_path, query_page_size=2), sleep=lambda _s: None)
    try:
        with TestClient(create_app(org), base_url=org.base_url) as client:
            yield Api(org, client)
    finally:
        org.close()


def assert_error(resp: httpx.Response, status: int, code: str, message: str | None = None) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == JSON
    body = resp.json()
    assert isinstance(body, list)
    assert body[0]["errorCode"] == code
    if message is not None:
        assert body[0]["message"] == message


def ingest(api: Api, data: bytes, **spec: Any) -> str:
    resp = api.call("POST", f"{BASE}/ingest", json={"object": "Account", "operation": "insert", **spec})
    assert resp.status_code == 200, resp.text
    job_id: str = resp.json()["id"]
    put = api.call(
        "PUT", f"{BASE}/ingest/{job_id}/batches", content=data, headers={"Content-Type": "text/csv"}
    )
    assert put.status_code == 201
    assert put.content == b""
    patch = api.call("PATCH", f"{BASE}/ingest/{job_id}", json={"state": "UploadComplete"})
    assert patch.status_code == 200
    assert patch.json()["state"] == "UploadComplete"
    api.process()
    return job_id


def test_ingest_round_trip(api: Api) -> None:
    resp = api.call("POST", f"{BASE}/ingest", json={"object": "Account", "operation": "insert"})
    info = resp.json()
    assert resp.headers["content-type"] == JSON
    assert info["state"] == "Open"
    assert info["apiVersion"] == 62.0
    assert info["contentUrl"] == f"services/data/v62.0/jobs/ingest/{info['id']}/batches"
    chunks = iter([b"Name,Phone\n", b"A,1\n", b",2\n"])
    put = api.call("PUT", "/" + info["contentUrl"], content=chunks)  # chunked transfer
    assert put.status_code == 201
    api.call("PATCH", f"{BASE}/ingest/{info['id']}", json={"state": "UploadComplete"})
    api.process()
    job = api.call("GET", f"{BASE}/ingest/{info['id']}").json()
    assert job["state"] == "JobComplete"
    assert job["numberRecordsProcessed"] == 2
    assert job["numberRecordsFailed"] == 1
    ok = api.call("GET", f"{BASE}/ingest/{info['id']}/successfulResults/")
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/csv")
    assert ok.text.splitlines()[0] == '"sf__Id","sf__Created",Name,Phone'
    failed = api.call("GET", f"{BASE}/ingest/{info['id']}/failedResults")
    assert failed.text.splitlines()[1].startswith('"","REQUIRED_FIELD_MISSING:')
    for segment in ("unprocessedrecords", "unprocessedRecords"):
        unprocessed = api.call("GET", f"{BASE}/ingest/{info['id']}/{segment}")
        assert unprocessed.status_code == 200
        assert unprocessed.text == "Name,Phone\n"


def test_results_gzip(api: Api) -> None:
    job_id = ingest(api, b"Name\n" + b"".join(b"Row %d\n" % i for i in range(300)))
    resp = api.call(
        "GET", f"{BASE}/ingest/{job_id}/successfulResults", headers={"Accept-Encoding": "gzip, deflate"}
    )
    assert resp.headers["content-encoding"] == "gzip"
    assert len(resp.text.splitlines()) == 301  # httpx decoded it
    raw = api.call(
        "GET", f"{BASE}/ingest/{job_id}/successfulResults", headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in raw.headers
    # X-PrettyPrint (simple-salesforce sends it on every request) formats JSON only: a CSV
    # download asked for with gzip is gzipped all the same, and its bytes are unchanged.
    pretty = api.call(
        "GET",
        f"{BASE}/ingest/{job_id}/successfulResults",
        headers={"Accept-Encoding": "gzip, deflate", "X-PrettyPrint": "1"},
    )
    assert pretty.headers["content-encoding"] == "gzip"
    assert pretty.content == resp.content


def test_ingest_errors_are_json_arrays(api: Api) -> None:
    missing = "7508c0000000999AAA"
    for method, path in (
        ("GET", f"{BASE}/ingest/{missing}"),
        ("PATCH", f"{BASE}/ingest/{missing}"),
        ("DELETE", f"{BASE}/ingest/{missing}"),
        ("GET", f"{BASE}/ingest/{missing}/successfulResults"),
        ("PUT", f"{BASE}/ingest/{missing}/batches"),
    ):
        kw: dict[str, Any] = {"json": {"state": "Aborted"}} if method == "PATCH" else {}
        assert_error(api.call(method, path, **kw), 404, "NOT_FOUND", "The requested resource does not exist")
    resp = api.call("POST", f"{BASE}/ingest", json={"object": "Nope", "operation": "insert"})
    assert_error(resp, 400, "INVALIDENTITY", "Entity 'Nope' is not supported by the Bulk API.")
    resp = api.call("POST", f"{BASE}/ingest", json={"object": "Account", "operation": "upsert"})
    assert_error(resp, 400, "INVALIDJOB")
    job_id = api.call("POST", f"{BASE}/ingest", json={"object": "Account", "operation": "insert"}).json()[
        "id"
    ]
    assert_error(api.call("GET", f"{BASE}/ingest/{job_id}/failedResults"), 400, "INVALIDJOBSTATE")
    resp = api.call("DELETE", f"{BASE}/ingest/{job_id}")
    assert_error(
        resp, 400, "API_ERROR", "Error encountered when deleting the job because the job is not terminated"
    )
    assert_error(api.call("PATCH", f"{BASE}/ingest/{job_id}", json={}), 400, "INVALIDJOB")
    unauth = api.client.get(f"{BASE}/ingest/{job_id}")
    assert_error(unauth, 401, "INVALID_SESSION_ID")


def test_abort_completed_and_delete(api: Api) -> None:
    job_id = ingest(api, b"Name\nA\n")
    resp = api.call("PATCH", f"{BASE}/ingest/{job_id}", json={"state": "Aborted"})
    assert_error(resp, 400, "INVALIDJOBSTATE", "Aborting already Completed Job not allowed")
    put = api.call("PUT", f"{BASE}/ingest/{job_id}/batches", content=b"Name\nB\n")
    assert_error(put, 400, "INVALIDJOBSTATE")
    deleted = api.call("DELETE", f"{BASE}/ingest/{job_id}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(api.call("GET", f"{BASE}/ingest/{job_id}"), 404, "NOT_FOUND")


def test_upload_cap_over_http(api: Api) -> None:
    from dataclasses import replace

    assert api.org.bulk is not None
    api.org.bulk.limits = replace(api.org.bulk.limits, max_upload_base64_bytes=100)
    job_id = api.call("POST", f"{BASE}/ingest", json={"object": "Account", "operation": "insert"}).json()[
        "id"
    ]
    big = iter([b"Name\n", b"x" * 60 + b"\n", b"y" * 60 + b"\n"])
    assert_error(api.call("PUT", f"{BASE}/ingest/{job_id}/batches", content=big), 400, "CLIENTINPUTERROR")
    assert api.call("GET", f"{BASE}/ingest/{job_id}").json()["state"] == "Open"
    assert api.call("PUT", f"{BASE}/ingest/{job_id}/batches", content=b"Name\nok\n").status_code == 201


def test_multipart_create(api: Api) -> None:
    boundary = "BOUNDARY"
    job = json.dumps({"object": "Account", "operation": "insert", "columnDelimiter": "PIPE"})
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="job"\r\n'
        "Content-Type: application/json\r\n\r\n"
        f'{job}\r\n--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="content"\r\n'
        f"Content-Type: text/csv\r\n\r\nName|Phone\nMulti|9\n\r\n--{boundary}--\r\n"
    ).encode()
    resp = api.call(
        "POST",
        f"{BASE}/ingest",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert resp.status_code == 200, resp.text
    info = resp.json()
    assert info["state"] == "UploadComplete"
    assert "contentUrl" not in info
    api.process()
    job_info = api.call("GET", f"{BASE}/ingest/{info['id']}").json()
    assert job_info["numberRecordsProcessed"] == 1
    assert job_info["numberRecordsFailed"] == 0


def test_list_ingest_jobs(api: Api) -> None:
    assert api.org.bulk is not None
    from dataclasses import replace

    api.org.bulk.limits = replace(api.org.bulk.limits, list_page_size=2)
    ids = [api.call("POST", f"{BASE}/ingest", json={"object": "Account", "operation": "insert"}).json()["id"]
           for _ in range(3)]  # fmt: skip
    first = api.call("GET", f"{BASE}/ingest").json()
    assert first["done"] is False
    assert [r["id"] for r in first["records"]] == ids[:2]
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/jobs/ingest?queryLocator=")
    second = api.call("GET", first["nextRecordsUrl"]).json()
    assert second == {"done": True, "records": second["records"], "nextRecordsUrl": None}
    assert [r["id"] for r in second["records"]] == ids[2:]
    assert api.call("GET", f"{BASE}/query").json()["records"] == []


def test_query_over_http(api: Api) -> None:
    api.org.store.insert_many("Account", [{"Name": f"Q{i}"} for i in range(5)], source="json")
    resp = api.call(
        "POST",
        f"{BASE}/query",
        json={"operation": "query", "query": "SELECT Name FROM Account"},
        headers={"Accept": "text/csv; charset=UTF-8"},
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"] == JSON
    job_id = resp.json()["id"]
    early = api.call("GET", f"{BASE}/query/{job_id}/results")
    assert_error(early, 412, "JOB_NOT_COMPLETE")
    api.process()
    assert api.call("GET", f"{BASE}/query/{job_id}").json()["numberRecordsProcessed"] == 5
    names: list[str] = []
    locator = ""
    pages = 0
    while True:
        params = {"locator": locator} if locator else {}
        page = api.call(
            "GET", f"{BASE}/query/{job_id}/results", params=params, headers={"Accept-Encoding": "gzip"}
        )
        assert page.headers["content-encoding"] == "gzip"
        lines = page.text.splitlines()
        assert lines[0] == '"Name"'
        assert int(page.headers["sforce-numberofrecords"]) == len(lines) - 1
        names += [line.strip('"') for line in lines[1:]]
        pages += 1
        locator = page.headers["sforce-locator"]
        if locator == "null":
            break
    assert pages == 3
    assert names == [f"Q{i}" for i in range(5)]
    result_pages = api.call("GET", f"{BASE}/query/{job_id}/resultPages").json()
    assert len(result_pages["resultPages"]) == 3
    assert result_pages["done"] is True
    first = api.call("GET", result_pages["resultPages"][1]["resultUrl"])
    assert first.status_code == 200
    assert first.text.splitlines()[1] == '"Q2"'
    assert_error(
        api.call("PATCH", f"{BASE}/query/{job_id}", json={"state": "Aborted"}),
        400,
        "INVALIDJOBSTATE",
        "Aborting already Completed Job not allowed",
    )
    assert api.call("DELETE", f"{BASE}/query/{job_id}").status_code == 204


def test_query_create_errors_and_version_conflict(api: Api) -> None:
    resp = api.call("POST", f"{BASE}/query", json={"operation": "query", "query": "SELECT Id FROM Nope"})
    assert_error(resp, 400, "INVALIDENTITY", "Entity 'Nope' is not supported by the Bulk API.")
    job_id = api.call(
        "POST", f"{BASE}/query", json={"operation": "query", "query": "SELECT Id FROM Account"}
    ).json()["id"]
    assert_error(api.call("DELETE", f"{BASE}/query/{job_id}"), 400, "API_ERROR")
    api.process()
    other = api.call("GET", f"/services/data/v58.0/jobs/query/{job_id}/results")
    assert other.status_code == 409
    assert other.headers["content-type"] == JSON
    assert_error(
        api.call("GET", f"{BASE}/query/{job_id}/results", params={"maxRecords": "x"}), 400, "CLIENTINPUTERROR"
    )


def test_real_server_with_worker_thread(emulator_api: Any) -> None:
    """End to end on the running server: the background worker completes the job by itself."""
    resp = emulator_api.post(
        "jobs/ingest", json={"object": "Account", "operation": "insert", "lineEnding": "CRLF"}
    )
    job_id = resp.json()["id"]
    put = emulator_api.request("PUT", f"jobs/ingest/{job_id}/batches", content=b"Name\r\nLive\r\n")
    assert put.status_code == 201
    emulator_api.patch(f"jobs/ingest/{job_id}", json={"state": "UploadComplete"})
    deadline = time.monotonic() + 10
    while (info := emulator_api.get(f"jobs/ingest/{job_id}").json())["state"] != "JobComplete":
        assert time.monotonic() < deadline, info
        time.sleep(0.02)
    assert info["numberRecordsProcessed"] == 1
    ok = emulator_api.get(f"jobs/ingest/{job_id}/successfulResults")
    assert ok.text.endswith(",Live\r\n")
