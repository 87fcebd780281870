"""Bulk API 2.0 vocabularies and the typed job description.

The enums are ``str`` subclasses, so ``JobState.JOB_COMPLETE == "JobComplete"``
and they serialise into request bodies unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kinetic_core.errors import ApiError

DEFAULT_MAX_BYTES = 100_000_000
"""Raw bytes per job: Salesforce caps an upload at 150 MB after base64 (~100 MB raw)."""
DEFAULT_MAX_RECORDS = 150_000_000
"""Records per job: the rolling 24 h record allowance is the only per-job ceiling documented."""
DEFAULT_MAX_CONCURRENT_JOBS = 4
"""Jobs of one load running at once."""


class Operation(enum.StrEnum):
    """Ingest and query operations (the wire spelling is the value)."""

    INSERT = "insert"
    UPDATE = "update"
    UPSERT = "upsert"
    DELETE = "delete"
    HARD_DELETE = "hardDelete"
    QUERY = "query"
    QUERY_ALL = "queryAll"

    @classmethod
    def parse(cls, value: str | Operation) -> Operation:
        """Accept the wire spelling, the enum name or ``hard_delete``/``hard-delete``.

        Example:
            >>> Operation.parse("hard-delete")
            <Operation.HARD_DELETE: 'hardDelete'>
        """
        if isinstance(value, Operation):
            return value
        text = str(value).strip()
        for member in cls:
            if text == member.value or text.upper().replace("-", "_") == member.name:
                return member
        raise ValueError(f"unknown bulk operation {value!r}")


class JobState(enum.StrEnum):
    """Bulk API 2.0 job states."""

    OPEN = "Open"
    UPLOAD_COMPLETE = "UploadComplete"
    IN_PROGRESS = "InProgress"
    JOB_COMPLETE = "JobComplete"
    FAILED = "Failed"
    ABORTED = "Aborted"

    @property
    def terminal(self) -> bool:
        """True for ``JobComplete``, ``Failed`` and ``Aborted``."""
        return self in (JobState.JOB_COMPLETE, JobState.FAILED, JobState.ABORTED)


class ColumnDelimiter(enum.StrEnum):
    """The six column delimiters Bulk API 2.0 accepts; ``.char`` is the character."""

    BACKQUOTE = "BACKQUOTE"
    CARET = "CARET"
    COMMA = "COMMA"
    PIPE = "PIPE"
    SEMICOLON = "SEMICOLON"
    TAB = "TAB"

    @property
    def char(self) -> str:
        """The delimiter character."""
        return _DELIMITER_CHARS[self]

    @classmethod
    def from_char(cls, char: str) -> ColumnDelimiter:
        """The delimiter whose character is ``char``.

        Example:
            >>> ColumnDelimiter.from_char("|")
            <ColumnDelimiter.PIPE: 'PIPE'>
        """
        for member, value in _DELIMITER_CHARS.items():
            if value == char:
                return member
        raise ValueError(f"unsupported column delimiter {char!r}")

    @classmethod
    def parse(cls, value: str | ColumnDelimiter) -> ColumnDelimiter:
        """Accept the enum, its name (any case) or the character itself."""
        if isinstance(value, ColumnDelimiter):
            return value
        if len(value) == 1:
            return cls.from_char(value)
        return cls(value.upper())


_DELIMITER_CHARS: dict[ColumnDelimiter, str] = {
    ColumnDelimiter.BACKQUOTE: "`",
    ColumnDelimiter.CARET: "^",
    ColumnDelimiter.COMMA: ",",
    ColumnDelimiter.PIPE: "|",
    ColumnDelimiter.SEMICOLON: ";",
    ColumnDelimiter.TAB: "\t",
}


class LineEnding(enum.StrEnum):
    """Line endings of uploaded and downloaded CSV; ``.chars`` is the text."""

    LF = "LF"
    CRLF = "CRLF"

    @property
    def chars(self) -> str:
        """``"\\n"`` or ``"\\r\\n"``."""
        return "\n" if self is LineEnding.LF else "\r\n"

    @classmethod
    def parse(cls, value: str | LineEnding) -> LineEnding:
        """Accept the enum, its name or the characters."""
        if isinstance(value, LineEnding):
            return value
        if value in ("\n", "\r\n"):
            return cls.LF if value == "\n" else cls.CRLF
        return cls(value.upper())


class JobKind(enum.StrEnum):
    """Which Bulk API 2.0 resource a job lives under."""

    INGEST = "ingest"
    QUERY = "query"


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True)
class JobInfo:
    """A Bulk API 2.0 job as the server last described it.

    Example:
        >>> info = JobInfo.from_api({"id": "750x", "operation": "insert", "object": "Account",
        ...                          "state": "JobComplete", "numberRecordsProcessed": 3})
        >>> info.state.terminal, info.records_processed
        (True, 3)
    """

    id: str
    operation: Operation
    object: str
    state: JobState
    kind: JobKind = JobKind.INGEST
    external_id_field: str | None = None
    column_delimiter: ColumnDelimiter = ColumnDelimiter.COMMA
    line_ending: LineEnding = LineEnding.LF
    content_type: str = "CSV"
    api_version: float | None = None
    created_by_id: str | None = None
    created_date: str | None = None
    system_modstamp: str | None = None
    content_url: str | None = None
    job_type: str | None = None
    records_processed: int = 0
    records_failed: int = 0
    retries: int = 0
    total_processing_time: int = 0
    error_message: str | None = None
    raw: Mapping[str, Any] | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any], kind: JobKind | None = None) -> JobInfo:
        """Build from a JobInfo JSON body (create, PATCH, GET or list entry).

        Raises:
            ApiError: ``UNEXPECTED_RESPONSE`` when the body is not a job (no id, unknown state...).
        """
        try:
            return cls._from_api(data, kind)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            detail = f"no {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ApiError(
                200, "UNEXPECTED_RESPONSE", f"the answer is not a Bulk API 2.0 job ({detail})"
            ) from None

    @classmethod
    def _from_api(cls, data: Mapping[str, Any], kind: JobKind | None) -> JobInfo:
        operation = Operation.parse(str(data.get("operation", "insert")))
        if kind is None:
            kind = JobKind.QUERY if operation in (Operation.QUERY, Operation.QUERY_ALL) else JobKind.INGEST
        version = data.get("apiVersion")
        return cls(
            id=str(data["id"]),
            operation=operation,
            object=str(data.get("object", "")),
            state=JobState(str(data.get("state", "Open"))),
            kind=kind,
            external_id_field=data.get("externalIdFieldName"),
            column_delimiter=ColumnDelimiter(str(data.get("columnDelimiter") or "COMMA")),
            line_ending=LineEnding(str(data.get("lineEnding") or "LF")),
            content_type=str(data.get("contentType") or "CSV"),
            api_version=float(version) if version is not None else None,
            created_by_id=data.get("createdById"),
            created_date=data.get("createdDate"),
            system_modstamp=data.get("systemModstamp"),
            content_url=data.get("contentUrl"),
            job_type=data.get("jobType"),
            records_processed=_int(data, "numberRecordsProcessed"),
            records_failed=_int(data, "numberRecordsFailed"),
            retries=_int(data, "retries"),
            total_processing_time=_int(data, "totalProcessingTime"),
            error_message=data.get("errorMessage") or None,
            raw=dict(data),
        )
