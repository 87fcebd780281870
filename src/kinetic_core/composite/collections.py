"""sObject Collections over any number of records: chunks of 200, optional threads, input order kept.

``all_or_none`` applies *per chunk*: Salesforce rolls back a failing chunk of up to 200 records as a
whole, but chunks already saved stay saved. For all-or-nothing semantics over more than 200 records,
use a single chunk (at most 200 records) or Bulk API with a compensating delete.

Retries, call by call:

* create (``POST /composite/sobjects``) is not idempotent: it is re-sent only when the server provably
  did not process it (see ``kinetic_core.http.retry``). When the answer is lost, or the server answers
  500/502/504, the chunk's rows are reported failed with code ``IN_DOUBT`` and never re-sent: they may
  exist. Query for them (e.g. by an external id) before trying again.
* update (``PATCH /composite/sobjects``), upsert (``PATCH /composite/sobjects/{type}/{field}``) and
  delete (``DELETE /composite/sobjects?ids=``) are idempotent and are repeated on transient failures.
  A repeated delete whose first try succeeded reports ``ENTITY_IS_DELETED`` for those rows.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from kinetic_core.composite.results import (
    IN_DOUBT,
    NOT_SENT,
    ErrorDetail,
    RecordResult,
    failed,
    parse_save_results,
)
from kinetic_core.errors import ApiError, RequestLimitExceeded, TransportError
from kinetic_core.http.paths import check_name
from kinetic_core.http.session import HttpSession
from kinetic_core.http.steps import ApiCall, Steps, arun, run

if TYPE_CHECKING:
    from kinetic_core.http.asession import AsyncHttpSession

logger = logging.getLogger(__name__)

CHUNK_SIZE = 200
"""Salesforce's limit of records per sObject Collections request."""

T = TypeVar("T")
ChunkSteps = Callable[[int, list[T]], Steps[list[RecordResult]]]
"""The calls of one chunk (its start index and rows) and its row results."""


def chunked(items: Iterable[T], size: int = CHUNK_SIZE) -> Iterator[tuple[int, list[T]]]:
    """``(start index, chunk)`` pairs; the last, partial chunk included.

    Example:
        >>> [(s, len(c)) for s, c in chunked(range(401))]
        [(0, 200), (200, 200), (400, 1)]
    """
    if not 1 <= size <= CHUNK_SIZE:
        raise ValueError(f"chunk size must be 1..{CHUNK_SIZE}")
    it = iter(items)
    start = 0
    while chunk := list(itertools.islice(it, size)):
        yield start, chunk
        start += len(chunk)


class ChunkRun:
    """Sends the chunks of one batch operation and turns chunk-level failures into row results.

    ``run`` sends them on a sync session (in order, or on ``concurrency`` threads), ``arun`` on an
    async session (``concurrency`` chunks in flight); both use the same chunk steps and rules.
    """

    def __init__(self, steps: ChunkSteps[Any], *, create: bool) -> None:
        self._steps = steps
        self._create = create
        self._limit_hit: RequestLimitExceeded | None = None
        self._lock = threading.Lock()

    def chunk(self, start: int, rows: list[Any]) -> Steps[list[RecordResult]]:
        """One chunk's steps, its failures mapped to row results (the org's request limit stops
        the chunks not yet sent: they fail ``NOT_SENT``)."""
        with self._lock:
            limit_hit = self._limit_hit
        if limit_hit is not None:
            return failed(start, len(rows), ErrorDetail(NOT_SENT, f"not sent: {limit_hit.message}"))
        try:
            return (yield from self._steps(start, rows))
        except RequestLimitExceeded as exc:
            with self._lock:
                self._limit_hit = exc
            return failed(start, len(rows), ErrorDetail(exc.error_code, exc.message, exc.fields))
        except TransportError as exc:
            if exc.in_doubt and self._create:
                return failed(
                    start, len(rows), ErrorDetail(IN_DOUBT, f"answer lost; the records may exist: {exc}")
                )
            code = IN_DOUBT if exc.in_doubt else NOT_SENT
            return failed(start, len(rows), ErrorDetail(code, str(exc)))
        except ApiError as exc:
            if self._create and exc.status >= 500 and exc.status != 503:
                detail = ErrorDetail(IN_DOUBT, f"{exc.error_code}: {exc.message}; the records may exist")
                return failed(start, len(rows), detail)
            return failed(start, len(rows), ErrorDetail(exc.error_code, exc.message, exc.fields))

    def run(
        self, session: HttpSession, records: Iterable[Any], concurrency: int, size: int
    ) -> list[RecordResult]:
        """Every chunk on a sync session; one result per record, in input order."""
        results: list[RecordResult] = []
        if concurrency <= 1:
            for start, rows in chunked(records, size):
                results.extend(run(session, self.chunk(start, rows)))
            return results
        pending: list[Future[list[RecordResult]]] = []
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="kinetic-composite") as pool:
            for start, rows in chunked(records, size):
                pending.append(pool.submit(run, session, self.chunk(start, rows)))
                if len(pending) >= concurrency * 2:  # bound memory on long inputs
                    results.extend(pending.pop(0).result())
            for fut in pending:
                results.extend(fut.result())
        results.sort(key=lambda r: r.index)
        return results

    async def arun(
        self, session: AsyncHttpSession, records: Iterable[Any], concurrency: int, size: int
    ) -> list[RecordResult]:
        """Every chunk on an async session, ``concurrency`` in flight; one result per record, in order."""
        chunks = chunked(records, size)  # drawn lazily by the workers: memory stays bounded
        results: list[RecordResult] = []

        async def worker() -> None:
            for start, rows in chunks:
                results.extend(await arun(session, self.chunk(start, rows)))

        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, concurrency)):
                group.create_task(worker())
        results.sort(key=lambda r: r.index)
        return results


