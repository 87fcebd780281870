"""``AsyncHttpSession``: the one send path for asyncio, on ``httpx.AsyncClient``.

The protocol is ``kinetic_core.http.core``, the same generators ``HttpSession`` drives: this
session only performs their ops with awaits. Calls, retries and backoff (the sleep is a
parameter), 401 renewal through the shared ``TokenProvider``, API-usage tracking, response bounds,
the per-call deadline (headers included) and re-requested streamed bodies behave exactly as in
the sync session. Files (an upload read from disk, a download written to disk) are read and
written in worker threads, in blocks of 1 MiB (``kinetic_core.http.afiles``).

Example:
    >>> import asyncio
    >>> from kinetic_core.auth import StaticTokenAuth
    >>> async def main() -> str:
    ...     async with AsyncHttpSession(StaticTokenAuth("https://x.my.salesforce.com", "00D!t")) as s:
    ...         await s.login()
    ...         return s.data_url("limits")
    >>> asyncio.run(main())
    'https://x.my.salesforce.com/services/data/v62.0/limits'
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from typing import Any

from kinetic_core._httpx import httpx
from kinetic_core.auth.base import Authenticator, Token, TokenRequest
from kinetic_core.auth.provider import TokenProvider
from kinetic_core.http.afiles import BlockWriter, ThreadedBody
from kinetic_core.http.bounds import ResponseBounds, aiter_download, aread_whole
from kinetic_core.http.core import SendCore
from kinetic_core.http.ops import (
    BodySink,
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
from kinetic_core.http.transport import DeadlineBook, Timeouts, Verify, build_async_http_client

logger = logging.getLogger(__name__)

AsyncContent = bytes | Iterable[bytes] | AsyncIterable[bytes]


class AsyncHttpSession(SendCore):
    """Sends every request of one asyncio client: the twin of ``HttpSession``, same rules, awaited.

    Args:
        auth: the OAuth flow, or a ``TokenProvider`` shared with other sessions (a sync
            ``HttpSession`` of the same org, say): concurrent tasks and threads share one renewal.
        api_version: REST API version, e.g. ``"62.0"``.
        http_client: the ``httpx.AsyncClient`` to use (built with ``build_async_http_client`` when
            omitted; closed by ``aclose`` only then).
        transport: an httpx async transport for the built client.
        verify: TLS verification: bool, CA bundle path or SSL context.
        timeouts: connect/read/write/pool timeouts.
        max_connections: at most this many connections open at once; further calls wait for one
            (``Timeouts.pool``). Default 20.
        retry: the base retry policy. bounds: limits on every answer (``ResponseBounds``).
        clock: epoch seconds. sleep: awaited between tries (default ``asyncio.sleep``).
        rng: backoff jitter. monotonic: seconds for deadlines and download progress.

    The API, all coroutines but ``data_url``/``absolute_url``/``answer_url`` (which need a login):

    * ``await login()`` -> ``Token``: log in now (the first call does it anyway);
    * ``await request(method, url, params=, json=, content=, headers=, retry=, stream=)`` ->
      ``httpx.Response`` (read whole unless ``stream``; then ``await response.aclose()``);
    * ``await get_json(url, params=)``;
    * ``await download(method, url, sink, params=, headers=, retry=, limit=)`` -> headers: the
      answer streamed into a ``BodySink``, requested again from the same URL when cut off;
    * ``await refresh()``; ``await aclose()`` (or ``async with``).

    Example:
        >>> async def count_accounts(session: AsyncHttpSession) -> int:
        ...     body = await session.get_json("query", params={"q": "SELECT COUNT() FROM Account"})
        ...     return int(body["totalSize"])
        >>> async def main() -> None:                                   # doctest: +SKIP
        ...     provider = TokenProvider(PasswordAuth(login_url, client_id, None, user, password))
        ...     async with AsyncHttpSession(provider, max_connections=10) as session:
        ...         totals = await asyncio.gather(*(count_accounts(session) for _ in range(20)))
    """

    def __init__(
        self,
        auth: Authenticator | TokenProvider,
        *,
        api_version: str = "62.0",
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: Verify = True,
        timeouts: Timeouts | None = None,
        max_connections: int = 20,
        retry: RetryPolicy | None = None,
        bounds: ResponseBounds | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
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
        self._deadlines = DeadlineBook(asyncio.current_task, monotonic)
        self._owns_client = http_client is None
        self._client = http_client or build_async_http_client(
            verify=verify,
            timeouts=timeouts,
            transport=transport,
            max_connections=max_connections,
            deadlines=self._deadlines,
        )
        self._sleep = sleep

    # ------------------------------------------------------------------ properties
    @property
    def http_client(self) -> httpx.AsyncClient:
        """The pooled httpx async client (shared by every call of this session)."""
        return self._client

    async def login(self) -> Token:
        """The current token, logging in first if needed (concurrent callers share one login)."""
        return (await self.provider.aget(self._fetch_token)).token

    @property
    def instance_url(self) -> str:
        """Base URL of the org's API. Raises ``RuntimeError`` before the first login."""
        return self._held().token.instance_url

    def data_url(self, suffix: str) -> str:
        """Absolute ``{instance}/services/data/v{ver}/{suffix}`` (after ``await login()``)."""
        return self._data_url(self.instance_url, suffix)

    def absolute_url(self, url: str) -> str:
        """``url`` if absolute; instance-relative for ``/...``; else relative to the data URL."""
        return self._absolute(self.instance_url, url)

    def answer_url(self, url: str) -> str:
        """A URL taken from an answer, resolved against the instance URL and kept on it.

        Raises:
            UnsafeUrlError: it leads off the instance's scheme, host and port, or out of ``/services/``.
        """
        return self._answer_url(self.instance_url, url)

    # ------------------------------------------------------------------ tokens
    async def _fetch_token(self, request: TokenRequest) -> Token:
        token: Token = await self._run(self.token_exchange(request))
        return token

    async def refresh(self, seen_generation: int | None = None) -> None:
        """Renew the token; tasks that saw the same expired session share one renewal."""
        if seen_generation is None:
            current = self.provider.current
            seen_generation = current.generation if current is not None else 0
        await self.provider.arenew(seen_generation, self._fetch_token)

    # ------------------------------------------------------------------ sending
    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: AsyncContent | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | bool | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send one API call and return its 2xx response (see ``HttpSession.request``).

        An async iterable ``content`` is sent once, never repeated, like a sync iterator.

        Raises:
            ApiError: (and subclasses) for non-2xx answers. TransportError: no answer after the
            allowed tries. SessionExpiredError: 401 after a renewal, or a static session.
            ResponseLimitError: the answer broke a bound, or did not arrive within ``request_deadline``.
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
        response: httpx.Response = await self._run(self.exchange(call))
        return response

    async def download(
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
        """Stream an answer into ``sink``, requested again from the same URL when cut off
        (see ``HttpSession.download``). Returns the headers of the answer that completed."""
        call = self.call(method, url, params=params, headers=headers, retry=retry)
        result: dict[str, str] = await self._run(self.download_exchange(call, sink, limit=limit))
        return result

    async def get_json(self, url: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode JSON (safe to repeat)."""
        resp = await self.request("GET", url, params=params)
        return resp.json() if resp.content else None

    # ------------------------------------------------------------------ performing ops
    async def _run(self, exchange: Exchange) -> Any:
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
                    value = await self._perform(op)
                except Exception as exc:  # handed to the exchange, which decides
                    error = exc
        finally:
            exchange.close()

    async def _perform(self, op: Op) -> Any:
        if isinstance(op, Send):
            return await self._send(op)
        if isinstance(op, ReadWhole):
            self._deadlines.arm(op.deadline)
            try:
                return await aread_whole(
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
                writer = BlockWriter(op.sink)  # the sink (a file, often) is written off the loop
                async for chunk in aiter_download(
                    op.response,
                    self.bounds,
                    clock=self.monotonic,
                    url=op.url,
                    limit=op.limit,
                    deadline=op.deadline,
                ):
                    await writer.add(chunk)
                await writer.flush()
            finally:
                self._deadlines.disarm()
                await op.response.aclose()
            return None
        if isinstance(op, GetToken):
            return await self.provider.aget(self._fetch_token)
        if isinstance(op, Renew):
            return await self.provider.arenew(op.generation, self._fetch_token)
        if isinstance(op, Sleep):
            await self._sleep(op.seconds)
            return None
        raise TypeError(f"unknown op {op!r}")

    async def _send(self, op: Send) -> Sent:
        monotonic = self.monotonic
        book = self._deadlines
        sent = [monotonic()]
        body_sent = [op.deadline is not None]
        extensions: dict[str, Any] = {}
        content = op.content
        if op.deadline is None:  # an upload: its deadline starts once its body is sent
            if not isinstance(content, AsyncIterable):
                content = ThreadedBody(content)  # a file re-read per attempt: read off the loop

            async def hook(event: str, info: Mapping[str, Any]) -> None:
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
            content=content,
            headers=op.headers,
            timeout=self._timeout(self._client.timeout),
            extensions=extensions or None,
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException:
            if past_deadline(op, sent[0], body_sent[0], monotonic()):
                raise deadline_error(op.window, op.method, op.url) from None
            raise
        finally:
            book.disarm()
        return Sent(response, sent[0])

    # ------------------------------------------------------------------ lifecycle
    async def aclose(self) -> None:
        """Close the pooled connections (if this session built its client)."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncHttpSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = self.provider.current
        where = state.token.instance_url if state else "(not logged in)"
        return f"AsyncHttpSession({self.auth.flow}, {where}, v{self.api_version})"
