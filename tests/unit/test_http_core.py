"""The sans-IO protocol core: a call is a generator of ops, stepped here by hand without any I/O."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest

from kinetic_core.auth import ClientCredentialsAuth, StaticTokenAuth, Token, TokenProvider, TokenRequest
from kinetic_core.errors import NotFoundError, ResponseLimitError, TransportError
from kinetic_core.http.core import SendCore
from kinetic_core.http.ops import (
    Call,
    GetToken,
    Pump,
    ReadWhole,
    Renew,
    Send,
    Sent,
    Sleep,
    deadline_error,
    one_shot,
    past_deadline,
)
from kinetic_core.http.retry import RetryPolicy
from kinetic_core.http.transport import DeadlineBook

INSTANCE = "https://x.my.salesforce.com"


class Rng:
    def random(self) -> float:
        return 0.5


def core(**kw: object) -> SendCore:
    return SendCore(StaticTokenAuth(INSTANCE, "00D!t"), rng=Rng(), monotonic=lambda: 100.0, **kw)  # type: ignore[arg-type]


def held(c: SendCore) -> object:
    return c.provider.get(fetch=lambda request: pytest.fail("a static token needs no request"))


def as_send(op: object) -> Send:
    assert isinstance(op, Send)
    return op


def answer(
    status: int, url: str, body: bytes = b"", headers: Mapping[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers, request=httpx.Request("GET", url))


def test_get_is_described_sent_read_and_returned() -> None:
    c = core()
    gen = c.exchange(c.call("GET", "limits"))
    assert isinstance(next(gen), GetToken)
    send = as_send(gen.send(held(c)))
    assert isinstance(send, Send)
    assert send.url == f"{INSTANCE}/services/data/v62.0/limits"
    assert send.headers["Authorization"] == "Bearer 00D!t"
    assert send.deadline == 100.0 + c.bounds.request_deadline
    response = answer(200, send.url, headers={"Sforce-Limit-Info": "api-usage=3/100"})
    read = gen.send(Sent(response, 100.0))
    assert isinstance(read, ReadWhole)
    with pytest.raises(StopIteration) as stop:
        gen.send(b'{"ok": true}')
    assert stop.value.value.json() == {"ok": True}
    assert c.api_usage is not None
    assert c.api_usage.used == 3


def test_connection_refused_sleeps_by_policy_then_gives_up() -> None:
    c = core(retry=RetryPolicy(max_attempts=3, base_delay=2.0))
    gen = c.exchange(c.call("POST", "sobjects/Account", json={"Name": "A"}))
    next(gen)
    gen.send(held(c))
    sleeps = []
    for _ in range(2):
        op = gen.throw(httpx.ConnectError("refused"))
        assert isinstance(op, Sleep)
        sleeps.append(op.seconds)
        assert isinstance(gen.send(None), GetToken)
        assert isinstance(gen.send(held(c)), Send)
    with pytest.raises(TransportError) as err:
        gen.throw(httpx.ConnectError("refused"))
    assert sleeps == [1.0, 2.0]  # 0.5 x ceilings 2, 4
    assert not err.value.in_doubt


def test_401_renews_once_through_the_provider_and_resends() -> None:
    c = core()
    gen = c.exchange(c.call("GET", "limits"))
    next(gen)
    send = as_send(gen.send(held(c)))
    gen.send(Sent(answer(401, send.url), 100.0))  # ReadWhole of the error body
    op = gen.send(b'[{"errorCode":"INVALID_SESSION_ID","message":"expired"}]')
    assert op == Renew(1)
    assert isinstance(gen.send(held(c)), GetToken)


def test_error_answer_raises_the_salesforce_error() -> None:
    c = core()
    gen = c.exchange(c.call("GET", "sobjects/Account/001000000000001AAA"))
    next(gen)
    send = as_send(gen.send(held(c)))
    gen.send(Sent(answer(404, send.url), 100.0))
    with pytest.raises(NotFoundError):
        gen.send(b'[{"errorCode":"NOT_FOUND","message":"gone"}]')


def test_token_request_goes_through_the_same_retries() -> None:
    c = core(retry=RetryPolicy(max_attempts=2, base_delay=1.0))
    gen = c.token_exchange(TokenRequest("https://login.example/services/oauth2/token", {"grant_type": "x"}))
    send = as_send(next(gen))
    assert isinstance(send, Send)
    assert "Authorization" not in send.headers
    assert send.content == b"grant_type=x"
    gen.send(Sent(answer(503, send.url), 100.0))
    assert isinstance(gen.send(b""), Sleep)  # 503 from the token endpoint: retried like any call
    send = as_send(gen.send(None))
    gen.send(Sent(answer(200, send.url), 100.0))
    with pytest.raises(StopIteration) as stop:
        gen.send(b'{"access_token":"00D!n","instance_url":"https://y.my.salesforce.com"}')
    assert stop.value.value.instance_url == "https://y.my.salesforce.com"


class ListSink:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.resets = 0

    def start(self, headers: Mapping[str, str]) -> None:
        self.chunks = []

    def write(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    def reset(self) -> None:
        self.resets += 1
        self.chunks = []


def test_download_cut_off_is_reset_and_requested_again_from_the_same_url() -> None:
    c = core(retry=RetryPolicy(max_attempts=2, base_delay=1.0))
    sink = ListSink()
    gen = c.download_exchange(c.call("GET", "jobs/query/750000000000001AAA/results"), sink)
    next(gen)
    first = as_send(gen.send(held(c)))
    pump = gen.send(Sent(answer(200, first.url), 100.0))
    assert isinstance(pump, Pump)
    sink.write(b"Id\n1\n")
    assert isinstance(gen.throw(httpx.RemoteProtocolError("peer closed")), Sleep)
    assert sink.resets == 1
    assert sink.chunks == []
    gen.send(None)
    again = as_send(gen.send(held(c)))
    assert again.url == first.url
    gen.send(Sent(answer(200, again.url), 100.0))
    with pytest.raises(TransportError, match=r"cut off \(attempts: 2\)"):
        gen.throw(httpx.RemoteProtocolError("peer closed"))  # max_attempts=2: the second cut is final
    assert sink.resets == 2


def test_download_gives_up_after_the_policy() -> None:
    c = core(retry=RetryPolicy(max_attempts=1))
    gen = c.download_exchange(c.call("GET", "jobs/ingest/750000000000001AAA/successfulResults"), ListSink())
    next(gen)
    send = as_send(gen.send(held(c)))
    gen.send(Sent(answer(200, send.url), 100.0))
    with pytest.raises(TransportError, match=r"cut off \(attempts: 1\)"):
        gen.throw(httpx.ReadError("reset"))


def test_deadline_helpers() -> None:
    send = Send("GET", "https://x/services/data", None, None, {}, 110.0, 10.0)
    assert past_deadline(send, 100.0, True, 110.0)
    assert not past_deadline(send, 100.0, True, 105.0)
    upload = Send("PUT", "https://x/services/data", None, iter([b"a"]), {}, None, 10.0)
    assert not past_deadline(upload, 100.0, False, 200.0)  # its body never left: not the deadline's
    assert past_deadline(upload, 100.0, True, 110.0)
    assert isinstance(deadline_error(10.0, "GET", "https://x"), ResponseLimitError)
    assert one_shot(iter([b"x"]))
    assert not one_shot(b"x")
    assert not one_shot([b"x"])
    book = DeadlineBook(key=lambda: "me", monotonic=lambda: 100.0)
    book.arm(99.0)
    with pytest.raises(TimeoutError):
        book.bound(5.0, TimeoutError)


def test_provider_single_flight_by_generation() -> None:
    calls = []

    def fetch(request: object) -> object:
        calls.append(request)
        return Token(f"00D!{len(calls)}", INSTANCE)

    provider = TokenProvider(ClientCredentialsAuth("https://acme.my.salesforce.com", "id", "s"))
    first = provider.get(fetch)  # type: ignore[arg-type]
    renewed = provider.renew(first.generation, fetch)  # type: ignore[arg-type]
    again = provider.renew(first.generation, fetch)  # type: ignore[arg-type]  # a late caller
    assert renewed is again
    assert renewed.generation == 2
    assert len(calls) == 2
    assert provider.auth_count == 2
    assert provider.refresh_count == 1
    assert isinstance(Call("GET", "x").policy, RetryPolicy)
