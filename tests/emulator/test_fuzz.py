"""Property test: random methods, paths and bodies never produce a 5xx or a non-Salesforce error body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinetic_core.emulator.server import LocalOrg

TEMPLATES = [
    "/services/data",
    "/services/data/v{ver}",
    "/services/data/v{ver}/sobjects",
    "/services/data/v{ver}/sobjects/{obj}",
    "/services/data/v{ver}/sobjects/{obj}/describe",
    "/services/data/v{ver}/sobjects/{obj}/{seg}",
    "/services/data/v{ver}/sobjects/{obj}/{seg}/{seg}",
    "/services/data/v{ver}/query",
    "/services/data/v{ver}/queryAll",
    "/services/data/v{ver}/query/{seg}",
    "/services/data/v{ver}/limits",
    "/services/data/v{ver}/limits/recordCount",
    "/services/data/v{ver}/composite",
    "/services/data/v{ver}/composite/batch",
    "/services/data/v{ver}/composite/tree/{obj}",
    "/services/data/v{ver}/composite/sobjects",
    "/services/data/v{ver}/composite/sobjects/{obj}",
    "/services/data/v{ver}/composite/sobjects/{obj}/{seg}",
    "/services/data/v{ver}/jobs/ingest",
    "/services/data/v{ver}/jobs/ingest/{seg}",
    "/services/data/v{ver}/jobs/ingest/{seg}/batches",
    "/services/data/v{ver}/jobs/query",
    "/services/data/v{ver}/jobs/query/{seg}/results",
    "/services/oauth2/token",
    "/services/oauth2/userinfo",
    "/services/oauth2/revoke",
    "/id/{seg}/{seg}",
    "/{seg}",
    "/_emulator/stats",
]

segment = st.one_of(
    st.sampled_from(["Id", "External_Id__c", "Name", "0018c0000000001AAA", "001", "describe", "x" * 300]),
    st.text(alphabet="abcXYZ019_-.%", min_size=1, max_size=20),
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
record = st.fixed_dictionaries(
    {"attributes": st.just({"type": "Account"})},
    optional={"Name": st.text(max_size=30) | st.integers(), "NumberOfEmployees": json_value, "Id": segment},
)
bodies = st.one_of(
    st.none(),
    st.binary(max_size=64),
    json_value.map(lambda v: json.dumps(v).encode()),
    record.map(lambda r: json.dumps(r).encode()),
    st.lists(record, max_size=3).map(lambda rs: json.dumps({"records": rs, "allOrNone": True}).encode()),
)


@pytest.fixture(scope="module")
def fuzz_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalOrg, httpx.Client]]:
    with LocalOrg(data_dir=Path(tmp_path_factory.mktemp("fuzz"))) as org:
        token = org.token()
        with httpx.Client(
            base_url=org.instance_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            yield org, client


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"]),
    template=st.sampled_from(TEMPLATES),
    ver=st.sampled_from(["62.0", "31.0", "20.0", "abc", "66.0", "99.0"]),
    obj=st.sampled_from(["Account", "contact", "Nope__c", "User"]),
    segs=st.lists(segment, min_size=2, max_size=2),
    body=bodies,
    query=st.sampled_from(
        ["", "?q=SELECT+Id+FROM+Account", "?q=garbage", "?ids=001,002&fields=Name", "?_HttpMethod=PATCH"]
    ),
)
def test_random_requests_never_fail_badly(
    fuzz_org: tuple[LocalOrg, httpx.Client],
    method: str,
    template: str,
    ver: str,
    obj: str,
    segs: list[str],
    body: bytes | None,
    query: str,
) -> None:
    _, client = fuzz_org
    path = template.replace("{ver}", ver).replace("{obj}", obj)
    path = path.replace("{seg}", segs[0], 1).replace("{seg}", segs[1], 1)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    response = client.request(method, path + query, content=body, headers=headers)
    assert response.status_code < 500, (method, path, response.text)
    if response.status_code < 400 or method == "HEAD":
        return
    payload = response.json()
    if isinstance(payload, dict) and path.startswith(("/services/oauth2/token", "/services/oauth2/revoke")):
        assert set(payload) == {"error", "error_description"}
        return
    if "/jobs/" in path and isinstance(payload, list):
        assert all("errorCode" in e and "message" in e for e in payload)
        return
    assert isinstance(payload, list), payload
    assert payload
    for item in payload:
        assert isinstance(item["message"], str)
        assert isinstance(item["errorCode"], str)
