"""The emulator's token endpoint refuses bad JWT assertions and wrong passwords with OAuth error bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kinetic_core.emulator.server import LocalOrg

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(org: LocalOrg, **over: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": org.client_id,
        "sub": org.username,
        "aud": org.login_url,
        "exp": int(time.time()) + 300,
    }
    claims.update(over)
    return claims


def _sign(org: LocalOrg, claims: dict[str, Any], key: Any = None, alg: str = "RS256") -> str:
    pem = key if key is not None else Path(org.jwt_private_key).read_bytes()
    return jwt.encode(claims, pem, algorithm=alg)


def _hs256(org: LocalOrg) -> str:
    """The algorithm-confusion attack: HMAC keyed with the org's public certificate."""
    cert = (Path(org.jwt_private_key).parent / "certificate.pem").read_bytes()
    head = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(_claims(org))}"
    mac = hmac.new(cert, head.encode(), hashlib.sha256).digest()
    return head + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _other_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _token(org: LocalOrg, form: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{org.login_url}/services/oauth2/token", data=form, timeout=10)


ASSERTIONS: dict[str, Callable[[LocalOrg], str]] = {
    "unsigned-alg-none": lambda o: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(o))}.",
    "alg-none-with-signature": lambda o: f"{_b64({'alg': 'none'})}.{_b64(_claims(o))}.c2ln",
    "hs256-keyed-with-the-public-certificate": lambda o: _hs256(o),
    "signed-by-another-key": lambda o: _sign(o, _claims(o), key=_other_key()),
    "tampered-payload": lambda o: (
        lambda t: t.split(".")[0] + "." + _b64(_claims(o, sub="someone@else")) + "." + t.split(".")[2]
    )(_sign(o, _claims(o))),
    "expired": lambda o: _sign(o, _claims(o, exp=int(time.time()) - 3600)),
    "no-exp": lambda o: _sign(o, {k: v for k, v in _claims(o).items() if k != "exp"}),
    "wrong-audience": lambda o: _sign(o, _claims(o, aud="https://evil.example.com")),
    "unknown-user": lambda o: _sign(o, _claims(o, sub="nobody@kinetic.local")),
    "not-a-jwt": lambda o: "garbage",
}


@pytest.fixture(scope="module")
def oauth_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    with LocalOrg(data_dir=tmp_path_factory.mktemp("oauth") / "org") as org:
        yield org


def test_valid_assertion_is_accepted(oauth_org: LocalOrg) -> None:
    response = _token(oauth_org, {"grant_type": GRANT, "assertion": _sign(oauth_org, _claims(oauth_org))})
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]


@pytest.mark.parametrize("name", sorted(ASSERTIONS))
def test_bad_jwt_assertion_refused(name: str, oauth_org: LocalOrg) -> None:
    response = _token(oauth_org, {"grant_type": GRANT, "assertion": ASSERTIONS[name](oauth_org)})
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == "invalid_grant"
    assert "access_token" not in response.text


def test_wrong_issuer_refused(oauth_org: LocalOrg) -> None:
    response = _token(
        oauth_org, {"grant_type": GRANT, "assertion": _sign(oauth_org, _claims(oauth_org, iss="not-the-app"))}
    )
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_client_id", "invalid_grant")


@pytest.mark.parametrize(
    ("password", "secret"),
    [("wrong", None), ("", None), ("kinetic" + "x", None), (None, "wrong-secret")],
    ids=["wrong-password", "empty-password", "password-with-junk-token", "wrong-client-secret"],
)
def test_wrong_password_flow_refused(oauth_org: LocalOrg, password: str | None, secret: str | None) -> None:
    form = {
        "grant_type": "password",
        "client_id": oauth_org.client_id,
        "client_secret": secret or oauth_org.client_secret,
        "username": oauth_org.username,
        "password": oauth_org.password if password is None else password,
    }
    response = _token(oauth_org, form)
    assert response.status_code in (400, 401), response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] in ("invalid_grant", "invalid_client")
    assert "access_token" not in body


def test_revoked_and_forged_access_tokens_are_refused(oauth_org: LocalOrg) -> None:
    token = oauth_org.token()
    url = f"{oauth_org.instance_url}/services/data/v{oauth_org.api_version}/limits"
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    refused = httpx.get(url, headers={"Authorization": f"Bearer {forged}"}, timeout=10)
    assert refused.status_code == 401
    assert refused.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    httpx.post(f"{oauth_org.login_url}/services/oauth2/revoke", data={"token": token}, timeout=10)
    again = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert again.status_code == 401
