"""Bulk API 1.0 jobs and batches, run on the Bulk API 2.0 engine.

A Bulk API 1.0 job is a container of batches (at most 10,000 records each); each batch is
processed on its own as soon as it is added, whether or not the job is closed, by the same
background worker and the same :class:`~kinetic_core.emulator.bulk.ingest.BatchApplier` and SOQL
engine as a Bulk API 2.0 job (a batch's writes, its state and the daily counters commit in one
transaction). Job states ``Open``/``Closed``/``Aborted``/``Failed``; batch states ``Queued``,
``InProgress``, ``Completed``, ``Failed`` and ``NotProcessed`` (queued when the job was aborted).

A query job created with ``Sforce-Enable-PKChunking`` splits each query batch into one batch per range
of Ids (:mod:`kinetic_core.emulator.soql.chunking`) and leaves the original ``NotProcessed``. Query
results come as CSV, JSON or XML (:mod:`kinetic_core.emulator.soql.xml_records`), as the job's
``contentType`` says.

This module knows no HTTP; ``routes/bulk_v1.py`` renders XML or JSON. Persistence and result files
live in :mod:`kinetic_core.emulator.bulk.v1_store`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from kinetic_core.emulator.bulk import models as m
from kinetic_core.emulator.bulk.csvio import InputReader, JobFailure, plan_header
from kinetic_core.emulator.bulk.ingest import BatchApplier
from kinetic_core.emulator.bulk.models import (
    COUNTER_BATCHES,
    COUNTER_RECORDS,
    Job,
    JobKind,
    JobState,
    Operation,
)
from kinetic_core.emulator.bulk.v1_data import (
    csv_results,
    json_batch_to_csv,
    json_results,
    xml_batch_to_csv,
    xml_results,
)
from kinetic_core.emulator.bulk.v1_models import (
    MAX_BATCH_BYTES,
    MAX_BATCH_RECORDS,
    BatchState,
    ContentType,
    V1Batch,
    V1Error,
    V1Job,
    V1JobState,
    invalid_batch,
    invalid_job,
    invalid_job_state,
)
from kinetic_core.emulator.bulk.v1_query import QueryRunner, write_query_result
from kinetic_core.emulator.bulk.v1_store import V1Store
from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.soql.chunking import ChunkingError, ChunkSettings, chunk_queries, parse_header
from kinetic_core.emulator.soql.xml_records import PagedQuery, write_xml_result
from kinetic_core.emulator.store.ids import is_well_formed, to18

if TYPE_CHECKING:
    from kinetic_core.emulator.bulk.engine import BulkEngine

logger = logging.getLogger(__name__)

_V1_CODES = {
    "INVALIDJOB": "InvalidJob",
    "INVALIDENTITY": "InvalidEntity",
    "FEATURENOTENABLED": "FeatureNotEnabled",
    "EXCEEDEDQUOTA": "ExceededQuota",
}


def _v1_error(err: ApiError) -> V1Error:
    """A Bulk API 2.0 validation error in Bulk API 1.0's vocabulary."""
    code = _V1_CODES.get(err.error_code, "InvalidJob")
    message = err.message
    for prefix in ("InvalidJob : ", "FeatureNotEnabled : ", "ExceededQuota : "):
        message = message.removeprefix(prefix)
    return V1Error(400, code, message)


def _concurrency(value: Any) -> str:
    # [C] simple-salesforce sends 0 (Parallel) or 1 (Serial) in JSON
    if value in (None, "", "Parallel", 0):
        return "Parallel"
    if value in ("Serial", 1):
        return "Serial"
    raise invalid_job(f"Invalid concurrencyMode: {value}")