def _records_body(sobject: str, rows: Sequence[Mapping[str, Any]], all_or_none: bool) -> dict[str, Any]:
    records = [
        {"attributes": {"type": sobject}, **{k: v for k, v in r.items() if k != "attributes"}} for r in rows
    ]
    return {"allOrNone": all_or_none, "records": records}


def create_run(sobject: str, *, all_or_none: bool = False) -> ChunkRun:
    """The chunks of a batch create."""
    check_name(sobject)

    def steps(start: int, rows: list[Mapping[str, Any]]) -> Steps[list[RecordResult]]:
        # Not idempotent: re-sent only when provably unprocessed; a lost answer marks the rows IN_DOUBT.
        body = _records_body(sobject, rows, all_or_none)
        resp = yield ApiCall("POST", "composite/sobjects", json=body, retry=False)
        return parse_save_results(resp.json(), start, len(rows), create=True)

    return ChunkRun(steps, create=True)


def update_run(sobject: str, *, all_or_none: bool = False) -> ChunkRun:
    """The chunks of a batch update (a record without ``Id`` fails with ``MISSING_ID``, unsent)."""
    check_name(sobject)

    def steps(start: int, rows: list[Mapping[str, Any]]) -> Steps[list[RecordResult]]:
        with_id = [offset for offset, row in enumerate(rows) if row.get("Id")]
        results = {
            offset: RecordResult(
                start + offset, None, False, False, [ErrorDetail("MISSING_ID", "update needs an Id")]
            )
            for offset in range(len(rows))
            if not rows[offset].get("Id")
        }
        if with_id:
            body = _records_body(sobject, [rows[o] for o in with_id], all_or_none)
            # Idempotent: setting the same values twice has the same effect.
            resp = yield ApiCall("PATCH", "composite/sobjects", json=body)
            for offset, result in zip(
                with_id, parse_save_results(resp.json(), 0, len(with_id), create=False), strict=True
            ):
                results[offset] = replace(result, index=start + offset)
        return [results[offset] for offset in range(len(rows))]

    return ChunkRun(steps, create=False)


def upsert_run(sobject: str, external_id_field: str, *, all_or_none: bool = False) -> ChunkRun:
    """The chunks of a batch upsert on ``external_id_field``."""
    path = f"composite/sobjects/{check_name(sobject)}/{check_name(external_id_field, 'field')}"

    def steps(start: int, rows: list[Mapping[str, Any]]) -> Steps[list[RecordResult]]:
        # Idempotent: a repeat matches what the first try created (a row would then report created=False).
        resp = yield ApiCall("PATCH", path, json=_records_body(sobject, rows, all_or_none))
        return parse_save_results(resp.json(), start, len(rows), create=False)

    return ChunkRun(steps, create=False)


def delete_run(*, all_or_none: bool = False) -> ChunkRun:
    """The chunks of a batch delete by id (any mix of types)."""

    def steps(start: int, rows: list[str]) -> Steps[list[RecordResult]]:
        params = {"ids": ",".join(rows), "allOrNone": "true" if all_or_none else "false"}
        # Idempotent: deleting twice leaves the same state.
        resp = yield ApiCall("DELETE", "composite/sobjects", params=params)
        return parse_save_results(resp.json(), start, len(rows), create=False)

    return ChunkRun(steps, create=False)


def create_batch(
    session: HttpSession,
    sobject: str,
    records: Iterable[Mapping[str, Any]],
    *,
    all_or_none: bool = False,
    concurrency: int = 1,
    chunk_size: int = CHUNK_SIZE,
) -> list[RecordResult]:
    """Create records; one ``RecordResult`` per input record, in input order.

    Example:
        >>> results = create_batch(client.http, "Account", [{"Name": "A"}, {"Name": "B"}])  # doctest: +SKIP
    """
    return create_run(sobject, all_or_none=all_or_none).run(session, records, concurrency, chunk_size)


def update_batch(
    session: HttpSession,
    sobject: str,
    records: Iterable[Mapping[str, Any]],
    *,
    all_or_none: bool = False,
    concurrency: int = 1,
    chunk_size: int = CHUNK_SIZE,
) -> list[RecordResult]:
    """Update records, each carrying its ``Id`` (a record without one fails with ``MISSING_ID``, unsent)."""
    return update_run(sobject, all_or_none=all_or_none).run(session, records, concurrency, chunk_size)


def upsert_batch(
    session: HttpSession,
    sobject: str,
    records: Iterable[Mapping[str, Any]],
    external_id_field: str,
    *,
    all_or_none: bool = False,
    concurrency: int = 1,
    chunk_size: int = CHUNK_SIZE,
) -> list[RecordResult]:
    """Upsert records on ``external_id_field`` (``Id`` allowed: null Ids insert)."""
    plan = upsert_run(sobject, external_id_field, all_or_none=all_or_none)
    return plan.run(session, records, concurrency, chunk_size)


def delete_batch(
    session: HttpSession,
    ids: Iterable[str],
    *,
    all_or_none: bool = False,
    concurrency: int = 1,
    chunk_size: int = CHUNK_SIZE,
) -> list[RecordResult]:
    """Delete records by id (any mix of types)."""
    return delete_run(all_or_none=all_or_none).run(session, ids, concurrency, chunk_size)
