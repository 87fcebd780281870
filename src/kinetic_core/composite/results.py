"""Per-record results of Composite sObject Collections calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

IN_DOUBT = "IN_DOUBT"
"""[I] Error code of rows whose create request got no answer: they may or may not exist now."""
NOT_SENT = "NOT_SENT"
"""[I] Error code of rows never sent (the connection could not be opened, or the API limit was hit)."""


@dataclass(frozen=True)
class ErrorDetail:
    """One error of a record: Salesforce ``statusCode``, message and the fields at fault.

    Example:
        >>> ErrorDetail("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"]).code
        'REQUIRED_FIELD_MISSING'
    """

    code: str
    message: str
    fields: list[str] = field(default_factory=list)

    @classmethod
    def from_save_error(cls, item: Mapping[str, Any]) -> ErrorDetail:
        """From a SaveResult error (``statusCode``; ``errorCode`` accepted too)."""
        code = item.get("statusCode") or item.get("errorCode") or "UNKNOWN_EXCEPTION"
        fields = item.get("fields") or []
        return cls(str(code), str(item.get("message") or ""), [str(f) for f in fields])


@dataclass(frozen=True)
class RecordResult:
    """The outcome of one input record, at its position in the input.

    Attributes:
        index: 0-based position of the record in the input.
        id: the record id (None when a create failed).
        success: whether Salesforce saved the record.
        created: True when the record was inserted (create, or upsert that inserted).
        errors: why it failed.

    Example:
        >>> RecordResult(0, "001000000000001AAA", True, True).success
        True
    """

    index: int
    id: str | None
    success: bool
    created: bool = False
    errors: list[ErrorDetail] = field(default_factory=list)

    @property
    def in_doubt(self) -> bool:
        """True when the outcome is unknown (a create whose answer was lost)."""
        return any(e.code == IN_DOUBT for e in self.errors)


def parse_save_results(body: Any, start: int, count: int, *, create: bool) -> list[RecordResult]:
    """Map a Collections answer (a list of SaveResults in request order) to ``RecordResult``s.

    Missing elements (never expected) become failures, so every input row is accounted for.

    Example:
        >>> parse_save_results([{"id": "001", "success": True, "errors": []}], 5, 1, create=True)[0].index
        5
    """
    items = body if isinstance(body, list) else []
    results = []
    for offset in range(count):
        item = items[offset] if offset < len(items) and isinstance(items[offset], Mapping) else None
        if item is None:
            error = ErrorDetail("MISSING_RESULT", "the answer had no result for this record")
            results.append(RecordResult(start + offset, None, False, False, [error]))
            continue
        success = bool(item.get("success"))
        created = bool(item.get("created", create and success))
        errors = [ErrorDetail.from_save_error(e) for e in item.get("errors") or [] if isinstance(e, Mapping)]
        record_id = item.get("id")
        results.append(
            RecordResult(start + offset, str(record_id) if record_id else None, success, created, errors)
        )
    return results


def failed(start: int, count: int, error: ErrorDetail) -> list[RecordResult]:
    """``count`` failed results from ``start`` sharing one error."""
    return [RecordResult(start + i, None, False, False, [error]) for i in range(count)]
