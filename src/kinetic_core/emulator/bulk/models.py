"""Bulk API 2.0 vocabulary, job values and the emulator's limits and decisions.

Every behaviour the protocol notes tag ``[I]`` (our decision, not a confirmed
Salesforce fact) is collected in :class:`BulkLimits` and in the message helpers
at the bottom of this module, so it can be corrected in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from kinetic_core.emulator.errors import ApiError


class JobKind(StrEnum):
    """Which API a job belongs to."""

    INGEST = "ingest"
    QUERY = "query"


class JobState(StrEnum):
    """Bulk API 2.0 job states."""

    OPEN = "Open"
    UPLOAD_COMPLETE = "UploadComplete"
    IN_PROGRESS = "InProgress"
    JOB_COMPLETE = "JobComplete"
    FAILED = "Failed"
    ABORTED = "Aborted"

    @property
    def terminal(self) -> bool:
        return self in (JobState.JOB_COMPLETE, JobState.FAILED, JobState.ABORTED)

    @property
    def upper_word(self) -> str:
        """``IN_PROGRESS`` style, as used in the JOB_NOT_COMPLETE message."""
        return {
            JobState.OPEN: "OPEN",
            JobState.UPLOAD_COMPLETE: "UPLOAD_COMPLETE",
            JobState.IN_PROGRESS: "IN_PROGRESS",
            JobState.JOB_COMPLETE: "JOB_COMPLETE",
            JobState.FAILED: "FAILED",
            JobState.ABORTED: "ABORTED",
        }[self]


class Operation(StrEnum):
    """Ingest and query operations."""

    INSERT = "insert"
    UPDATE = "update"
    UPSERT = "upsert"
    DELETE = "delete"
    HARD_DELETE = "hardDelete"
    QUERY = "query"
    QUERY_ALL = "queryAll"


INGEST_OPERATIONS = (
    Operation.INSERT,
    Operation.UPDATE,
    Operation.UPSERT,
    Operation.DELETE,
    Operation.HARD_DELETE,
)
QUERY_OPERATIONS = (Operation.QUERY, Operation.QUERY_ALL)


class ColumnDelimiter(StrEnum):
    """``columnDelimiter`` values and the character each stands for."""

    BACKQUOTE = "BACKQUOTE"
    CARET = "CARET"
    COMMA = "COMMA"
    PIPE = "PIPE"
    SEMICOLON = "SEMICOLON"
    TAB = "TAB"

    @property
    def char(self) -> str:
        return {"BACKQUOTE": "`", "CARET": "^", "COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "TAB": "\t"}[
            self.value
        ]


class LineEnding(StrEnum):
    """``lineEnding`` values."""

    LF = "LF"
    CRLF = "CRLF"

    @property
    def chars(self) -> str:
        return "\n" if self is LineEnding.LF else "\r\n"


class ResultKind(StrEnum):
    """The three ingest result sets; the URL segment is matched case-insensitively."""

    SUCCESSFUL = "successfulResults"
    FAILED = "failedResults"
    UNPROCESSED = "unprocessedrecords"

    @classmethod
    def parse(cls, segment: str) -> ResultKind | None:
        low = segment.strip("/").lower()
        return next((k for k in cls if k.value.lower() == low), None)


@dataclass(frozen=True)
class BulkLimits:
    """Limits and tunables of the emulated Bulk API 2.0 (values marked [I] are our decisions).

    Example:
        >>> BulkLimits(max_upload_base64_bytes=1000).batch_size
        10000
    """

    batch_size: int = 10_000
    """Records per internal batch [D]."""
    max_upload_base64_bytes: int = 150 * 1024 * 1024
    """Job data cap, counted as base64 (``ceil(n/3)*4``) over all uploads of a job [D 150 MB; MiB: I]."""
    max_fields_per_record: int = 5_000
    max_record_chars: int = 400_000
    max_field_chars: int = 131_072
    """[I] Docs say 32,000 for most fields; the emulator accepts long text areas up to 131,072 characters."""
    daily_records: int = 150_000_000
    daily_batches: int = 15_000
    daily_query_jobs: int = 10_000
    list_page_size: int = 1_000
    read_chunk_bytes: int = 256 * 1024


COUNTER_RECORDS = "bulk_records"
COUNTER_BATCHES = "bulk_batches"
COUNTER_QUERY_JOBS = "bulk_query_jobs"


def format_datetime(value: datetime) -> str:
    """Bulk JobInfo datetime: ``2024-03-20T21:42:13.000+0000``.

    Example:
        >>> format_datetime(datetime(2024, 3, 20, 21, 42, 13, tzinfo=UTC))
        '2024-03-20T21:42:13.000+0000'
    """
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


@dataclass(frozen=True)
class Job:
    """A persisted bulk job (ingest or query) and its progress counters."""

    seq: int
    id: str
    kind: JobKind
    operation: Operation
    object: str
    created_by: str
    created_date: datetime
    modstamp: datetime
    state: JobState
    api_version: str
    column_delimiter: ColumnDelimiter
    line_ending: LineEnding
    external_id_field: str | None = None
    assignment_rule_id: str | None = None
    query: str | None = None
    processed: int = 0
    failed: int = 0
    retries: int = 0
    processing_ms: int = 0
    error_message: str | None = None
    rows_done: int = 0
    batches_done: int = 0
    parts: int = 0
    upload_bytes: int = 0
    finalized: bool = False

    def info(self, *, full: bool = True) -> dict[str, Any]:
        """The JobInfo JSON object; ``full=False`` gives the create/PATCH/list subset.

        Example:
            >>> job.info()["apiVersion"]  # doctest: +SKIP
            62.0
        """
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation.value,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": format_datetime(self.created_date),
            "systemModstamp": format_datetime(self.modstamp),
            "state": self.state.value,
        }
        if self.kind is JobKind.INGEST:
            if self.external_id_field:
                body["externalIdFieldName"] = self.external_id_field
            if self.assignment_rule_id:
                body["assignmentRuleId"] = self.assignment_rule_id
        body["concurrencyMode"] = "Parallel"
        body["contentType"] = "CSV"
        body["apiVersion"] = float(self.api_version)
        body["jobType"] = "V2Ingest" if self.kind is JobKind.INGEST else "V2Query"
        if self.kind is JobKind.INGEST and self.state is JobState.OPEN:
            body["contentUrl"] = f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"
        body["lineEnding"] = self.line_ending.value
        body["columnDelimiter"] = self.column_delimiter.value
        if not full:
            return body
        body["numberRecordsProcessed"] = self.processed
        if self.kind is JobKind.INGEST:
            body["numberRecordsFailed"] = self.failed
        body["retries"] = self.retries
        body["totalProcessingTime"] = self.processing_ms
        if self.kind is JobKind.INGEST:
            body["apiActiveProcessingTime"] = self.processing_ms
            body["apexProcessingTime"] = 0
        else:
            body["isPkChunkingSupported"] = True
        if self.error_message:
            body["errorMessage"] = self.error_message
        return body


@dataclass(frozen=True)
class JobPage:
    """One page of a job list."""

    jobs: list[Job]
    next_offset: int | None


# --- error texts (codes and messages in one place) -------------------------------------------------


def job_not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")


def invalid_job(message: str) -> ApiError:
    return ApiError(400, "INVALIDJOB", message)


def invalid_state(message: str) -> ApiError:
    return ApiError(400, "INVALIDJOBSTATE", message)


def not_terminated() -> ApiError:
    return ApiError(
        400, "API_ERROR", "Error encountered when deleting the job because the job is not terminated"
    )


def abort_refused(state: JobState) -> ApiError:
    word = {JobState.JOB_COMPLETE: "Completed", JobState.FAILED: "Failed", JobState.ABORTED: "Aborted"}.get(
        state, state.value
    )
    return invalid_state(f"Aborting already {word} Job not allowed")


def job_not_complete(state: JobState) -> ApiError:
    return ApiError(
        412,
        "JOB_NOT_COMPLETE",
        "can only download query results of successfully completed bulk job with status: JOB_COMPLETE. "
        f"Current status: {state.upper_word}",
    )


def unsupported_entity(name: str) -> ApiError:
    return ApiError(400, "INVALIDENTITY", f"Entity '{name}' is not supported by the Bulk API.")


def client_input(message: str) -> ApiError:
    return ApiError(400, "CLIENTINPUTERROR", message)
