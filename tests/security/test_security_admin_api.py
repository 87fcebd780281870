"""No web page can drive the emulator: the admin API needs the data dir's token and refuses browser
``Origin``s, and every route refuses a ``Host`` that is not the server's own (DNS rebinding)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from kinetic_core.emulator.server import LocalOrg


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    with LocalOrg(data_dir=tmp_path_factory.mktemp("admin") / "org") as running:
        _seed(running)
        yield running


def _records(org: LocalOrg) -> int:
    return int(org.admin("stats")["records"]["Account"])


def _seed(org: LocalOrg) -> None:
    token = org.token()
    url = f"{org.instance_url}/services/data/v{org.api_version}/sobjects/Account"
    response = httpx.post(url, json={"Name": "keep me"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text


# What a page can send without a CORS preflight: form or text/plain bodies, no custom headers.
BROWSER_REQUESTS = [
    ("POST", "reset", {"Content-Type": "text/plain"}, b""),
    ("POST", "reset", {"Content-Type": "application/x-www-form-urlencoded"}, b"a=b"),
    ("POST", "faults", {"Content-Type": "text/plain"}, b'{"error_rate": 1.0}'),
    ("POST", "faults", {"Content-Type": "application/x-www-form-urlencoded"}, b'{"error_rate": 1.0}'),
    ("GET", "stats", {}, b""),
    ("GET", "faults", {}, b""),
]


@pytest.mark.parametrize("origin", [None, "https://evil.example", "null"])
@pytest.mark.parametrize(("method", "path", "headers", "body"), BROWSER_REQUESTS)
def test_the_admin_api_refuses_requests_without_the_token(
    org: LocalOrg, method: str, path: str, headers: dict[str, str], body: bytes, origin: str | None
) -> None:
    before = _records(org)
    assert before > 0
    extra = {"Origin": origin} if origin else {}
    response = httpx.request(
        method, f"{org.instance_url}/_emulator/{path}", headers={**headers, **extra}, content=body, timeout=10
    )
    assert response.status_code == 403, response.text
    assert response.json()[0]["errorCode"] == "INSUFFICIENT_ACCESS"
    assert _records(org) == before  # nothing was reset
    assert org.admin("faults")["config"]["error_rate"] == 0.0  # no fault was set


def test_a_wrong_token_is_refused(org: LocalOrg) -> None:
    for token in ("", "x", org.admin_token[:-1], org.admin_token + "x", "é" * 10):
        response = httpx.get(
            f"{org.instance_url}/_emulator/stats",
            headers={"X-Kinetic-Admin-Token": token.encode("utf-8")},
            timeout=10,
        )
        assert response.status_code == 403, token


def test_even_the_token_is_refused_from_a_web_page(org: LocalOrg) -> None:
    response = httpx.post(
        f"{org.instance_url}/_emulator/faults",
        json={"error_rate": 1.0},
        headers={**org.admin_headers, "Origin": f"{org.instance_url}"},
        timeout=10,
    )
    assert response.status_code == 403
    assert org.admin("faults")["config"]["error_rate"] == 0.0


def test_the_token_is_in_emulator_json_and_works(org: LocalOrg) -> None:
    info = json.loads((org.data_dir / "emulator.json").read_text(encoding="utf-8"))
    assert info["admin_token"] == org.admin_token
    assert len(org.admin_token) >= 32
    response = httpx.get(
        f"{org.instance_url}/_emulator/stats",
        headers={"X-Kinetic-Admin-Token": info["admin_token"]},
        timeout=10,
    )
    assert response.status_code == 200
    assert org.admin("faults", {"latency_ms": 1})["config"]["latency_ms"] == 1
    org.admin("faults", {})


def test_each_data_dir_has_its_own_token(tmp_path: Path, org: LocalOrg) -> None:
    with LocalOrg(data_dir=tmp_path / "other") as other:
        assert other.admin_token != org.admin_token
        stolen = httpx.get(f"{other.instance_url}/_emulator/stats", headers=org.admin_headers, timeout=10)
        assert stolen.status_code == 403


def _port(org: LocalOrg) -> int:
    port = urlsplit(org.instance_url).port
    assert port is not None
    return port


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:{port}",
        "evil.example",
        "127.0.0.1.nip.io:{port}",
        "localhost.evil.example:{port}",
        "127.0.0.1:1",
        "localhost",
        "[::2]:{port}",
        "127.0.0.1:{port}@evil.example",
        "",
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/services/data"), ("POST", "/services/oauth2/token"), ("GET", "/_emulator/stats")],
)
def test_a_rebound_host_name_is_refused_on_every_route(
    org: LocalOrg, host: str, method: str, path: str
) -> None:
    value = host.format(port=_port(org))
    response = httpx.request(
        method, f"{org.instance_url}{path}", headers={"Host": value, **org.admin_headers}, timeout=10
    )
    assert response.status_code == 421, (value, response.status_code, response.text)
    assert response.json()[0]["errorCode"] == "MISDIRECTED_REQUEST"


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}"])
def test_the_servers_own_names_are_answered(org: LocalOrg, host: str) -> None:
    value = host.format(port=_port(org))
    response = httpx.get(f"{org.instance_url}/services/data", headers={"Host": value}, timeout=10)
    assert response.status_code == 200, (value, response.text)
    stats = httpx.get(f"{org.instance_url}/_emulator/stats", headers={"Host": value, **org.admin_headers})
    assert stats.status_code == 200
