"""API operations as steps: the calls an operation makes and what it makes of the answers, without I/O.

An operation that needs one or more API calls (create a record, upsert and read the id back, send a
chunk of a Composite batch, run a Bulk job) is written once as a generator: it *yields* a step and
receives what the step gives back, and *returns* its result. The steps:

* ``ApiCall``: one call (its body JSON, or ``content``: bytes or a re-readable stream of bytes, an
  upload); gives back the 2xx ``httpx.Response``, read whole;
* ``Download``: a GET streamed into a ``BodySink`` (with the session's bounds; an answer cut off
  midway is requested again from the same URL, under the retry policy); gives back its headers;
* ``Wait``: a pause of so many seconds (polling a job); gives back None.

``run`` drives an operation over an ``HttpSession`` (``sleep`` blocks), ``arun`` over an
``AsyncHttpSession`` (``sleep`` is awaited): the sync and async clients share the protocol (paths,
bodies, retry flags, parsing, polling schedules) and differ only in how a step is performed. An
error of a step (``ApiError``, ``TransportError``...) is thrown into the generator at its
``yield``, so an operation may handle it; unhandled, it reaches the caller.

Example:
    >>> def read_limits() -> Steps[int]:
    ...     response = yield ApiCall("GET", "limits")
    ...     return len(response.json())
    >>> steps = read_limits()
    >>> next(steps).url
    'limits'
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from kinetic_core._httpx import httpx
from kinetic_core.http.ops import BodySink

T = TypeVar("T")

Steps = Generator["ApiCall", httpx.Response, T]
"""An operation of plain calls: yields the calls it makes, receives their answers, returns its result."""


@dataclass(frozen=True)
class ApiCall:
    """One API call of an operation: what ``HttpSession.request`` is given.

    ``retry`` says whether the call may be repeated after a lost answer (reads, PATCH and DELETE
    are idempotent; a POST create is not: see ``kinetic_core.http.retry``); None decides by the
    method (GET, HEAD, DELETE and PUT may be repeated, POST and PATCH not). ``content`` is a raw
    body (bytes, or an iterable of bytes that every ``iter()`` reads again from the start, so the
    session may send it again after renewing the token). ``answer`` marks a URL taken from an
    answer (a ``nextRecordsUrl``): the session keeps it on the instance (``answer_url``).
    """

    method: str
    url: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    headers: Mapping[str, str] | None = None
    retry: bool | None = True
    content: Any = None
    answer: bool = False


@dataclass(frozen=True)
class Download:
    """A GET whose answer is streamed into ``sink`` (``HttpSession.download``); gives back its headers.

    A cut-off answer is requested again from the same URL (``sink.reset()`` first), under the
    session's retry policy and backoff; ``limit`` overrides ``max_download_bytes``.
    """

    url: str
    sink: BodySink
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    limit: int | None = None


@dataclass(frozen=True)
class Wait:
    """Pause ``seconds`` (between status checks of a job)."""

    seconds: float


Step = ApiCall | Download | Wait
Flow = Generator[Step, Any, T]
"""An operation of any steps: calls, downloads and waits."""


class SyncSession(Protocol):
    """What ``run`` needs of a session: the calls of ``kinetic_core.http.HttpSession``."""

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
        retry: Any = None,
        stream: bool = False,
    ) -> httpx.Response: ...

    def download(
        self,
        method: str,
        url: str,
        sink: BodySink,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: Any = None,
        limit: int | None = None,
    ) -> Mapping[str, str]: ...

    def answer_url(self, url: str) -> str: ...


class AsyncSession(Protocol):
    """What ``arun`` needs of a session: the calls of ``kinetic_core.http.AsyncHttpSession``."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: Any = None,
        headers: Mapping[str, str] | None = None,
        retry: Any = None,
        stream: bool = False,
    ) -> httpx.Response: ...

    async def download(
        self,
        method: str,
        url: str,
        sink: BodySink,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: Any = None,
        limit: int | None = None,
    ) -> Mapping[str, str]: ...

    def answer_url(self, url: str) -> str: ...


def perform(
    session: SyncSession,
    step: Step,
    sleep: Callable[[float], None],
    resolve: Callable[[str], str] | None = None,
) -> Any:
    """Perform one step on a sync session; what it gives back (see ``run`` for ``resolve``)."""
    if isinstance(step, ApiCall):
        if step.answer:
            url = session.answer_url(step.url)
        else:
            url = resolve(step.url) if resolve is not None else step.url
        return session.request(
            step.method,
            url,
            params=step.params,
            json=step.json,
            content=step.content,
            headers=step.headers,
            retry=step.retry,
        )
    if isinstance(step, Download):
        url = resolve(step.url) if resolve is not None else step.url
        return session.download(
            "GET", url, step.sink, params=step.params, headers=step.headers, limit=step.limit
        )
    sleep(step.seconds)
    return None


async def aperform(session: AsyncSession, step: Step, sleep: Callable[[float], Awaitable[None]]) -> Any:
    """Perform one step on an async session; what it gives back."""
    if isinstance(step, ApiCall):
        return await session.request(
            step.method,
            session.answer_url(step.url) if step.answer else step.url,
            params=step.params,
            json=step.json,
            content=step.content,
            headers=step.headers,
            retry=step.retry,
        )
    if isinstance(step, Download):
        return await session.download(
            "GET", step.url, step.sink, params=step.params, headers=step.headers, limit=step.limit
        )
    await sleep(step.seconds)
    return None


def run(
    session: SyncSession,
    steps: Flow[T],
    *,
    sleep: Callable[[float], None] = time.sleep,
    resolve: Callable[[str], str] | None = None,
) -> T:
    """Perform an operation's steps one after the other on a sync session; its result.

    ``resolve`` turns a step's path into the URL handed to the session (``session.data_url``, say);
    by default the path is handed over as it is and the session resolves it.
    """
    answer: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                step = steps.throw(error) if error is not None else steps.send(answer)
            except StopIteration as stop:
                result: T = stop.value
                return result
            answer, error = None, None
            try:
                answer = perform(session, step, sleep, resolve)
            except Exception as exc:  # handed to the operation, which may handle it
                error = exc
    finally:
        steps.close()


async def arun(
    session: AsyncSession,
    steps: Flow[T],
    *,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> T:
    """Perform an operation's steps one after the other on an async session; its result.

    ``sleep`` defaults to ``asyncio.sleep`` (asyncio is imported here: a sync process never loads it).
    Cancelling the task closes the operation at the step it was waiting for (no further step runs).
    """
    if sleep is None:
        import asyncio

        sleep = asyncio.sleep
    answer: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                step = steps.throw(error) if error is not None else steps.send(answer)
            except StopIteration as stop:
                result: T = stop.value
                return result
            answer, error = None, None
            try:
                answer = await aperform(session, step, sleep)
            except Exception as exc:  # handed to the operation, which may handle it
                error = exc
    finally:
        steps.close()
