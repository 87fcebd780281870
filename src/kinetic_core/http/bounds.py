"""``ResponseBounds``: how much an answer may weigh and how long it may take.

A broken or hostile server can answer with a body of gigabytes, a small gzip body that inflates
a thousandfold, or one byte every second for ever. Every answer is read against these bounds,
piece by piece as it arrives (a few integer comparisons per piece of up to 64 KiB, nothing per
byte; a compressed answer is decoded in steps of at most 64 KiB, see ``kinetic_core.http.inflate``,
so a gzip bomb is stopped one step past ``inflation_grace_bytes``), and one that breaks a bound
ends the call with a ``ResponseLimitError`` that names the bound, its value and how to raise it.
An uncompressed answer whose ``Content-Length`` is already over its bound is refused unread. The
defaults sit far above anything a real org sends.

Example:
    >>> bounds = ResponseBounds(max_response_bytes=64 * 1024 * 1024)
    >>> bounds.request_deadline
    600.0
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

from kinetic_core._httpx import httpx
from kinetic_core.errors import ResponseLimitError
from kinetic_core.http.inflate import adecoded, decoded

MiB = 1024 * 1024
GiB = 1024 * MiB

ENCODINGS = frozenset({"", "identity", "gzip", "x-gzip", "deflate"})
"""``Content-Encoding`` values the client decodes. One layer only: a body compressed twice or in
another scheme is refused before it is read (``Accept-Encoding`` asks for gzip or deflate)."""


@dataclass(frozen=True)
class ResponseBounds:
    """Limits on every answer; pass one to ``SalesforceClient.connect(bounds=...)`` or ``HttpSession``.

    Attributes:
        max_response_bytes: decoded size of an answer read whole (JSON: REST, Composite, job
            info, error bodies). Default 256 MiB; a REST query page is at most 2,000 records.
        max_download_bytes: decoded size of one streamed download: a Bulk query result page (in
            memory, spilled to a temporary file, or appended to an export) or a job result file.
            Default 4 GiB; Salesforce splits query results into files of at most 1 GB.
        max_inflation: decoded bytes allowed per compressed byte received, once more than
            ``inflation_grace_bytes`` are decoded. Default 100 (gzip of real CSV or JSON stays
            well under 20; a gzip bomb reaches 1,000).
        inflation_grace_bytes: decoded bytes read before the ratio is checked. Default 8 MiB.
        request_deadline: seconds one attempt of a call may take, from sending the request to the
            last byte of an answer read whole. Default 600. Each read also waits at most the
            time left. Streamed downloads keep this deadline until their headers arrive, then
            ``download_deadline`` and the progress rule below (a large export may rightly take hours).
        download_deadline: seconds the body of one streamed download (a Bulk query page, a job
            result file) may take, from its headers to its last byte. Default 14,400 (4 hours:
            1 GB at 70 KB/s). Each read also waits at most the time left.
        min_download_rate: bytes per second a streamed download must average over each
            ``progress_window``. Default 1024 (a link slower than 1 KiB/s is not a link).
        progress_window: seconds over which ``min_download_rate`` is measured. Default 60.
    """

    max_response_bytes: int = 256 * MiB
    max_download_bytes: int = 4 * GiB
    max_inflation: float = 100.0
    inflation_grace_bytes: int = 8 * MiB
    request_deadline: float = 600.0
    download_deadline: float = 4 * 3600.0
    min_download_rate: float = 1024.0
    progress_window: float = 60.0

    def __post_init__(self) -> None:
        for name in ("max_response_bytes", "max_download_bytes", "inflation_grace_bytes"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"ResponseBounds.{name} must be positive")
        for name in ("max_inflation", "request_deadline", "download_deadline", "progress_window"):
            if float(getattr(self, name)) <= 0:
                raise ValueError(f"ResponseBounds.{name} must be positive")
        if self.min_download_rate < 0:
            raise ValueError("ResponseBounds.min_download_rate must not be negative")


def check_encoding(response: httpx.Response, method: str, url: str) -> None:
    """Refuse an answer compressed in layers or in a scheme the client does not decode."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in ENCODINGS:
        response.close()
        raise ResponseLimitError(
            "max_inflation",
            "one layer of gzip or deflate",
            f"the answer is encoded {encoding!r}",
            method=method,
            url=url,
        )


