"""The ops of the send protocol and the description of a call: plain values, no I/O.

``kinetic_core.http.core`` yields these; ``HttpSession`` and ``AsyncHttpSession`` perform them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kinetic_core._httpx import httpx
from kinetic_core.errors import ResponseLimitError
from kinetic_core.http.parse import redact_url
from kinetic_core.http.retry import RetryPolicy

Content = bytes | Iterable[bytes]

DEADLINE_SLACK = 0.05
"""Seconds of timer granularity: a timeout this close to the deadline is the deadline's."""


class BodySink(Protocol):
    """Where a streamed answer goes (``download``). A cut-off answer is requested again from the
    same URL, so a sink must be able to forget what one attempt wrote."""

    def start(self, headers: Mapping[str, str]) -> None:
        """An attempt's answer begins (its headers arrived)."""

    def write(self, chunk: bytes) -> None:
        """The next decoded bytes of the answer."""

    def reset(self) -> None:
        """The attempt was cut off: drop everything it wrote."""


# ---------------------------------------------------------------------- ops
@dataclass(frozen=True)
class GetToken:
    """Result: the provider's current ``Held`` session (logging in first if needed)."""


@dataclass(frozen=True)
class Renew:
    """Result: the ``Held`` session after renewing the one of ``generation`` (single flight)."""

    generation: int


@dataclass(frozen=True)
class Send:
    """Send a request, return ``Sent`` once its headers arrived (the body unread).

    ``deadline`` is the monotonic time by which the headers must arrive; None for an upload
    body, whose deadline starts once it is sent (``window`` seconds after that).
    """

    method: str
    url: str
    params: Mapping[str, Any] | None
    content: Any
    headers: Mapping[str, str]
    deadline: float | None
    window: float


@dataclass(frozen=True)
class Sent:
    """A response whose headers arrived, and when its request body was sent (monotonic)."""

    response: httpx.Response
    sent_at: float


@dataclass(frozen=True)
class ReadWhole:
    """Read the answer whole within the bounds by ``deadline``; result: its bytes (the response is closed)."""

    response: httpx.Response
    deadline: float
    method: str
    url: str


@dataclass(frozen=True)
class Pump:
    """Copy a streamed answer into ``sink`` within the download bounds by ``deadline`` (monotonic);
    the response is closed."""

    response: httpx.Response
    sink: BodySink
    url: str
    limit: int | None
    deadline: float


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds`` (backoff)."""

    seconds: float


Op = GetToken | Renew | Send | ReadWhole | Pump | Sleep
Exchange = Generator[Op, Any, Any]


@dataclass(frozen=True)
class Call:
    """One call to send: described once, sent (and re-sent) by ``SendCore.exchange``.

    ``anonymous`` calls (the token request) carry no bearer token and may go to the login URL;
    ``raw`` calls return any final answer read whole instead of raising on non-2xx.
    """

    method: str
    url: str
    params: Mapping[str, Any] | None = None
    body: Any = None
    headers: Mapping[str, str] | None = None
    json_body: bool = False
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    one_shot: bool = False
    stream: bool = False
    anonymous: bool = False
    raw: bool = False


def one_shot(content: Any) -> bool:
    """True for bodies that cannot be sent twice (iterators, generators, async iterators)."""
    if content is None or isinstance(content, bytes | bytearray | str):
        return False
    return isinstance(content, Iterator | AsyncIterator)


def refused_after_renewal(method: str, url: str, age: float, took: float) -> str:
    """The error for a call refused again with a renewed session, with the timings that explain it."""
    return (
        f"session invalid after renewal ({method} {url}): the org refused a session obtained "
        f"{age:.3f} s before this call was sent (its answer took {took:.3f} s). A renewed session "
        "that is refused at once means the org's session lifetime is shorter than one call, or that "
        "the new session is not valid for this API (IP or API restrictions on the user or app)"
    )


def past_deadline(send: Send, sent_at: float, body_sent: bool, now: float) -> bool:
    """Whether a timeout of ``send`` came from the call's deadline (it had one, and it passed)."""
    until = send.deadline if send.deadline is not None else (sent_at + send.window if body_sent else None)
    return until is not None and now >= until - DEADLINE_SLACK


def deadline_error(window: float, method: str, url: str) -> ResponseLimitError:
    """The error of a call not answered within ``request_deadline``."""
    return ResponseLimitError(
        "request_deadline", window, f"no answer within {window:g} s", method=method, url=redact_url(url)
    )
