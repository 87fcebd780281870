"""Low-level Bulk API 2.0 calls: one method per resource, through the shared ``HttpSession``.

Retry rules (on top of the HTTP layer's own, see ``kinetic_core.http.retry``):

* creating a job (POST) is repeated by the HTTP layer only when the server provably
  did not act; a lost answer can leave an empty ``Open`` job behind, which is
  harmless (Salesforce purges it) and is logged;
* uploading (PUT) is sent with ``retry=False``: an upload whose answer was lost is
  never re-sent to the same job. The ingest layer aborts that job and re-creates it;
* closing (PATCH ``UploadComplete``) whose answer was lost is resolved by reading the
  job: re-sent only if the job is still ``Open``;
* status and result GETs are safe to repeat; a result download cut off midway is
  requested again from the start (query pages: again by the same locator) by the session's
  ``download``, under its retry policy and backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from kinetic_core._httpx import httpx
from kinetic_core.bulk.models import ColumnDelimiter, JobInfo, JobKind, JobState, LineEnding, Operation
from kinetic_core.errors import ApiError, ServerUnavailableError, TransportError
from kinetic_core.http.ops import BodySink
from kinetic_core.http.paging import PageGuard
from kinetic_core.http.paths import check_id, on_instance
from kinetic_core.http.sinks import FileSink

logger = logging.getLogger(__name__)

UPLOAD_CHUNK = 1 << 16
"""Bytes per read of an upload. Kept under glibc's mmap threshold (128 KiB): larger buffers, allocated
in several upload threads, fragment one malloc arena per thread and made peak memory grow with the
number of jobs (measured with four upload threads: 64 -> 81 MB from 1 M to 5 M rows with 1 MiB reads,
64 -> 74 MB with 64 KiB)."""


class HttpLike(Protocol):
    """The part of ``kinetic_core.http.HttpSession`` the bulk client uses."""

    @property
    def api_version(self) -> str: ...

    def data_url(self, suffix: str) -> str: ...

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


class FileBody:
    """A re-iterable upload body: every ``iter()`` re-reads the file from the start.

    httpx streams it with chunked encoding; because it is not a generator, the HTTP
    layer may send it again after renewing an expired session.
    """

    def __init__(self, path: Path, chunk: int = UPLOAD_CHUNK) -> None:
        self.path = path
        self.chunk = chunk

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as handle:
            while block := handle.read(self.chunk):
                yield block


def is_transient(exc: BaseException) -> bool:
    """Whether a failure is worth another attempt at a higher level (new job, re-download)."""
    if isinstance(exc, TransportError | ServerUnavailableError | httpx.TransportError):
        return True
    return isinstance(exc, ApiError) and exc.status in (420, 429, 500, 502, 503, 504)


class JobsApi:
    """Bulk API 2.0 resources under ``/services/data/vXX.X/jobs``.

    Every job id is checked (15 or 18 letters and digits) before it becomes part of a URL, so no
    id can reach another resource (``InvalidNameError``). Downloads go through the session's
    ``download`` (its ``ResponseBounds``, retry policy and backoff, renewal on 401).

    Example:
        >>> api = JobsApi(client.http)                      # doctest: +SKIP
        >>> info = api.create_ingest("Account", Operation.INSERT)  # doctest: +SKIP
    """

    def __init__(self, http: HttpLike) -> None:
        self.http = http

    def _url(self, kind: JobKind, job_id: str | None = None, *parts: str) -> str:
        ids = () if job_id is None else (check_id(job_id, "job id"),)
        return self.http.data_url("/".join(("jobs", kind.value, *ids, *parts)))

    def create_ingest(
        self,
        sobject: str,
        operation: Operation,
        *,
        external_id_field: str | None = None,
        delimiter: ColumnDelimiter = ColumnDelimiter.COMMA,
        line_ending: LineEnding = LineEnding.LF,
        assignment_rule_id: str | None = None,
    ) -> JobInfo:
        """``POST /jobs/ingest``: a new ``Open`` job."""
        body: dict[str, Any] = {
            "object": sobject,
            "operation": operation.value,
            "contentType": "CSV",
            "columnDelimiter": delimiter.value,
            "lineEnding": line_ending.value,
        }
        if external_id_field:
            body["externalIdFieldName"] = external_id_field
        if assignment_rule_id:
            body["assignmentRuleId"] = assignment_rule_id
        # Safe to repeat: if the answer is lost, the job already made is Open and empty. Salesforce
        # runs only jobs that are closed, so that orphan never touches a record (it is purged later).
        response = self.http.request("POST", self._url(JobKind.INGEST), json=body, retry=True)
        return JobInfo.from_api(response.json(), JobKind.INGEST)

    def create_query(
        self,
        soql: str,
        *,
        operation: Operation = Operation.QUERY,
        delimiter: ColumnDelimiter = ColumnDelimiter.COMMA,
        line_ending: LineEnding = LineEnding.LF,
    ) -> JobInfo:
        """``POST /jobs/query``."""
        body = {
            "operation": operation.value,
            "query": soql,
            "contentType": "CSV",
            "columnDelimiter": delimiter.value,
            "lineEnding": line_ending.value,
        }
        # Safe to repeat: a query job only reads; a lost answer costs one extra query job, no data.
        response = self.http.request("POST", self._url(JobKind.QUERY), json=body, retry=True)
        return JobInfo.from_api(response.json(), JobKind.QUERY)

    def upload(self, job_id: str, data: Path | bytes) -> None:
        """``PUT /jobs/ingest/{id}/batches``, streamed from a file; never re-sent blindly."""
        content: Any = FileBody(data) if isinstance(data, Path) else data
        self.http.request(
            "PUT",
            self._url(JobKind.INGEST, job_id, "batches"),
            content=content,
            headers={"Content-Type": "text/csv"},
            retry=False,
        )

    def _patch_state(self, kind: JobKind, job_id: str, state: JobState) -> JobInfo:
        response = self.http.request("PATCH", self._url(kind, job_id), json={"state": state.value})
        return JobInfo.from_api(response.json(), kind)

    def close_job(self, job_id: str) -> JobInfo:
        """``PATCH {"state": "UploadComplete"}``; a lost answer is settled by reading the job."""
        try:
            return self._patch_state(JobKind.INGEST, job_id, JobState.UPLOAD_COMPLETE)
        except (TransportError, ServerUnavailableError) as exc:
            logger.warning("closing job %s: %s; checking its state", job_id, exc)
            info = self.get_job(job_id)
            if info.state is JobState.OPEN:
                return self._patch_state(JobKind.INGEST, job_id, JobState.UPLOAD_COMPLETE)
            return info

    def abort_job(self, job_id: str, kind: JobKind = JobKind.INGEST) -> JobInfo:
        """``PATCH {"state": "Aborted"}``."""
        return self._patch_state(kind, job_id, JobState.ABORTED)

    def delete_job(self, job_id: str, kind: JobKind = JobKind.INGEST) -> None:
        """``DELETE /jobs/{kind}/{id}`` (terminal jobs only)."""
        self.http.request("DELETE", self._url(kind, job_id))

    def get_job(self, job_id: str, kind: JobKind = JobKind.INGEST) -> JobInfo:
        """``GET /jobs/{kind}/{id}``."""
        response = self.http.request("GET", self._url(kind, job_id))
        return JobInfo.from_api(response.json(), kind)

    def find_job(self, job_id: str) -> JobInfo:
        """Read a job without knowing whether it is an ingest or a query job."""
        try:
            return self.get_job(job_id, JobKind.INGEST)
        except ApiError as exc:
            if exc.status != 404 and exc.error_code != "NOT_FOUND":
                raise
        return self.get_job(job_id, JobKind.QUERY)

    def list_jobs(self, kind: JobKind = JobKind.INGEST, **filters: Any) -> Iterator[JobInfo]:
        """Every job of ``kind``, following ``nextRecordsUrl`` (only on the instance, never in a loop)."""
        url: str | None = self._url(kind)
        params: dict[str, Any] | None = {k: v for k, v in filters.items() if v is not None} or None
        instance = self.http.data_url("").split("/services/", 1)[0]
        guard = PageGuard(f"{kind.value} job list", None)
        while url:
            body = self.http.request("GET", url, params=params).json()
            params = None
            records = body.get("records") or []
            for record in records:
                yield JobInfo.from_api(record, kind)
            nxt = body.get("nextRecordsUrl")
            last = bool(body.get("done", True)) or not nxt
            guard.page(len(records), last=last)
            if last:
                break
            url = on_instance(instance, guard.cursor(str(nxt)))

    def download(
        self, url: str, target: Path, *, params: Mapping[str, Any] | None = None
    ) -> Mapping[str, str]:
        """Stream a GET into ``target``; a cut-off body is requested again (by the session's
        ``download``: its retry policy and backoff). Returns the headers."""
        with FileSink(target) as sink:
            return self.http.download("GET", url, sink, params=params)

    def ingest_results_url(self, job_id: str, which: str) -> str:
        """URL of ``successfulResults``, ``failedResults`` or ``unprocessedrecords``."""
        return self._url(JobKind.INGEST, job_id, which)

    def query_results_url(self, job_id: str) -> str:
        """URL of a query job's result pages."""
        return self._url(JobKind.QUERY, job_id, "results")
