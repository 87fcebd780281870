"""The send path: retries per call, backoff on a fake clock, 401 renewal (8 threads), limits, errors."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import json
import threading
import time

import httpx
import pytest
from test_http_fakes import (
    INSTANCE,
    FakeClock,
    FakeSalesforce,
    Fault,
    password_session,
    sf_error,
    static_session,
)

from kinetic_core.errors import (
    ApiError,
    AuthenticationError,
    RequestLimitExceeded,
    ServerUnavailableError,
    SessionExpiredError,
    TransportError,
)
from kinetic_core.http import (
    ApiUsage,
    Failure,
    HttpSession,
    RetryPolicy,
    Timeouts,
    backoff_delay,
    decide,
    parse_limit_info,
)
from kinetic_core.http.parse import encode_json
from kinetic_core.http.retry import classify_exception, parse_retry_after, resolve_policy


class HalfRandom:
    """A stand-in for random.Random whose random() is always 0.5."""

    def random(self) -> float:
        return 0.5


# ---------------------------------------------------------------------- pure decisions
@pytest.mark.parametrize(
    ("idempotent", "status", "failure", "expected"),
    [
        (True, 503, None, True),
        (True, 500, None, True),
        (True, 502, None, True),
        (True, 504, None, True),
        (True, 429, None, True),
        (True, 400, None, False),
        (True, 404, None, False),
        (False, 500, None, False),
        (False, 502, None, False),
        (False, 504, None, False),
        (False, 503, None, True),
        (False, 429, None, True),
        (True, None, Failure.IN_DOUBT, True),
        (False, None, Failure.IN_DOUBT, False),
        (False, None, Failure.NOT_SENT, True),
    ],
)
def test_decide_by_idempotency(
    idempotent: bool, status: int | None, failure: Failure | None, expected: bool
) -> None:
    policy = RetryPolicy(idempotent=idempotent)
    assert decide(policy, 1, status=status, failure=failure).retry is expected


def test_decide_never_retries_request_limit_or_past_max_attempts() -> None:
    assert not decide(RetryPolicy(), 1, status=403, error_code="REQUEST_LIMIT_EXCEEDED").retry
    assert not decide(RetryPolicy(), 1, status=503, error_code="REQUEST_LIMIT_EXCEEDED").retry
    assert not decide(RetryPolicy(max_attempts=3), 3, status=503).retry
    assert decide(RetryPolicy(max_attempts=3), 2, status=503).retry


def test_backoff_full_jitter_bounds_cap_and_retry_after() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    assert backoff_delay(policy, 1, 0.0) == 0.0
    assert backoff_delay(policy, 1, 0.999) < 0.5
    assert backoff_delay(policy, 3, 0.5) == 1.0
    assert backoff_delay(policy, 10, 0.999) < 4.0  # capped
    assert backoff_delay(policy, 1, 0.1, retry_after=3.0) == 3.0
    assert backoff_delay(policy, 1, 0.1, retry_after=60.0) == 4.0


def test_resolve_policy_by_method_and_flag() -> None:
    base = RetryPolicy()
    assert resolve_policy("GET", None, base).idempotent
    assert resolve_policy("DELETE", None, base).idempotent
    assert resolve_policy("PUT", None, base).idempotent
    assert not resolve_policy("POST", None, base).idempotent
    assert not resolve_policy("PATCH", None, base).idempotent
    assert resolve_policy("PATCH", True, base).idempotent
    assert not resolve_policy("GET", False, base).idempotent
    explicit = RetryPolicy.never()
    assert resolve_policy("GET", explicit, base) is explicit


def test_classify_exceptions() -> None:
    assert classify_exception(httpx.ConnectError("x")) is Failure.NOT_SENT
    assert classify_exception(httpx.ConnectTimeout("x")) is Failure.NOT_SENT
    assert classify_exception(httpx.PoolTimeout("x")) is Failure.NOT_SENT
    assert classify_exception(httpx.ReadTimeout("x")) is Failure.IN_DOUBT
    assert classify_exception(httpx.RemoteProtocolError("x")) is Failure.IN_DOUBT
    assert classify_exception(httpx.WriteError("x")) is Failure.IN_DOUBT


def test_parse_retry_after_and_limit_info() -> None:
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert parse_retry_after({}) is None
    usage = parse_limit_info("api-usage=18/5000; per-app-api-usage=17/250(appName=sample-connected-app)")
    assert usage == ApiUsage(18, 5000, {"sample-connected-app": (17, 250)})
    assert usage.remaining == 4982
    assert parse_limit_info("per-app-api-usage=1/2(appName=x)") is None
    assert parse_limit_info(None) is None


def test_encode_json_salesforce_formats() -> None:
    rome = dt.timezone(dt.timedelta(hours=2))
    body = {
        "d": dt.date(2024, 1, 31),
        "t": dt.datetime(2024, 1, 31, 12, 0, 0, 123456, tzinfo=rome),
        "n": decimal.Decimal("10.50"),
        "i": decimal.Decimal("3"),
    }
    assert json.loads(encode_json(body)) == {
        "d": "2024-01-31",
        "t": "2024-01-31T10:00:00.123+0000",
        "n": 10.5,
        "i": 3,
    }
    with pytest.raises(TypeError, match="naive"):
        encode_json({"t": dt.datetime(2024, 1, 1)})


# ---------------------------------------------------------------------- send path
def test_get_retried_on_503_with_backoff_on_fake_clock() -> None:
    fake = FakeSalesforce()
    clock = FakeClock()
    fake.faults.append(
        Fault(sf_error(503, "SERVER_UNAVAILABLE", "busy"), method="GET", path="limits", times=3)
    )
    with password_session(fake, clock, rng=HalfRandom()) as session:
        resp = session.request("GET", "limits")
    assert resp.json()["DailyApiRequests"]["Max"] == 15000
    assert fake.count_calls("GET", "limits") == 4
    assert clock.sleeps == [0.25, 0.5, 1.0]  # 0.5 * (0.5 * 2**(n-1))


def test_get_gives_up_after_max_attempts_and_names_call() -> None:
    fake = FakeSalesforce()
    fake.faults.append(Fault(sf_error(503, "SERVER_UNAVAILABLE", "busy"), path="limits", times=99))
    with password_session(fake) as session, pytest.raises(ServerUnavailableError) as info:
        session.request("GET", "limits")
    assert fake.count_calls("GET", "limits") == 4
    assert info.value.status == 503
    assert "GET" in str(info.value)
    assert f"{INSTANCE}/services/data/v62.0/limits" in str(info.value)


def test_get_retried_on_connection_errors_and_lost_answers() -> None:
    fake = FakeSalesforce()
    fake.faults.append(Fault(httpx.ConnectError("refused"), path="limits"))
    fake.faults.append(Fault(httpx.ReadTimeout("slow"), when="after", path="limits"))
    with password_session(fake) as session:
        assert session.request("GET", "limits").status_code == 200
    assert fake.count_calls("GET", "limits") == 3


def test_create_with_lost_answer_is_never_resent() -> None:
    fake = FakeSalesforce()
    fake.faults.append(Fault(httpx.ReadTimeout("lost"), when="after", method="POST", path="sobjects"))
    with password_session(fake) as session, pytest.raises(TransportError) as info:
        session.request("POST", "sobjects/Account", json={"Name": "A"}, retry=False)
    assert info.value.in_doubt
    assert fake.count_calls("POST", "sobjects/Account") == 1
    assert fake.count("Account") == 1


def test_create_not_retried_on_500() -> None:
    fake = FakeSalesforce()
    fake.faults.append(Fault(sf_error(500, "UNKNOWN_EXCEPTION", "boom"), method="POST", path="sobjects"))
    with password_session(fake) as session, pytest.raises(ApiError) as info:
        session.request("POST", "sobjects/Account", json={"Name": "A"})
    assert info.value.status == 500
    assert fake.count_calls("POST", "sobjects") == 1


def test_create_retried_when_provably_unprocessed() -> None:
    fake = FakeSalesforce()
    fake.faults.append(Fault(httpx.ConnectError("refused"), method="POST", path="sobjects"))
    fake.faults.append(Fault(sf_error(503, "SERVER_UNAVAILABLE", "busy"), method="POST", path="sobjects"))
    fake.faults.append(
        Fault(
            httpx.Response(429, json=[{"errorCode": "X", "message": "slow down"}]),
            method="POST",
            path="sobjects",
        )
    )
    with password_session(fake) as session:
        resp = session.request("POST", "sobjects/Account", json={"Name": "A"}, retry=False)
    assert resp.status_code == 201
    assert fake.count_calls("POST", "sobjects/Account") == 4
    assert fake.count("Account") == 1


def test_update_by_id_retried_after_lost_answer() -> None:
    fake = FakeSalesforce()
    rid = fake.add("Account", Name="A")
    fake.faults.append(Fault(httpx.ReadTimeout("lost"), when="after", method="PATCH"))
    with password_session(fake) as session:
        resp = session.request("PATCH", f"sobjects/Account/{rid}", json={"Name": "B"}, retry=True)
    assert resp.status_code == 204
    assert fake.count_calls("PATCH", "sobjects/Account") == 2
    assert fake.records["Account"][rid]["Name"] == "B"


def test_one_shot_body_is_sent_once() -> None:
    fake = FakeSalesforce()
    fake.faults.append(Fault(sf_error(503, "SERVER_UNAVAILABLE", "busy"), method="PUT", times=5))

    def chunks():  # a generator cannot be replayed
        yield b"a,b\n"

    with password_session(fake) as session, pytest.raises(ServerUnavailableError):
        session.request("PUT", "jobs/ingest/750x/batches", content=chunks(), retry=True)
    assert fake.count_calls("PUT", "batches") == 1


def test_request_limit_exceeded_carries_usage_and_is_not_retried() -> None:
    fake = FakeSalesforce()
    with password_session(fake) as session:
        session.request("GET", "limits")
        fake.faults.append(
            Fault(sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), times=9)
        )
        with pytest.raises(RequestLimitExceeded) as info:
            session.request("GET", "limits")
    assert fake.count_calls("GET", "limits") == 2
    assert info.value.api_usage == ApiUsage(1, 15000)
    assert info.value.status == 403


def test_limit_info_tracked_on_every_response() -> None:
    fake = FakeSalesforce()
    with password_session(fake) as session:
        assert session.api_usage is None
        session.request("GET", "limits")
        session.request("GET", "limits")
        assert session.api_usage == ApiUsage(2, 15000)


def test_401_renews_once_and_resends() -> None:
    fake = FakeSalesforce()
    with password_session(fake) as session:
        session.request("GET", "limits")
        fake.expire_tokens()
        assert session.request("GET", "limits").status_code == 200
        assert session.refresh_count == 1
        assert session.auth_count == 2
    # the renewed POST create is re-sent: the 401 proves it was not processed
    with password_session(fake) as session:
        session.request("GET", "limits")
        fake.expire_tokens()
        session.request("POST", "sobjects/Account", json={"Name": "x"}, retry=False)
    assert fake.count("Account") == 1


def test_401_after_renewal_raises_session_expired() -> None:
    fake = FakeSalesforce()
    fake.faults.append(
        Fault(sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid"), path="limits", times=2)
    )
    with password_session(fake) as session, pytest.raises(SessionExpiredError):
        session.request("GET", "limits")
    assert len(fake.token_requests) == 2


def test_static_session_cannot_renew() -> None:
    fake = FakeSalesforce()
    with static_session(fake) as session:
        assert session.request("GET", "limits").status_code == 200
        fake.expire_tokens()
        with pytest.raises(SessionExpiredError, match="static"):
            session.request("GET", "limits")
    assert fake.token_requests == []


def test_eight_threads_share_one_renewal() -> None:
    fake = FakeSalesforce()
    fake.token_delay = lambda: time.sleep(0.02)
    session = password_session(fake)
    session.request("GET", "limits")
    fake.expire_tokens()
    barrier = threading.Barrier(8)
    outcomes: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        status = session.request("GET", "limits").status_code
        with lock:
            outcomes.append(status)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.close()
    assert outcomes == [200] * 8
    assert session.refresh_count == 1
    assert fake.tokens_issued == 2  # first login + ONE renewal
    assert fake.count_calls("GET", "limits") <= 1 + 8 + 8


def test_token_endpoint_refusal_is_authentication_error() -> None:
    fake = FakeSalesforce()
    from kinetic_core.auth import PasswordAuth
    from kinetic_core.http import HttpSession

    auth = PasswordAuth("https://login.salesforce.com", "cid", "sec", "me@acme.com", "wrong")
    with HttpSession(auth, transport=fake.transport()) as session, pytest.raises(AuthenticationError) as info:
        session.request("GET", "limits")
    assert info.value.error == "invalid_grant"
    assert info.value.description == "authentication failure"
    assert info.value.status == 400


def test_gzip_answers_are_decoded_and_requested() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("accept-encoding", ""))
        payload = gzip.compress(json.dumps({"ok": True}).encode())
        return httpx.Response(
            200, content=payload, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    from kinetic_core.auth import StaticTokenAuth
    from kinetic_core.http import HttpSession

    with HttpSession(StaticTokenAuth(INSTANCE, "t"), transport=httpx.MockTransport(handler)) as session:
        assert session.request("GET", "limits").json() == {"ok": True}
    assert "gzip" in seen[0]


def test_stream_returns_unread_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b'{"a":', b"1}"]))

    from kinetic_core.auth import StaticTokenAuth
    from kinetic_core.http import HttpSession

    with HttpSession(StaticTokenAuth(INSTANCE, "t"), transport=httpx.MockTransport(handler)) as session:
        resp = session.request("GET", "limits", stream=True)
        assert not resp.is_stream_consumed
        assert json.loads(b"".join(resp.iter_bytes())) == {"a": 1}
        resp.close()


def test_urls_and_identity() -> None:
    fake = FakeSalesforce()
    with password_session(fake) as session:
        assert session.data_url("/query") == f"{INSTANCE}/services/data/v62.0/query"
        assert (
            session.absolute_url("/services/data/v62.0/query/01g-2")
            == f"{INSTANCE}/services/data/v62.0/query/01g-2"
        )
        assert session.absolute_url("https://other/x") == "https://other/x"
        assert session.token.org_id == "00Dxx0000001gEREAY"
        assert session.token.user_id == "005xx000001SwiUAAS"


def test_timeouts_reach_the_pooled_client() -> None:
    fake = FakeSalesforce()
    with password_session(fake, timeouts=Timeouts(connect=3.0, read=7.0)) as session:
        assert session.http_client.timeout.connect == 3.0
        assert session.http_client.timeout.read == 7.0


def test_call_in_flight_while_another_thread_renews_reuses_that_renewal() -> None:
    """A call sent with the old session, refused after another thread renewed, re-sends with the new one."""
    fake = FakeSalesforce()
    renewed_elsewhere = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        if threading.current_thread().name == "slow" and request.url.path.endswith("/limits"):
            renewed_elsewhere.wait(5)  # the old session is refused only after the other thread renewed
        return fake.handle(request)

    session = HttpSession(
        password_session(fake).auth, transport=httpx.MockTransport(handler), sleep=lambda s: None
    )
    session.request("GET", "limits")
    fake.expire_tokens()
    outcome: list[int] = []
    slow = threading.Thread(
        target=lambda: outcome.append(session.request("GET", "limits").status_code), name="slow"
    )
    slow.start()
    assert session.request("GET", "limits").status_code == 200  # this thread renews
    renewed_elsewhere.set()
    slow.join(5)
    session.close()
    assert outcome == [200]
    assert session.refresh_count == 1
    assert fake.tokens_issued == 2


def test_session_lifetime_shorter_than_one_call_fails_clearly_after_one_renewal() -> None:
    """Each call takes 2 s on a fake clock; sessions live 1 s: one renewal, then an error with the timings."""
    fake = FakeSalesforce()
    clock = FakeClock()
    issued: dict[str, float] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            resp = fake.handle(request)
            resp.read()
            issued[resp.json()["access_token"]] = clock.now
            return resp
        clock.now += 2.0  # the call takes 2 s before the server checks the session
        token = request.headers.get("authorization", "")[len("Bearer ") :]
        if clock.now - issued.get(token, clock.now) > 1.0:
            with fake.lock:
                fake.valid_tokens.discard(token)
        return fake.handle(request)

    session = HttpSession(
        password_session(fake).auth,
        transport=httpx.MockTransport(handler),
        clock=clock.time,
        sleep=clock.sleep,
    )
    with session, pytest.raises(SessionExpiredError) as caught:
        session.request("GET", "limits")
    assert session.refresh_count == 1
    assert fake.tokens_issued == 2
    message = str(caught.value)
    assert "session obtained 0.000 s before this call was sent (its answer took 2.000 s)" in message
    assert "session lifetime is shorter than one call" in message
