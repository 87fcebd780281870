"""A minimal Bulk API 2.0 server that answers instantly, for client-side benchmarks.

Run as its own process: ``python benchmarks/fake_bulk_server.py --port 0 --query-rows N``; it prints
``PORT <n>`` on stdout once listening. Every ingest job completes as soon as it is closed, every row
succeeds; ``successfulResults`` echoes the upload with an id in front (streamed from disk). Query jobs
return ``--query-rows`` generated Account rows (:func:`account_values`: 11 realistic columns, every
value quoted as Salesforce writes them) in pages (``maxRecords`` or 50,000) with ``Sforce-Locator``
and ``Sforce-NumberOfRecords``, the header repeated on every page. With ``--gzip`` a query page is
sent gzip-compressed (``Content-Encoding: gzip``, chunked) when the request's ``Accept-Encoding``
lists gzip, as Salesforce does; each page is compressed once (zlib level 6), the pages of the default
size before the server says it listens, so no client's run pays for it. No authentication, no
validation: it measures the client, not the server. Uploaded files are removed when the server stops.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from io import BufferedIOBase
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlparse

# The benchmark imports this module for its data only: keep that import light (http.server is
# imported by make_handler; the handler's answers are a mix-in typed against its base class).
if TYPE_CHECKING:
    from email.message import Message
    from http.server import BaseHTTPRequestHandler

    _HandlerBase = BaseHTTPRequestHandler
else:
    _HandlerBase = object

COLUMNS = (
    "Name",
    "Phone",
    "Website",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "Industry",
    "AnnualRevenue",
    "NumberOfEmployees",
    "Description",
)
"""Columns of the generated Account rows (the query adds ``Id`` in front)."""
_STREETS = ("Market Street", "Main Street", "Harbor Road", "Oak Avenue", "Elm Street", "Mission Street")
_CITIES = (("San Francisco", "CA"), ("Chicago", "IL"), ("Austin", "TX"), ("Boston", "MA"), ("Denver", "CO"))
_INDUSTRIES = ("Technology", "Banking", "Retail", "Healthcare", "Manufacturing", "Energy", "Education")
_DESCRIPTIONS = (
    "",
    "Key account, renews yearly",
    "Prospect from the spring campaign",
    'Reseller; "gold" partner since 2019',
    "",
    "Multi-site customer, central billing",
)


def account_values(i: int) -> tuple[str, ...]:
    """The values of generated Account row ``i`` (about 137 bytes as a CSV line, a few empty cells)."""
    city, state = _CITIES[i % 5]
    return (
        f"Account {i:07d}",
        f"(555) {i % 1000:03d}-{i % 10000:04d}",
        "" if i % 7 == 0 else f"www.account{i}.example.com",
        f"{100 + i % 9900} {_STREETS[i % 6]}",
        city,
        state,
        f"{10000 + i % 89999}",
        _INDUSTRIES[i % 7],
        f"{(i % 5000) * 1000 + 250000}",
        f"{i % 5000}",
        _DESCRIPTIONS[i % 6],
    )


def query_row(i: int) -> bytes:
    """Query result row ``i``: ``Id`` then :data:`COLUMNS`, every value quoted (quotes doubled)."""
    cells = (f"001{i:015d}", *account_values(i))
    return ('"' + '","'.join(c.replace('"', '""') for c in cells) + '"\n').encode()


QUERY_HEADER = ('"' + '","'.join(("Id", *COLUMNS)) + '"\n').encode()


def records(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Whole CSV records from lines: a line break inside a quoted value does not end one."""
    pending: list[bytes] = []
    quotes = 0
    for line in lines:
        pending.append(line)
        quotes += line.count(b'"')
        if not quotes % 2:
            yield b"".join(pending)
            pending, quotes = [], 0
    if pending:
        yield b"".join(pending)


FAILED_ERROR = b'"REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"'

JOB = re.compile(r"^/services/data/v[\d.]+/jobs/(ingest|query)/?([^/?]*)/?([^/?]*)")


PAGE = 50_000
"""Rows per query page when the client gives no ``maxRecords``."""


