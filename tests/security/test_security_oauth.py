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

from kinetic_core import SalesforceClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import AuthenticationError

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
    "exp-nan": lambda o: _sign(o, _claims(o, exp="NaN")),
    "exp-infinity": lambda o: _sign(o, _claims(o, exp="Infinity")),
    "exp-minus-infinity-string": lambda o: _sign(o, _claims(o, exp="-Infinity")),
    "exp-ten-years-ahead": lambda o: _sign(o, _claims(o, exp=int(time.time()) + 10 * 365 * 86400)),
    "exp-an-hour-ahead-in-milliseconds": lambda o: _sign(o, _claims(o, exp=int(time.time() + 3600) * 1000)),
    "nbf-in-the-future": lambda o: _sign(o, _claims(o, nbf=int(time.time()) + 3600)),
    "nbf-nan": lambda o: _sign(o, _claims(o, nbf="NaN")),
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


def test_sfdx_style_millisecond_exp_and_a_past_nbf_are_accepted(oauth_org: LocalOrg) -> None:
    now = time.time()
    for claims in (
        _claims(oauth_org, exp=int(now * 1000) + 300),  # sfdx-core: Date.now() + 300
        _claims(oauth_org, exp=str(int(now) + 180), nbf=int(now) - 10),  # simple-salesforce: a string
    ):
        response = _token(oauth_org, {"grant_type": GRANT, "assertion": _sign(oauth_org, claims)})
        assert response.status_code == 200, (claims, response.text)


def _oauth_requests(org: LocalOrg) -> int:
    return int(org.admin("stats")["requests"].get("oauth", 0))


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("password", "kinétic", "invalid_grant"),
        ("password", "пароль-\u2603", "invalid_grant"),
        ("client_secret", "sécret", "invalid_client"),
        ("client_secret", "\U0001f511", "invalid_client"),
    ],
)
def test_non_ascii_credentials_are_a_400_not_a_500(
    oauth_org: LocalOrg, field: str, value: str, error: str
) -> None:
    form = {
        "grant_type": "password",
        "client_id": oauth_org.client_id,
        "client_secret": oauth_org.client_secret,
        "username": oauth_org.username,
        "password": oauth_org.password,
        field: value,
    }
    response = _token(oauth_org, form)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error


def test_the_client_does_not_retry_a_refused_login(oauth_org: LocalOrg, tmp_path: Path) -> None:
    before = _oauth_requests(oauth_org)
    with (
        pytest.raises(AuthenticationError) as info,
        SalesforceClient.connect(
            login_url=oauth_org.login_url,
            client_id=oauth_org.client_id,
            client_secret="sécret",
            username=oauth_org.username,
            password="kinétic",
            environ={},
            cwd=tmp_path,
            home=tmp_path / "home",
            sleep=lambda s: None,
        ) as client,
    ):
        client.limits()
    assert (info.value.error, info.value.status) in (("invalid_grant", 400), ("invalid_client", 400))
    assert _oauth_requests(oauth_org) - before == 1


CALLBACK = "http://localhost:1717/OauthRedirect"


def _authorize(org: LocalOrg, redirect_uri: str, scope: str = "api refresh_token") -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": org.client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "username": org.username,
        "password": org.password,
        "action": "approve",
    }
    return httpx.post(f"{org.login_url}/services/oauth2/authorize", data=params, timeout=10)


def _exchange(org: LocalOrg, code: str, redirect_uri: str = CALLBACK) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": org.client_id,
        "client_secret": org.client_secret,
        "redirect_uri": redirect_uri,
    }
    return _token(org, form)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example.com/steal",
        "http://localhost:1717/OauthRedirect/../../steal",
        "http://localhost:1717/OauthRedirect?next=https://evil.example.com",
        "http://localhost:1718/OauthRedirect",
        "",
    ],
)
def test_authorize_only_redirects_to_the_connected_apps_callback(
    oauth_org: LocalOrg, redirect_uri: str
) -> None:
    response = _authorize(oauth_org, redirect_uri)
    assert response.status_code == 400, response.headers
    assert "location" not in response.headers
    assert response.json()["error"] == "redirect_uri_mismatch"


def test_the_callback_url_is_settable_and_must_be_repeated_at_the_exchange(tmp_path: Path) -> None:
    mine = "https://app.example.com/oauth/done"
    with LocalOrg(data_dir=tmp_path / "org", callback_urls=(mine,)) as org:
        assert _authorize(org, CALLBACK).status_code == 400
        approved = _authorize(org, mine)
        assert approved.status_code == 302
        assert approved.headers["location"].startswith(mine + "?code=")
        code = httpx.URL(approved.headers["location"]).params["code"]
        refused = _exchange(org, code, redirect_uri="https://evil.example.com/steal")
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_grant"


def test_the_password_flow_never_issues_a_refresh_token(oauth_org: LocalOrg) -> None:
    for scope in ("api refresh_token", "full", "api offline_access"):
        form = {
            "grant_type": "password",
            "client_id": oauth_org.client_id,
            "client_secret": oauth_org.client_secret,
            "username": oauth_org.username,
            "password": oauth_org.password,
            "scope": scope,
        }
        response = _token(oauth_org, form)
        assert response.status_code == 200
        assert "refresh_token" not in response.json()


def test_revoking_a_refresh_token_revokes_the_access_tokens_minted_from_it(oauth_org: LocalOrg) -> None:
    code = httpx.URL(_authorize(oauth_org, CALLBACK).headers["location"]).params["code"]
    first = _exchange(oauth_org, code).json()
    refresh = first["refresh_token"]
    grant = {"grant_type": "refresh_token", "client_id": oauth_org.client_id, "refresh_token": refresh}
    minted = [first["access_token"], _token(oauth_org, grant).json()["access_token"]]
    unrelated = oauth_org.token()
    url = f"{oauth_org.instance_url}/services/data/v{oauth_org.api_version}/limits"

    def status(token: str) -> int:
        return httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code

    assert [status(t) for t in minted] == [200, 200]
    revoked = httpx.post(f"{oauth_org.login_url}/services/oauth2/revoke", data={"token": refresh}, timeout=10)
    assert revoked.status_code == 200
    assert [status(t) for t in minted] == [401, 401]
    assert status(unrelated) == 200
    assert _token(oauth_org, grant).json()["error"] == "invalid_grant"


def test_revocation_cascades_after_a_restart(tmp_path: Path) -> None:
    with LocalOrg(data_dir=tmp_path / "org") as org:
        code = httpx.URL(_authorize(org, CALLBACK).headers["location"]).params["code"]
        first = _exchange(org, code).json()
    with LocalOrg(data_dir=tmp_path / "org") as org:  # tokens come back from auth.sqlite
        url = f"{org.instance_url}/services/data/v{org.api_version}/limits"
        headers = {"Authorization": f"Bearer {first['access_token']}"}
        assert httpx.get(url, headers=headers, timeout=10).status_code == 200
        httpx.post(
            f"{org.login_url}/services/oauth2/revoke", data={"token": first["refresh_token"]}, timeout=10
        )
        assert httpx.get(url, headers=headers, timeout=10).status_code == 401
