"""A minimal Bulk API 2.0 server that answers instantly, for client-side benchmarks.

Run as its own process: ``python benchmarks/fake_bulk_server.py --port 0 --query-rows N``; it prints
``PORT <n>`` on stdout once listening. Every ingest job completes as soon as it is closed, every row
succeeds; ``successfulResults`` echoes the upload with an id in front (streamed from disk). Query jobs
return ``--query-rows`` generated Account rows (:func:`account_values`: 11 realistic columns, every
value quoted as Salesforce writes them) in pages (``maxRecords`` or 50,000) with ``Sforce-Locator``
and ``Sforce-NumberOfRecords``, the header repeated on every page. No authentication, no validation:
it measures the client, not the server. Uploaded files are removed when the server stops.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

if TYPE_CHECKING:  # the benchmark imports this module for its data only: keep that import light
    from http.server import BaseHTTPRequestHandler

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


class State:
    def __init__(self, query_rows: int, fail_every: int = 0) -> None:
        self.fail_every = fail_every
        self.lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.counter = 0
        self.query_rows = query_rows
        self.dir = Path(tempfile.mkdtemp(prefix="fake-bulk-"))


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
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

        def _body_chunks(self):  # type: ignore[no-untyped-def]
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return
                    remaining = size
                    while remaining:
                        block = self.rfile.read(min(remaining, 1 << 20))
                        remaining -= len(block)
                        yield block
                    self.rfile.readline()
            else:
                remaining = int(self.headers.get("Content-Length") or 0)
                while remaining:
                    block = self.rfile.read(min(remaining, 1 << 20))
                    remaining -= len(block)
                    yield block

        def _info(self, job: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in job.items() if not k.startswith("_")}

        def do_POST(self) -> None:
            match = JOB.match(self.path)
            body = json.loads(b"".join(self._body_chunks()) or b"{}")
            if not match:
                self._json(
                    404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
                )
                return
            kind = match.group(1)
            with state.lock:
                state.counter += 1
                job_id = f"750{state.counter:015d}"
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
                "_file": str(state.dir / f"{job_id}.csv"),
            }
            state.jobs[job_id] = job
            self._json(200, self._info(job))

        def do_PUT(self) -> None:
            match = JOB.match(self.path)
            job = state.jobs.get(match.group(2)) if match else None
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
            job = state.jobs.get(match.group(2)) if match else None
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
            job = state.jobs.get(match.group(2)) if match else None
            if job is None:
                self._json(
                    404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
                )
                return
            sub = match.group(3).lower() if match else ""
            if not sub:
                if job["state"] in ("UploadComplete", "InProgress"):
                    job["state"] = "JobComplete"
                    job["numberRecordsProcessed"] = (
                        max(0, job.get("_lines", 0) - 1) if job["_kind"] == "ingest" else state.query_rows
                    )
                    if job["_kind"] == "ingest" and state.fail_every:
                        job["numberRecordsFailed"] = job["numberRecordsProcessed"] // state.fail_every
                self._json(200, self._info(job))
            elif sub == "successfulresults":
                self._stream_success(job)
            elif sub == "failedresults" and state.fail_every:
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
            """The successful rows (or, with ``failed``, the failed ones: every ``fail_every``-th row
            of the job when the server was started with ``--fail-every``), each echoing its record."""
            self._send_stream_headers()
            n = 0
            every = state.fail_every
            buf: list[bytes] = []
            with open(job["_file"], "rb") as handle:
                rows = records(handle)
                lead = b'"sf__Id","sf__Error",' if failed else b'"sf__Id","sf__Created",'
                buf.append(lead + next(rows, b""))
                for line in rows:
                    n += 1
                    if every and (n % every == 0) != failed:
                        continue
                    if failed:
                        buf.append(b'"",' + FAILED_ERROR + b"," + line)
                        continue
                    buf.append(b'"001%015d","true",' % n + line)
                    if len(buf) >= 5000:
                        self._chunk(b"".join(buf))
                        buf = []
            self._chunk(b"".join(buf))
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
            size = int((params.get("maxRecords") or ["50000"])[0])
            end = min(state.query_rows, start + size)
            locator = str(end) if end < state.query_rows else "null"
            self._send_stream_headers({"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(end - start)})
            buf = [QUERY_HEADER]
            for i in range(start, end):
                buf.append(query_row(i))
                if len(buf) >= 5000:
                    self._chunk(b"".join(buf))
                    buf = []
            self._chunk(b"".join(buf))
            self._end()

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--query-rows", type=int, default=1_000_000)
    parser.add_argument("--fail-every", type=int, default=0, help="fail every N-th row of each ingest job")
    parser.add_argument("--tls", metavar="DIR", help="serve HTTPS with a local CA made in DIR (tls/ca.pem)")
    args = parser.parse_args()
    from http.server import ThreadingHTTPServer

    state = State(args.query_rows, args.fail_every)
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
