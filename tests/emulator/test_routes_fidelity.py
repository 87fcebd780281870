"""Fidelity: the emulator answers each recorded Salesforce request it supports with the same shape.

Shape = HTTP status, JSON types and keys. Records (objects with ``attributes``) are compared on the
keys both sides have, since recorded orgs have other fields; every other object must carry all the
recorded keys. Placeholder objects of the recordings (``Whizbang``, ``object``) are mapped onto
standard ones; ids in the recordings are replaced by ids of records created for the test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from kinetic_core.emulator.server import LocalOrg

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "salesforce-responses"

UNSUPPORTED = {
    "cumulusci/composite_subrequest_304_edited.json": (
        "hand-edited: its If-Modified-Since (2020) predates any emulated schema, so the answer is 200;"
        " the 304 sub-response shape is tested in test_routes_related.py"
    ),
    "cumulusci/query_typeof_polymorphic_200.json": "TYPEOF is optional and Task/Event are not emulated",
    "cumulusci/query_child_subquery_200.json": "Opportunities under Contact need OpportunityContactRole",
    "graph-salesforce/describe_groupmember_200.json": "GroupMember is not emulated",
    "graph-salesforce/query_groupmember_200.json": "GroupMember is not emulated",
    "graph-salesforce/query_userrole_200.json": "UserRole is not emulated",
    "restforce/sobject__get_deleted_success_response.json": "getDeleted of the made-up Whizbang object",
    "restforce/sobject__get_updated_success_response.json": "getUpdated of the made-up Whizbang object",
    "restforce/sobject__list_view_results_success_response.json": "list views are not emulated",
    "restforce/sobject__recent_success_response.json": "recently viewed items are not emulated",
    "restforce/sobject__sobject_describe_success_response.json": "describe of the made-up Whizbang object",
    "restforce/sobject__query_aggregate_success_response.json": "Opportunity.CampaignId is not emulated",
    "restforce/sobject__query_success_response.json": "placeholder SOQL with made-up relationships",
}

# Recordings whose stub status is known to differ from the real API (see the fixtures README).
REAL_STATUS = {
    "restforce/sobject__sobject_describe_error_response.json": 404,
    "restforce/sobject__sobject_find_error_response.json": 404,
}

ID_PATTERN = re.compile(r"\b(00[13D][A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?)\b")
SEED_ACCOUNTS = 3


def _fixture_files() -> list[str]:
    if not FIXTURES.is_dir():
        return []
    return sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/*.json"))


@pytest.fixture(scope="module")
def fidelity_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    if not FIXTURES.is_dir():
        pytest.skip(f"{FIXTURES} is absent")
    with LocalOrg(data_dir=tmp_path_factory.mktemp("fidelity")) as org:
        yield org


def _same_shape(expected: Any, actual: Any, where: str = "$") -> list[str]:
    if expected is None or actual is None:
        return []
    if isinstance(expected, bool) or isinstance(actual, bool):
        return (
            []
            if isinstance(expected, bool) and isinstance(actual, bool)
            else [f"{where}: bool vs {actual!r}"]
        )
    if isinstance(expected, int | float):
        return [] if isinstance(actual, int | float) else [f"{where}: number vs {type(actual).__name__}"]
    if isinstance(expected, str):
        return [] if isinstance(actual, str) else [f"{where}: string vs {type(actual).__name__}"]
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: array vs {type(actual).__name__}"]
        if expected and actual:
            return _same_shape(expected[0], actual[0], f"{where}[0]")
        return []
    if not isinstance(actual, dict):
        return [f"{where}: object vs {type(actual).__name__}"]
    problems: list[str] = []
    is_record = "attributes" in expected
    for key, value in expected.items():
        if key not in actual:
            if not is_record:
                problems.append(f"{where}: missing key {key!r}")
            continue
        problems.extend(_same_shape(value, actual[key], f"{where}.{key}"))
    return problems


class Runner:
    """Replays one recording against the emulator, adapting what a fresh org cannot match."""

    def __init__(self, org: LocalOrg, name: str) -> None:
        self.org = org
        self.name = name
        self.http = httpx.Client(base_url=org.instance_url, timeout=30)
        self.token = org.token()
        self.auth = {"Authorization": f"Bearer {self.token}"}
        self.extra_headers: dict[str, str] = {}

    def close(self) -> None:
        self.http.close()

    def create(self, sobject: str, **values: Any) -> str:
        response = self.http.post(f"/services/data/v62.0/sobjects/{sobject}", json=values, headers=self.auth)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def prepare(self, text: str) -> str:
        """Swap recorded ids for ids of fresh records of the same object."""
        org_id = self.org.org.store.org_id

        def swap(m: re.Match[str]) -> str:
            rid = m.group(1)
            if rid.startswith("00D"):
                return org_id
            if rid.startswith("001"):
                return self.create("Account", Name="Fidelity")
            return self.create("Contact", LastName="Fidelity")

        return ID_PATTERN.sub(swap, text.replace("00D0xORGID00000000", org_id))

    def oauth(self, fixture: dict[str, Any]) -> httpx.Response:
        o = self.org
        base = {"client_id": o.client_id, "client_secret": o.client_secret}
        password = {**base, "grant_type": "password", "username": o.username, "password": o.password}
        if fixture["response"]["status"] == 200:
            if "refresh" in self.name:
                # Only the web-server (authorization code) flow issues refresh tokens.
                callback = "http://localhost:1717/OauthRedirect"
                approved = self.http.post(
                    "/services/oauth2/authorize",
                    data={
                        "response_type": "code",
                        "client_id": o.client_id,
                        "redirect_uri": callback,
                        "username": o.username,
                        "password": o.password,
                        "action": "approve",
                    },
                )
                code = httpx.URL(approved.headers["location"]).params["code"]
                exchange = {
                    **base,
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": callback,
                }
                first = self.http.post("/services/oauth2/token", data=exchange)
                refresh = {
                    **base,
                    "grant_type": "refresh_token",
                    "refresh_token": first.json()["refresh_token"],
                }
                return self.http.post("/services/oauth2/token", data=refresh)
            return self.http.post("/services/oauth2/token", data=password)
        if "refresh" in self.name:
            return self.http.post(
                "/services/oauth2/token", data={**base, "grant_type": "refresh_token", "refresh_token": "x"}
            )
        if "client_id" in self.name:
            return self.http.post("/services/oauth2/token", data={**password, "client_id": "nope"})
        return self.http.post("/services/oauth2/token", data={**password, "password": "wrong"})

    def send(self, fixture: dict[str, Any]) -> httpx.Response:
        request = fixture["request"]
        method, path, body = request["method"], request["path"], request["body"]
        if path.startswith("/services/oauth2/token"):
            return self.oauth(fixture)
        version = "v45.0" if self.name.endswith("upsert_updated_success_response.json") else "v62.0"
        path = re.sub(r"/v(xx|\d+)\.0", f"/{version}", path)
        headers = dict(self.auth)
        if fixture["response"]["status"] == 401:
            headers = (
                {"Authorization": "Bearer expired"} if "expired" in self.name or "before" in self.name else {}
            )
        if body is not None:
            body = json.loads(re.sub(r"/v(xx|\d+)\.0/", "/v62.0/", json.dumps(body)))
        path, body = self.adapt(path, body)
        if fixture["request"].get("_substitute_ids", True) and "delete_error" not in self.name:
            path = self.prepare(path)
            if body is not None:
                body = json.loads(self.prepare(json.dumps(body)))
        headers.update(self.extra_headers)
        content = json.dumps(body).encode() if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        return self.http.request(method, path, content=content, headers=headers)

    def adapt(self, path: str, body: Any) -> tuple[str, Any]:
        """Map placeholder objects, fields and queries of the recordings onto the emulated schema."""
        n = self.name
        if "search_success" in n:  # the recording is the pre-v36 bare array, and finds two records
            path = path.replace("/v62.0/", "/v35.0/")
            for _ in range(2):
                self.create("Account", Name="bar")
        if "sobject__create_success" in n:
            body = {"Name": "Foobar"}
        if "write_error" in n:
            path = path.replace("Whizbang", "Account")
        if "upsert_error" in n:
            path = path.replace("Whizbang", "Account")
        if "upsert_multiple" in n:
            for _ in range(2):
                self.create("Contact", LastName="Twin", Email="ambiguous@example.com")
            path = path.replace("Whizbang/Name/ambiguous", "Contact/Email/ambiguous@example.com")
            body = {"LastName": "Twin"}
        if "upsert_created" in n or "upsert_updated" in n:
            path = path.replace(
                "External__c/foobar", "External_Id__c/" + ("new-key" if "created" in n else "old-key")
            )
            if "updated" in n:
                self.http.patch(
                    "/services/data/v62.0/sobjects/Account/External_Id__c/old-key",
                    json={"Name": "x"},
                    headers=self.auth,
                )
            body = {"Name": "Upserted"}
        if "sobject_find_error" in n:
            path = path.replace("Whizbang", "Account")
        if "sobject_select_success" in n:
            rid = self.create("Account", Name="Select", External_Id__c="sel-1")
            path = f"/services/data/v62.0/sobjects/Account/{rid}?fields=External_Id__c"
        if "sobject_find_success" in n:
            path = path.replace("001D000000INjVe", self.create("Account", Name="Find"))
        if "query_empty_response" in n:
            path = "/services/data/v62.0/query?q=" + quote("SELECT Name FROM Account WHERE Name = 'no such'")
        if "query_error_response" in n:
            path = path.replace("Whizbang", "Account")
        if "query_paginated" in n or "expired_session" in n:
            for start in range(0, 250, 200):
                records = [
                    {"attributes": {"type": "Account"}, "Name": f"P{i}"}
                    for i in range(start, min(250, start + 200))
                ]
                self.http.post(
                    "/services/data/v62.0/composite/sobjects", json={"records": records}, headers=self.auth
                )
            path = "/services/data/v62.0/query?q=" + quote("SELECT Id, Name FROM Account")
            if "first_page" in n:
                self.extra_headers["Sforce-Query-Options"] = "batchSize=200"
            if "last_page" in n:
                first = self.http.get(
                    path, headers={**self.auth, "Sforce-Query-Options": "batchSize=200"}
                ).json()
                path = first["nextRecordsUrl"]
        if "limits_record_count_200" in n or "query_simple" in n or "composite_queries" in n:
            self.create("Account", Name="Counted")
        return path, body


@pytest.mark.parametrize("name", _fixture_files() or ["absent"])
def test_emulator_matches_recorded_shape(fidelity_org: LocalOrg, name: str) -> None:
    if name in UNSUPPORTED:
        pytest.skip(f"unsupported by the emulator: {UNSUPPORTED[name]}")
    fixture = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    fidelity_org.admin("reset")
    runner = Runner(fidelity_org, name)
    try:
        response = runner.send(fixture)
    finally:
        runner.close()
    expected_status = REAL_STATUS.get(name, fixture["response"]["status"])
    assert response.status_code == expected_status, response.text
    expected = fixture["response"]["body"]
    if expected is None or response.status_code == 204:
        assert response.content == b""
        return
    problems = _same_shape(expected, response.json())
    print("DEBUG", response.request.url, response.request.headers, response.text[:200])
    assert not problems, problems
