"""Low-level Bulk API 2.0 calls: one step function per resource (``kinetic_core.http.steps``), shared
by the sync and async clients; ``JobsApi`` runs them on an ``HttpSession``.

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
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from kinetic_core._httpx import httpx
from kinetic_core.bulk.models import ColumnDelimiter, JobInfo, JobKind, JobState, LineEnding, Operation
from kinetic_core.errors import ApiError, ServerUnavailableError, TransportError
from kinetic_core.http.bodies import FileBody
from kinetic_core.http.paging import PageGuard
from kinetic_core.http.paths import check_id
from kinetic_core.http.sinks import FileSink
from kinetic_core.http.steps import ApiCall, Download, Flow, SyncSession, run

logger = logging.getLogger(__name__)

T = TypeVar("T")


class HttpLike(SyncSession, Protocol):
    """The part of ``kinetic_core.http.HttpSession`` the bulk client uses: what ``run`` needs, and URLs."""

    @property
    def api_version(self) -> str: ...

    def data_url(self, suffix: str) -> str: ...


def is_transient(exc: BaseException) -> bool:
    """Whether a failure is worth another attempt at a higher level (new job, re-download)."""
    if isinstance(exc, TransportError | ServerUnavailableError | httpx.TransportError):
        return True
    return isinstance(exc, ApiError) and exc.status in (420, 429, 500, 502, 503, 504)


def job_path(kind: JobKind, job_id: str | None = None, *parts: str) -> str:
    """``jobs/{kind}[/{id}[/...]]`` under the data URL; the id is checked first (15 or 18 letters and
    digits), so no id can reach another resource (``InvalidNameError``).

    Example:
        >>> job_path(JobKind.INGEST, "750000000000001AAA", "batches")
        'jobs/ingest/750000000000001AAA/batches'
    """
    ids = () if job_id is None else (check_id(job_id, "job id"),)
    return "/".join(("jobs", kind.value, *ids, *parts))


def ingest_results_path(job_id: str, which: str) -> str:
    """Path of ``successfulResults``, ``failedResults`` or ``unprocessedrecords`` of an ingest job."""
    return job_path(JobKind.INGEST, job_id, which)


def query_results_path(job_id: str) -> str:
    """Path of a query job's result pages."""
    return job_path(JobKind.QUERY, job_id, "results")


# ---------------------------------------------------------------------- the calls, as steps
def create_ingest_steps(
    sobject: str,
    operation: Operation,
    *,
    external_id_field: str | None = None,
    delimiter: ColumnDelimiter = ColumnDelimiter.COMMA,
    line_ending: LineEnding = LineEnding.LF,
    assignment_rule_id: str | None = None,
) -> Flow[JobInfo]:
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
    response = yield ApiCall("POST", job_path(JobKind.INGEST), json=body, retry=True)
    return JobInfo.from_api(response.json(), JobKind.INGEST)


def create_query_steps(
    soql: str,
    *,
    operation: Operation = Operation.QUERY,
    delimiter: ColumnDelimiter = ColumnDelimiter.COMMA,
    line_ending: LineEnding = LineEnding.LF,
) -> Flow[JobInfo]:
    """``POST /jobs/query``."""
    body = {
        "operation": operation.value,
        "query": soql,
        "contentType": "CSV",
        "columnDelimiter": delimiter.value,
        "lineEnding": line_ending.value,
    }
    # Safe to repeat: a query job only reads; a lost answer costs one extra query job, no data.
    response = yield ApiCall("POST", job_path(JobKind.QUERY), json=body, retry=True)
    return JobInfo.from_api(response.json(), JobKind.QUERY)


def upload_steps(job_id: str, data: Path | bytes) -> Flow[None]:
    """``PUT /jobs/ingest/{id}/batches``, streamed from a file; never re-sent blindly."""
    content: Any = FileBody(data) if isinstance(data, Path) else data
    yield ApiCall(
        "PUT",
        job_path(JobKind.INGEST, job_id, "batches"),
        content=content,
        headers={"Content-Type": "text/csv"},
        retry=False,
    )


