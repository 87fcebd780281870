"""The Bulk API 2.0 job engine: job lifecycle, state machine and the public calls routes make.

Processing (the background worker) lives in :mod:`kinetic_core.emulator.bulk.worker`;
this module keeps the synchronous API: create, upload, close, abort, delete, get,
list and results. Nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from kinetic_core.emulator.bulk import models as m
from kinetic_core.emulator.bulk.files import JobFiles, iter_file
from kinetic_core.emulator.bulk.models import (
    COUNTER_QUERY_JOBS,
    BulkLimits,
    ColumnDelimiter,
    Job,
    JobKind,
    JobPage,
    JobState,
    LineEnding,
    Operation,
    ResultKind,
)
from kinetic_core.emulator.bulk.ports import QueryEngineLike, StoreLike
from kinetic_core.emulator.bulk.query import ResultPage, decode_locator, encode_locator, read_page
from kinetic_core.emulator.bulk.repo import JobRepo
from kinetic_core.emulator.bulk.uploads import UploadWriter
from kinetic_core.emulator.bulk.worker import Worker
from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.private import private_dir
from kinetic_core.emulator.store.ids import is_well_formed, to18

logger = logging.getLogger(__name__)

HARD_DELETE_PERMISSION = "PermissionsBulkApiHardDelete"
_E = TypeVar("_E", bound=StrEnum)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BulkEngine:
    """Bulk API 2.0 ingest and query jobs for one emulated org.

    Args:
        store: the org's record store (jobs are kept in its SQLite file).
        query_engine: the SOQL engine (``validate_bulk`` / ``iter_csv_rows``).
        rate: records per second processed by the worker; None = as fast as possible.
        job_delay: seconds a closed job waits before it starts.
        shuffle_results: shuffle result rows across internal batches.
        query_page_size: default ``maxRecords`` of query result pages.
        clock, sleep, rng: injectable time, sleep and randomness.
        data_dir: where job files go (default: ``bulk/`` beside the store's file).
        limits: caps and tunables (see :class:`BulkLimits`).

    Example:
        >>> engine = BulkEngine(store, query_engine, rate=None, job_delay=0.0,  # doctest: +SKIP
        ...                     shuffle_results=False, query_page_size=50_000)
        >>> job = engine.create_ingest_job({"object": "Account", "operation": "insert"},  # doctest: +SKIP
        ...                                user_id=store.admin_user_id, api_version="62.0")
        >>> engine.upload(job.id, [b"Name\\nAcme\\n"]); engine.close_job(job.id)  # doctest: +SKIP
        >>> engine.run_pending()  # doctest: +SKIP
    """

    def __init__(
        self,
        store: StoreLike,
        query_engine: QueryEngineLike | None,
        *,
        rate: float | None = None,
        job_delay: float = 0.0,
        shuffle_results: bool = False,
        query_page_size: int = 50_000,
        clock: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        data_dir: Path | None = None,
        limits: BulkLimits | None = None,
    ) -> None:
        self.store = store
        self.query_engine = query_engine
        self.limits = limits or BulkLimits()
        self.query_page_size = query_page_size
        self.clock = clock
        self.data_dir = data_dir if data_dir is not None else _default_data_dir(store)
        private_dir(self.data_dir)
        self.repo = JobRepo(store)
        self.lock = threading.RLock()
        self.workloads: list[Callable[[], int]] = []
        """Other work the worker runs on each pass (Bulk API 1.0 batches); each returns items touched."""
        self.worker = Worker(
            self,
            rate=rate,
            job_delay=job_delay,
            shuffle=shuffle_results,
            sleep=sleep,
            rng=rng or random.Random(),
        )

    # lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background worker thread (idempotent)."""
        self.worker.start()

    def stop(self) -> None:
        """Stop the worker and join its thread; an in-flight job resumes on the next start."""
        self.worker.stop()

    def run_pending(self, max_batches: int | None = None) -> int:
        """Process queued work in the calling thread (tests); returns the number of jobs touched."""
        return self.worker.run_pending(max_batches)

    def files(self, job_id: str) -> JobFiles:
        return JobFiles(self.data_dir, job_id)

    # lookup ------------------------------------------------------------------------------------

    def get_job(self, job_id: str, kind: JobKind) -> Job:
        """The job, or 404 ``NOT_FOUND`` (also when it belongs to the other API).

        Example:
            >>> engine.get_job("7508c0000000001AAA", JobKind.INGEST).state  # doctest: +SKIP
            <JobState.OPEN: 'Open'>
        """
        if not is_well_formed(job_id):
            raise m.job_not_found()
        job = self.repo.get(to18(job_id))
        if job is None or job.kind is not kind:
            raise m.job_not_found()
        return job

    def list_jobs(self, kind: JobKind, *, offset: int = 0, job_type: str | None = None) -> JobPage:
        """One page of jobs (``limits.list_page_size`` per page) in creation order."""
        wanted = "V2Ingest" if kind is JobKind.INGEST else "V2Query"
        if job_type and job_type != wanted:
            return JobPage([], None)
        size = self.limits.list_page_size
        jobs = self.repo.page(kind, offset, size + 1)
        more = len(jobs) > size
        return JobPage(jobs[:size], offset + size if more else None)

    # create ------------------------------------------------------------------------------------

    def create_ingest_job(self, spec: Mapping[str, Any], *, user_id: str, api_version: str) -> Job:
        """Validate a create-job body and persist an ``Open`` ingest job (synchronous 400s otherwise)."""
        config = self.ingest_config(spec, user_id=user_id)
        config.update(
            createdById=user_id,
            createdDate=self.clock().isoformat(),
            apiVersion=api_version,
        )
        job = self.repo.create(JobKind.INGEST, config, JobState.OPEN, self.clock())
        logger.info("bulk ingest job %s created (%s %s)", job.id, config["operation"], config["object"])
        return job

    def ingest_config(self, spec: Mapping[str, Any], *, user_id: str) -> dict[str, Any]:
        """Check an ingest job's operation, object, external id and permissions (shared with Bulk API 1.0).

        Returns:
            The job's settings: ``operation``, ``object``, ``externalIdFieldName``, formats...

        Raises:
            ApiError: 400 ``INVALIDJOB``, ``INVALIDENTITY`` or ``FEATURENOTENABLED``.
        """
        op = _operation(spec, m.INGEST_OPERATIONS)
        name = spec.get("object")
        if not isinstance(name, str) or not name:
            raise m.invalid_job("InvalidJob : Object is required")
        obj = self.store.schema.get(name)
        if obj is None or not obj.bulk_supported:
            raise m.unsupported_entity(name)
        config = self._format_config(spec)
        ext = spec.get("externalIdFieldName")
        if op is Operation.UPSERT:
            if not isinstance(ext, str) or not ext.strip():
                raise m.invalid_job(
                    f"External ID was blank for {obj.name}. An External ID must be specified for upsert."
                )
            field = obj.field(ext)
            if field is None or not (field.external_id or field.id_lookup or field.name == "Id"):
                raise m.invalid_job(
                    f"InvalidJob : The field {ext} on {obj.name} is not an External ID field or the Id field"
                )
            config["externalIdFieldName"] = field.name
        if op is Operation.HARD_DELETE and not self._can_hard_delete(user_id):
            raise ApiError(
                400,
                "FEATURENOTENABLED",
                "FeatureNotEnabled : The user does not have the Bulk API Hard Delete permission",
            )
        rule = spec.get("assignmentRuleId")
        if isinstance(rule, str) and rule:
            config["assignmentRuleId"] = rule
        config.update(operation=op.value, object=obj.name)
        return config

    def create_query_job(self, spec: Mapping[str, Any], *, user_id: str, api_version: str) -> Job:
        """Validate the SOQL now (400 arrays for refused SOQL) and queue an ``UploadComplete`` query job."""
        op = _operation(spec, m.QUERY_OPERATIONS)
        soql = spec.get("query")
        if not isinstance(soql, str) or not soql.strip():
            raise m.invalid_job("InvalidJob : A query is required")
        config = self._format_config(spec)
        if self.query_engine is None:
            raise ApiError(400, "API_ERROR", "The emulator's SOQL engine is not available")
        plan = self.query_engine.validate_bulk(soql)
        if self.store.count_last_24h(COUNTER_QUERY_JOBS) >= self.limits.daily_query_jobs:
            raise ApiError(
                400,
                "EXCEEDEDQUOTA",
                f"ExceededQuota : The limit of {self.limits.daily_query_jobs} query jobs per 24 hours "
                "was reached",
            )
        config.update(
            operation=op.value,
            object=plan.object_name,
            createdById=user_id,
            createdDate=self.clock().isoformat(),
            apiVersion=api_version,
            query=soql,
        )
        job = self.repo.create(JobKind.QUERY, config, JobState.UPLOAD_COMPLETE, self.clock())
        self.store.increment(COUNTER_QUERY_JOBS)
        self.worker.wake()
        return job

    @staticmethod
    def _format_config(spec: Mapping[str, Any]) -> dict[str, Any]:
        content = spec.get("contentType", "CSV")
        if content not in (None, "CSV"):
            raise m.invalid_job(f"InvalidJob : Invalid contentType: {content}; only CSV is supported")
        delim = _enum(ColumnDelimiter, spec.get("columnDelimiter") or "COMMA")
        if delim is None:
            raise m.invalid_job(f"InvalidJob : Invalid columnDelimiter: {spec.get('columnDelimiter')}")
        ending = _enum(LineEnding, spec.get("lineEnding") or "LF")
        if ending is None:
            raise m.invalid_job(f"InvalidJob : Invalid lineEnding: {spec.get('lineEnding')}")
        return {"columnDelimiter": delim.value, "lineEnding": ending.value}

    def _can_hard_delete(self, user_id: str) -> bool:
        schema, store = self.store.schema, self.store
        permissions_of = getattr(store, "permissions_of", None)
        if callable(permissions_of):
            try:
                return bool(permissions_of(user_id).get(HARD_DELETE_PERMISSION, False))
            except ApiError:
                return False

        def granted(sobject: str, record_id: Any) -> bool:
            obj = schema.get(sobject)
            if obj is None or obj.field(HARD_DELETE_PERMISSION) is None or not record_id:
                return False
            return (
                store.get(sobject, str(record_id), [HARD_DELETE_PERMISSION]).get(HARD_DELETE_PERMISSION)
                is True
            )

        try:
            user = store.get("User", user_id, ["ProfileId"])
            if granted("Profile", user.get("ProfileId")):
                return True
            if schema.get("PermissionSetAssignment") is None:
                return False
            for aid in store.find_ids("PermissionSetAssignment", "AssigneeId", user_id):
                psa = store.get("PermissionSetAssignment", aid, ["PermissionSetId"])
                if granted("PermissionSet", psa.get("PermissionSetId")):
                    return True
        except ApiError:
            return False
        return False

    # upload ------------------------------------------------------------------------------------

    def open_upload(self, job_id: str) -> UploadWriter:
        """Start receiving data for an ``Open`` job (400 ``INVALIDJOBSTATE`` otherwise)."""
        job = self.get_job(job_id, JobKind.INGEST)
        if job.state is not JobState.OPEN:
            raise m.invalid_state(
                f"Upload is only allowed while the job is Open; job state is {job.state.value}"
            )
        path = self.files(job.id).new_upload()
        return UploadWriter(
            path,
            job.upload_bytes,
            self.limits.max_upload_base64_bytes,
            lambda p, n: self._commit_upload(job.id, p, n),
        )

    def upload(self, job_id: str, chunks: Iterable[bytes]) -> None:
        """Receive a whole upload from an iterable of byte chunks (appends to earlier uploads)."""
        with self.open_upload(job_id) as writer:
            for chunk in chunks:
                writer.write(chunk)
            writer.commit()

    def _commit_upload(self, job_id: str, path: Path, size: int) -> None:
        with self.lock:
            job = self.get_job(job_id, JobKind.INGEST)
            if job.state is not JobState.OPEN:
                raise m.invalid_state(
                    f"Upload is only allowed while the job is Open; job state is {job.state.value}"
                )
            number = job.parts + 1
            path.replace(self.files(job_id).part(number))
            self.repo.update(
                job_id, parts=number, upload_bytes=job.upload_bytes + size, modstamp=self.clock()
            )

    # state changes -----------------------------------------------------------------------------

    def set_state(self, job_id: str, kind: JobKind, state: Any) -> Job:
        """The PATCH ``{"state": ...}`` call: close (ingest) or abort; refused transitions raise."""
        target = _enum(JobState, state)
        if target is None:
            raise m.invalid_job(f"InvalidJob : Invalid state: {state}")
        if target is JobState.ABORTED:
            return self.abort_job(job_id, kind)
        if target is JobState.UPLOAD_COMPLETE and kind is JobKind.INGEST:
            return self.close_job(job_id)
        job = self.get_job(job_id, kind)
        raise m.invalid_state(
            f"Changing the job state from {job.state.value} to {target.value} is not allowed"
        )

    def close_job(self, job_id: str) -> Job:
        """``Open`` -> ``UploadComplete``; the worker picks the job up."""
        with self.lock:
            job = self.get_job(job_id, JobKind.INGEST)
            if job.state is not JobState.OPEN:
                raise m.invalid_state(
                    f"Closing the job is only allowed while it is Open; job state is {job.state.value}"
                )
            self.repo.update(job.id, state=JobState.UPLOAD_COMPLETE, modstamp=self.clock())
        self.worker.wake()
        return self.get_job(job.id, JobKind.INGEST)

    def abort_job(self, job_id: str, kind: JobKind) -> Job:
        """Abort a non-terminal job (query: only ``UploadComplete``/``InProgress``)."""
        allowed = (
            (JobState.OPEN, JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS)
            if kind is JobKind.INGEST
            else (JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS)
        )
        with self.lock:
            job = self.get_job(job_id, kind)
            if job.state not in allowed:
                raise m.abort_refused(job.state)
            self.repo.update(job.id, state=JobState.ABORTED, modstamp=self.clock())
        logger.info("bulk job %s aborted", job.id)
        self.worker.wake()
        return self.get_job(job.id, kind)

    def delete_job(self, job_id: str, kind: JobKind) -> None:
        """Delete a job and its files (ingest: not while Open/InProgress; query: terminal only)."""
        with self.lock:
            job = self.get_job(job_id, kind)
            ok = job.state.terminal or (kind is JobKind.INGEST and job.state is JobState.UPLOAD_COMPLETE)
            if not ok:
                raise m.not_terminated()
            self.repo.delete(job.id)
            self.files(job.id).remove()

    # results -----------------------------------------------------------------------------------

    def ingest_results(self, job_id: str, result_type: str) -> Iterator[bytes]:
        """The bytes of ``successfulResults`` / ``failedResults`` / ``unprocessedrecords`` (any case)."""
        kind = ResultKind.parse(result_type)
        job = self.get_job(job_id, JobKind.INGEST)
        if kind is None:
            raise m.job_not_found()
        if not job.state.terminal:
            raise m.invalid_state(
                f"Results are available once the job has finished; job state is {job.state.value}"
            )
        if not job.finalized:
            self.worker.finalize(job.id)
        return iter_file(self.files(job.id).result(kind), self.limits.read_chunk_bytes)

    def query_results(
        self,
        job_id: str,
        *,
        locator: str | None = None,
        max_records: int | None = None,
        api_version: str | None = None,
    ) -> ResultPage:
        """One page of a completed query job's results (412 ``JOB_NOT_COMPLETE`` before)."""
        job = self._completed_query(job_id, api_version)
        size = self._page_size(max_records)
        return read_page(
            self.files(job.id), job.processed, locator or None, size, self.limits.read_chunk_bytes
        )

    def query_result_pages(
        self,
        job_id: str,
        *,
        locator: str | None = None,
        max_records: int | None = None,
        api_version: str | None = None,
        count: int = 5,
    ) -> tuple[list[tuple[str | None, int]], str | None]:
        """Up to ``count`` (locator, maxRecords) pairs for parallel download, and the next locator."""
        job = self._completed_query(job_id, api_version)
        size = self._page_size(max_records)
        start = decode_locator(locator, job.processed) if locator else 0
        pages: list[tuple[str | None, int]] = []
        pos = start
        while len(pages) < count and (pos < job.processed or not pages):
            pages.append((encode_locator(pos) if pos else None, size))
            pos += size
        return pages, (encode_locator(pos) if pos < job.processed else None)

    def _completed_query(self, job_id: str, api_version: str | None) -> Job:
        job = self.get_job(job_id, JobKind.QUERY)
        if api_version is not None and api_version != job.api_version:
            raise ApiError(
                409,
                "INVALIDVERSION",
                "Results must be requested with the API version the job was created with "
                f"(v{job.api_version})",
            )
        if job.state is not JobState.JOB_COMPLETE:
            raise m.job_not_complete(job.state)
        return job

    def _page_size(self, max_records: int | None) -> int:
        if max_records is None:
            return self.query_page_size
        if max_records < 1:
            raise m.client_input(f"Invalid maxRecords: {max_records}")
        return max_records


def _enum(cls: type[_E], value: Any) -> _E | None:
    if not isinstance(value, str):
        return None
    for member in cls:
        if member.value.lower() == value.lower():
            return member
    return None


def _operation(spec: Any, allowed: Collection[Operation]) -> Operation:
    """The ``operation`` of a create-job body, one of ``allowed`` (400 ``InvalidJob`` otherwise)."""
    if not isinstance(spec, Mapping):
        raise m.invalid_job("The job request body must be a JSON object")
    op = _enum(Operation, spec.get("operation"))
    if op is None or op not in allowed:
        raise m.invalid_job(f"InvalidJob : Invalid operation: {spec.get('operation')}")
    return op


def _default_data_dir(store: StoreLike) -> Path:
    path = getattr(store, "path", None)
    if isinstance(path, str | Path) and str(path) not in ("", ":memory:"):
        return Path(path).parent / "bulk"
    with store.read() as conn:
        rows = conn.execute("PRAGMA database_list").fetchall()
    for row in rows:
        name = row["name"] if isinstance(row, dict) else row[1]
        file = row["file"] if isinstance(row, dict) else row[2]
        if name == "main" and file:
            return Path(file).parent / "bulk"
    raise ValueError("the store has no file on disk; pass data_dir= to BulkEngine")
