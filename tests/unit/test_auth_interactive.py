"""Interactive logins (web server flow with PKCE, device flow): the client's rules, without a browser."""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kinetic_core.auth.base import TokenRequest
from kinetic_core.auth.callback import CallbackServer
from kinetic_core.auth.interactive import (
    DeviceAuthorization,
    Pkce,
    Send,
    authorize_url,
    check_callback,
    code_exchange_request,
    device_code_request,
    device_poll_request,
    parse_device_authorization,
    poll_device,
)
from kinetic_core.errors import AuthenticationError, ConfigError

LOGIN = "https://login.salesforce.com"


def test_pkce_s256_matches_the_rfc_7636_example() -> None:
    pair = Pkce.from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    assert pair.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert "dBjft" not in repr(pair)
    fresh = Pkce.generate(lambda n: bytes(range(n)))
    assert len(fresh.verifier) == 43
    with pytest.raises(ValueError):
        Pkce.from_verifier("short")


def test_authorize_url_and_code_exchange_carry_the_pkce_pair() -> None:
    pair = Pkce.from_verifier("v" * 50)
    url = authorize_url(LOGIN, "cid", "http://localhost:1717/OauthRedirect", pair, "st4te")
    parts = urlsplit(url)
    assert parts.path == "/services/oauth2/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query == {
        "response_type": "code",
        "client_id": "cid",
        "redirect_uri": "http://localhost:1717/OauthRedirect",
        "code_challenge": pair.challenge,
        "code_challenge_method": "S256",
        "state": "st4te",
        "scope": "api web refresh_token",
    }
    exchange = code_exchange_request(LOGIN, "cid", "aPrx", "http://localhost:1717/OauthRedirect", pair)
    assert exchange.url == f"{LOGIN}/services/oauth2/token"
    assert dict(exchange.form) == {
        "grant_type": "authorization_code",
        "code": "aPrx",
        "client_id": "cid",
        "redirect_uri": "http://localhost:1717/OauthRedirect",
        "code_verifier": pair.verifier,
    }


def test_a_callback_is_accepted_only_with_this_logins_state() -> None:
    assert check_callback({"code": "c1", "state": "mine"}, "mine") == "c1"
    for state in ("theirs", "", "mïne"):
        with pytest.raises(AuthenticationError) as forged:
            check_callback({"code": "c1", "state": state}, "mine")
        assert forged.value.error == "state_mismatch"
    with pytest.raises(AuthenticationError) as denied:
        check_callback({"error": "access_denied", "error_description": "no", "state": "mine"}, "mine")
    assert denied.value.error == "access_denied"
    with pytest.raises(AuthenticationError):
        check_callback({"state": "mine"}, "mine")


def test_the_callback_server_ignores_forged_redirects_and_returns_the_real_code() -> None:
    with CallbackServer(0, "right") as server:
        assert server.redirect_uri == f"http://localhost:{server.port}/OauthRedirect"
        answers: list[int] = []

        def browser() -> None:
            base = f"http://127.0.0.1:{server.port}"
            answers.append(httpx.get(f"{base}/favicon.ico").status_code)
            answers.append(
                httpx.get(f"{base}/OauthRedirect", params={"code": "x", "state": "bad"}).status_code
            )
            answers.append(
                httpx.get(f"{base}/OauthRedirect", params={"code": "c9", "state": "right"}).status_code
            )

        thread = threading.Thread(target=browser)
        thread.start()
        assert server.wait(timeout=20) == "c9"
        thread.join()
    assert answers == [404, 400, 200]


def test_a_busy_callback_port_fails_unless_any_port_is_allowed() -> None:
    with CallbackServer(0, "s") as first:
        with pytest.raises(ConfigError, match=f"port {first.port} is in use.*--any-port"):
            CallbackServer(first.port, "s")
        with CallbackServer(first.port, "s", any_port=True) as second:
            assert second.port != first.port


def test_the_callback_server_times_out_with_a_clear_error() -> None:
    ticks = iter([0.0, 0.5, 2.0, 5.0])
    with CallbackServer(0, "s") as server, pytest.raises(AuthenticationError, match="no login arrived"):
        server.wait(timeout=1, monotonic=lambda: next(ticks))


def _device() -> DeviceAuthorization:
    body = {"device_code": "D1", "user_code": "ABCD2345", "verification_uri": "https://x/setup/connect"}
    return parse_device_authorization(200, json.dumps({**body, "interval": 5}).encode(), "u")


def test_device_requests_follow_the_salesforce_device_flow() -> None:
    start = device_code_request(LOGIN, "cid")
    assert dict(start.form) == {
        "response_type": "device_code",
        "client_id": "cid",
        "scope": "api web refresh_token",
    }
    device = _device()
    assert (device.user_code, device.interval, device.expires_in) == ("ABCD2345", 5, None)
    assert "D1" not in repr(device)
    poll = device_poll_request(LOGIN, "cid", device)
    assert dict(poll.form) == {"grant_type": "device", "client_id": "cid", "code": "D1"}
    with pytest.raises(AuthenticationError) as refused:
        parse_device_authorization(400, b'{"error":"invalid_client_id","error_description":"bad"}', "u")
    assert refused.value.error == "invalid_client_id"


def _answers(*bodies: tuple[int, dict[str, str]]) -> Send:
    """The token endpoint's answers, in order (each poll consumes one)."""
    queue = list(bodies)

    def send(request: TokenRequest) -> tuple[int, bytes]:
        assert dict(request.form)["grant_type"] == "device"
        status, body = queue.pop(0)
        return status, json.dumps(body).encode()

    return send


PENDING = (400, {"error": "authorization_pending", "error_description": "pending"})
SLOW = (400, {"error": "slow_down", "error_description": "slow"})
TOKEN = (200, {"access_token": "00D!a", "instance_url": "https://i", "refresh_token": "5Aep1"})


def test_device_polling_honours_the_interval_and_slows_down_when_told() -> None:
    sleeps: list[float] = []
    send = _answers(PENDING, SLOW, PENDING, TOKEN)
    device = _device()
    request = device_poll_request(LOGIN, "cid", device)
    token = poll_device(send, request, device, clock=lambda: 0.0, sleep=sleeps.append)
    assert token.refresh_token == "5Aep1"
    assert sleeps == [5, 5, 10, 10]


def test_device_polling_stops_at_expiry_and_on_refusal() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    device = parse_device_authorization(
        200,
        b'{"device_code":"D","user_code":"U","verification_uri":"v","interval":5,"expires_in":12}',
        "u",
    )
    request = device_poll_request(LOGIN, "cid", device)
    send = _answers(PENDING, PENDING, PENDING)
    with pytest.raises(AuthenticationError) as expired:
        poll_device(send, request, device, clock=lambda: now[0], sleep=sleep)
    assert expired.value.error == "expired_token"
    assert now[0] == 10  # two polls; a third would come after the code died
    send = _answers(PENDING, (400, {"error": "access_denied", "error_description": "denied"}))
    with pytest.raises(AuthenticationError) as denied:
        poll_device(send, request, device, clock=lambda: 0.0, sleep=lambda s: None)
    assert denied.value.error == "access_denied"
