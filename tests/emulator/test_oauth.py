"""OAuth flows of the emulator: password, JWT bearer, refresh, client credentials, revoke, identity."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kinetic_core.emulator.server import LocalOrg
from kinetic_core.emulator.tokens import TokenStore

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _token(org: LocalOrg, **data: str) -> httpx.Response:
    return httpx.post(f"{org.login_url}/services/oauth2/token", data=data, timeout=30)


def _password(org: LocalOrg, **over: str) -> httpx.Response:
    data = {
        "grant_type": "password",
        "client_id": org.client_id,
        "client_secret": org.client_secret,
        "username": org.username,
        "password": org.password,
        **over,
    }
    return _token(org, **data)


def _assertion(org: LocalOrg, key: Any = None, **claims: Any) -> str:
    payload = {"iss": org.client_id, "sub": org.username, "aud": "https://login.salesforce.com"}
    payload["exp"] = str(int(time.time()) + 180)
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    signing_key = key if key is not None else org.jwt_private_key.read_bytes()
    return jwt.encode(payload, signing_key, algorithm="RS256")


CALLBACK = "http://localhost:1717/OauthRedirect"


def _approval(org: LocalOrg) -> dict[str, str]:
    """What a user submits on the emulator's login-and-approve page."""
    return {"username": org.username, "password": org.password, "action": "approve"}


def _authorization_code(org: LocalOrg, scope: str = "api refresh_token") -> dict[str, Any]:
    """The web-server flow: the login form submitted with approval, then the code exchanged."""
    with httpx.Client(base_url=org.login_url, timeout=30) as http:
        redirect = http.post(
            "/services/oauth2/authorize",
            data={
                "response_type": "code",
                "client_id": org.client_id,
                "redirect_uri": CALLBACK,
                "scope": scope,
                **_approval(org),
            },
        )
        assert redirect.status_code == 302, redirect.text
        code = httpx.URL(redirect.headers["location"]).params["code"]
        token = http.post(
            "/services/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": org.client_id,
                "redirect_uri": CALLBACK,
            },
        )
    assert token.status_code == 200, token.text
    body: dict[str, Any] = token.json()
    return body


def _error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["error_description"]


def test_password_flow_success_shape(local_org: LocalOrg) -> None:
    response = _password(local_org)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    }
    org_id = local_org.org.store.org_id
    assert body["access_token"].startswith(org_id[:15] + "!")
    assert body["instance_url"] == local_org.instance_url
    assert body["id"] == f"{local_org.instance_url}/id/{org_id}/{local_org.org.admin_user_id}"
    assert body["token_type"] == "Bearer"
    assert body["issued_at"].isdigit()
    expected = hmac.new(
        local_org.client_secret.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256
    ).digest()
    assert base64.b64decode(body["signature"]) == expected


def test_password_with_security_token(local_org: LocalOrg) -> None:
    assert _password(local_org, password=local_org.password + local_org.security_token).status_code == 200


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({"password": "wrong"}, (400, "invalid_grant", "authentication failure")),
        ({"username": "nobody@example.com"}, (400, "invalid_grant", "authentication failure")),
        ({"client_id": "other"}, (400, "invalid_client_id", "client identifier invalid")),
        ({"client_secret": "other"}, (400, "invalid_client", "invalid client credentials")),
        ({"grant_type": "magic"}, (400, "unsupported_grant_type", "grant type not supported")),
    ],
)
def test_password_flow_errors(
    local_org: LocalOrg, over: dict[str, str], expected: tuple[int, str, str]
) -> None:
    assert _error(_password(local_org, **over)) == expected


def test_refresh_token_flow_survives_restart_and_revocation(tmp_path: Path) -> None:
    data_dir = tmp_path / "org"
    with LocalOrg(data_dir=data_dir) as org:
        first = _authorization_code(org)
        assert "refresh_token" in first
        assert "refresh_token" not in _password(org).json()
        assert "refresh_token" not in _password(org, scope="api refresh_token").json()
        access = first["access_token"]
    with LocalOrg(data_dir=data_dir) as org:  # new process state, same files
        limits = httpx.get(
            f"{org.instance_url}/services/data/v62.0/limits", headers={"Authorization": f"Bearer {access}"}
        )
        assert limits.status_code == 200
        refreshed = _token(
            org, grant_type="refresh_token", client_id=org.client_id, refresh_token=first["refresh_token"]
        )
        assert refreshed.status_code == 200
        assert refreshed.json()["access_token"] != access
        revoke = httpx.post(f"{org.login_url}/services/oauth2/revoke", data={"token": first["refresh_token"]})
        assert revoke.status_code == 200
        again = _token(
            org, grant_type="refresh_token", client_id=org.client_id, refresh_token=first["refresh_token"]
        )
        assert _error(again) == (400, "invalid_grant", "expired access/refresh token")


