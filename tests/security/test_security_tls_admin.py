"""TLS is verified by default; turning it off is explicit and warned about; the admin API is loopback-only."""

from __future__ import annotations

import logging
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from kinetic_core import SalesforceClient
from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.routes import admin
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import KineticError, TransportError


@pytest.fixture(scope="module")
def tls_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    with LocalOrg(tls=True, data_dir=tmp_path_factory.mktemp("tls") / "org") as org:
        yield org


def _connect(org: LocalOrg, tmp_path: Path, **extra: Any) -> SalesforceClient:
    return SalesforceClient.connect(
        login_url=org.login_url,
        client_id=org.client_id,
        client_secret=org.client_secret,
        username=org.username,
        password=org.password,
        environ={},
        cwd=tmp_path,
        home=tmp_path / "home",
        sleep=lambda s: None,
        **extra,
    )


def test_self_signed_emulator_is_refused_without_its_ca(tls_org: LocalOrg, tmp_path: Path) -> None:
    with pytest.raises(TransportError) as info, _connect(tls_org, tmp_path) as client:
        client.limits()
    assert isinstance(info.value, KineticError)


def test_ca_bundle_makes_it_work(tls_org: LocalOrg, tmp_path: Path) -> None:
    with _connect(tls_org, tmp_path, ca_bundle=str(tls_org.ca_cert)) as client:
        assert "DailyApiRequests" in client.limits()


def test_ca_bundle_from_the_environment(tls_org: LocalOrg, tmp_path: Path) -> None:
    env = {
        "SF_LOGIN_URL": tls_org.login_url,
        "SF_CLIENT_ID": tls_org.client_id,
        "SF_CLIENT_SECRET": tls_org.client_secret,
        "SF_USERNAME": tls_org.username,
        "SF_PASSWORD": tls_org.password,
        "SF_CA_BUNDLE": str(tls_org.ca_cert),
    }
    with SalesforceClient.connect(environ=env, cwd=tmp_path, home=tmp_path / "h") as client:
        assert client.limits()


def test_turning_verification_off_is_explicit_and_warns(
    tls_org: LocalOrg, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _connect(tls_org, tmp_path, verify_tls=False) as client:
            assert client.limits()
    said = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert any("verif" in s.lower() or "tls" in s.lower() for s in said), (
        f"TLS verification was turned off without any warning (warnings/log: {said})"
    )


def _request(host: str) -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": "/_emulator/stats", "headers": [], "client": (host, 5)}
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_loopback_clients_may_use_the_admin_api(host: str) -> None:
    admin._require_loopback(_request(host))


@pytest.mark.parametrize(
    "host", ["10.0.0.7", "192.168.1.20", "8.8.8.8", "::ffff:10.0.0.7", "fe80::1", "0.0.0.0"]
)
def test_other_clients_are_refused(host: str) -> None:
    with pytest.raises(ApiError) as info:
        admin._require_loopback(_request(host))
    assert info.value.status == 403


def _own_non_loopback_ipv4() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent, it only picks a source address
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_admin_api_refuses_a_non_loopback_client_over_the_network(tmp_path: Path) -> None:
    address = _own_non_loopback_ipv4()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    with LocalOrg(data_dir=tmp_path / "org", host="0.0.0.0") as org:
        port = org.instance_url.rsplit(":", 1)[1]
        remote = f"http://{address}:{port}"
        with httpx.Client(timeout=10) as http:
            for method, path in [("GET", "stats"), ("GET", "faults"), ("POST", "faults"), ("POST", "reset")]:
                response = http.request(method, f"{remote}/_emulator/{path}", json={"error_rate": 1.0})
                assert response.status_code == 403, (method, path, response.text)
                assert response.json()[0]["errorCode"] == "INSUFFICIENT_ACCESS"
            assert http.get(f"{remote}/services/data").status_code == 200
        assert org.admin("faults")["config"]["error_rate"] == 0.0  # the refused POST changed nothing