def check_declared(response: httpx.Response, cap: int, bound: str, method: str, url: str) -> None:
    """Refuse, before reading it, an uncompressed answer whose ``Content-Length`` is over ``cap``."""
    if response.headers.get("content-encoding", "").strip().lower() not in ("", "identity"):
        return
    try:
        declared = int(response.headers.get("content-length", ""))
    except ValueError:
        return
    if declared > cap:
        raise ResponseLimitError(
            bound, cap, f"the answer declares {declared} bytes (Content-Length)", method=method, url=url
        )


def _inflation(response: httpx.Response, size: int, bounds: ResponseBounds, method: str, url: str) -> None:
    received = response.num_bytes_downloaded
    if size > bounds.max_inflation * max(received, 1):
        raise ResponseLimitError(
            "max_inflation",
            bounds.max_inflation,
            f"{received} compressed bytes decoded to {size} bytes",
            method=method,
            url=url,
        )


class WholeMeter:
    """The checks of an answer read whole, one chunk at a time (shared by the sync and async readers).

    Args:
        bounds: the limits. deadline: monotonic time by which the last byte must have arrived.
        clock: monotonic seconds. method, url: name the call in errors.
    """

    def __init__(
        self, bounds: ResponseBounds, *, deadline: float, clock: Callable[[], float], method: str, url: str
    ) -> None:
        self.bounds = bounds
        self.deadline = deadline
        self.clock = clock
        self.method = method
        self.url = url
        self.size = 0

    def check(self, response: httpx.Response, chunk: bytes) -> None:
        """Count ``chunk``; raise ``ResponseLimitError`` if a bound is broken."""
        bounds = self.bounds
        self.size += len(chunk)
        if self.size > bounds.max_response_bytes:
            raise ResponseLimitError(
                "max_response_bytes",
                bounds.max_response_bytes,
                f"the answer is larger than {bounds.max_response_bytes} bytes",
                method=self.method,
                url=self.url,
            )
        if self.size > bounds.inflation_grace_bytes:
            _inflation(response, self.size, bounds, self.method, self.url)
        if self.clock() > self.deadline:
            raise ResponseLimitError(
                "request_deadline",
                bounds.request_deadline,
                f"the answer took longer than {bounds.request_deadline:g} s ({self.size} bytes read)",
                method=self.method,
                url=self.url,
            )


class DownloadMeter:
    """The checks of a streamed download, one chunk at a time (shared by the sync and async readers).

    Checked at each chunk: ``max_download_bytes`` (or ``limit``), the inflation ratio past the
    grace bytes, the progress rule (at least ``min_download_rate`` bytes per second over each
    ``progress_window``) and ``deadline`` (monotonic; by default ``download_deadline`` from now).
    Silence is ended by the read timeout, or by the deadline where the session bounds reads by it.
    """

    def __init__(
        self,
        bounds: ResponseBounds,
        *,
        clock: Callable[[], float],
        method: str = "GET",
        url: str = "",
        limit: int | None = None,
        deadline: float | None = None,
    ) -> None:
        self.bounds = bounds
        self.clock = clock
        self.deadline = clock() + bounds.download_deadline if deadline is None else deadline
        self.method = method
        self.url = url
        self.cap = bounds.max_download_bytes if limit is None else limit
        self.floor = bounds.min_download_rate * bounds.progress_window
        self.size = 0
        self.window_start = clock()
        self.window_size = 0

    def check(self, response: httpx.Response, chunk: bytes) -> None:
        """Count ``chunk``; raise ``ResponseLimitError`` if a bound is broken."""
        bounds = self.bounds
        self.size += len(chunk)
        if self.size > self.cap:
            raise ResponseLimitError(
                "max_download_bytes",
                self.cap,
                f"the download is larger than {self.cap} bytes",
                method=self.method,
                url=self.url,
            )
        if self.size > bounds.inflation_grace_bytes:
            _inflation(response, self.size, bounds, self.method, self.url)
        now = self.clock()
        if now > self.deadline:
            raise download_deadline_error(bounds, self.size, self.method, self.url)
        elapsed = now - self.window_start
        if elapsed >= bounds.progress_window:
            moved = self.size - self.window_size
            if moved < self.floor * elapsed / bounds.progress_window:
                raise ResponseLimitError(
                    "min_download_rate",
                    bounds.min_download_rate,
                    f"the download moved {moved} bytes in {elapsed:.0f} s",
                    method=self.method,
                    url=self.url,
                )
            self.window_start = now
            self.window_size = self.size


