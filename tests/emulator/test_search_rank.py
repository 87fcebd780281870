"""SOSL results in relevance order (the emulator's documented rule), and SOSL as a /composite/batch
sub-request (Salesforce lists Search among batchable resources, not among /composite's)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kinetic_core.emulator.app import create_app
from kinetic_core.emulator.org import Org, OrgSettings

with warnings.catch_warnings():  # this Starlette release deprecates TestClient on plain httpx
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


class Clock:
    """A clock the test moves by hand, so 'most recently modified' is never a tie."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class Api:
    def __init__(self, org: Org, client: TestClient) -> None:
        self.org = org
        self.client = client
        token = org.tokens.issue_access(org.admin_user_id, "admin@kinetic.local", "api", ttl_seconds=3600)
        self.auth = {"Authorization": f"Bearer {token.token}"}

    def request(self, method: str, suffix: str, **kw: Any) -> httpx.Response:
        return self.client.request(method, f"/services/data/v62.0/{suffix}", headers=self.auth, **kw)

    def create(self, sobject: str, **values: Any) -> str:
        response = self.request("POST", f"sobjects/{sobject}", json=values)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def names(self, sosl: str) -> list[str]:
        response = self.request("GET", "search", params={"q": sosl})
        assert response.status_code == 200, response.text
        return [r["Name"] for r in response.json()["searchRecords"]]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    org = Org(OrgSettings(data_dir=tmp_path), clock=Clock(), sleep=lambda _s: None)
    try:
        with TestClient(create_app(org), base_url=org.base_url) as client:
            yield Api(org, client)
    finally:
        org.close()


def test_more_occurrences_of_the_search_words_rank_first(api: Api) -> None:
    api.create("Account", Name="Acme One")
    api.create("Account", Name="Acme Acme", Description="acme everywhere")
    api.create("Account", Name="Acme Two", Description="acme")
    assert api.names("FIND {acme} RETURNING Account(Name)") == ["Acme Acme", "Acme Two", "Acme One"]
    # two search words: a record with both outranks records with one
    api.create("Account", Name="Rocket Skates")
    api.create("Account", Name="Acme Rocket")
    assert api.names("FIND {rocket OR skates} RETURNING Account(Name)")[0] == "Rocket Skates"


def test_owned_then_recently_modified_break_ties(api: Api) -> None:
    other = api.org.store.seed_user("other@kinetic.local", profile="Standard User")
    first = api.create("Account", Name="Tie First")
    api.create("Account", Name="Tie Second")
    third = api.create("Account", Name="Tie Third")
    api.org.store.update("Account", third, {"OwnerId": other}, user_id=api.org.admin_user_id)
    # equal hits: the caller's own records first, the most recently modified of them first
    assert api.names("FIND {tie} RETURNING Account(Name)") == ["Tie Second", "Tie First", "Tie Third"]
    assert api.request("PATCH", f"sobjects/Account/{first}", json={"Phone": "1"}).status_code == 204
    assert api.names("FIND {tie} RETURNING Account(Name)") == ["Tie First", "Tie Second", "Tie Third"]


def test_limit_and_offset_apply_after_ranking_and_order_by_overrides_it(api: Api) -> None:
    for name in ("Zed Acme", "Acme Acme Acme", "Bob Acme Acme"):
        api.create("Account", Name=name)
    assert api.names("FIND {acme} RETURNING Account(Name LIMIT 2)") == ["Acme Acme Acme", "Bob Acme Acme"]
    assert api.names("FIND {acme} RETURNING Account(Name LIMIT 1 OFFSET 1)") == ["Bob Acme Acme"]
    ordered = api.names("FIND {acme} RETURNING Account(Name ORDER BY Name)")
    assert ordered == ["Acme Acme Acme", "Bob Acme Acme", "Zed Acme"]


def test_search_as_a_composite_batch_sub_request(api: Api) -> None:
    api.create("Account", Name="Batch Acme")
    body = {
        "batchRequests": [
            {"method": "GET", "url": "v62.0/search?q=FIND+%7Bacme%7D+RETURNING+Account(Name)"},
            {"method": "GET", "url": "v62.0/search?q=FIND"},
        ]
    }
    response = api.request("POST", "composite/batch", json=body)
    assert response.status_code == 200, response.text
    found, bad = response.json()["results"]
    assert found["statusCode"] == 200
    assert [r["Name"] for r in found["result"]["searchRecords"]] == ["Batch Acme"]
    assert bad["statusCode"] == 400
    assert bad["result"][0]["errorCode"] == "MALFORMED_SEARCH"


def test_search_is_not_a_composite_sub_request(api: Api) -> None:
    sub = {"method": "GET", "url": "/services/data/v62.0/search?q=FIND+%7Bacme%7D", "referenceId": "s"}
    response = api.request("POST", "composite", json={"compositeRequest": [sub]})
    [reply] = response.json()["compositeResponse"]
    assert reply["httpStatusCode"] == 404
    assert "not supported by this emulator in a composite request" in reply["body"][0]["message"]
