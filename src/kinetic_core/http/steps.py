"""API operations as steps: the calls an operation makes and what it makes of the answers, without I/O.

An operation that needs one or more API calls (create a record, upsert and read the id back, send a
chunk of a Composite batch) is written once as a generator: it *yields* an ``ApiCall`` and receives
the 2xx ``httpx.Response`` for it, and *returns* its result. ``run`` drives it over an
``HttpSession``, ``arun`` over an ``AsyncHttpSession``: the sync and async clients share the
protocol (paths, bodies, retry flags, parsing) and differ only in how a call is awaited. An error
of a call (``ApiError``, ``TransportError``...) is thrown into the generator at its ``yield``, so
an operation may handle it; unhandled, it reaches the caller.

Example:
    >>> def read_limits() -> Steps[int]:
    ...     response = yield ApiCall("GET", "limits")
    ...     return len(response.json())
    >>> steps = read_limits()
    >>> next(steps)
    ApiCall(method='GET', url='limits', params=None, json=None, headers=None, retry=True)
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from kinetic_core._httpx import httpx

if TYPE_CHECKING:
    from kinetic_core.http.asession import AsyncHttpSession
    from kinetic_core.http.session import HttpSession

T = TypeVar("T")

Steps = Generator["ApiCall", httpx.Response, T]
"""An operation: yields the calls it makes, receives their answers, returns its result."""


@dataclass(frozen=True)
class ApiCall:
    """One API call of an operation: what ``HttpSession.request`` is given.

    ``retry`` says whether the call may be repeated after a lost answer (reads, PATCH and DELETE
    are idempotent; a POST create is not: see ``kinetic_core.http.retry``).
    """

    method: str
    url: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    headers: Mapping[str, str] | None = None
    retry: bool = True


def run(session: HttpSession, steps: Steps[T]) -> T:
    """Perform an operation's calls one after the other on a sync session; its result."""
    answer: httpx.Response | None = None
    error: Exception | None = None
    try:
        while True:
            try:
                call = steps.throw(error) if error is not None else steps.send(answer)  # type: ignore[arg-type]
            except StopIteration as stop:
                result: T = stop.value
                return result
            answer, error = None, None
            try:
                answer = session.request(
                    call.method,
                    call.url,
                    params=call.params,
                    json=call.json,
                    headers=call.headers,
                    retry=call.retry,
                )
            except Exception as exc:  # handed to the operation, which may handle it
                error = exc
    finally:
        steps.close()


async def arun(session: AsyncHttpSession, steps: Steps[T]) -> T:
    """Perform an operation's calls one after the other on an async session; its result."""
    answer: httpx.Response | None = None
    error: Exception | None = None
    try:
        while True:
            try:
                call = steps.throw(error) if error is not None else steps.send(answer)  # type: ignore[arg-type]
            except StopIteration as stop:
                result: T = stop.value
                return result
            answer, error = None, None
            try:
                answer = await session.request(
                    call.method,
                    call.url,
                    params=call.params,
                    json=call.json,
                    headers=call.headers,
                    retry=call.retry,
                )
            except Exception as exc:  # handed to the operation, which may handle it
                error = exc
    finally:
        steps.close()