def download_deadline_error(bounds: ResponseBounds, size: int, method: str, url: str) -> ResponseLimitError:
    """The error of a streamed download whose body outlasted ``download_deadline``."""
    return ResponseLimitError(
        "download_deadline",
        bounds.download_deadline,
        f"the download took longer than {bounds.download_deadline:g} s"
        + (f" ({size} bytes read)" if size >= 0 else ""),
        method=method,
        url=url,
    )


def read_whole(
    response: httpx.Response,
    bounds: ResponseBounds,
    *,
    deadline: float,
    clock: Callable[[], float],
    method: str,
    url: str,
) -> bytes:
    """Read an answer whole, within ``max_response_bytes``, the inflation ratio and the deadline.

    Raises:
        ResponseLimitError: a bound was broken (the response is closed).
    """
    check_encoding(response, method, url)
    meter = WholeMeter(bounds, deadline=deadline, clock=clock, method=method, url=url)
    held = io.BytesIO()
    try:
        check_declared(response, bounds.max_response_bytes, "max_response_bytes", method, url)
        for chunk in decoded(response):
            meter.check(response, chunk)
            held.write(chunk)
    finally:
        response.close()
    return held.getvalue()


async def aread_whole(
    response: httpx.Response,
    bounds: ResponseBounds,
    *,
    deadline: float,
    clock: Callable[[], float],
    method: str,
    url: str,
) -> bytes:
    """``read_whole`` for a response of an ``httpx.AsyncClient``."""
    check_encoding(response, method, url)
    meter = WholeMeter(bounds, deadline=deadline, clock=clock, method=method, url=url)
    held = io.BytesIO()
    try:
        check_declared(response, bounds.max_response_bytes, "max_response_bytes", method, url)
        async for chunk in adecoded(response):
            meter.check(response, chunk)
            held.write(chunk)
    finally:
        await response.aclose()
    return held.getvalue()


def iter_download(
    response: httpx.Response,
    bounds: ResponseBounds,
    *,
    clock: Callable[[], float],
    method: str = "GET",
    url: str = "",
    limit: int | None = None,
    deadline: float | None = None,
) -> Iterator[bytes]:
    """The decoded chunks of a streamed answer, within the download bounds (see ``DownloadMeter``).

    Raises:
        ResponseLimitError: a bound was broken.
    """
    check_encoding(response, method, url)
    meter = DownloadMeter(bounds, clock=clock, method=method, url=url, limit=limit, deadline=deadline)
    check_declared(response, meter.cap, "max_download_bytes", method, url)
    for chunk in decoded(response):
        meter.check(response, chunk)
        yield chunk


async def aiter_download(
    response: httpx.Response,
    bounds: ResponseBounds,
    *,
    clock: Callable[[], float],
    method: str = "GET",
    url: str = "",
    limit: int | None = None,
    deadline: float | None = None,
) -> AsyncIterator[bytes]:
    """``iter_download`` for a response of an ``httpx.AsyncClient``."""
    check_encoding(response, method, url)
    meter = DownloadMeter(bounds, clock=clock, method=method, url=url, limit=limit, deadline=deadline)
    check_declared(response, meter.cap, "max_download_bytes", method, url)
    async for chunk in adecoded(response):
        meter.check(response, chunk)
        yield chunk
