"""The emulator's web server flow (login page, approval, PKCE) and device flow, driven without a browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from kinetic_core.auth.interactive import Pkce
from kinetic_core.emulator.server import LocalOrg

CALLBACK = "http://localhost:1717/OauthRedirect"


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    with LocalOrg(data_dir=tmp_path_factory.mktemp("interactive") / "org") as running:
        yield running


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.inputs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input":
            self.inputs.append(a.get("name", ""))
            if a.get("type") == "hidden":
                self.hidden[a["name"]] = a.get("value", "")


def _page(html: str) -> _Form:
    form = _Form()
    form.feed(html)
    return form


def _authorize(org: LocalOrg, pair: Pkce | None, **extra: str) -> dict[str, str]:
    params = {"response_type": "code", "client_id": org.client_id, "redirect_uri": CALLBACK, "state": "s1"}
    if pair is not None:
        params.update(code_challenge=pair.challenge, code_challenge_method="S256")
    params.update(extra)
    return params


def _approve(
    org: LocalOrg, params: dict[str, str], action: str = "approve", password: str = ""
) -> httpx.Response:
    """Open the login page, then submit its form as a user would."""
    page = httpx.get(f"{org.login_url}/services/oauth2/authorize", params=params, timeout=10)
    assert page.status_code == 200, page.text
    form = _page(page.text)
    assert {"username", "password"} <= set(form.inputs)
    data = {**form.hidden, "username": org.username, "password": password or org.password, "action": action}
    return httpx.post(f"{org.login_url}/services/oauth2/authorize", data=data, timeout=10)


def _token(org: LocalOrg, **form: str) -> httpx.Response:
    return httpx.post(f"{org.login_url}/services/oauth2/token", data=form, timeout=10)


def _code(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    location = httpx.URL(response.headers["location"])
    assert str(location).startswith(CALLBACK + "?")
    assert location.params["state"] == "s1"
    return location.params["code"]


def _exchange(org: LocalOrg, code: str, **extra: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": org.client_id,
        "redirect_uri": CALLBACK,
    }
    return _token(org, **form, **extra)


def test_the_login_page_carries_the_request_and_nothing_happens_before_approval(org: LocalOrg) -> None:
    pair = Pkce.generate()
    page = httpx.get(f"{org.login_url}/services/oauth2/authorize", params=_authorize(org, pair), timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert _page(page.text).hidden["code_challenge"] == pair.challenge
    wrong = _approve(org, _authorize(org, pair), password="not-it")
    assert wrong.status_code == 401
    assert "location" not in wrong.headers


def test_pkce_code_needs_its_verifier(org: LocalOrg) -> None:
    pair = Pkce.generate()
    missing = _exchange(org, _code(_approve(org, _authorize(org, pair))))
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_grant")
    wrong = _exchange(
        org, _code(_approve(org, _authorize(org, pair))), code_verifier=Pkce.generate().verifier
    )
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_request")
    code = _code(_approve(org, _authorize(org, pair)))
    good = _exchange(org, code, code_verifier=pair.verifier)
    assert good.status_code == 200, good.text
    body = good.json()
    assert body["refresh_token"]
    assert body["instance_url"] == org.login_url
    again = _exchange(org, code, code_verifier=pair.verifier)
    assert again.json()["error"] == "invalid_grant"  # single use
    refreshed = _token(
        org, grant_type="refresh_token", client_id=org.client_id, refresh_token=body["refresh_token"]
    )
    assert refreshed.status_code == 200


def test_denial_redirects_with_access_denied_and_the_state(org: LocalOrg) -> None:
    denied = _approve(org, _authorize(org, Pkce.generate()), action="deny")
    assert denied.status_code == 302
    location = httpx.URL(denied.headers["location"])
    assert (location.params["error"], location.params["state"]) == ("access_denied", "s1")
    assert "code" not in location.params


def test_only_the_s256_challenge_method_is_accepted(org: LocalOrg) -> None:
    params = _authorize(org, None, code_challenge="x" * 43, code_challenge_method="plain")
    answer = httpx.get(f"{org.login_url}/services/oauth2/authorize", params=params, timeout=10)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


def _start_device(org: LocalOrg) -> dict[str, Any]:
    answer = _token(org, response_type="device_code", client_id=org.client_id, scope="api refresh_token")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _poll(org: LocalOrg, device: dict[str, Any]) -> httpx.Response:
    return _token(org, grant_type="device", client_id=org.client_id, code=device["device_code"])


def _verify(org: LocalOrg, device: dict[str, Any], action: str = "approve") -> httpx.Response:
    page = httpx.get(device["verification_uri"], timeout=10)
    assert page.status_code == 200
    assert "user_code" in _page(page.text).inputs
    data = {
        "user_code": device["user_code"],
        "username": org.username,
        "password": org.password,
        "action": action,
    }
    return httpx.post(device["verification_uri"], data=data, timeout=10)


def test_device_flow_pending_slow_down_then_tokens(org: LocalOrg) -> None:
    device = _start_device(org)
    assert set(device) == {"device_code", "user_code", "verification_uri", "interval", "expires_in"}
    assert device["verification_uri"] == f"{org.login_url}/setup/connect"
    assert re.fullmatch(r"[A-Z2-9]{8}", device["user_code"])
    first = _poll(org, device)
    assert (first.status_code, first.json()["error"]) == (400, "authorization_pending")
    second = _poll(org, device)  # sooner than the interval
    assert (second.status_code, second.json()["error"]) == (400, "slow_down")
    assert _verify(org, device).status_code == 200
    granted = _poll(org, device)
    assert granted.status_code == 200, granted.text
    assert granted.json()["refresh_token"]
    assert _poll(org, device).json()["error"] == "invalid_grant"  # used up


def test_device_flow_denial_unknown_codes_and_bad_client(org: LocalOrg) -> None:
    device = _start_device(org)
    assert _verify(org, device, action="deny").status_code == 200
    assert _poll(org, device).json()["error"] == "access_denied"
    wrong = httpx.post(
        device["verification_uri"],
        data={
            "user_code": "NOPE2345",
            "username": org.username,
            "password": org.password,
            "action": "approve",
        },
        timeout=10,
    )
    assert wrong.status_code == 400
    bad = _token(org, response_type="device_code", client_id="someone-else")
    assert bad.json()["error"] == "invalid_client_id"


def test_an_expired_device_code_answers_expired_token(tmp_path: Path) -> None:
    with LocalOrg(data_dir=tmp_path / "org", device_code_ttl_seconds=0.0) as short:
        device = _start_device(short)
        assert _poll(short, device).json()["error"] == "expired_token"
