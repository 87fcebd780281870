"""``HttpSession``: the one send path of a client (auth, retries, 401 renewal, limits, errors), sync.

The protocol lives in ``kinetic_core.http.core`` (shared with ``AsyncHttpSession``); this module
performs its ops with a pooled ``httpx.Client``.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kinetic_core._httpx import httpx
from kinetic_core.auth.base import Authenticator, Token, TokenRequest
from kinetic_core.auth.provider import TokenProvider
from kinetic_core.http.bounds import ResponseBounds, iter_download, read_whole
from kinetic_core.http.core import SendCore
from kinetic_core.http.ops import (
    BodySink,
    Content,
    Exchange,
    GetToken,
    Op,
    Pump,
    ReadWhole,
    Renew,
    Send,
    Sent,
    Sleep,
    deadline_error,
    past_deadline,
)
from kinetic_core.http.retry import RetryPolicy
from kinetic_core.http.transport import (
    DeadlineBook,
    SchemeTransports,
    Timeouts,
    build_http_client,
    tls_verify,
)

__all__ = ["Content", "HttpSession", "SchemeTransports", "Timeouts", "build_http_client", "tls_verify"]

logger = logging.getLogger(__name__)


class HttpSession(SendCore):
    """Sends every request of one client: adds the token, renews it on 401, retries safely, parses errors.

    Args:
        auth: the OAuth flow (see ``kinetic_core.auth``), or a ``TokenProvider`` shared with other
            sessions (an ``AsyncHttpSession``, say): they then log in and renew once for all.
        api_version: REST API version, e.g. ``"62.0"``.
        http_client: the ``httpx.Client`` to use (built with ``build_http_client`` when omitted).
        transport: an httpx transport for the built client (tests pass ``httpx.MockTransport``).
        verify: TLS verification: bool, CA bundle path or SSL context.
        timeouts: connect/read/write/pool timeouts.
        retry: the base retry policy; each call decides idempotency (see ``kinetic_core.http.retry``).
        bounds: limits on every answer (size, compression ratio, deadline; see ``ResponseBounds``).
        clock: epoch seconds (JWT ``exp``, timings). sleep: waits between tries. rng: backoff jitter.
        monotonic: seconds for deadlines and download progress.
        max_connections: size of the connection pool of the built client.

    Example:
        >>> from kinetic_core.auth import StaticTokenAuth
        >>> s = HttpSession(StaticTokenAuth("https://x.my.salesforce.com", "00D!t"))
        >>> s.data_url("limits")
        'https://x.my.salesforce.com/services/data/v62.0/limits'
        >>> s.close()
    """

    def __init__(
        self,
        auth: Authenticator | TokenProvider,
        *,
        api_version: str = "62.0",
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str | Path | ssl.SSLContext = True,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        bounds: ResponseBounds | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        max_connections: int = 20,
    ) -> None:
        super().__init__(
            auth,
            api_version=api_version,
            retry=retry,
            bounds=bounds,
            clock=clock,
            rng=rng,
            monotonic=monotonic,
        )
        self._deadlines = DeadlineBook(threading.get_ident, monotonic)
        self._owns_client = http_client is None
        self._client = http_client or build_http_client(
            verify=verify,
            timeouts=timeouts,
            transport=transport,
            max_connections=max_connections,
            deadlines=self._deadlines,
        )
        self._sleep = sleep

    # ------------------------------------------------------------------ properties
    @property
    def http_client(self) -> httpx.Client:
        """The pooled httpx client (shared by every call of this session)."""
        return self._client

    @property
    def token(self) -> Token:
        """The current token, logging in first if needed."""
        return self.provider.get(self._fetch_token).token

    @property
    def instance_url(self) -> str:
        """Base URL of the org's API (logs in first if needed)."""
        return self.token.instance_url

    def data_url(self, suffix: str) -> str:
        """Absolute ``{instance}/services/data/v{ver}/{suffix}``.

        Example:
            >>> from kinetic_core.auth import StaticTokenAuth
            >>> HttpSession(StaticTokenAuth("https://x", "t"), api_version="60.0").data_url("/query")
            'https://x/services/data/v60.0/query'
        """
        return self._data_url(self.instance_url, suffix)

    def absolute_url(self, url: str) -> str:
        """``url`` if absolute; instance-relative for ``/...``; else relative to the data URL."""
        return self._absolute(self.instance_url, url)

    def answer_url(self, url: str) -> str:
        """A URL taken from an answer (``nextRecordsUrl``...), resolved against the instance URL.

        Raises:
            UnsafeUrlError: it leads off the instance's scheme, host and port, or out of ``/services/``.

        Example:
            >>> from kinetic_core.auth import StaticTokenAuth
            >>> HttpSession(StaticTokenAuth("https://x", "t")).answer_url("/services/data/v62.0/query/01g-2")
            'https://x/services/data/v62.0/query/01g-2'
        """
        return self._answer_url(self.instance_url, url)

    # ------------------------------------------------------------------ tokens
    def _fetch_token(self, request: TokenRequest) -> Token:
        token: Token = self._run(self.token_exchange(request))
        return token

    def refresh(self, seen_generation: int | None = None) -> None:
        """Renew the token. Concurrent callers that saw the same expired token share one renewal.

        Raises:
            SessionExpiredError: the session cannot be renewed (static token).
            AuthenticationError: the token endpoint refused.
        """
        if seen_generation is None:
            current = self.provider.current
            seen_generation = current.generation if current is not None else 0
        self.provider.renew(seen_generation, self._fetch_token)

    # ------------------------------------------------------------------ sending
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: Content | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | bool | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send one API call and return its 2xx response.

        Args:
            method: HTTP method.
            url: absolute URL, instance-relative ``/services/...`` path, or a suffix of ``data_url``.
            params: query parameters.
            json: a JSON body (dates/datetimes/decimals in Salesforce formats).
            content: a raw body: bytes, or an iterable of bytes (an iterator is sent once, never repeated).
            headers: extra headers.
            retry: ``True`` = safe to repeat, ``False`` = repeat only if provably unprocessed, ``None`` =
                by method (GET/HEAD/DELETE/PUT safe; POST/PATCH not), or an explicit ``RetryPolicy``.
            stream: return the response unread (the caller must close it).

        Raises:
            ApiError: (and subclasses) for non-2xx answers. TransportError: no answer after the allowed tries.
            SessionExpiredError: 401 after a renewal, or a static session.
            ResponseLimitError: the answer broke a bound, or did not arrive within ``request_deadline``.

        Example:
            >>> resp = session.request("GET", "limits")  # doctest: +SKIP
        """
        call = self.call(
            method,
            url,
            params=params,
            json=json,
            content=content,
            headers=headers,
            retry=retry,
            stream=stream,
        )
        response: httpx.Response = self._run(self.exchange(call))
        return response

    def download(
        self,
        method: str,
        url: str,
        sink: BodySink,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | bool | None = None,
        limit: int | None = None,
    ) -> dict[str, str]:
        """Stream an answer into ``sink``; one cut off midway is requested again from the same URL.

        Re-requests follow the call's retry policy (``retry``, by method when None) with its backoff;
        ``sink.reset()`` is called before each one. ``limit`` overrides ``max_download_bytes``.
        Returns the headers of the answer that completed.

        Example:
            >>> headers = session.download("GET", "jobs/query/750.../results", sink)  # doctest: +SKIP
        """
        call = self.call(method, url, params=params, headers=headers, retry=retry)
        result: dict[str, str] = self._run(self.download_exchange(call, sink, limit=limit))
        return result

    def get_json(self, url: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode JSON (safe to repeat)."""
        resp = self.request("GET", url, params=params)
        return resp.json() if resp.content else None

    # ------------------------------------------------------------------ performing ops
    def _run(self, exchange: Exchange) -> Any:
        """Drive an exchange: perform each op it yields, send back the result or throw in the error."""
        value: Any = None
        error: Exception | None = None
        try:
            while True:
                try:
                    op = exchange.throw(error) if error is not None else exchange.send(value)
                except StopIteration as stop:
                    return stop.value
                value, error = None, None
                try:
                    value = self._perform(op)
                except Exception as exc:  # handed to the exchange, which decides
                    error = exc
        finally:
            exchange.close()

    def _perform(self, op: Op) -> Any:
        if isinstance(op, Send):
            return self._send(op)
        if isinstance(op, ReadWhole):
            self._deadlines.arm(op.deadline)
            try:
                return read_whole(
                    op.response,
                    self.bounds,
                    deadline=op.deadline,
                    clock=self.monotonic,
                    method=op.method,
                    url=op.url,
                )
            finally:
                self._deadlines.disarm()
        if isinstance(op, Pump):
            self._deadlines.arm(op.deadline)
            try:
                for chunk in iter_download(
                    op.response,
                    self.bounds,
                    clock=self.monotonic,
                    url=op.url,
                    limit=op.limit,
                    deadline=op.deadline,
                ):
                    op.sink.write(chunk)
            finally:
                self._deadlines.disarm()
                op.response.close()
            return None
        if isinstance(op, GetToken):
            return self.provider.get(self._fetch_token)
        if isinstance(op, Renew):
            return self.provider.renew(op.generation, self._fetch_token)
        if isinstance(op, Sleep):
            self._sleep(op.seconds)
            return None
        raise TypeError(f"unknown op {op!r}")

    def _send(self, op: Send) -> Sent:
        monotonic = self.monotonic
        book = self._deadlines
        sent = [monotonic()]
        body_sent = [op.deadline is not None]
        extensions: dict[str, Any] = {}
        if op.deadline is None:  # an upload: its deadline starts once its body is sent

            def hook(event: str, info: Mapping[str, Any]) -> None:
                if event == "http11.send_request_body.complete":
                    sent[0] = monotonic()
                    body_sent[0] = True
                    book.arm(sent[0] + op.window)

            extensions["trace"] = hook
        else:
            book.arm(op.deadline)
        request = self._client.build_request(
            op.method,
            op.url,
            params=op.params,
            content=op.content,
            headers=op.headers,
            timeout=self._timeout(self._client.timeout),
            extensions=extensions or None,
        )
        try:
            response = self._client.send(request, stream=True)
        except httpx.TimeoutException:
            if past_deadline(op, sent[0], body_sent[0], monotonic()):
                raise deadline_error(op.window, op.method, op.url) from None
            raise
        finally:
            book.disarm()
        return Sent(response, sent[0])

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the pooled connections (if this session built its client)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HttpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = self.provider.current
        where = state.token.instance_url if state else "(not logged in)"
        return f"HttpSession({self.auth.flow}, {where}, v{self.api_version})"
