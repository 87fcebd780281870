"""The protocol of a call, without I/O: what ``HttpSession`` and ``AsyncHttpSession`` share.

A call is a generator (``SendCore.exchange``, ``token_exchange``, ``download_exchange``) that *yields*
what it needs done (``Op``: get the token, renew it, send a request, read an answer whole, pump
a streamed answer into a sink, sleep) and receives the result, or has the I/O error thrown
back in. Every decision (the URL check, headers, retries and backoff, 401 renewal, limits
tracking, response bounds, errors, re-requesting a cut-off body) is taken here, once; the sync
session (``session.py``) and the async one (``asession.py``) only perform the ops, with
``httpx.Client`` or ``httpx.AsyncClient``. Request building and response parsing are the pure
functions of ``parse``, ``paths`` and ``retry``.

Example:
    >>> from kinetic_core.auth import StaticTokenAuth
    >>> core = SendCore(StaticTokenAuth("https://x.my.salesforce.com", "00D!t"))
    >>> call = core.call("GET", "limits")
    >>> op = next(core.exchange(call))
    >>> type(op).__name__
    'GetToken'
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from kinetic_core._httpx import httpx
from kinetic_core.auth.base import Authenticator, Token, TokenRequest, parse_token_response
from kinetic_core.auth.provider import Held, TokenProvider
from kinetic_core.errors import SessionExpiredError, TransportError
from kinetic_core.http.bounds import ResponseBounds, check_encoding, download_deadline_error
from kinetic_core.http.limits import ApiUsage, parse_limit_info
from kinetic_core.http.ops import (
    DEADLINE_SLACK,
    BodySink,
    Call,
    Exchange,
    GetToken,
    Pump,
    ReadWhole,
    Renew,
    Send,
    Sent,
    Sleep,
    deadline_error,
    one_shot,
    refused_after_renewal,
)
from kinetic_core.http.parse import (
    build_headers,
    encode_json,
    error_code_of,
    error_from_response,
    is_invalid_session,
    redact_url,
)
from kinetic_core.http.paths import check_url, on_instance
from kinetic_core.http.retry import (
    Failure,
    RetryPolicy,
    classify_exception,
    decide,
    parse_retry_after,
    resolve_policy,
)

logger = logging.getLogger(__name__)


class SendCore:
    """State and decisions shared by the sync and async sessions (token provider, policy, bounds, usage).

    Args:
        auth: the OAuth flow, or a ``TokenProvider`` shared with other sessions.
        api_version: REST API version, e.g. ``"62.0"``.
        retry: the base retry policy; each call decides idempotency (``kinetic_core.http.retry``).
        bounds: limits on every answer (``ResponseBounds``).
        clock: epoch seconds (JWT ``exp``, timings). rng: backoff jitter.
        monotonic: seconds for deadlines and download progress.
    """

    def __init__(
        self,
        auth: Authenticator | TokenProvider,
        *,
        api_version: str = "62.0",
        retry: RetryPolicy | None = None,
        bounds: ResponseBounds | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = auth if isinstance(auth, TokenProvider) else TokenProvider(auth, clock=clock)
        self.api_version = api_version.lstrip("vV")
        self.retry_policy = retry or RetryPolicy()
        self.bounds = bounds or ResponseBounds()
        self.monotonic = monotonic
        self._clock = clock
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._usage_lock = threading.Lock()
        self._api_usage: ApiUsage | None = None

    # ------------------------------------------------------------------ properties
    @property
    def auth(self) -> Authenticator:
        """The OAuth flow of the token provider."""
        return self.provider.auth

    @property
    def auth_count(self) -> int:
        """Tokens obtained from the token endpoint (first login included), by every session sharing it."""
        return self.provider.auth_count

    @property
    def refresh_count(self) -> int:
        """Renewals after a 401 INVALID_SESSION_ID (concurrent 401s share one)."""
        return self.provider.refresh_count

    @property
    def api_usage(self) -> ApiUsage | None:
        """The last ``Sforce-Limit-Info`` reading (``used``/``max``), None before any API answer."""
        with self._usage_lock:
            return self._api_usage

    def _held(self) -> Held:
        held = self.provider.current
        if held is None:
            raise RuntimeError("not logged in yet: send a call (or log in) before asking for URLs")
        return held

    def _data_url(self, instance_url: str, suffix: str) -> str:
        return f"{instance_url}/services/data/v{self.api_version}/{suffix.lstrip('/')}"

    def _absolute(self, instance_url: str, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        if url.startswith("/"):
            return instance_url + url
        return self._data_url(instance_url, url)

    def _answer_url(self, instance_url: str, url: str) -> str:
        return on_instance(instance_url, url)

    def _random(self) -> float:
        with self._rng_lock:
            return self._rng.random()

    def _note_usage(self, headers: httpx.Headers) -> None:
        usage = parse_limit_info(headers.get("sforce-limit-info"))
        if usage is not None:
            with self._usage_lock:
                self._api_usage = usage

    def _timeout(self, base: httpx.Timeout) -> httpx.Timeout:
        """The client's timeouts, each read waiting at most the request deadline."""
        cap = self.bounds.request_deadline
        return httpx.Timeout(
            connect=base.connect,
            read=min(base.read, cap) if base.read is not None else cap,
            write=base.write,
            pool=base.pool,
        )

    # ------------------------------------------------------------------ describing calls (pure)
    def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | bool | None = None,
        stream: bool = False,
    ) -> Call:
        """Describe one API call (see ``HttpSession.request`` for the arguments)."""
        method = method.upper()
        policy = resolve_policy(method, retry, self.retry_policy)
        body = encode_json(json) if json is not None else content
        shot = one_shot(body)
        if shot:
            policy = RetryPolicy.never()
        return Call(method, url, params, body, headers, json is not None, policy, shot, stream)

    def token_call(self, request: TokenRequest) -> Call:
        """The POST of a token request. Asking for a token twice is harmless (it issues or re-issues
        a session), so it is retried like any idempotent call."""
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            **request.headers,
        }
        policy = replace(self.retry_policy, idempotent=True)
        body = urlencode(dict(request.form)).encode()
        return Call("POST", request.url, None, body, headers, policy=policy, anonymous=True, raw=True)

    # ------------------------------------------------------------------ the protocol
    def exchange(self, call: Call) -> Exchange:
        """Send ``call`` until it has a final answer: the 2xx response (read whole unless ``stream``).

        Raises:
            ApiError: (and subclasses) for non-2xx answers. TransportError: no answer after the
            allowed tries. SessionExpiredError: 401 after a renewal, or a static session.
            ResponseLimitError: an answer broke a bound (``ResponseBounds``).
        """
        method = call.method
        policy = call.policy
        window = self.bounds.request_deadline
        attempt = 0
        renewed = False
        while True:
            attempt += 1
            held: Held | None = None
            if call.anonymous:
                full_url = call.url
                headers = dict(call.headers or {})
            else:
                held = yield GetToken()
                assert held is not None
                full_url = self._absolute(held.token.instance_url, call.url)
                # The one check every call passes: the token goes to the instance, under /services/.
                check_url(held.token.instance_url, full_url)
                headers = build_headers(held.token.access_token, call.headers, json_body=call.json_body)
            shown = redact_url(full_url)
            upload = call.body is not None and not isinstance(call.body, bytes | bytearray | str)
            started = self._clock()
            begun = self.monotonic()
            send = Send(
                method,
                full_url,
                call.params,
                call.body,
                headers,
                None if upload else begun + window,
                window,
            )
            try:
                sent: Sent = yield send
            except httpx.TransportError as exc:
                failure = classify_exception(exc)
                decision = decide(policy, attempt, failure=failure, rng_value=self._random())
                logger.debug("%s %s failed (%s): %s", method, shown, type(exc).__name__, decision.reason)
                if decision.retry:
                    yield Sleep(decision.delay)
                    continue
                raise TransportError(
                    f"{type(exc).__name__}: no answer"
                    + (" (the request may have been processed)" if failure is Failure.IN_DOUBT else ""),
                    method=method,
                    url=shown,
                    in_doubt=failure is Failure.IN_DOUBT,
                ) from None
            resp = sent.response
            if not call.anonymous:
                self._note_usage(resp.headers)
            status = resp.status_code
            logger.debug("%s %s -> %s (%.0f ms)", method, shown, status, (self._clock() - started) * 1000)
            deadline = sent.sent_at + window
            if 200 <= status < 300:
                if call.stream:
                    check_encoding(resp, method, shown)
                    return resp
                try:
                    resp._content = yield from self._read(resp, deadline, method, full_url)
                except httpx.TransportError as exc:
                    decision = decide(policy, attempt, failure=Failure.IN_DOUBT, rng_value=self._random())
                    if decision.retry:
                        yield Sleep(decision.delay)
                        continue
                    raise TransportError(
                        f"{type(exc).__name__} while reading the answer",
                        method=method,
                        url=shown,
                        in_doubt=True,
                    ) from None
                return resp
            try:
                content = yield from self._read(resp, deadline, method, full_url)
            except httpx.TransportError:  # cut off while reading the error body
                content = b""
            resp._content = content
            if held is not None and not call.raw and is_invalid_session(status, content):
                age = started - held.obtained_at
                logger.debug(
                    "%s %s -> 401 with session %d (obtained %.3f s before sending)",
                    method,
                    shown,
                    held.generation,
                    age,
                )
                if renewed or call.one_shot:
                    if not renewed:
                        yield Renew(held.generation)
                    raise SessionExpiredError(
                        refused_after_renewal(method, shown, age, self._clock() - started)
                        if renewed
                        else f"session renewed, but a streamed body cannot be re-sent ({method} "
                        f"{shown}): send it again"
                    )
                # The server refused the call before doing anything: renew once and re-send.
                yield Renew(held.generation)
                renewed = True
                attempt -= 1
                continue
            decision = decide(
                policy,
                attempt,
                status=status,
                error_code=error_code_of(content),
                rng_value=self._random(),
                retry_after=parse_retry_after(resp.headers),
            )
            if decision.retry:
                logger.debug("retrying %s %s in %.2fs: %s", method, shown, decision.delay, decision.reason)
                yield Sleep(decision.delay)
                continue
            if call.raw:
                return resp
            raise error_from_response(
                status, content, resp.headers.get("content-type", ""), method, full_url, self.api_usage
            )

    def _read(self, resp: httpx.Response, deadline: float, method: str, url: str) -> Exchange:
        """Read an answer whole within the bounds and the deadline (the bytes are the result)."""
        if self.monotonic() > deadline:
            resp.close()
            raise deadline_error(self.bounds.request_deadline, method, url)
        try:
            content: bytes = yield ReadWhole(resp, deadline, method, redact_url(url))
        except httpx.TimeoutException:
            if self.monotonic() >= deadline - DEADLINE_SLACK:
                raise deadline_error(self.bounds.request_deadline, method, url) from None
            raise
        return content

    def token_exchange(self, request: TokenRequest) -> Exchange:
        """POST a token request through ``exchange`` and parse the answer into a ``Token``.

        Raises:
            AuthenticationError: the token endpoint refused. TransportError: it never answered.
        """
        try:
            resp: httpx.Response = yield from self.exchange(self.token_call(request))
        except TransportError as exc:
            cause = str(exc).split(":", 1)[0]
            raise TransportError(f"token request failed: {cause}", method="POST", url=request.url) from None
        token: Token = parse_token_response(resp.status_code, resp.content, request.url)
        return token

    def download_exchange(self, call: Call, sink: BodySink, *, limit: int | None = None) -> Exchange:
        """Stream the answer of ``call`` into ``sink``; a body cut off midway is requested again.

        The same URL (a Bulk result file, or a query page by its locator) is requested again
        under the call's retry policy, with its backoff, and the sink forgets the cut-off
        attempt (``BodySink.reset``). Renewal on 401 and retries before the headers are those
        of every call. The result is the headers of the answer that completed.

        Raises:
            TransportError: still cut off after the policy's attempts (``in_doubt`` is False: a
            download changes nothing). ResponseLimitError: a download bound was broken, or the body
            outlasted ``download_deadline`` (never retried).
        """
        call = replace(call, stream=True)
        cuts = 0
        while True:
            resp: httpx.Response = yield from self.exchange(call)
            headers = dict(resp.headers)
            deadline = self.monotonic() + self.bounds.download_deadline
            try:
                sink.start(headers)
                yield Pump(resp, sink, redact_url(str(resp.request.url)), limit, deadline)
                return headers
            except httpx.TransportError as exc:
                sink.reset()
                if isinstance(exc, httpx.TimeoutException) and self.monotonic() >= deadline - DEADLINE_SLACK:
                    shown = redact_url(str(resp.request.url))
                    raise download_deadline_error(self.bounds, -1, call.method, shown) from None
                cuts += 1
                decision = decide(call.policy, cuts, failure=Failure.IN_DOUBT, rng_value=self._random())
                shown = redact_url(str(resp.request.url))
                if not decision.retry:
                    raise TransportError(
                        f"{type(exc).__name__}: the answer was cut off (attempts: {cuts})",
                        method=call.method,
                        url=shown,
                    ) from None
                logger.warning(
                    "answer of %s cut off (%s); requesting it again in %.2f s",
                    shown,
                    type(exc).__name__,
                    decision.delay,
                )
                yield Sleep(decision.delay)
