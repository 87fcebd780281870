"""What the emulator writes on the socket: header names as Salesforce spells them, and
idle keep-alive connections that outlive the clients' poll intervals."""

from __future__ import annotations

import re
import socket
import time
from typing import TYPE_CHECKING

import pytest
import requests

from kinetic_core.emulator.headers import canonical_header_name
from kinetic_core.emulator.server import LocalOrg

if TYPE_CHECKING:
    from conftest import EmulatorApi

_NAME = re.compile(rb"^(?:[A-Z][A-Za-z0-9]*)(?:-[A-Z][A-Za-z0-9]*)*$")


def _address(org: LocalOrg) -> tuple[str, int]:
    host, port = org.instance_url.removeprefix("http://").split(":")
    return host, int(port)


class _Wire:
    """A raw HTTP/1.1 connection: send request bytes, read one response's raw head and body."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed; unread {self.buffer!r}")
        self.buffer += chunk

    def _take_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        found, self.buffer = self.buffer.split(marker, 1)
        return found

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found

    def exchange(self, request: bytes) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
        self.sock.sendall(request)
        status, *lines = self._take_until(b"\r\n\r\n").split(b"\r\n")
        headers = [(k, v.strip()) for k, v in (line.split(b":", 1) for line in lines)]
        fields = dict(headers)
        if fields.get(b"Transfer-Encoding") == b"chunked":
            body = b""
            while size := int(self._take_until(b"\r\n"), 16):
                body += self._take(size)
                self._take(2)
            self._take(2)
        else:
            body = self._take(int(fields.get(b"Content-Length", b"0")))
        return status, headers, body


def _raw_get(where: tuple[str, int], path: str, token: str | None = None, extra: str = "") -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    host, port = where  # the emulator answers only requests addressed to its own host and port
    return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{auth}{extra}\r\n".encode()


def test_canonical_header_name_spellings() -> None:
    assert canonical_header_name(b"content-type") == b"Content-Type"
    assert canonical_header_name(b"sforce-locator") == b"Sforce-Locator"
    assert canonical_header_name(b"sforce-numberofrecords") == b"Sforce-NumberOfRecords"
    assert canonical_header_name(b"sforce-limit-info") == b"Sforce-Limit-Info"
    assert canonical_header_name(b"etag") == b"ETag"
    assert canonical_header_name(b"last-modified") == b"Last-Modified"
    assert canonical_header_name(b"Content-Type") == b"Content-Type"


def test_raw_response_heads_use_salesforce_header_names(emulator_api: EmulatorApi) -> None:
    org = emulator_api.local
    token = emulator_api.token
    for i in range(3):
        emulator_api.create("Account", Name=f"Wire {i}")
    job = emulator_api.post("jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"})
    assert job.status_code == 200, job.text
    job_id = job.json()["id"]
    deadline = time.monotonic() + 30
    while emulator_api.get(f"jobs/query/{job_id}").json()["state"] != "JobComplete":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    where = _address(emulator_api.local)
    requests_to_send = [
        _raw_get(where, "/services/data", None),
        _raw_get(where, "/services/data/v62.0/limits", token, "Accept-Encoding: gzip\r\n"),
        _raw_get(where, f"/services/data/v62.0/jobs/query/{job_id}/results?maxRecords=2", token),
        _raw_get(where, "/services/data/v62.0/sobjects/Account/001000000000000AAA", token),
    ]
    with socket.create_connection(_address(org), timeout=10) as sock:
        wire = _Wire(sock)
        heads = [wire.exchange(request) for request in requests_to_send]
    for status, headers, _body in heads:
        assert status.startswith(b"HTTP/1.1 ")
        for name, _value in headers:
            assert _NAME.match(name), f"{name!r} is not spelled canonically"
        names = [name for name, _ in headers]
        assert b"Content-Type" in names
        assert b"Date" in names
        assert len(names) == len({n.lower() for n in names})  # no header twice in two spellings
    versions, limits, results, missing = (dict(h) for _s, h, _b in heads)
    assert b"Sforce-Limit-Info" not in versions
    assert limits[b"Sforce-Limit-Info"].startswith(b"api-usage=")
    assert limits[b"Content-Encoding"] == b"gzip"
    assert results[b"Sforce-NumberOfRecords"] == b"2"
    assert results[b"Sforce-Locator"] not in (b"", b"null")
    assert results[b"Content-Type"].startswith(b"text/csv")
    assert heads[3][0] == b"HTTP/1.1 404 Not Found"
    assert missing[b"Content-Type"] == b"application/json;charset=UTF-8"


def test_requests_headers_copied_to_a_plain_dict_keep_salesforce_names(emulator_api: EmulatorApi) -> None:
    """Clients that do ``dict(response.headers)["Content-Type"]`` find the key."""
    org = emulator_api.local
    with requests.Session() as session:
        response = session.get(
            f"{org.instance_url}/services/data/v62.0/limits",
            headers={"Authorization": f"Bearer {emulator_api.token}"},
            timeout=10,
        )
    plain = dict(response.headers)
    assert plain["Content-Type"] == "application/json;charset=UTF-8"
    assert plain["Sforce-Limit-Info"].startswith("api-usage=")
    assert "content-type" not in plain


def test_idle_connection_is_reused_after_a_client_poll_interval(local_org: LocalOrg) -> None:
    """simple-salesforce's bulk2 waits 5 s between polls on a kept-alive connection: it must still be open."""
    with socket.create_connection(_address(local_org), timeout=10) as sock:
        wire = _Wire(sock)
        first, _, _ = wire.exchange(_raw_get(_address(local_org), "/services/data", None))
        assert first == b"HTTP/1.1 200 OK"
        time.sleep(6.0)  # longer than uvicorn's default keep-alive of 5 s
        second, headers, _ = wire.exchange(_raw_get(_address(local_org), "/services/data", None))
        assert second == b"HTTP/1.1 200 OK"
        assert (b"Connection", b"close") not in headers


@pytest.mark.parametrize("name", [b"ETag", b"etag", b"ETAG"])
def test_canonical_header_name_is_case_insensitive(name: bytes) -> None:
    assert canonical_header_name(name) == b"ETag"