class State:
    def __init__(self, query_rows: int, fail_every: int = 0, compress: bool = False) -> None:
        self.fail_every = fail_every
        self.lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.counter = 0
        self.query_rows = query_rows
        self.compress = compress
        self.gzipped: dict[tuple[int, int], bytes] = {}
        self.dir = Path(tempfile.mkdtemp(prefix="fake-bulk-"))

    def gzipped_page(self, start: int, end: int) -> bytes:
        """Query rows ``start`` to ``end`` as one gzip member, compressed on the first request."""
        with self.lock:
            page = self.gzipped.get((start, end))
            if page is None:
                page = gzip.compress(b"".join(query_lines(start, end)), compresslevel=6, mtime=0)
                self.gzipped[(start, end)] = page
            return page

    def warm(self) -> None:
        """Compress the pages of the default size before any client asks."""
        for start in range(0, self.query_rows, PAGE):
            self.gzipped_page(start, min(self.query_rows, start + PAGE))


def read_body(rfile: BufferedIOBase, headers: Message) -> Iterator[bytes]:
    """A request body in blocks: chunked transfer encoding, else ``Content-Length`` bytes."""
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        while True:
            size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                rfile.readline()
                return
            yield from _read_exactly(rfile, size)
            rfile.readline()
    else:
        yield from _read_exactly(rfile, int(headers.get("Content-Length") or 0))


def _read_exactly(rfile: BufferedIOBase, size: int) -> Iterator[bytes]:
    remaining = size
    while remaining:
        block = rfile.read(min(remaining, 1 << 20))
        remaining -= len(block)
        yield block


def complete(job: dict[str, Any], state: State) -> None:
    """A job asked for after it was closed completes at once: its counts are set."""
    if job["state"] not in ("UploadComplete", "InProgress"):
        return
    job["state"] = "JobComplete"
    ingest = job["_kind"] == "ingest"
    job["numberRecordsProcessed"] = max(0, job.get("_lines", 0) - 1) if ingest else state.query_rows
    if ingest and state.fail_every:
        job["numberRecordsFailed"] = job["numberRecordsProcessed"] // state.fail_every


def _batched(lines: Iterable[bytes], size: int = 5000) -> Iterator[bytes]:
    """Lines joined into blocks of ``size`` lines (the last block may be shorter or empty)."""
    buf: list[bytes] = []
    for line in lines:
        buf.append(line)
        if len(buf) >= size:
            yield b"".join(buf)
            buf = []
    yield b"".join(buf)


def result_lines(path: str, every: int, failed: bool) -> Iterator[bytes]:
    """The successful rows of an upload (or, with ``failed``, the failed ones: every ``every``-th row
    when the server was started with ``--fail-every``), each echoing its record, header first."""
    with open(path, "rb") as handle:
        rows = records(handle)
        lead = b'"sf__Id","sf__Error",' if failed else b'"sf__Id","sf__Created",'
        yield lead + next(rows, b"")
        for n, line in enumerate(rows, start=1):
            if every and (n % every == 0) != failed:
                continue
            yield b'"",' + FAILED_ERROR + b"," + line if failed else b'"001%015d","true",' % n + line


def query_lines(start: int, end: int) -> Iterator[bytes]:
    """One page of query results: the header, then rows ``start`` to ``end`` (excluded)."""
    yield QUERY_HEADER
    for i in range(start, end):
        yield query_row(i)


