"""Every recorded Salesforce response in shared/fixtures is parsed by the client's own methods."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from kinetic_core import HttpSession, KineticError, SalesforceClient, flatten
from kinetic_core.auth import StaticTokenAuth, parse_token_response
from kinetic_core.composite.results import parse_save_results
from kinetic_core.errors import ApiError, AuthenticationError, MultipleRecordsError, SessionExpiredError
from kinetic_core.http.parse import is_invalid_session
from kinetic_core.http.paths import RECORD_ID
from kinetic_core.rest import QueryResult

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "salesforce-responses"
FILES = sorted(FIXTURES.glob("*/*.json")) if FIXTURES.is_dir() else []
INSTANCE = "https://orgname.my.salesforce.com"


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def to_response(resp: dict[str, Any]) -> httpx.Response:
    headers = {
        k: (v if isinstance(v, str) else ", ".join(v))
        for k, v in (resp["headers"] or {}).items()
        if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")
    }
    body = resp["body"]
    if body is None:
        content = b""
    elif isinstance(body, str):
        content = body.encode()
    else:
        content = json.dumps(body).encode()
    return httpx.Response(resp["status"], content=content, headers=headers)


def client_for(fixture: dict[str, Any]) -> tuple[SalesforceClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    last_page = FIXTURES / "restforce" / "sobject__query_paginated_last_page_response.json"

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return to_response(fixture["response"])
        if "/query/" in request.url.path:
            return to_response(load(last_page)["response"])
        return httpx.Response(200, json={"attributes": {"type": "Account"}, "Id": "001D000000INjVeIAH"})

    session = HttpSession(
        StaticTokenAuth(INSTANCE, "00D!token"),
        api_version="62.0",
        transport=httpx.MockTransport(handler),
        sleep=lambda s: None,
    )
    return SalesforceClient(session), seen


def exercise(client: SalesforceClient, method: str, path: str, body: Any) -> Any:
    split = urlsplit(path)
    query = parse_qs(split.query)
    parts = [unquote(p) for p in split.path.split("/") if p][3:]  # after services/data/vXX
    if parts and parts[0] in ("query", "queryAll") and "q" in query:
        result = client.query(query["q"][0])
        return [flatten(r) for r in result]
    if parts and parts[0] in ("query", "queryAll") and len(parts) == 2:
        page = client.http.request("GET", split.path).json()
        return [flatten(r) for r in QueryResult(client.http, page)]
    if parts == ["composite", "sobjects"] or parts[:2] == ["composite", "sobjects"]:
        http = client.http
        resp = http.request(method, "/".join(parts), json=body, retry=method != "POST")
        return parse_save_results(resp.json(), 0, len(body["records"]), create=method == "POST")
    if parts == ["sobjects"]:
        return client.list_objects()
    if len(parts) == 3 and parts[0] == "sobjects" and parts[2] == "describe":
        return client.describe(parts[1])
    if len(parts) == 2 and parts[0] == "sobjects" and method == "POST":
        return client.create(parts[1], body or {})
    if len(parts) == 3 and parts[0] == "sobjects" and method == "GET" and RECORD_ID.fullmatch(parts[2]):
        # (stubs with made-up ids such as "1234" are refused by client.get before sending: they go raw)
        fields = query.get("fields", [""])[0].split(",") if "fields" in query else None
        return client.get(parts[1], parts[2], fields=fields)
    if len(parts) == 3 and parts[0] == "sobjects" and method == "DELETE" and RECORD_ID.fullmatch(parts[2]):
        return client.delete(parts[1], parts[2])
    if len(parts) == 4 and parts[0] == "sobjects" and method == "PATCH":
        return client.upsert(
            parts[1], parts[2], parts[3], {k: v for k, v in (body or {}).items() if k != parts[2]}
        )
    resp = client.http.request(
        method, split.path.replace("vxx.0", "v62.0") + (f"?{split.query}" if split.query else ""), json=body
    )
    return resp.json() if resp.content else None


@pytest.mark.skipif(not FILES, reason="shared/fixtures/salesforce-responses is absent")
@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_fixture_is_parsed(path: Path) -> None:
    fixture = load(path)
    req, resp = fixture["request"], fixture["response"]
    status = resp["status"]
    if req["path"].startswith("/services/oauth2/token"):
        content = json.dumps(resp["body"]).encode()
        if status == 200:
            token = parse_token_response(
                status, content, "https://login.salesforce.com/services/oauth2/token"
            )
            assert token.instance_url.startswith("http")
            assert token.access_token == resp["body"]["access_token"]
            assert "REDACTED" not in repr(token)
        else:
            with pytest.raises(AuthenticationError) as info:
                parse_token_response(status, content, "https://login.salesforce.com/services/oauth2/token")
            assert info.value.error == resp["body"]["error"]
        return
    client, seen = client_for(fixture)
    with client:
        if status == 401:
            assert is_invalid_session(401, json.dumps(resp["body"]).encode())
            with pytest.raises(SessionExpiredError):
                exercise(client, req["method"], req["path"], req["body"])
            return
        if status >= 300:
            with pytest.raises(KineticError) as info:
                exercise(client, req["method"], req["path"], req["body"])
            err = info.value
            if status == 300:
                assert isinstance(err, MultipleRecordsError)
                assert err.urls == resp["body"]
            else:
                assert isinstance(err, ApiError)
                assert err.error_code == resp["body"][0]["errorCode"]
                assert err.message == resp["body"][0]["message"]
            return
        result = exercise(client, req["method"], req["path"], req["body"])
    assert seen[0].method == req["method"]
    body = resp["body"]
    if isinstance(body, dict) and "records" in body and "totalSize" in body:
        assert isinstance(result, list)
        if body.get("done", True):
            assert len(result) == len(body["records"])
        else:
            assert len(result) > len(body["records"])  # the next page was followed
    elif isinstance(body, dict) and "sobjects" in body and isinstance(result, list):
        assert len(result) == len(body["sobjects"])
    elif isinstance(result, list) and result and hasattr(result[0], "success"):
        assert [r.success for r in result] == [item["success"] for item in body]
        assert [r.id for r in result] == [item.get("id") for item in body]
    elif status == 201 and req["method"] == "POST":
        assert result == body["id"]
    elif req["method"] == "PATCH":
        assert result.id
    else:
        assert result is None or result == body
