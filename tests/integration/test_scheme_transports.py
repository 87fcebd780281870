"""The default transport builds a TLS context only for https, at the first https request."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinetic_core.emulator.server import LocalOrg
from kinetic_core.http.session import SchemeTransports, build_http_client


@pytest.fixture(scope="module")
def plain_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    with LocalOrg(data_dir=tmp_path_factory.mktemp("plain") / "org") as org:
        yield org


@pytest.fixture(scope="module")
def tls_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    with LocalOrg(tls=True, data_dir=tmp_path_factory.mktemp("tls") / "org") as org:
        yield org


def _transports(client: Any) -> SchemeTransports:
    transport = client._transport
    assert isinstance(transport, SchemeTransports)
    return transport


def test_plain_http_never_loads_a_ca_bundle(plain_org: LocalOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        raise AssertionError("a CA bundle was loaded for a plain http request")

    monkeypatch.setattr(ssl, "create_default_context", refuse)
    with build_http_client() as client:
        assert _transports(client)._transports == {}
        response = client.get(f"{plain_org.instance_url}/services/data/")
        assert response.status_code == 200
        assert response.json()
        assert set(_transports(client)._transports) == {"http"}


def test_https_transport_is_built_at_the_first_https_request_with_the_bundle(tls_org: LocalOrg) -> None:
    assert tls_org.ca_cert is not None
    with build_http_client(verify=Path(tls_org.ca_cert)) as client:
        assert _transports(client)._transports == {}
        assert client.get(f"{tls_org.instance_url}/services/data/").status_code == 200
        assert set(_transports(client)._transports) == {"https"}
        first = _transports(client)._transports["https"]
        client.get(f"{tls_org.instance_url}/services/data/")
        assert _transports(client)._transports["https"] is first


def test_https_is_still_verified(tls_org: LocalOrg) -> None:
    import httpx

    with build_http_client() as client, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get(f"{tls_org.instance_url}/services/data/")


def test_the_http_transport_cannot_complete_a_tls_handshake(tls_org: LocalOrg) -> None:
    """Its TLS context trusts nothing: sending it an https URL fails verification."""
    import httpx

    assert tls_org.ca_cert is not None
    transports = SchemeTransports(True, httpx.Limits())
    plain = transports._for("http")
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        plain.handle_request(httpx.Request("GET", f"{tls_org.instance_url}/services/data/"))
    transports.close()
    assert transports._transports == {}


def test_closing_the_client_closes_the_built_transports(plain_org: LocalOrg) -> None:
    client = build_http_client()
    client.get(f"{plain_org.instance_url}/services/data/")
    transports = _transports(client)
    client.close()
    assert transports._transports == {}