def _patch_state(kind: JobKind, job_id: str, state: JobState) -> Flow[JobInfo]:
    # PATCH is repeated only when provably unprocessed: a lost answer is settled by the caller
    response = yield ApiCall("PATCH", job_path(kind, job_id), json={"state": state.value}, retry=None)
    return JobInfo.from_api(response.json(), kind)


def close_job_steps(job_id: str) -> Flow[JobInfo]:
    """``PATCH {"state": "UploadComplete"}``; a lost answer is settled by reading the job."""
    try:
        return (yield from _patch_state(JobKind.INGEST, job_id, JobState.UPLOAD_COMPLETE))
    except (TransportError, ServerUnavailableError) as exc:
        logger.warning("closing job %s: %s; checking its state", job_id, exc)
        info = yield from get_job_steps(job_id)
        if info.state is JobState.OPEN:
            return (yield from _patch_state(JobKind.INGEST, job_id, JobState.UPLOAD_COMPLETE))
        return info


def abort_job_steps(job_id: str, kind: JobKind = JobKind.INGEST) -> Flow[JobInfo]:
    """``PATCH {"state": "Aborted"}``."""
    return (yield from _patch_state(kind, job_id, JobState.ABORTED))


def delete_job_steps(job_id: str, kind: JobKind = JobKind.INGEST) -> Flow[None]:
    """``DELETE /jobs/{kind}/{id}`` (terminal jobs only)."""
    yield ApiCall("DELETE", job_path(kind, job_id), retry=None)


def get_job_steps(job_id: str, kind: JobKind = JobKind.INGEST) -> Flow[JobInfo]:
    """``GET /jobs/{kind}/{id}``."""
    response = yield ApiCall("GET", job_path(kind, job_id), retry=None)
    return JobInfo.from_api(response.json(), kind)


def find_job_steps(job_id: str) -> Flow[JobInfo]:
    """Read a job without knowing whether it is an ingest or a query job."""
    try:
        return (yield from get_job_steps(job_id, JobKind.INGEST))
    except ApiError as exc:
        if exc.status != 404 and exc.error_code != "NOT_FOUND":
            raise
    return (yield from get_job_steps(job_id, JobKind.QUERY))


def download_steps(
    path: str, target: Path, *, params: Mapping[str, Any] | None = None
) -> Flow[Mapping[str, str]]:
    """Stream a GET into ``target``; a cut-off body is requested again (by the session's
    ``download``: its retry policy and backoff). Gives back the headers."""
    with FileSink(target) as sink:
        headers: Mapping[str, str] = yield Download(path, sink, params=params)
    return headers


