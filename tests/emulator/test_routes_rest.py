"""REST basics of the emulator: versions, CRUD, external ids, describe, limits, protocol details."""

from __future__ import annotations

import gzip
import json
import socket
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import EmulatorApi


def test_versions_list_needs_no_auth_and_has_no_limit_header(emulator_api: EmulatorApi) -> None:
    response = emulator_api.http.get("/services/data/")
    assert response.status_code == 200
    assert "sforce-limit-info" not in response.headers
    versions = response.json()
    assert [v["version"] for v in versions] == [f"{n}.0" for n in range(31, 67)]
    assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in versions
    assert max(v["version"] for v in versions) == "66.0"  # string max (sfdx-core) picks the newest


def test_resources_by_version_include_identity(emulator_api: EmulatorApi) -> None:
    body = emulator_api.get("").json()
    assert body["sobjects"] == "/services/data/v62.0/sobjects"
    assert body["jobs"] == "/services/data/v62.0/jobs"
    assert body["identity"].startswith(f"{emulator_api.local.instance_url}/id/00D")


def test_retired_and_unknown_versions(emulator_api: EmulatorApi) -> None:
    old = emulator_api.http.get("/services/data/v30.0/sobjects", headers=emulator_api.auth)
    assert old.status_code == 410
    assert old.json()[0]["errorCode"] == "UNSUPPORTED_API_VERSION"
    future = emulator_api.http.get("/services/data/v99.0/sobjects", headers=emulator_api.auth)
    assert future.status_code == 404
    assert future.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