class BulkV1:
    """The Bulk API 1.0 service of one org, sharing the Bulk API 2.0 engine's worker and rules.

    Example:
        >>> v1 = BulkV1(org.bulk)  # doctest: +SKIP
        >>> job = v1.create_job({"operation": "insert", "object": "Contact", "contentType": "CSV"},
        ...                     user_id=org.admin_user_id, api_version="62.0")  # doctest: +SKIP
        >>> batch = v1.add_batch(job.id, b"LastName\\nNg\\n", "text/csv")  # doctest: +SKIP
        >>> org.bulk.run_pending(); v1.get_batch(job.id, batch.id).state  # doctest: +SKIP
        <BatchState.COMPLETED: 'Completed'>
    """

    def __init__(self, engine: BulkEngine) -> None:
        self.engine = engine
        self.store = V1Store(engine.store, engine.data_dir / "v1")
        engine.workloads.append(self.run_pending)

    # jobs --------------------------------------------------------------------------------------

    def create_job(
        self, spec: Mapping[str, Any], *, user_id: str, api_version: str, pk_chunking: str | None = None
    ) -> V1Job:
        """Validate a JobInfo and persist an ``Open`` job (400 ``InvalidJob``... otherwise)."""
        if not isinstance(spec, Mapping):
            raise invalid_job("The job request must be a jobInfo")
        content = next((c for c in ContentType if c.value == spec.get("contentType", "CSV")), None)
        if content is None:
            raise invalid_job(f"Invalid contentType: {spec.get('contentType')}")
        op = spec.get("operation")
        name = spec.get("object")
        if not isinstance(name, str) or not name:
            raise invalid_job("Object is required")
        obj = self.engine.store.schema.get(name)
        if obj is None:
            raise invalid_job(f"Unable to find object: {name}")
        config: dict[str, Any]
        if op in ("query", "queryAll"):
            try:
                parse_header(pk_chunking)
            except ChunkingError as err:
                raise invalid_job(str(err)) from None
            if not obj.bulk_supported:
                raise V1Error(400, "InvalidEntity", f"Entity '{obj.name}' is not supported by the Bulk API.")
            config = {"operation": op, "object": obj.name}
        else:
            keys = ("operation", "object", "externalIdFieldName", "assignmentRuleId")
            try:
                config = self.engine.ingest_config({k: spec[k] for k in keys if k in spec}, user_id=user_id)
            except ApiError as err:
                raise _v1_error(err) from None
        config.update(
            contentType=content.value,
            concurrencyMode=_concurrency(spec.get("concurrencyMode")),
            createdById=user_id,
            apiVersion=api_version,
        )
        if pk_chunking:
            config["pkChunking"] = pk_chunking
        job = self.store.create_job(config, self.engine.clock())
        logger.info("bulk v1 job %s created (%s %s)", job.id, config["operation"], config["object"])
        return job

    def get_job(self, job_id: str) -> V1Job:
        """The job with its batch counters, or 400 ``InvalidJob``."""
        job = self.store.get_job(to18(job_id)) if is_well_formed(job_id) else None
        if job is None:
            raise invalid_job(f"Invalid job id: {job_id}")
        return job

    def set_state(self, job_id: str, state: Any) -> V1Job:
        """Close or abort an ``Open`` job; aborting marks queued batches ``NotProcessed``."""
        job = self.get_job(job_id)
        target = next((s for s in (V1JobState.CLOSED, V1JobState.ABORTED) if s.value == state), None)
        if target is None:
            raise invalid_job_state(f"Invalid state: {state}")
        if job.state is not V1JobState.OPEN:
            raise invalid_job_state(f"Job : {job.id} is not open")  # [I] wording
        with self.engine.lock:
            self.store.set_job_state(job.id, target, self.engine.clock())
        return self.get_job(job.id)

    # batches -----------------------------------------------------------------------------------

    def add_batch(self, job_id: str, raw: bytes, media_type: str) -> V1Batch:
        """Queue a batch (records in the job's content type, or a SOQL query) for processing."""
        job = self.get_job(job_id)
        if job.state is not V1JobState.OPEN:
            raise invalid_job_state(f"Job : {job.id} is not open")
        expected = job.content_type.media_type
        query = job.operation in (Operation.QUERY, Operation.QUERY_ALL)
        kind = (media_type or "").split(";")[0].strip().lower()
        accepted = {expected, "text/xml"} if job.content_type is ContentType.XML else {expected}
        if not query and kind not in accepted:
            raise invalid_batch(
                f"Content type {kind or 'none'} does not match the job's contentType {job.content_type.value}"
            )
        if len(raw) > MAX_BATCH_BYTES:
            raise invalid_batch(
                f"The batch is {len(raw)} bytes; a batch may not exceed {MAX_BATCH_BYTES} bytes"
            )
        chunking = parse_header(job.pk_chunking) if query else None
        with self.engine.lock:  # the worker must not start a batch that is about to be chunked
            batch = self.store.add_batch(job.id, raw, kind or expected, self.engine.clock())
            if chunking is not None:
                self._chunk(job, batch, raw, chunking)
        self.engine.worker.wake()
        return batch

    def _chunk(self, job: V1Job, batch: V1Batch, raw: bytes, settings: ChunkSettings) -> None:
        """PK chunking: a batch per range of Ids; the original becomes ``NotProcessed`` (or ``Failed``)."""
        now = self.engine.clock()
        soql = raw.decode("utf-8", errors="replace").strip()
        obj = self.engine.store.schema.get(job.object)
        try:
            if obj is None:
                raise ChunkingError(f"Entity '{job.object}' no longer exists")
            queries = chunk_queries(self.engine.store, obj, soql, settings)
        except (ChunkingError, ApiError) as err:
            reason = err.message if isinstance(err, ApiError) else str(err)
            self._fail(batch, f"InvalidBatch : Failed to process query: {reason}")
            return
        for chunk in queries:
            self.store.add_batch(job.id, chunk.encode("utf-8"), batch.request_type, now)
        self.store.finish_batch(batch.id, BatchState.NOT_PROCESSED, now)
        logger.info("bulk v1 batch %s split into %d PK chunks", batch.id, len(queries))

    def get_batch(self, job_id: str, batch_id: str) -> V1Batch:
        job = self.get_job(job_id)
        batch = self.store.get_batch(to18(batch_id)) if is_well_formed(batch_id) else None
        if batch is None or batch.job_id != job.id:
            raise invalid_batch(f"Invalid batch id: {batch_id}")
        return batch

    def list_batches(self, job_id: str) -> list[V1Batch]:
        return self.store.batches(self.get_job(job_id).id)

    def batch_request(self, job_id: str, batch_id: str) -> tuple[Path, str]:
        """The batch as it was uploaded, and its media type."""
        batch = self.get_batch(job_id, batch_id)
        return self.store.request_path(batch), batch.request_type

    def batch_result(self, job_id: str, batch_id: str) -> tuple[V1Job, V1Batch, Path | None]:
        """The job, the batch and (ingest) its result file; 400 ``InvalidBatch`` until it has results."""
        job = self.get_job(job_id)
        batch = self.get_batch(job.id, batch_id)
        if batch.state is not BatchState.COMPLETED and not (
            batch.state is BatchState.FAILED and batch.processed
        ):
            raise invalid_batch("Batch not completed")  # [I] wording
        return job, batch, self.store.result_path(batch)

    def query_result(self, job_id: str, batch_id: str, result_id: str) -> tuple[V1Job, Path]:
        job, batch, path = self.batch_result(job_id, batch_id)
        if (
            result_id != batch.result_id
            or path is None
            or job.operation
            not in (
                Operation.QUERY,
                Operation.QUERY_ALL,
            )
        ):
            raise invalid_batch(f"Invalid result id: {result_id}")
        return job, path

    # processing --------------------------------------------------------------------------------

    def run_pending(self) -> int:
        """Process every queued batch, oldest first; the worker calls this on each pass."""
        done = 0
        for batch in self.store.queued():
            job = self.store.get_job(batch.job_id)
            if job is None:
                continue
            with self.engine.lock:
                if not self.store.start_batch(batch.id, self.engine.clock()):
                    continue
            started = time.perf_counter()
            try:
                if job.operation in (Operation.QUERY, Operation.QUERY_ALL):
                    self._run_query(job, batch, started)
                else:
                    self._run_ingest(job, batch, started)
            except V1Error as err:
                self._fail(batch, f"{err.code} : {err.message}")
            except Exception as exc:
                logger.exception("bulk v1 batch %s failed unexpectedly", batch.id)
                self._fail(batch, f"Unknown : {exc}")
            done += 1
        return done

    def _fail(self, batch: V1Batch, message: str) -> None:
        self.store.finish_batch(batch.id, BatchState.FAILED, self.engine.clock(), message=message)

    def _csv_input(self, job: V1Job, batch: V1Batch) -> Path:
        raw_path = self.store.request_path(batch)
        if job.content_type is ContentType.CSV:
            return raw_path
        raw = raw_path.read_bytes()
        data = json_batch_to_csv(raw) if job.content_type is ContentType.JSON else xml_batch_to_csv(raw)
        path = self.store.work_path(batch, "input.csv")
        path.write_bytes(data)
        return path

    def _engine_job(self, job: V1Job) -> Job:
        """The Bulk API 2.0 view of a 1.0 job that the batch applier works with."""
        now = self.engine.clock()
        return Job(
            seq=0,
            id=job.id,
            kind=JobKind.INGEST,
            operation=job.operation,
            object=job.object,
            created_by=job.created_by,
            created_date=job.created_date,
            modstamp=now,
            state=JobState.IN_PROGRESS,
            api_version=job.api_version,
            column_delimiter=m.ColumnDelimiter.COMMA,
            line_ending=m.LineEnding.LF,
            external_id_field=job.external_id_field,
        )

    def _run_ingest(self, job: V1Job, batch: V1Batch, started: float) -> None:
        eng = self.engine
        path = self._csv_input(job, batch)
        with InputReader([path], ",", m.LineEnding.LF, check=False) as reader:
            if reader.header is None:
                raise invalid_batch("The batch has no header row")  # [I] wording
            obj = eng.store.schema.get(job.object)
            if obj is None:
                raise invalid_batch(f"Entity '{job.object}' no longer exists")
            try:
                plan = plan_header(eng.store.schema, obj, reader.header, job.operation, job.external_id_field)
            except JobFailure as failure:
                raise invalid_batch(failure.message.removeprefix("InvalidBatch : ")) from None
            records = list(reader.records())
        if len(records) > MAX_BATCH_RECORDS:
            raise invalid_batch(
                f"Records in a single batch cannot exceed {MAX_BATCH_RECORDS}; this batch has {len(records)}"
            )
        quota = eng.worker.quota_problem(len(records))
        if quota:
            head, _, text = quota.partition(" : ")
            raise V1Error(400, head, text)
        applier = BatchApplier(
            eng.store, self._engine_job(job), plan, eng.limits, job.created_by, keep_rows=True
        )
        result = self.store.work_path(batch, "result.tmp")
        with eng.store.transaction():
            current = self.store.get_batch(batch.id)
            if current is None or current.state is not BatchState.IN_PROGRESS:
                return
            out = applier.apply(records)
            self._write_ingest_result(job, out.rows, result)
            eng.store.increment(COUNTER_RECORDS, len(records))
            eng.store.increment(COUNTER_BATCHES)
            self.store.finish_batch(
                batch.id,
                BatchState.COMPLETED,
                eng.clock(),
                processed=len(records),
                failed=len(out.fail),
                processing_ms=int((time.perf_counter() - started) * 1000),
            )
        self.store.commit_result(batch, result)

    @staticmethod
    def _write_ingest_result(job: V1Job, rows: list[Any], path: Path) -> None:
        with path.open("w", encoding="utf-8", newline="") as out:
            if job.content_type is ContentType.CSV:
                out.writelines(csv_results(rows))
            elif job.content_type is ContentType.JSON:
                out.write(json.dumps(json_results(rows), ensure_ascii=False, separators=(",", ":")))
            else:
                out.writelines(xml_results(rows))

    def _run_query(self, job: V1Job, batch: V1Batch, started: float) -> None:
        eng = self.engine
        soql = self.store.request_path(batch).read_text(encoding="utf-8", errors="replace").strip()
        result = self.store.work_path(batch, "result.tmp")
        qe = eng.query_engine
        if qe is None:
            raise V1Error(400, "Unknown", "The emulator's SOQL engine is not available")
        include_deleted = job.operation is Operation.QUERY_ALL
        try:
            if job.content_type is ContentType.XML:
                count = write_xml_result(
                    cast(PagedQuery, qe),
                    eng.store.schema,
                    soql,
                    include_deleted=include_deleted,
                    api_version=job.api_version,
                    target=result,
                )
            else:
                count = write_query_result(
                    cast(QueryRunner, qe),
                    eng.store.schema,
                    soql,
                    include_deleted=include_deleted,
                    as_json=job.content_type is ContentType.JSON,
                    api_version=job.api_version,
                    target=result,
                )
        except ApiError as err:
            raise invalid_batch(f"Failed to process query: {err.error_code}: {err.message}") from None
        with eng.store.transaction():
            eng.store.increment(COUNTER_BATCHES)
            self.store.finish_batch(
                batch.id,
                BatchState.COMPLETED,
                eng.clock(),
                processed=count,
                processing_ms=int((time.perf_counter() - started) * 1000),
            )
        self.store.commit_result(batch, result)
