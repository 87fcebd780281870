"""Bulk API 1.0 query batches: the SOQL runs once and its records go to one result file.

CSV results are the Bulk API 2.0 query rows (header and every value double-quoted, nulls
empty). JSON results are the REST records (``attributes`` included) with date and dateTime
values as milliseconds since the epoch, as Bulk API 1.0 JSON sends them [R: simple-salesforce
users read them that way]. A query Bulk API 2.0 would refuse (aggregates, child subqueries...)
fails the batch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from kinetic_core.emulator.bulk.csvio import encode_quoted
from kinetic_core.emulator.store import numbers
from kinetic_core.emulator.store.schema import FieldType, Schema

_PAGE = 2000


class _Page(Protocol):
    @property
    def records(self) -> list[dict[str, Any]]: ...

    @property
    def next_locator(self) -> str | None: ...


class QueryRunner(Protocol):
    """The parts of the SOQL engine a query batch uses."""

    def validate_bulk(self, soql: str) -> Any: ...

    def iter_csv_rows(self, plan: Any, *, include_deleted: bool) -> tuple[list[str], Any]: ...

    def run(
        self, soql: str, *, include_deleted: bool = ..., batch_size: int = ..., api_version: str = ...
    ) -> Any: ...

    def more(self, locator: str, *, api_version: str = ...) -> Any: ...


def epoch_millis(value: str, kind: FieldType) -> int | str:
    """A REST date (``2024-05-01``) or dateTime (``2024-05-01T10:00:00.000+0000``) as epoch ms.

    Example:
        >>> epoch_millis("1970-01-02", FieldType.DATE)
        86400000
    """
    try:
        if kind is FieldType.DATE:
            moment = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        else:
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return value
    return int(moment.timestamp() * 1000)


def json_record(schema: Schema, record: dict[str, Any]) -> dict[str, Any]:
    """A REST record with its date and dateTime values (nested parents too) as epoch milliseconds."""
    attributes = record.get("attributes")
    sobject = attributes.get("type") if isinstance(attributes, dict) else None
    obj = schema.get(sobject) if isinstance(sobject, str) else None
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict) and key != "attributes":
            out[key] = json_record(schema, value)
            continue
        field = obj.field(key) if obj is not None and key != "attributes" else None
        if (
            isinstance(value, str)
            and field is not None
            and field.type in (FieldType.DATE, FieldType.DATETIME)
        ):
            out[key] = epoch_millis(value, field.type)
        else:
            out[key] = value
    return out


def write_query_result(
    engine: QueryRunner,
    schema: Schema,
    soql: str,
    *,
    include_deleted: bool,
    as_json: bool,
    api_version: str,
    target: Path,
) -> int:
    """Run ``soql`` and write its records to ``target`` (CSV or a JSON array); answer the record count.

    Raises:
        ApiError: what the SOQL engine refuses (the caller fails the batch with it).
    """
    plan = engine.validate_bulk(soql)
    count = 0
    with target.open("w", encoding="utf-8", newline="") as out:
        if not as_json:
            header, rows = engine.iter_csv_rows(plan, include_deleted=include_deleted)
            try:
                out.write(encode_quoted(header, ",") + "\n")
                for row in rows:
                    out.write(encode_quoted(row, ",") + "\n")
                    count += 1
            finally:
                close = getattr(rows, "close", None)
                if callable(close):
                    close()
            return count
        page: _Page = engine.run(
            soql, include_deleted=include_deleted, batch_size=_PAGE, api_version=api_version
        )
        out.write("[")
        while True:
            for record in page.records:
                out.write("," if count else "")
                text = numbers.dumps(json_record(schema, record), ensure_ascii=False, separators=(",", ":"))
                out.write(text)
                count += 1
            if page.next_locator is None:
                break
            page = engine.more(page.next_locator, api_version=api_version)
        out.write("]")
    return count
