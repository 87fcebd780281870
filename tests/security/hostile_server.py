"""A small real HTTP server on 127.0.0.1 that answers like a broken or hostile Salesforce.

Its ``mode`` picks the misbehaviour of REST queries, the Bulk job list and Bulk query result pages:
off-host cursors, huge bodies, gzip bombs, endless locators, empty pages that are not the last,
bodies or status lines and headers trickled one byte at a time. Every request is recorded with
its ``Authorization`` header, so a second instance on another port (a different origin) shows
whether a token leaked to it.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

API = "/services/data/v62.0"
JOB_ID = "750000000000001AAA"
INGEST_ID = "750000000000002AAA"
MiB = 1 << 20


def gzip_bomb(mebibytes: int) -> bytes:
    """A valid one-member gzip body that inflates to ``mebibytes`` MiB of zero bytes (about 1000:1)."""
    zeros = bytes(MiB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    again = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)  # the same bytes for every MiB
    end = deflate.flush()
    crc = 0
    for _ in range(mebibytes):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return (
        header
        + first
        + again * (mebibytes - 1)
        + end
        + struct.pack("<II", crc, (mebibytes * MiB) & 0xFFFFFFFF)
    )


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer is the point of these scenarios: nothing to report."""


class HostileServer:
    """Serve hostile answers on ``url`` (a thread); ``mode`` and the fields below steer them."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.next_url = ""
        """The cursor handed back by ``offhost`` answers (REST ``nextRecordsUrl``, job list)."""
        self.declared = 10
        """``totalSize`` of REST queries and ``numberRecordsProcessed`` of the query job."""
        self.size = 64 * MiB
        """Body size of the ``huge`` modes."""
        self.bomb = b""
        """The gzip body of the ``bomb`` modes."""
        self.trickle_delay = 0.2
        self.declare_length = True
        """False: streamed bodies carry no ``Content-Length`` (they end when the connection closes)."""
        self.seen: list[tuple[str, str, str]] = []
        """(method, path, Authorization) of every request."""
        self._lock = threading.Lock()
        self._counter = 0
        self.httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def next_number(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def requests_to(self, fragment: str) -> int:
        return sum(1 for _, path, _ in self.seen if fragment in path)


class _HostileHandler(BaseHTTPRequestHandler):
    """The hostile answers; :func:`_handler_for` binds a subclass to one :class:`HostileServer`."""

    owner: ClassVar[HostileServer]
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # ------------------------------------------------------------------ plumbing
    def _note(self) -> None:
        with self.owner._lock:
            self.owner.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        elif self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                self.rfile.read(size + 2)
                if size == 0:
                    break

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, body: Any, status: int = 200) -> None:
        self._send(status, json.dumps(body).encode())

    def _stream(
        self, length: int, chunks: Iterator[bytes], headers: dict[str, str], delay: float = 0
    ) -> None:
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        if self.owner.declare_length:
            self.send_header("Content-Length", str(length))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
                if delay:
                    self.wfile.flush()
                    time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _trickle_head(self, body: bytes, headers: dict[str, str]) -> None:
        """The status line and headers one byte every ``trickle_delay`` s, then ``body`` at once."""
        head = b"HTTP/1.1 200 OK\r\n" + b"".join(
            f"{name}: {value}\r\n".encode() for name, value in headers.items()
        )
        head += b"X-Padding: " + b"p" * 200 + b"\r\n"
        head += f"Content-Length: {len(body)}\r\n\r\n".encode()
        try:
            for i in range(len(head)):
                self.wfile.write(head[i : i + 1])
                time.sleep(self.owner.trickle_delay)
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up: what its deadline should make it do
        self.close_connection = True

    # ------------------------------------------------------------------ routes
    def do_GET(self) -> None:
        self._note()
        path = urlsplit(self.path).path
        if path.startswith(f"{API}/query"):
            self._query()
        elif path == f"{API}/jobs/ingest":
            self._job_list()
        elif path == f"{API}/jobs/query/{JOB_ID}":
            self._json(_job(JOB_ID, "query", "JobComplete", self.owner.declared))
        elif path == f"{API}/jobs/query/{JOB_ID}/results":
            self._results()
        else:
            self._json([{"errorCode": "NOT_FOUND", "message": "no such resource"}], 404)

    def do_POST(self) -> None:
        self._note()
        path = urlsplit(self.path).path
        if path == f"{API}/jobs/query":
            self._json(_job(JOB_ID, "query", "UploadComplete", 0))
        elif path == f"{API}/jobs/ingest":
            info = _job(INGEST_ID, "insert", "Open", 0)
            info["contentUrl"] = self.owner.next_url
            self._json(info)
        else:
            self._json([{"errorCode": "NOT_FOUND", "message": "no such resource"}], 404)

    def do_PUT(self) -> None:
        self._note()
        self._send(201, b"")

    def do_PATCH(self) -> None:
        self._note()
        if "/sobjects/" in self.path:
            self._json([{"errorCode": "NOT_FOUND", "message": "no such record"}], 404)
        else:
            self._json(_job(INGEST_ID, "insert", "UploadComplete", 0))

    def do_DELETE(self) -> None:
        self._note()
        self._send(204, b"")

    # ------------------------------------------------------------------ misbehaviours
    def _query(self) -> None:
        mode = self.owner.mode
        n = self.owner.next_number()
        record = {"attributes": {"type": "Account"}, "Id": f"001{n:015d}"}
        page: dict[str, Any] = {"totalSize": self.owner.declared, "done": False, "records": [record]}
        if mode == "offhost":
            page["nextRecordsUrl"] = self.owner.next_url
        elif mode == "repeat":
            page["nextRecordsUrl"] = f"{API}/query/01gSAME-2000"
        elif mode == "empty_pages":
            page["records"] = []
            page["nextRecordsUrl"] = f"{API}/query/01gEMPTY-{n}"
        elif mode == "over_total":
            page["nextRecordsUrl"] = f"{API}/query/01gMORE-{n}"
        elif mode == "huge":
            self._stream(self.owner.size, _filler(self.owner.size, b'{"records":["' + b"x" * 65536), {})
            return
        elif mode == "bomb":
            bomb = self.owner.bomb
            self._stream(
                len(bomb),
                (bomb[i : i + 65536] for i in range(0, len(bomb), 65536)),
                {"Content-Type": "application/json", "Content-Encoding": "gzip"},
            )
            return
        elif mode == "head_trickle":
            page["done"] = True
            self._trickle_head(json.dumps(page).encode(), {"Content-Type": "application/json"})
            return
        elif mode == "trickle":
            body = json.dumps({"totalSize": 0, "done": True, "records": []}).encode().ljust(400)
            self._stream(len(body), (body[i : i + 1] for i in range(len(body))), {}, self.owner.trickle_delay)
            return
        else:
            page["done"] = True
        self._json(page)

    def _job_list(self) -> None:
        page: dict[str, Any] = {"done": False, "records": [_job(JOB_ID, "query", "JobComplete", 1)]}
        page["nextRecordsUrl"] = self.owner.next_url
        if self.owner.mode == "empty_pages":
            page["records"] = []
            page["nextRecordsUrl"] = f"{API}/jobs/ingest?queryLocator=01gJOBS-{self.owner.next_number()}"
        self._json(page)

    def _results(self) -> None:
        mode = self.owner.mode
        n = self.owner.next_number()
        csv_headers = {"Content-Type": "text/csv", "Sforce-Locator": f"LOC{n}"}
        if mode == "endless_locators":
            body = f'"Id"\n"001{n:015d}"\n'.encode()
            self._send(200, body, {**csv_headers, "Sforce-NumberOfRecords": "1"})
        elif mode == "empty_locators":
            self._send(200, b'"Id"\n', {**csv_headers, "Sforce-NumberOfRecords": "0"})
        elif mode == "bulk_bomb":
            bomb = self.owner.bomb
            self._stream(
                len(bomb),
                (bomb[i : i + 65536] for i in range(0, len(bomb), 65536)),
                {**csv_headers, "Content-Encoding": "gzip", "Sforce-Locator": "null"},
            )
        elif mode == "bulk_huge":
            row = b'"001000000000000001AAA"\n' * 2730
            self._stream(
                self.owner.size,
                _filler(self.owner.size, b'"Id"\n' + row),
                {**csv_headers, "Sforce-Locator": "null"},
            )
        elif mode == "bulk_head_trickle":
            body = b'"Id"\n"001000000000000001AAA"\n'
            self._trickle_head(body, {**csv_headers, "Sforce-Locator": "null"})
        elif mode == "bulk_trickle":
            body = b'"Id"\n' + b'"001000000000000001AAA"\n' * 20
            self._stream(
                len(body),
                (body[i : i + 1] for i in range(len(body))),
                {**csv_headers, "Sforce-Locator": "null"},
                self.owner.trickle_delay,
            )
        else:
            body = b'"Id"\n"001000000000000001AAA"\n'
            self._send(200, body, {**csv_headers, "Sforce-Locator": "null", "Sforce-NumberOfRecords": "1"})


def _handler_for(owner: HostileServer) -> type[BaseHTTPRequestHandler]:
    """A handler class serving ``owner``'s misbehaviours (one per server)."""
    return type("Handler", (_HostileHandler,), {"owner": owner})


def _filler(size: int, block: bytes) -> Iterator[bytes]:
    """``size`` bytes: ``block`` then ``x`` repeated, in blocks of 1 MiB."""
    yield block[:size]
    left = size - min(size, len(block))
    filler = b"x" * MiB
    while left > 0:
        yield filler[: min(left, MiB)]
        left -= MiB


def _job(job_id: str, operation: str, state: str, processed: int) -> dict[str, Any]:
    return {
        "id": job_id,
        "operation": operation,
        "object": "Account",
        "state": state,
        "contentType": "CSV",
        "columnDelimiter": "COMMA",
        "lineEnding": "LF",
        "apiVersion": 62.0,
        "numberRecordsProcessed": processed,
    }