def test_crud_round_trip(emulator_api: EmulatorApi) -> None:
    created = emulator_api.post("sobjects/Account/", json={"Name": "Acme", "NumberOfEmployees": 12})
    assert created.status_code == 201
    body = created.json()
    assert list(body) == ["id", "success", "errors"]
    rid = body["id"]
    assert created.headers["location"] == f"/services/data/v62.0/sobjects/Account/{rid}"
    assert created.headers["content-type"] == "application/json;charset=UTF-8"

    record = emulator_api.get(f"sobjects/account/{rid[:15]}").json()  # 15-char id, lower-case object
    assert record["attributes"] == {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{rid}"}
    assert record["Id"] == rid
    assert record["Name"] == "Acme"
    assert record["NumberOfEmployees"] == 12

    some = emulator_api.get(f"sobjects/Account/{rid}", params={"fields": "Name,numberofemployees"}).json()
    assert set(some) == {"attributes", "Name", "NumberOfEmployees"}

    updated = emulator_api.patch(f"sobjects/Account/{rid}", json={"Name": "Acme 2"})
    assert updated.status_code == 204
    assert updated.content == b""
    assert emulator_api.get(f"sobjects/Account/{rid}").json()["Name"] == "Acme 2"

    assert emulator_api.request("HEAD", f"sobjects/Account/{rid}").status_code == 200
    deleted = emulator_api.delete(f"sobjects/Account/{rid}")
    assert deleted.status_code == 204
    gone = emulator_api.get(f"sobjects/Account/{rid}")
    assert gone.status_code == 404
    assert gone.json()[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_http_method_override(emulator_api: EmulatorApi) -> None:
    rid = emulator_api.create("Account", Name="Before")
    response = emulator_api.post(f"sobjects/Account/{rid}?_HttpMethod=PATCH", json={"Name": "After"})
    assert response.status_code == 204
    assert emulator_api.get(f"sobjects/Account/{rid}").json()["Name"] == "After"


def test_double_and_trailing_slashes_are_normalised(emulator_api: EmulatorApi) -> None:
    rid = emulator_api.create("Account", Name="Slashes")
    response = emulator_api.http.get(
        f"/services//data/v62.0//sobjects/Account/{rid}/", headers=emulator_api.auth
    )
    assert response.status_code == 200
    assert response.json()["Id"] == rid


def test_create_errors(emulator_api: EmulatorApi) -> None:
    unknown = emulator_api.post("sobjects/Nope__c", json={"Name": "x"})
    assert unknown.status_code == 404
    assert unknown.json()[0]["errorCode"] == "NOT_FOUND"
    with_id = emulator_api.post("sobjects/Account", json={"Id": "001000000000000AAA", "Name": "x"})
    assert with_id.status_code == 400
    assert with_id.json()[0]["errorCode"] == "INVALID_FIELD"
    garbage = emulator_api.post(
        "sobjects/Account", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert garbage.status_code == 400
    assert garbage.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    missing = emulator_api.post("sobjects/Account", json={"Industry": "Energy"})
    assert missing.status_code == 400
    assert missing.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    bad_field = emulator_api.post("sobjects/Account", json={"Name": "x", "Bogus__c": 1})
    assert bad_field.status_code == 400
    assert bad_field.json()[0]["errorCode"] == "INVALID_FIELD"


def test_row_errors(emulator_api: EmulatorApi) -> None:
    not_an_id = emulator_api.get("sobjects/Account/23foo")
    assert not_an_id.status_code == 404
    assert (
        not_an_id.json()[0]["message"]
        == "Provided external ID field does not exist or is not accessible: 23foo"
    )
    contact_id = emulator_api.create("Contact", LastName="Bluth")
    wrong_type = emulator_api.get(f"sobjects/Account/{contact_id}")
    assert wrong_type.status_code == 400
    assert wrong_type.json()[0]["errorCode"] == "MALFORMED_ID"
    missing = emulator_api.get("sobjects/Account/001000000000999AAA")
    assert missing.status_code == 404
    assert missing.json()[0]["errorCode"] == "NOT_FOUND"
    bad_fields = emulator_api.get(f"sobjects/Contact/{contact_id}", params={"fields": "Nope"})
    assert bad_fields.status_code == 400


def test_upsert_by_external_id(emulator_api: EmulatorApi) -> None:
    created = emulator_api.patch("sobjects/Account/External_Id__c/A-1", json={"Name": "First"})
    assert created.status_code == 201
    assert created.json() == {"id": created.json()["id"], "success": True, "errors": [], "created": True}
    again = emulator_api.patch("sobjects/account/external_id__c/A-1", json={"Name": "Second"})
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["id"] == created.json()["id"]
    fetched = emulator_api.get("sobjects/Account/External_Id__c/A-1").json()
    assert fetched["Name"] == "Second"

    bad_field = emulator_api.patch("sobjects/Account/Namez/x", json={"Name": "x"})
    assert bad_field.status_code == 404
    assert bad_field.json() == [
        {
            "message": "Provided external ID field does not exist or is not accessible: Namez",
            "errorCode": "NOT_FOUND",
        }
    ]
    only = emulator_api.patch("sobjects/Account/External_Id__c/NEW?updateOnly=true", json={"Name": "x"})
    assert only.status_code == 404
    old_api = emulator_api.http.patch(
        "/services/data/v45.0/sobjects/Account/External_Id__c/A-1",
        json={"Name": "Third"},
        headers=emulator_api.auth,
    )
    assert old_api.status_code == 204


def test_upsert_with_several_matches_answers_300(emulator_api: EmulatorApi) -> None:
    ids = [emulator_api.create("Contact", LastName=f"L{i}", Email="same@example.com") for i in range(2)]
    response = emulator_api.patch("sobjects/Contact/Email/same@example.com", json={"LastName": "X"})
    assert response.status_code == 300
    assert sorted(response.json()) == sorted(f"/services/data/v62.0/sobjects/Contact/{i}" for i in ids)
    assert emulator_api.delete("sobjects/Contact/Email/same@example.com").status_code == 300


def test_delete_by_external_id(emulator_api: EmulatorApi) -> None:
    emulator_api.patch("sobjects/Account/External_Id__c/D-1", json={"Name": "x"})
    assert emulator_api.delete("sobjects/Account/External_Id__c/D-1").status_code == 204
    assert emulator_api.get("sobjects/Account/External_Id__c/D-1").status_code == 404


def test_describe(emulator_api: EmulatorApi) -> None:
    glob = emulator_api.get("sobjects/").json()
    assert glob["encoding"] == "UTF-8"
    names = {s["name"] for s in glob["sobjects"]}
    assert {"Account", "Contact", "User", "Organization"} <= names
    account = emulator_api.get("sobjects/account/describe/").json()
    assert account["name"] == "Account"
    assert any(f["name"] == "External_Id__c" and f["externalId"] for f in account["fields"])
    assert emulator_api.get("sobjects/Nope/describe").status_code == 404
    basic = emulator_api.get("sobjects/Account").json()
    assert basic["objectDescribe"]["name"] == "Account"
    assert basic["recentItems"] == []


def test_limits_count_api_requests(emulator_api: EmulatorApi) -> None:
    first = emulator_api.get("limits/").json()
    assert first["DailyApiRequests"]["Max"] == 100_000
    assert {
        "DailyBulkApiBatches",
        "DailyBulkV2QueryJobs",
        "DataStorageMB",
        "DailyBulkV2QueryFileStorageMB",
    } <= set(first)
    for _ in range(3):
        emulator_api.get("sobjects")
    second = emulator_api.get("limits")
    used = second.json()["DailyApiRequests"]
    assert first["DailyApiRequests"]["Remaining"] - used["Remaining"] == 4
    assert second.headers["sforce-limit-info"] == f"api-usage={100_000 - used['Remaining']}/100000"


def test_bulk_counters_show_in_limits(emulator_api: EmulatorApi) -> None:
    emulator_api.org.store.increment("bulk_batches", 3)
    emulator_api.org.store.increment("bulk_query_jobs")
    body = emulator_api.get("limits").json()
    assert body["DailyBulkApiBatches"] == {"Max": 15000, "Remaining": 14997}
    assert body["DailyBulkV2QueryJobs"] == {"Max": 10000, "Remaining": 9999}


def test_record_count(emulator_api: EmulatorApi) -> None:
    assert emulator_api.get("limits/recordCount", params={"sObjects": "Account"}).json() == {"sObjects": []}
    emulator_api.create("Account", Name="a")
    emulator_api.create("Account", Name="b")
    body = emulator_api.get("limits/recordCount", params={"sObjects": "account,Contact"}).json()
    assert body == {"sObjects": [{"count": 2, "name": "Account"}]}


def test_unknown_paths_and_methods_are_salesforce_errors(emulator_api: EmulatorApi) -> None:
    missing = emulator_api.get("no/such/thing")
    assert missing.status_code == 404
    assert missing.json()[0]["errorCode"] == "NOT_FOUND"
    wrong = emulator_api.request("PUT", "limits")
    assert wrong.status_code == 405
    assert wrong.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    assert "PUT" in wrong.json()[0]["message"]


def test_session_errors(emulator_api: EmulatorApi) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = emulator_api.http.get("/services/data/v62.0/sobjects", headers=headers)
        assert response.status_code == 401
        assert response.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]
    oauth_prefix = emulator_api.http.get(
        "/services/data/v62.0/limits", headers={"Authorization": f"OAuth {emulator_api.token}"}
    )
    assert oauth_prefix.status_code == 200


def test_pretty_print(emulator_api: EmulatorApi) -> None:
    compact = emulator_api.get("limits").text
    pretty = emulator_api.get("limits", headers={"X-PrettyPrint": "1"}).text
    assert "\n" not in compact
    assert "\n  " in pretty
    assert json.loads(pretty)["DailyApiRequests"]["Max"] == 100_000
    # indented and still compressed when the client asks for gzip
    both = emulator_api.get("limits", headers={"X-PrettyPrint": "1", "Accept-Encoding": "gzip"})
    assert both.headers["content-encoding"] == "gzip"
    assert both.headers["content-length"] == str(len(gzip.compress(both.content, 5, mtime=0)))
    assert both.text.startswith('{\n  "')
    assert json.loads(both.text).keys() == json.loads(pretty).keys()


def test_gzip_responses_only_when_asked_and_not_tiny(emulator_api: EmulatorApi) -> None:
    big = emulator_api.get("limits", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert big.headers.get("content-encoding") == "gzip"
    assert big.json()["DailyApiRequests"]["Max"] == 100_000  # httpx decodes
    plain = emulator_api.get("limits", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    tiny = emulator_api.get("limits/recordCount", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in tiny.headers


def test_compressed_request_bodies(emulator_api: EmulatorApi) -> None:
    body = json.dumps({"Name": "Zipped"}).encode()
    for encoding, data in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body))):
        response = emulator_api.post(
            "sobjects/Account",
            content=data,
            headers={"Content-Encoding": encoding, "Content-Type": "application/json"},
        )
        assert response.status_code == 201, response.text
    broken = emulator_api.post("sobjects/Account", content=b"not gzip", headers={"Content-Encoding": "gzip"})
    assert broken.status_code == 400
    assert broken.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_huge_body_is_refused(emulator_api: EmulatorApi) -> None:
    host, port = emulator_api.local.instance_url.removeprefix("http://").split(":")
    request = (
        f"POST /services/data/v62.0/sobjects/Account HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {emulator_api.token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {60 * 1024 * 1024}\r\nConnection: close\r\n\r\n{{"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body)[0]["errorCode"] == "REQUEST_ENTITY_TOO_LARGE"


def test_user_record_via_rest(emulator_api: EmulatorApi) -> None:
    user_id = emulator_api.org.admin_user_id
    body = emulator_api.get(f"sobjects/User/{user_id}").json()
    assert body["Username"] == "admin@kinetic.local"