def test_revoked_access_token_is_invalid(local_org: LocalOrg) -> None:
    token = local_org.token()
    assert (
        httpx.post(f"{local_org.login_url}/services/oauth2/revoke", data={"token": token}).status_code == 200
    )
    response = httpx.get(
        f"{local_org.instance_url}/services/data/v62.0/limits", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    unknown = httpx.post(f"{local_org.login_url}/services/oauth2/revoke", data={"token": "nope"})
    assert unknown.status_code == 400


def test_client_credentials_basic_and_body(local_org: LocalOrg) -> None:
    basic = httpx.post(
        f"{local_org.login_url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(local_org.client_id, local_org.client_secret),
    )
    assert basic.status_code == 200
    assert basic.json()["id"].endswith(local_org.org.admin_user_id)
    body = _token(
        local_org,
        grant_type="client_credentials",
        client_id=local_org.client_id,
        client_secret=local_org.client_secret,
    )
    assert body.status_code == 200
    bad = httpx.post(
        f"{local_org.login_url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(local_org.client_id, "wrong"),
    )
    assert _error(bad) == (400, "invalid_client", "invalid client credentials")


def test_jwt_bearer_success_variants(local_org: LocalOrg) -> None:
    now = int(time.time())
    variants = [
        {},
        {"exp": now + 300},
        {"exp": (now * 1000) + 300},  # sfdx-core: milliseconds
        {"exp": str(now * 1000 + 300)},
        {"aud": "https://test.salesforce.com"},
        {"aud": local_org.login_url},
        {"aud": local_org.login_url + "/"},
        {"sub": None, "prn": local_org.username},
    ]
    for claims in variants:
        response = _token(local_org, grant_type=JWT_GRANT, assertion=_assertion(local_org, **claims))
        assert response.status_code == 200, (claims, response.text)
        body = response.json()
        assert body["instance_url"] == local_org.instance_url
        assert "refresh_token" not in body


def test_jwt_bearer_errors(local_org: LocalOrg) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cases = [
        (_assertion(local_org, key=other_pem), "invalid_grant", "invalid assertion"),
        (_assertion(local_org, aud="https://evil.example.com"), "invalid_grant", "audience is invalid"),
        (_assertion(local_org, exp=int(time.time()) - 600), "invalid_grant", "invalid assertion"),
        (_assertion(local_org, sub="nobody@example.com"), "invalid_grant", "invalid assertion"),
        (_assertion(local_org, iss="someone-else"), "invalid_client_id", "client identifier invalid"),
        ("not.a.jwt", "invalid_grant", "invalid assertion"),
        (
            jwt.encode({"iss": local_org.client_id}, "s" * 40, algorithm="HS256"),
            "invalid_grant",
            "invalid assertion",
        ),
    ]
    for assertion, error, description in cases:
        assert _error(_token(local_org, grant_type=JWT_GRANT, assertion=assertion)) == (
            400,
            error,
            description,
        )
    # a little past expiry is within the 3-minute clock skew
    skewed = _assertion(local_org, exp=int(time.time()) - 60)
    assert _token(local_org, grant_type=JWT_GRANT, assertion=skewed).status_code == 200


def test_trusted_certificate_can_be_added(local_org: LocalOrg) -> None:
    from kinetic_core.emulator.tls import ensure_jwt_credentials

    creds = ensure_jwt_credentials(local_org.data_dir / "second")
    local_org.org.trust_certificate(creds.certificate.read_bytes())
    assertion = _assertion(local_org, key=creds.private_key.read_bytes())
    assert _token(local_org, grant_type=JWT_GRANT, assertion=assertion).status_code == 200


def test_authorization_code_flow(local_org: LocalOrg) -> None:
    with httpx.Client(base_url=local_org.login_url) as http:
        redirect = http.post(
            "/services/oauth2/authorize",
            data={
                "response_type": "code",
                "client_id": local_org.client_id,
                "redirect_uri": CALLBACK,
                "state": "xyz",
                **_approval(local_org),
            },
        )
        assert redirect.status_code == 302
        location = httpx.URL(redirect.headers["location"])
        assert location.params["state"] == "xyz"
        code = location.params["code"]
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": local_org.client_id,
            "redirect_uri": CALLBACK,
        }
        token = http.post("/services/oauth2/token", data=exchange)
        assert token.status_code == 200
        assert "refresh_token" in token.json()
        reused = http.post("/services/oauth2/token", data=exchange)
        assert reused.status_code == 400


def test_identity_and_userinfo(local_org: LocalOrg) -> None:
    body = _password(local_org).json()
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    identity = httpx.get(body["id"], headers=headers)
    assert identity.status_code == 200
    doc = identity.json()
    assert doc["username"] == local_org.username
    assert doc["organization_id"] == local_org.org.store.org_id
    assert doc["urls"]["rest"].endswith("/services/data/v{version}/")
    for key in (
        "asserted_user",
        "display_name",
        "photos",
        "active",
        "user_type",
        "utcOffset",
        "is_app_installed",
    ):
        assert key in doc
    versioned = httpx.get(body["id"], params={"version": "62.0", "oauth_token": body["access_token"]})
    assert versioned.json()["urls"]["query"].endswith("/services/data/v62.0/query/")
    info = httpx.get(f"{local_org.instance_url}/services/oauth2/userinfo", headers=headers).json()
    assert info["user_id"] == local_org.org.admin_user_id
    assert info["preferred_username"] == local_org.username
    assert httpx.get(body["id"]).status_code == 401


def test_token_store_expiry_uses_the_clock(tmp_path: Path) -> None:
    now = [datetime(2024, 1, 1, tzinfo=UTC)]
    store = TokenStore(tmp_path / "auth.sqlite", org_id15="00D000000000001", clock=lambda: now[0])
    try:
        session = store.issue_access("005000000000001AAA", "u@x", "api", ttl_seconds=60)
        assert store.lookup(session.token) == session
        now[0] += timedelta(seconds=30)
        assert store.lookup(session.token, max_age_seconds=10) is None
        assert store.lookup(session.token) is not None
        now[0] += timedelta(seconds=31)
        assert store.lookup(session.token) is None
    finally:
        store.close()


def test_token_ttl_setting(tmp_path: Path) -> None:
    with LocalOrg(data_dir=tmp_path / "org", token_ttl_seconds=0.2) as org:
        token = org.token()
        url = f"{org.instance_url}/services/data/v62.0/limits"
        assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        time.sleep(0.3)
        assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401
