"""Bulk API 1.0 vocabulary and values: job and batch states, JobInfo, BatchInfo, errors.

Bulk API 1.0 (``/services/async/{version}/...``) keeps its own job and batch records, but every
batch is run by the Bulk API 2.0 machinery (:mod:`kinetic_core.emulator.bulk.v1`). Facts are from
the Bulk API Developer Guide (JobInfo, BatchInfo, error codes) [D]; texts tagged [I] are ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from kinetic_core.emulator.bulk.models import Operation, format_datetime
from kinetic_core.emulator.store.ids import make_id

MAX_BATCH_RECORDS = 10_000
"""Records per Bulk API 1.0 batch [D]."""
MAX_BATCH_BYTES = 10_000_000
"""Bytes per Bulk API 1.0 batch [D 10 MB]."""


class V1JobState(StrEnum):
    OPEN = "Open"
    CLOSED = "Closed"
    ABORTED = "Aborted"
    FAILED = "Failed"


class BatchState(StrEnum):
    QUEUED = "Queued"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    NOT_PROCESSED = "NotProcessed"

    @property
    def done(self) -> bool:
        return self in (BatchState.COMPLETED, BatchState.FAILED, BatchState.NOT_PROCESSED)


class ContentType(StrEnum):
    """A job's ``contentType``: the format of batch data and of results."""

    CSV = "CSV"
    JSON = "JSON"
    XML = "XML"

    @property
    def media_type(self) -> str:
        return {"CSV": "text/csv", "JSON": "application/json", "XML": "application/xml"}[self.value]


class V1Error(Exception):
    """A Bulk API 1.0 error: ``exceptionCode`` / ``exceptionMessage`` and the HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def invalid_job(message: str) -> V1Error:
    return V1Error(400, "InvalidJob", message)


def invalid_batch(message: str) -> V1Error:
    return V1Error(400, "InvalidBatch", message)


def invalid_job_state(message: str) -> V1Error:
    return V1Error(400, "InvalidJobState", message)


def xml_datetime(value: datetime) -> str:
    """``2015-12-15T21:41:45.000Z`` (XML bodies)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class V1Job:
    """A Bulk API 1.0 job with the counters of its batches."""

    seq: int
    id: str
    operation: Operation
    object: str
    created_by: str
    created_date: datetime
    modstamp: datetime
    state: V1JobState
    content_type: ContentType
    concurrency_mode: str
    api_version: str
    external_id_field: str | None = None
    assignment_rule_id: str | None = None
    pk_chunking: str | None = None
    batches: dict[BatchState, int] | None = None
    processed: int = 0
    failed: int = 0
    processing_ms: int = 0

    def info(self, json_dates: bool) -> list[tuple[str, Any]]:
        """JobInfo fields in the order Salesforce sends them."""
        when = format_datetime if json_dates else xml_datetime
        counts = self.batches or {}
        fields: list[tuple[str, Any]] = [
            ("id", self.id),
            ("operation", self.operation.value),
            ("object", self.object),
            ("createdById", self.created_by),
            ("createdDate", when(self.created_date)),
            ("systemModstamp", when(self.modstamp)),
            ("state", self.state.value),
        ]
        if self.external_id_field:
            fields.append(("externalIdFieldName", self.external_id_field))
        if self.assignment_rule_id:
            fields.append(("assignmentRuleId", self.assignment_rule_id))
        fields += [
            ("concurrencyMode", self.concurrency_mode),
            ("contentType", self.content_type.value),
            ("numberBatchesQueued", counts.get(BatchState.QUEUED, 0)),
            ("numberBatchesInProgress", counts.get(BatchState.IN_PROGRESS, 0)),
            ("numberBatchesCompleted", counts.get(BatchState.COMPLETED, 0)),
            ("numberBatchesFailed", counts.get(BatchState.FAILED, 0)),
            ("numberBatchesTotal", sum(counts.values())),
            ("numberRecordsProcessed", self.processed),
            ("numberRetries", 0),
            ("apiVersion", float(self.api_version)),
            ("numberRecordsFailed", self.failed),
            ("totalProcessingTime", self.processing_ms),
            ("apiActiveProcessingTime", self.processing_ms),
            ("apexProcessingTime", 0),
        ]
        return fields


@dataclass(frozen=True)
class V1Batch:
    """A Bulk API 1.0 batch."""

    seq: int
    id: str
    job_id: str
    state: BatchState
    created_date: datetime
    modstamp: datetime
    state_message: str | None = None
    processed: int = 0
    failed: int = 0
    processing_ms: int = 0
    request_type: str = "text/csv"

    @property
    def result_id(self) -> str:
        """The one query result of this batch (key prefix 752)."""
        return make_id("752", self.seq, pod="8d")

    def info(self, json_dates: bool) -> list[tuple[str, Any]]:
        """BatchInfo fields in the order Salesforce sends them."""
        when = format_datetime if json_dates else xml_datetime
        fields: list[tuple[str, Any]] = [
            ("id", self.id),
            ("jobId", self.job_id),
            ("state", self.state.value),
        ]
        if self.state_message:
            fields.append(("stateMessage", self.state_message))
        fields += [
            ("createdDate", when(self.created_date)),
            ("systemModstamp", when(self.modstamp)),
            ("numberRecordsProcessed", self.processed),
            ("numberRecordsFailed", self.failed),
            ("totalProcessingTime", self.processing_ms),
            ("apiActiveProcessingTime", self.processing_ms),
            ("apexProcessingTime", 0),
        ]
        return fields
