"""``ResponseBounds``: how much an answer may weigh and how long it may take.

A broken or hostile server can answer with a body of gigabytes, a small gzip body that inflates
a thousandfold, or one byte every second for ever. Every answer is read against these bounds,
chunk by chunk as it arrives (a few integer comparisons per chunk of up to 64 KiB, nothing per
byte), and one that breaks a bound ends the call with a ``ResponseLimitError`` that names the
bound, its value and how to raise it. The defaults sit far above anything a real org sends.

Example:
    >>> bounds = ResponseBounds(max_response_bytes=64 * 1024 * 1024)
    >>> bounds.request_deadline
    600.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kinetic_core._httpx import httpx
from kinetic_core.errors import ResponseLimitError

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
            follow the progress rule below instead (a large export may rightly take hours).
        min_download_rate: bytes per second a streamed download must average over each
            ``progress_window``. Default 1024 (a link slower than 1 KiB/s is not a link).
        progress_window: seconds over which ``min_download_rate`` is measured. Default 60.
    """

    max_response_bytes: int = 256 * MiB
    max_download_bytes: int = 4 * GiB
    max_inflation: float = 100.0
    inflation_grace_bytes: int = 8 * MiB
    request_deadline: float = 600.0
    min_download_rate: float = 1024.0
    progress_window: float = 60.0

    def __post_init__(self) -> None:
        for name in ("max_response_bytes", "max_download_bytes", "inflation_grace_bytes"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"ResponseBounds.{name} must be positive")
        for name in ("max_inflation", "request_deadline", "progress_window"):
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
    held: list[bytes] = []
    size = 0
    limit = bounds.max_response_bytes
    grace = bounds.inflation_grace_bytes
    try:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise ResponseLimitError(
                    "max_response_bytes",
                    limit,
                    f"the answer is larger than {limit} bytes",
                    method=method,
                    url=url,
                )
            if size > grace:
                _inflation(response, size, bounds, method, url)
            if clock() > deadline:
                raise ResponseLimitError(
                    "request_deadline",
                    bounds.request_deadline,
                    f"the answer took longer than {bounds.request_deadline:g} s ({size} bytes read)",
                    method=method,
                    url=url,
                )
            held.append(chunk)
    finally:
        response.close()
    return b"".join(held)


def iter_download(
    response: httpx.Response,
    bounds: ResponseBounds,
    *,
    clock: Callable[[], float],
    method: str = "GET",
    url: str = "",
    limit: int | None = None,
) -> Iterator[bytes]:
    """The decoded chunks of a streamed answer, within the download bounds.

    Checked at each chunk: ``max_download_bytes`` (or ``limit``), the inflation ratio past the
    grace bytes, and the progress rule (at least ``min_download_rate`` bytes per second over each
    ``progress_window``). Silence is ended by the read timeout.

    Raises:
        ResponseLimitError: a bound was broken.
    """
    check_encoding(response, method, url)
    cap = bounds.max_download_bytes if limit is None else limit
    grace = bounds.inflation_grace_bytes
    window = bounds.progress_window
    floor = bounds.min_download_rate * window
    size = 0
    window_start = clock()
    window_size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > cap:
            raise ResponseLimitError(
                "max_download_bytes", cap, f"the download is larger than {cap} bytes", method=method, url=url
            )
        if size > grace:
            _inflation(response, size, bounds, method, url)
        now = clock()
        if now - window_start >= window:
            if size - window_size < floor * (now - window_start) / window:
                raise ResponseLimitError(
                    "min_download_rate",
                    bounds.min_download_rate,
                    f"the download moved {size - window_size} bytes in {now - window_start:.0f} s",
                    method=method,
                    url=url,
                )
            window_start = now
            window_size = size
        yield chunk
