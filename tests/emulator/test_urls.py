"""The URL table drives routing, composite dispatch and statistics: every endpoint is reachable over HTTP,
every endpoint marked as a sub-request answers in /composite or /composite/batch (and no other does),
statistics count requests by the table's kinds, and the service layer knows no HTTP."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from kinetic_core.emulator import service
from kinetic_core.emulator.routing import Endpoint, Sub
from kinetic_core.emulator.urls import url_table

if TYPE_CHECKING:
    from conftest import EmulatorApi

UNROUTED = "not supported by this emulator"


def _concrete(endpoint: Endpoint, ids: dict[str, str]) -> str:
    """The endpoint's path template with a real value for each parameter."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: ids[m.group(1)], endpoint.path)


@pytest.fixture
def ids(emulator_api: EmulatorApi) -> dict[str, str]:
    account = emulator_api.create("Account", Name="Table Co")
    org = emulator_api.org
    return {
        "ver": "62.0",
        "sobject": "Account",
        "rid": account,
        "field": "Id",
        "value": account,
        "locator": "01gNoSuchLocator-2000",
        "job_id": "7508c00000AbCdEAAV",
        "batch_id": "7518c00000AbCdEAAV",
        "result_id": "7528c00000AbCdEAAV",
        "result": "successfulResults",
        "org_id": org.store.org_id,
        "user_id": org.admin_user_id,
        "rest": "nowhere",
    }


def _is_unrouted(response: httpx.Response) -> bool:
    """The router's own answer: 404 naming the emulator, or 405 with the route's ``Allow`` list."""
    if response.status_code == 405 and "allow" in response.headers:
        return True
    if response.status_code != 404 or "json" not in response.headers.get("content-type", ""):
        return False
    body = response.json()
    return isinstance(body, list) and UNROUTED in str(body[0].get("message", ""))


def test_every_endpoint_of_the_table_is_reachable(emulator_api: EmulatorApi, ids: dict[str, str]) -> None:
    table = url_table()
    assert len(table.endpoints) == len(table.routes())
    headers = {**emulator_api.auth, "X-SFDC-Session": emulator_api.token}
    for endpoint in table.endpoints:
        path = _concrete(endpoint, ids)
        for method in endpoint.methods:
            if endpoint.path.endswith("/reset") or (method == "DELETE" and "{rid}" in endpoint.path):
                continue  # reachable, but it would wipe the records the other endpoints use
            response = emulator_api.http.request(method, path, headers=headers)
            assert not _is_unrouted(response), (method, path, response.status_code, response.text[:200])
            assert response.status_code < 500 or endpoint.kind == "soap", (method, path, response.text[:200])


def _sub_url(endpoint: Endpoint, ids: dict[str, str]) -> str:
    url = _concrete(endpoint, ids)
    if endpoint.path.endswith(("/search", "/query", "/queryAll")):
        url += "?q=" + ("FIND {Table}" if endpoint.path.endswith("/search") else "SELECT Id FROM Account")
    return url


def _composite(api: EmulatorApi, method: str, url: str) -> dict[str, Any]:
    sub = {"method": method, "url": url, "referenceId": "r"}
    if method in ("POST", "PATCH"):
        sub["body"] = {"Name": "Sub Co"} if "/composite/" not in url else {"records": []}
    response = api.post("composite", json={"compositeRequest": [sub]})
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()["compositeResponse"][0]
    return reply


def _batch(api: EmulatorApi, method: str, url: str) -> dict[str, Any]:
    sub: dict[str, Any] = {"method": method, "url": url.removeprefix("/services/data/")}
    if method in ("POST", "PATCH"):
        sub["richInput"] = {"Name": "Sub Co"}
    response = api.post("composite/batch", json={"batchRequests": [sub]})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["results"][0]
    return result


def _refused(status: int, body: Any) -> bool:
    return status == 404 and isinstance(body, list) and "in a composite" in str(body[0].get("message"))


@pytest.mark.parametrize("via", [Sub.COMPOSITE, Sub.BATCH])
def test_sub_requests_reach_exactly_the_endpoints_the_table_marks(
    emulator_api: EmulatorApi, ids: dict[str, str], via: Sub
) -> None:
    served = refused = 0
    for endpoint in url_table().endpoints:
        if not endpoint.path.startswith("/services/data/v{ver}"):
            continue
        url = _sub_url(endpoint, ids)
        for method in endpoint.methods:
            if method == "DELETE" or method not in ("GET", "POST", "PATCH", "PUT", "DELETE"):
                continue  # keep the record the other sub-requests read
            if via is Sub.COMPOSITE:
                reply = _composite(emulator_api, method, url)
                status, body = reply["httpStatusCode"], reply["body"]
            else:
                result = _batch(emulator_api, method, url)
                status, body = result["statusCode"], result["result"]
            if endpoint.sub & via:
                assert not _refused(status, body), (method, url, body)
                assert status < 500, (method, url, body)
                served += 1
            else:
                assert _refused(status, body), (method, url, status, body)
                refused += 1
    assert served >= 10
    assert refused >= 10


def test_statistics_count_requests_by_the_tables_kinds(emulator_api: EmulatorApi) -> None:
    emulator_api.local.admin("reset")
    table = url_table()
    sent: Counter[str] = Counter()
    paths = {
        "/services/data/v62.0/sobjects/Account": "sobjects",
        "/services/data/v62.0/query?q=SELECT+Id+FROM+Account": "query",
        "/services/data/v62.0/search?q=FIND+%7BTable%7D": "search",
        "/services/data/v62.0/limits": "limits",
        "/services/data/v62.0/composite": "composite",
        "/services/data/v62.0/jobs/ingest": "bulk_ingest",
        "/services/data/v62.0/jobs/query": "bulk_query",
        "/services/async/62.0/job/750000000000000": "bulk_v1",
        "/services/data": "versions",
        "/services/data/v62.0": "resources",
        "/services/data/v62.0/no/such/thing": "other",
    }
    for path, kind in paths.items():
        assert table.kind_of(path.split("?")[0]) == kind
        for _ in range(2 if kind == "query" else 1):
            emulator_api.http.get(path, headers=emulator_api.auth)
            sent[kind] += 1
    counts = emulator_api.local.admin("stats")["requests"]
    for kind, number in sent.items():
        assert counts.get(kind) == number, (kind, counts)


def test_the_service_layer_imports_no_http() -> None:
    package = Path(service.__file__).parent
    for source in sorted(package.glob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                root = name.split(".")[0]
                assert root not in ("starlette", "httpx", "uvicorn"), (source.name, name)
                assert not name.startswith("kinetic_core.emulator.routes"), (source.name, name)
                assert not name.startswith("kinetic_core.emulator.routing"), (source.name, name)


def test_an_endpoint_needs_a_handler_or_an_operation() -> None:
    with pytest.raises(ValueError, match="handler or an operation"):
        Endpoint("/x", ("GET",), "other")
    with pytest.raises(ValueError, match="needs an operation"):
        Endpoint("/x", ("GET",), "other", handler=_never, sub=Sub.BATCH)


async def _never(request: Any) -> Any:  # pragma: no cover - only its presence matters
    raise AssertionError
