"""An in-memory Bulk API 2.0 server behind the ``HttpSession`` interface, plus a fake clock.

Used by the bulk and router unit tests; its own sanity tests are at the bottom.
Result rows are shuffled and their original columns re-ordered alphabetically, as
Salesforce may do, so row mapping is exercised for real.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from kinetic_core.errors import TransportError, error_class_for

BASE = "https://fake.example/services/data/v62.0/"
DELIMS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
EOLS = {"LF": "\n", "CRLF": "\r\n"}

Outcome = tuple[str, Any]
"""("ok", created) | ("fail", "CODE:message:fields --") | ("skip", None)"""


class FakeClock:
    """Monotonic fake time; ``sleep`` advances it and records the waits (thread-safe)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@dataclass
class FakeJob:
    id: str
    kind: str
    body: dict[str, Any]
    state: str = "Open"
    data: bytearray = field(default_factory=bytearray)
    polls: int = 0
    processed: int = 0
    failed: int = 0
    results: dict[str, str] = field(default_factory=dict)
    query_rows: list[list[str]] = field(default_factory=list)
    query_header: list[str] = field(default_factory=list)


def _error(status: int, code: str, message: str, method: str, url: str) -> Exception:
    return error_class_for(status, code)(status, code, message, [], method, url)


class FakeBulkHttp:
    """Implements ``data_url`` and ``request`` like ``kinetic_core.http.HttpSession``."""

    api_version = "62.0"

    def __init__(
        self,
        *,
        outcome: Callable[[dict[str, str]], Outcome] | None = None,
        polls_to_complete: int = 2,
        seed: int = 7,
        query_rows: list[dict[str, str]] | None = None,
        page_size: int = 1000,
        job_error: str | None = None,
    ) -> None:
        self.jobs: dict[str, FakeJob] = {}
        self.outcome = outcome or (lambda row: ("ok", True))
        self.polls_to_complete = polls_to_complete
        self.rng = random.Random(seed)
        self.query_data = query_rows or []
        self.page_size = page_size
        self.job_error = job_error
        self.calls: list[tuple[str, str]] = []
        self.lose_upload_answers = 0
        """How many next uploads are stored but answered with a lost-response TransportError."""
        self.fail_create: Exception | None = None
        self.create_barrier: threading.Barrier | None = None
        self.never_complete = False
        self.query_error: str | None = None
        self._lock = threading.Lock()
        self._seq = 0
        self.ids = 0

    def data_url(self, suffix: str) -> str:
        return BASE + suffix.lstrip("/")

    # ------------------------------------------------------------------ dispatch
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
    ) -> httpx.Response:
        path = url.split("/services/data/v62.0/", 1)[-1].strip("/")
        with self._lock:
            self.calls.append((method, path))
        parts = path.split("/")
        if parts[:1] != ["jobs"] or len(parts) < 2:
            raise _error(404, "NOT_FOUND", "The requested resource does not exist", method, url)
        kind = parts[1]
        if len(parts) == 2 and method == "POST":
            return self._create(kind, json, method, url)
        if len(parts) == 2 and method == "GET":
            return httpx.Response(
                200,
                json={
                    "done": True,
                    "records": [self._info(j) for j in self.jobs.values() if j.kind == kind],
                    "nextRecordsUrl": None,
                },
            )
        job = self.jobs.get(parts[2])
        if job is None or job.kind != kind:
            raise _error(404, "NOT_FOUND", "The requested resource does not exist", method, url)
        rest = parts[3:]
        if not rest and method == "GET":
            self._advance(job)
            return httpx.Response(200, json=self._info(job))
        if not rest and method == "PATCH":
            return self._patch(job, json["state"], method, url)
        if not rest and method == "DELETE":
            del self.jobs[job.id]
            return httpx.Response(204)
        if rest == ["batches"] and method == "PUT":
            return self._upload(job, content, method, url)
        if kind == "ingest" and method == "GET":
            return httpx.Response(
                200,
                content=job.results.get(rest[0].lower(), "").encode(),
                headers={"Content-Type": "text/csv"},
            )
        if kind == "query" and rest == ["results"]:
            return self._page(job, params or {})
        raise _error(404, "NOT_FOUND", "The requested resource does not exist", method, url)

    def download(
        self,
        method: str,
        url: str,
        sink: Any,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: Any = None,
        limit: int | None = None,
    ) -> Mapping[str, str]:
        """Like ``HttpSession.download``, in one piece (the fake never cuts a body off)."""
        response = self.request(method, url, params=params, headers=headers, stream=True)
        sink.start(dict(response.headers))
        sink.write(response.read())
        return dict(response.headers)

    # ------------------------------------------------------------------ handlers
    def _new_id(self) -> str:
        with self._lock:
            self.ids += 1
            return f"7500000000{self.ids:05d}AAA"

    def _create(self, kind: str, body: dict[str, Any], method: str, url: str) -> httpx.Response:
        if self.fail_create is not None:
            raise self.fail_create
        if self.create_barrier is not None and kind == "ingest":
            self.create_barrier.wait()
        job = FakeJob(self._new_id(), kind, dict(body))
        if kind == "query":
            job.state = "UploadComplete"
            job.query_header = list(self.query_data[0]) if self.query_data else ["Id"]
            job.query_rows = [[r.get(c, "") for c in job.query_header] for r in self.query_data]
        self.jobs[job.id] = job
        return httpx.Response(200, json=self._info(job))

    def _upload(self, job: FakeJob, content: Any, method: str, url: str) -> httpx.Response:
        if job.state != "Open":
            raise _error(400, "INVALIDJOBSTATE", "job not open", method, url)
        data = content if isinstance(content, bytes) else b"".join(content)
        job.data.extend(data)
        if self.lose_upload_answers > 0:
            self.lose_upload_answers -= 1
            raise TransportError("ReadTimeout: no answer", method=method, url=url, in_doubt=True)
        return httpx.Response(201)

    def _patch(self, job: FakeJob, state: str, method: str, url: str) -> httpx.Response:
        if state == "Aborted":
            if job.state in ("JobComplete", "Failed", "Aborted"):
                raise _error(
                    400, "INVALIDJOBSTATE", "Aborting already Completed Job not allowed", method, url
                )
            job.state = "Aborted"
            self._finish(job, process=False)
        elif state == "UploadComplete":
            if job.state != "Open":
                raise _error(400, "INVALIDJOBSTATE", "not open", method, url)
            job.state = "UploadComplete"
        return httpx.Response(200, json=self._info(job))

    def _advance(self, job: FakeJob) -> None:
        if job.state not in ("UploadComplete", "InProgress") or self.never_complete:
            if job.state == "UploadComplete":
                job.state = "InProgress"
            return
        job.polls += 1
        job.state = "InProgress"
        if job.polls >= self.polls_to_complete:
            if job.kind == "query" and self.query_error:
                job.state = "Failed"
            elif job.kind == "query":
                job.state = "JobComplete"
                job.processed = len(job.query_rows)
            elif self.job_error:
                job.state = "Failed"
                self._finish(job, process=False)
            else:
                job.state = "JobComplete"
                self._finish(job, process=True)

    def _finish(self, job: FakeJob, *, process: bool) -> None:
        sep = DELIMS[job.body.get("columnDelimiter", "COMMA")]
        eol = EOLS[job.body.get("lineEnding", "LF")]
        text = job.data.decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
        header = rows[0] if rows else []
        data_rows = [r for r in rows[1:] if r]
        order = sorted(range(len(header)), key=lambda i: header[i].lower())  # echo re-ordered
        echo_header = [header[i] for i in order]
        ok: list[list[str]] = []
        bad: list[list[str]] = []
        skipped: list[list[str]] = []
        for row in data_rows:
            echoed = [row[i] if i < len(row) else "" for i in order]
            verdict, extra = self.outcome(dict(zip(header, row, strict=False))) if process else ("skip", None)
            if verdict == "ok":
                self._seq += 1
                ok.append([f"001000000{self._seq:06d}AAA", "true" if extra else "false", *echoed])
            elif verdict == "fail":
                bad.append(["", str(extra), *echoed])
            elif verdict == "skip" and not process:
                skipped.append(echoed)
            # verdict "drop": the row is missing from every result file
        for rows_ in (ok, bad, skipped):
            self.rng.shuffle(rows_)
        job.processed = len(ok) + len(bad)
        job.failed = len(bad)
        if not process:
            job.data.clear()

        def render(lead: list[str], body: list[list[str]]) -> str:
            out = io.StringIO()
            writer = csv.writer(out, delimiter=sep, lineterminator=eol)
            writer.writerow([*lead, *echo_header])
            writer.writerows(body)
            return out.getvalue()

        job.results = {
            "successfulresults": render(["sf__Id", "sf__Created"], ok),
            "failedresults": render(["sf__Id", "sf__Error"], bad),
            "unprocessedrecords": render([], skipped if not process else []),
        }
        if not process and job.state == "Aborted":
            # aborted: everything uploaded is unprocessed
            job.results["unprocessedrecords"] = render(
                [], [[r[i] if i < len(r) else "" for i in order] for r in data_rows]
            )

    def _page(self, job: FakeJob, params: Mapping[str, Any]) -> httpx.Response:
        if job.state != "JobComplete":
            raise _error(412, "JOB_NOT_COMPLETE", "not complete", "GET", "results")
        start = int(params.get("locator") or 0)
        size = int(params.get("maxRecords") or self.page_size)
        chunk = job.query_rows[start : start + size]
        sep = DELIMS[job.body.get("columnDelimiter", "COMMA")]
        eol = EOLS[job.body.get("lineEnding", "LF")]
        out = io.StringIO()
        writer = csv.writer(out, delimiter=sep, lineterminator=eol, quoting=csv.QUOTE_ALL)
        writer.writerow(job.query_header)
        writer.writerows(chunk)
        nxt = start + size
        locator = str(nxt) if nxt < len(job.query_rows) else "null"
        return httpx.Response(
            200,
            content=out.getvalue().encode(),
            headers={"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(len(chunk))},
        )

    def _info(self, job: FakeJob) -> dict[str, Any]:
        body = {
            "id": job.id,
            "operation": job.body.get("operation"),
            "object": job.body.get("object", "Account"),
            "state": job.state,
            "columnDelimiter": job.body.get("columnDelimiter", "COMMA"),
            "lineEnding": job.body.get("lineEnding", "LF"),
            "apiVersion": 62.0,
            "numberRecordsProcessed": job.processed,
            "numberRecordsFailed": job.failed,
        }
        if job.body.get("externalIdFieldName"):
            body["externalIdFieldName"] = job.body["externalIdFieldName"]
        if job.state == "Failed":
            body["errorMessage"] = self.job_error or self.query_error
        return body

    def uploaded_rows(self) -> int:
        """Data rows uploaded to jobs that were not aborted."""
        total = 0
        for job in self.jobs.values():
            if job.kind == "ingest" and job.state != "Aborted":
                total += job.processed + len(
                    list(csv.reader(io.StringIO(job.results.get("unprocessedrecords", ""))))
                )
        return total


def json_dumps(value: Any) -> str:
    return json.dumps(value)


def csv_lines(text: str) -> list[str]:
    return [line for line in re.split(r"\r?\n", text) if line]


def records(n: int, **extra: Any) -> Iterable[dict[str, Any]]:
    return [{"Name": f"N{i}", **extra} for i in range(1, n + 1)]


# ---------------------------------------------------------------------- sanity tests of the fake
def test_fake_runs_a_job_through_its_states() -> None:
    http = FakeBulkHttp(polls_to_complete=1)
    job = http.request("POST", BASE + "jobs/ingest", json={"object": "Account", "operation": "insert"}).json()
    assert job["state"] == "Open"
    assert (
        http.request("PUT", BASE + f"jobs/ingest/{job['id']}/batches", content=b"Name\nA\n").status_code
        == 201
    )
    http.request("PATCH", BASE + f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    assert http.request("GET", BASE + f"jobs/ingest/{job['id']}").json()["state"] == "JobComplete"
    text = http.request("GET", BASE + f"jobs/ingest/{job['id']}/successfulResults").text
    assert csv_lines(text)[0] == "sf__Id,sf__Created,Name"


def test_fake_clock_advances_on_sleep() -> None:
    clock = FakeClock()
    start = clock()
    clock.sleep(2.5)
    assert clock() == start + 2.5
    assert clock.sleeps == [2.5]
