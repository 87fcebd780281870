"""An in-memory Salesforce behind ``httpx.MockTransport`` for the client's unit tests (helpers only)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from kinetic_core import HttpSession, SalesforceClient
from kinetic_core.auth import PasswordAuth, StaticTokenAuth
from kinetic_core.http import RetryPolicy

INSTANCE = "https://acme.my.salesforce.com"
LOGIN = "https://login.salesforce.com"
SECRETS = {
    "password": "Pa55-canary-password",
    "security_token": "TOKENcanary123",
    "client_secret": "client-secret-canary",
}
PREFIX = {"Account": "001", "Contact": "003", "Lead": "00Q"}


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> httpx.Response:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields:
        body["fields"] = fields
    return httpx.Response(status, json=[body])


@dataclass
class Fault:
    """One injected fault: ``when`` 'before' answers/raises without processing; 'after' processes and then
    raises (the answer is lost). ``match`` selects requests by method and path regex."""

    result: httpx.Response | Exception
    when: str = "before"
    method: str | None = None
    path: str = ""
    times: int = 1


@dataclass
class FakeSalesforce:
    page_size: int = 2
    api_max: int = 15000
    valid_tokens: set[str] = field(default_factory=set)
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    token_headers: list[dict[str, str]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    api_used: int = 0
    tokens_issued: int = 0
    token_delay: Callable[[], None] | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)

    # ------------------------------------------------------------------ helpers
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def expire_tokens(self) -> None:
        with self.lock:
            self.valid_tokens.clear()

    def add(self, sobject: str, **values: Any) -> str:
        with self.lock:
            table = self.records.setdefault(sobject, {})
            rid = f"{PREFIX.get(sobject, 'a00')}{len(table) + 1:012d}AAA"
            table[rid] = {"Id": rid, **values}
            return rid

    def count(self, sobject: str) -> int:
        return len(self.records.get(sobject, {}))

    def count_calls(self, method: str, pattern: str) -> int:
        return sum(1 for m, p in self.calls if m == method and re.search(pattern, p))

    def _fault_for(self, request: httpx.Request) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method and fault.method != request.method:
                    continue
                if fault.path and not re.search(fault.path, request.url.path):
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    # ------------------------------------------------------------------ dispatch
    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.calls.append((request.method, request.url.raw_path.decode().split("?")[0]))
        fault = self._fault_for(request)
        if fault is not None and fault.when == "before":
            if isinstance(fault.result, Exception):
                raise fault.result
            return fault.result
        response = self._dispatch(request)
        if fault is not None:
            assert isinstance(fault.result, Exception)
            raise fault.result
        return response

    def _dispatch(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().split("?")[0]
        if path == "/services/oauth2/token":
            return self._token(request)
        auth = request.headers.get("authorization", "")
        with self.lock:
            if not auth.startswith("Bearer ") or auth[7:] not in self.valid_tokens:
                return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            self.api_used += 1
            headers = {"Sforce-Limit-Info": f"api-usage={self.api_used}/{self.api_max}"}
        match = re.fullmatch(r"/services/data/v[\d.]+/(.*)", path)
        if not match:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        resp = self._route(request, match.group(1).rstrip("/"))
        resp.headers.update(headers)
        return resp

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        with self.lock:
            self.token_requests.append(form)
            self.token_headers.append(dict(request.headers))
        if self.token_delay:
            self.token_delay()
        if (
            form.get("grant_type") == "password"
            and form.get("password") != SECRETS["password"] + SECRETS["security_token"]
        ):
            return httpx.Response(
                400, json={"error": "invalid_grant", "error_description": "authentication failure"}
            )
        with self.lock:
            self.tokens_issued += 1
            token = f"00Dfake!token-{self.tokens_issued}"
            self.valid_tokens.add(token)
        return httpx.Response(
            200,
            json={
                "access_token": token,
                "instance_url": INSTANCE,
                "id": f"{LOGIN}/id/00Dxx0000001gEREAY/005xx000001SwiUAAS",
                "token_type": "Bearer",
                "issued_at": "1700000000000",
                "signature": "sig",
            },
        )

    def _route(self, request: httpx.Request, rest: str) -> httpx.Response:
        m = request.method
        body = json.loads(request.content) if request.content else None
        parts = [unquote(p) for p in rest.split("/")]
        with self.lock:
            if parts == ["limits"]:
                return httpx.Response(
                    200, json={"DailyApiRequests": {"Max": self.api_max, "Remaining": 14000}}
                )
            if parts == ["sobjects"]:
                return httpx.Response(
                    200,
                    json={
                        "encoding": "UTF-8",
                        "maxBatchSize": 200,
                        "sobjects": [{"name": n} for n in PREFIX],
                    },
                )
            if parts[0] in ("query", "queryAll"):
                return self._query(request, parts)
            if parts[:2] == ["composite", "sobjects"]:
                return self._collections(m, parts[2:], body, request)
            if parts[0] == "sobjects" and len(parts) >= 2:
                return self._sobject(m, parts[1:], body, request)
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")

    def _sobject(self, m: str, parts: list[str], body: Any, request: httpx.Request) -> httpx.Response:
        sobject = parts[0]
        if sobject not in PREFIX:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        table = self.records.setdefault(sobject, {})
        if len(parts) == 1 and m == "POST":
            if "Name" not in body and sobject == "Account":
                return sf_error(
                    400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"]
                )
            rid = self.add(sobject, **body)
            return httpx.Response(201, json={"id": rid, "success": True, "errors": []})
        if parts[1:] == ["describe"]:
            return httpx.Response(200, json={"name": sobject, "fields": [{"name": "Id"}, {"name": "Name"}]})
        if len(parts) == 2:
            rid = parts[1]
            if rid not in table:
                return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
            if m == "GET":
                rec = table[rid]
                fields = request.url.params.get("fields")
                if fields:
                    rec = {k: v for k, v in rec.items() if k in fields.split(",")}
                return httpx.Response(200, json={"attributes": {"type": sobject}, **rec})
            if m == "PATCH":
                table[rid].update(body)
                return httpx.Response(204)
            if m == "DELETE":
                del table[rid]
                return httpx.Response(204)
        if len(parts) == 3:
            fld, value = parts[1], parts[2]
            matches = [r for r in table.values() if str(r.get(fld)) == value]
            if len(matches) > 1:
                return httpx.Response(
                    300, json=[f"/services/data/v62.0/sobjects/{sobject}/{r['Id']}" for r in matches]
                )
            if m == "GET":
                if not matches:
                    return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
                return httpx.Response(200, json={"attributes": {"type": sobject}, **matches[0]})
            if m == "PATCH":
                if matches:
                    matches[0].update(body)
                    return httpx.Response(
                        200, json={"id": matches[0]["Id"], "success": True, "errors": [], "created": False}
                    )
                rid = self.add(sobject, **{fld: value, **body})
                return httpx.Response(201, json={"id": rid, "success": True, "errors": [], "created": True})
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")

    def _query(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        if len(parts) == 2:
            sobject, offset = parts[1].rsplit("-", 1)
            return self._page(sobject.removeprefix("01gLOC"), int(offset))
        soql = request.url.params.get("q", "")
        found = re.search(r"FROM\s+(\w+)", soql, re.I)
        if not found:
            return sf_error(400, "MALFORMED_QUERY", "unexpected token")
        sobject = found.group(1)
        if sobject not in PREFIX:
            return sf_error(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        if "COUNT()" in soql.upper():
            return httpx.Response(200, json={"totalSize": self.count(sobject), "done": True, "records": []})
        return self._page(sobject, 0)

    def _page(self, sobject: str, offset: int) -> httpx.Response:
        rows = list(self.records.get(sobject, {}).values())
        page = rows[offset : offset + self.page_size]
        body: dict[str, Any] = {
            "totalSize": len(rows),
            "done": offset + self.page_size >= len(rows),
            "records": [{"attributes": {"type": sobject}, **r} for r in page],
        }
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/v62.0/query/01gLOC{sobject}-{offset + self.page_size}"
        return httpx.Response(200, json=body)

    def _collections(self, m: str, parts: list[str], body: Any, request: httpx.Request) -> httpx.Response:
        results: list[dict[str, Any]] = []
        if m == "DELETE":
            for rid in request.url.params.get("ids", "").split(","):
                table = next((t for t in self.records.values() if rid in t), None)
                if table is None:
                    results.append(
                        {
                            "success": False,
                            "errors": [
                                {
                                    "statusCode": "ENTITY_IS_DELETED",
                                    "message": "entity is deleted",
                                    "fields": [],
                                }
                            ],
                        }
                    )
                else:
                    del table[rid]
                    results.append({"id": rid, "success": True, "errors": []})
            return httpx.Response(200, json=results)
        if len(body["records"]) > 200:
            return sf_error(
                400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records"
            )
        for rec in body["records"]:
            sobject = rec["attributes"]["type"]
            values = {k: v for k, v in rec.items() if k != "attributes"}
            if m == "POST":
                if not values.get("Name") and sobject == "Account":
                    results.append(
                        {
                            "success": False,
                            "errors": [
                                {
                                    "statusCode": "REQUIRED_FIELD_MISSING",
                                    "message": "Required fields are missing: [Name]",
                                    "fields": ["Name"],
                                }
                            ],
                        }
                    )
                else:
                    results.append({"id": self.add(sobject, **values), "success": True, "errors": []})
            elif m == "PATCH" and not parts:
                table = self.records.get(sobject, {})
                rid = values.pop("Id")
                if rid in table:
                    table[rid].update(values)
                    results.append({"id": rid, "success": True, "errors": []})
                else:
                    results.append(
                        {
                            "success": False,
                            "errors": [{"statusCode": "MALFORMED_ID", "message": "bad id", "fields": ["Id"]}],
                        }
                    )
            else:
                ext = parts[1]
                table = self.records.setdefault(parts[0], {})
                match = next((r for r in table.values() if r.get(ext) == values.get(ext)), None)
                if match:
                    match.update(values)
                    results.append({"id": match["Id"], "success": True, "errors": [], "created": False})
                else:
                    results.append(
                        {"id": self.add(parts[0], **values), "success": True, "errors": [], "created": True}
                    )
        return httpx.Response(200, json=results)


class FakeClock:
    """A clock that only moves when ``sleep`` is called; records every sleep."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def password_session(fake: FakeSalesforce, clock: FakeClock | None = None, **kwargs: Any) -> HttpSession:
    clock = clock or FakeClock()
    auth = PasswordAuth(
        LOGIN,
        "client-id",
        SECRETS["client_secret"],
        "me@acme.com",
        SECRETS["password"],
        SECRETS["security_token"],
    )
    kwargs.setdefault("retry", RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0))
    return HttpSession(auth, transport=fake.transport(), clock=clock.time, sleep=clock.sleep, **kwargs)


def static_session(fake: FakeSalesforce, token: str = "00Dfake!static") -> HttpSession:
    fake.valid_tokens.add(token)
    clock = FakeClock()
    return HttpSession(
        StaticTokenAuth(INSTANCE, token), transport=fake.transport(), clock=clock.time, sleep=clock.sleep
    )


def fake_client(fake: FakeSalesforce, clock: FakeClock | None = None, **kwargs: Any) -> SalesforceClient:
    return SalesforceClient(password_session(fake, clock, **kwargs))