def run_on(http: HttpLike, steps: Flow[T], *, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run bulk steps on a sync session, each path made a full URL with the session's ``data_url``."""
    return run(http, steps, sleep=sleep, resolve=http.data_url)


class JobPages:
    """The pages of a job list, each read by :meth:`next_page` (following ``nextRecordsUrl``, only on
    the instance, never in a loop); ``done`` once the last page was read.

    Example:
        >>> pages = JobPages(JobKind.INGEST, {"isPkChunkingEnabled": None})
        >>> next(pages.next_page()).url
        'jobs/ingest'
    """

    def __init__(self, kind: JobKind, filters: Mapping[str, Any]) -> None:
        self.kind = kind
        self.done = False
        self._url = job_path(kind)
        self._params: dict[str, Any] | None = {k: v for k, v in filters.items() if v is not None} or None
        self._answer = False
        self._guard = PageGuard(f"{kind.value} job list", None)

    def next_page(self) -> Flow[list[JobInfo]]:
        """The jobs of the next page."""
        response = yield ApiCall("GET", self._url, params=self._params, retry=None, answer=self._answer)
        body = response.json()
        self._params = None
        records = body.get("records") or []
        nxt = body.get("nextRecordsUrl")
        last = bool(body.get("done", True)) or not nxt
        self._guard.page(len(records), last=last)
        if last:
            self.done = True
        else:
            self._url, self._answer = self._guard.cursor(str(nxt)), True
        return [JobInfo.from_api(record, self.kind) for record in records]


class JobsApi:
    """Bulk API 2.0 resources under ``/services/data/vXX.X/jobs``, on a sync session.

    Each method runs the step function of the same name (``create_ingest`` runs
    :func:`create_ingest_steps`...), which the async client runs on an ``AsyncHttpSession``.
    Downloads go through the session's ``download`` (its ``ResponseBounds``, retry policy and
    backoff, renewal on 401).

    Example:
        >>> api = JobsApi(client.http)                      # doctest: +SKIP
        >>> info = api.create_ingest("Account", Operation.INSERT)  # doctest: +SKIP
    """

    def __init__(self, http: HttpLike) -> None:
        self.http = http

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
        steps = create_ingest_steps(
            sobject,
            operation,
            external_id_field=external_id_field,
            delimiter=delimiter,
            line_ending=line_ending,
            assignment_rule_id=assignment_rule_id,
        )
        return run_on(self.http, steps)

    def create_query(
        self,
        soql: str,
        *,
        operation: Operation = Operation.QUERY,
        delimiter: ColumnDelimiter = ColumnDelimiter.COMMA,
        line_ending: LineEnding = LineEnding.LF,
    ) -> JobInfo:
        """``POST /jobs/query``."""
        steps = create_query_steps(soql, operation=operation, delimiter=delimiter, line_ending=line_ending)
        return run_on(self.http, steps)

    def upload(self, job_id: str, data: Path | bytes) -> None:
        """``PUT /jobs/ingest/{id}/batches``, streamed from a file; never re-sent blindly."""
        run_on(self.http, upload_steps(job_id, data))

    def close_job(self, job_id: str) -> JobInfo:
        """``PATCH {"state": "UploadComplete"}``; a lost answer is settled by reading the job."""
        return run_on(self.http, close_job_steps(job_id))

    def abort_job(self, job_id: str, kind: JobKind = JobKind.INGEST) -> JobInfo:
        """``PATCH {"state": "Aborted"}``."""
        return run_on(self.http, abort_job_steps(job_id, kind))

    def delete_job(self, job_id: str, kind: JobKind = JobKind.INGEST) -> None:
        """``DELETE /jobs/{kind}/{id}`` (terminal jobs only)."""
        run_on(self.http, delete_job_steps(job_id, kind))

    def get_job(self, job_id: str, kind: JobKind = JobKind.INGEST) -> JobInfo:
        """``GET /jobs/{kind}/{id}``."""
        return run_on(self.http, get_job_steps(job_id, kind))

    def find_job(self, job_id: str) -> JobInfo:
        """Read a job without knowing whether it is an ingest or a query job."""
        return run_on(self.http, find_job_steps(job_id))

    def list_jobs(self, kind: JobKind = JobKind.INGEST, **filters: Any) -> Iterator[JobInfo]:
        """Every job of ``kind``, following ``nextRecordsUrl`` (only on the instance, never in a loop)."""
        pages = JobPages(kind, filters)
        while not pages.done:
            yield from run_on(self.http, pages.next_page())

    def download(
        self, url: str, target: Path, *, params: Mapping[str, Any] | None = None
    ) -> Mapping[str, str]:
        """Stream a GET into ``target``; a cut-off body is requested again (by the session's
        ``download``: its retry policy and backoff). Returns the headers."""
        return run_on(self.http, download_steps(url, target, params=params))

    def ingest_results_url(self, job_id: str, which: str) -> str:
        """Path of ``successfulResults``, ``failedResults`` or ``unprocessedrecords``."""
        return ingest_results_path(job_id, which)

    def query_results_url(self, job_id: str) -> str:
        """Path of a query job's result pages."""
        return query_results_path(job_id)