class FakeBulkHandler(_HandlerBase):
    """The fake server's answers, mixed into a ``BaseHTTPRequestHandler`` bound to one :class:`State`
    by :func:`make_handler`."""

    state: ClassVar[State]
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _empty(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _body_chunks(self) -> Iterator[bytes]:
        return read_body(self.rfile, self.headers)

    def _info(self, job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if not k.startswith("_")}

    def do_POST(self) -> None:
        match = JOB.match(self.path)
        body = json.loads(b"".join(self._body_chunks()) or b"{}")
        if not match:
            self._json(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
            return
        kind = match.group(1)
        with self.state.lock:
            self.state.counter += 1
            job_id = f"750{self.state.counter:015d}"
        job = {
            "id": job_id,
            "operation": body.get("operation"),
            "object": body.get("object", "Account"),
            "state": "Open" if kind == "ingest" else "UploadComplete",
            "columnDelimiter": body.get("columnDelimiter", "COMMA"),
            "lineEnding": body.get("lineEnding", "LF"),
            "contentType": "CSV",
            "apiVersion": 62.0,
            "numberRecordsProcessed": 0,
            "numberRecordsFailed": 0,
            "_kind": kind,
            "_file": str(self.state.dir / f"{job_id}.csv"),
        }
        self.state.jobs[job_id] = job
        self._json(200, self._info(job))

    def do_PUT(self) -> None:
        match = JOB.match(self.path)
        job = self.state.jobs.get(match.group(2)) if match else None
        if job is None:
            self._empty(404)
            return
        with open(job["_file"], "ab") as out:
            for block in self._body_chunks():
                out.write(block)
        with open(job["_file"], "rb") as handle:  # rows, not lines: values may hold line breaks
            job["_lines"] = sum(1 for _ in records(handle))
        self._empty(201)

    def do_PATCH(self) -> None:
        match = JOB.match(self.path)
        body = json.loads(b"".join(self._body_chunks()) or b"{}")
        job = self.state.jobs.get(match.group(2)) if match else None
        if job is None:
            self._empty(404)
            return
        job["state"] = body.get("state", job["state"])
        self._json(200, self._info(job))

    def do_DELETE(self) -> None:
        self._empty(204)

    def do_GET(self) -> None:
        parsed = urlparse(self.path)
        match = JOB.match(parsed.path)
        job = self.state.jobs.get(match.group(2)) if match else None
        if job is None:
            self._json(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
            return
        sub = match.group(3).lower() if match else ""
        if not sub:
            complete(job, self.state)
            self._json(200, self._info(job))
        elif sub == "successfulresults":
            self._stream_success(job)
        elif sub == "failedresults" and self.state.fail_every:
            self._stream_success(job, failed=True)
        elif sub in ("failedresults", "unprocessedrecords"):
            self._stream_header(job, sub)
        elif sub == "results":
            self._query_page(job, parse_qs(parsed.query))
        else:
            self._empty(404)

    def _send_stream_headers(self, extra: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _stream_success(self, job: dict[str, Any], failed: bool = False) -> None:
        """The successful (or, with ``failed``, the failed) rows of the job, streamed."""
        self._send_stream_headers()
        for block in _batched(result_lines(job["_file"], self.state.fail_every, failed)):
            self._chunk(block)
        self._end()

    def _stream_header(self, job: dict[str, Any], sub: str) -> None:
        with open(job["_file"], "rb") as handle:
            header = handle.readline()
        lead = b'"sf__Id","sf__Error",' if sub == "failedresults" else b""
        self._send_stream_headers()
        self._chunk(lead + header)
        self._end()

    def _query_page(self, job: dict[str, Any], params: dict[str, list[str]]) -> None:
        start = int((params.get("locator") or ["0"])[0] or 0)
        size = int((params.get("maxRecords") or [str(PAGE)])[0])
        end = min(self.state.query_rows, start + size)
        locator = str(end) if end < self.state.query_rows else "null"
        headers = {"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(end - start)}
        accepted = self.headers.get("Accept-Encoding", "").lower().replace(" ", "").split(",")
        if self.state.compress and any(a.split(";")[0] == "gzip" for a in accepted):
            page = self.state.gzipped_page(start, end)
            self._send_stream_headers({**headers, "Content-Encoding": "gzip"})
            for at in range(0, len(page), 65536):
                self._chunk(page[at : at + 65536])
        else:
            self._send_stream_headers(headers)
            for block in _batched(query_lines(start, end)):
                self._chunk(block)
        self._end()


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    """A handler class serving ``state`` (one per server)."""
    from http.server import BaseHTTPRequestHandler

    return type("Handler", (FakeBulkHandler, BaseHTTPRequestHandler), {"state": state})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--query-rows", type=int, default=1_000_000)
    parser.add_argument("--fail-every", type=int, default=0, help="fail every N-th row of each ingest job")
    parser.add_argument("--tls", metavar="DIR", help="serve HTTPS with a local CA made in DIR (tls/ca.pem)")
    parser.add_argument("--gzip", action="store_true", help="gzip query pages when the client accepts it")
    args = parser.parse_args()
    from http.server import ThreadingHTTPServer

    state = State(args.query_rows, args.fail_every, compress=args.gzip)
    if args.gzip:
        state.warm()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    if args.tls:
        import ssl

        from kinetic_core.emulator.tls import ensure_server_tls

        files = ensure_server_tls(Path(args.tls))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(files.cert, files.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"PORT {server.server_address[1]}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop through ``finally``: files removed
    try:
        server.serve_forever()
    finally:
        server.server_close()
        shutil.rmtree(state.dir, ignore_errors=True)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
