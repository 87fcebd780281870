"""QueryEngine: the SOQL entry point of the emulator (REST query/queryAll, paging, columns, Bulk 2.0).

Cursors live in the engine instance. A cursor holds the rowids matched at first
execution (8 bytes each), so later pages are stable; the engine keeps at most
:data:`~.messages.MAX_OPEN_CURSORS` of them and forgets any idle for
:data:`~.messages.CURSOR_IDLE_SECONDS`.
"""

from __future__ import annotations

import logging
import random
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kinetic_core.emulator.store import ids

from . import ast as a
from . import messages as m
from .bulk import BulkQueryPlan, csv_rows, plan_bulk
from .columns import columns_metadata
from .execute import fetch, fetch_children, render, run_aggregate, snapshot
from .parser import parse_soql
from .plan import QueryPlan, RecordPlan
from .planner import plan_query
from .search import run_search

if TYPE_CHECKING:
    from kinetic_core.emulator.store.records import Store

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The default clock: an aware UTC datetime."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class QueryPage:
    """One page of a query result; the route adds ``nextRecordsUrl`` from ``next_locator``.

    Example:
        >>> QueryPage(1, True, [], None).body("62.0")
        {'totalSize': 1, 'done': True, 'records': []}
    """

    total_size: int
    done: bool
    records: list[dict[str, Any]]
    next_locator: str | None

    def body(self, api_version: str) -> dict[str, Any]:
        """The REST JSON body (``nextRecordsUrl`` root-relative, under ``/query/``)."""
        out: dict[str, Any] = {"totalSize": self.total_size, "done": self.done}
        if self.next_locator is not None:
            out["nextRecordsUrl"] = f"/services/data/v{api_version}/query/{self.next_locator}"
        out["records"] = self.records
        return out


@dataclass
class _Cursor:
    cursor_id: str
    plan: RecordPlan | None
    rowids: array[int]
    include_deleted: bool
    batch_size: int
    last_used: float
    total: int = field(default=0)


class QueryEngine:
    """Runs SOQL against a :class:`~kinetic_core.emulator.store.records.Store`.

    Example:
        >>> engine = QueryEngine(store)  # doctest: +SKIP
        >>> page = engine.run("SELECT Id, Name FROM Account ORDER BY Name")  # doctest: +SKIP
        >>> page.body("62.0")["totalSize"]  # doctest: +SKIP
        3
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._plans: OrderedDict[str, QueryPlan] = OrderedDict()

    # ---- planning ---------------------------------------------------------------------------------------

    def plan(self, soql: str) -> QueryPlan:
        """Parse, validate and compile ``soql`` (cached per text).

        Raises:
            kinetic_core.emulator.errors.ApiError: MALFORMED_QUERY, INVALID_TYPE, INVALID_FIELD ...
        """
        with self._lock:
            cached = self._plans.get(soql)
            if cached is not None:
                self._plans.move_to_end(soql)
                return cached
        plan = plan_query(soql, parse_soql(soql), self._store.schema)
        with self._lock:
            self._plans[soql] = plan
            while len(self._plans) > m.PLAN_CACHE_SIZE:
                self._plans.popitem(last=False)
        return plan

    @property
    def store(self) -> Store:
        """The store this engine reads."""
        return self._store

    # ---- REST -------------------------------------------------------------------------------------------

    def run_query(self, text: str, query: a.Query, *, api_version: str = "62.0") -> list[dict[str, Any]]:
        """Plan and run an already parsed record query (a SOSL RETURNING list); every record, one page.

        ``text`` is the statement errors echo. Raises what :meth:`run` raises for the same query.
        """
        plan = plan_query(text, query, self._store.schema)
        rec = plan.records
        if rec is None:
            raise m.malformed(text, query.pos, "Aggregate functions are not allowed here")
        now = self._clock()
        with self._store.read() as conn:
            rowids = snapshot(conn, rec, now, include_deleted=False)
            return self._page(conn, rec, rowids, now, _url_prefix(api_version), False)

    def search(
        self, sosl: str, *, api_version: str = "62.0", user_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Run a SOSL statement for ``user_id``: the matching records, most relevant first (:mod:`.search`).

        Example:
            >>> engine.search("FIND {Acme} RETURNING Account(Name)")  # doctest: +SKIP
        """
        return run_search(self, sosl, api_version, user_id=user_id)

    def run(
        self, soql: str, *, include_deleted: bool = False, batch_size: int = 2000, api_version: str = "62.0"
    ) -> QueryPage:
        """Execute a query (``include_deleted=True`` for queryAll) and return its first page.

        Raises:
            kinetic_core.emulator.errors.ApiError: 400 with Salesforce's error codes; 400
                EXCEEDED_ID_LIMIT for an aggregate query with more than 2,000 result rows.

        Example:
            >>> engine.run("SELECT COUNT() FROM Account").records  # doctest: +SKIP
            []
        """
        plan = self.plan(soql)
        batch = max(1, min(batch_size, m.MAX_BATCH_SIZE))
        now = self._clock()
        prefix = _url_prefix(api_version)
        if plan.aggregate is not None:
            with self._store.read() as conn:
                total, records = run_aggregate(conn, plan.aggregate, now, include_deleted=include_deleted)
            # Aggregate results cannot be paged: more groups than one batch holds is an error, and up to
            # that many come back in one page whatever batch size the client asked for. [I: the batch is
            # taken as the 2,000-row maximum, as Salesforce treats a smaller batchSize as a hint]
            if len(records) > m.MAX_BATCH_SIZE:
                raise m.aggregate_query_more()
            return QueryPage(total, True, records, None)
        rec = plan.records
        assert rec is not None
        with self._store.read() as conn:
            rowids = snapshot(conn, rec, now, include_deleted=include_deleted)
            records = self._page(conn, rec, rowids[:batch], now, prefix, include_deleted)
        total = len(rowids)
        if total <= batch:
            return QueryPage(total, True, records, None)
        cursor = self._open(rec, rowids, include_deleted, batch, total=total)
        log.debug("cursor %s opened for %d rows", cursor.cursor_id, total)
        return QueryPage(total, False, records, f"{cursor.cursor_id}-{batch}")

    def more(self, locator: str, *, api_version: str = "62.0") -> QueryPage:
        """The page of an open cursor at ``<cursorId>-<offset>``.

        Raises:
            kinetic_core.emulator.errors.ApiError: 400 INVALID_QUERY_LOCATOR (unknown, expired, bad offset);
                (Aggregate queries never open a cursor: see :meth:`run`.)

        Example:
            >>> engine.more("01g8c0000000001AAA-2000")  # doctest: +SKIP
        """
        cursor_id, _, offset_text = locator.rpartition("-")
        now = self._clock()
        with self._lock:
            self._expire(now.timestamp())
            cursor = self._cursors.get(cursor_id)
            if cursor is not None:
                cursor.last_used = now.timestamp()
                self._cursors.move_to_end(cursor_id)
        if cursor is None or not offset_text.isdigit():
            raise m.invalid_locator(locator)
        offset = int(offset_text)
        total = len(cursor.rowids)
        if offset <= 0 or offset >= total:
            raise m.invalid_locator(locator)
        end = offset + cursor.batch_size
        assert cursor.plan is not None
        with self._store.read() as conn:
            records = self._page(
                conn,
                cursor.plan,
                cursor.rowids[offset:end],
                now,
                _url_prefix(api_version),
                cursor.include_deleted,
            )
        if end >= total:
            return QueryPage(total, True, records, None)
        return QueryPage(total, False, records, f"{cursor_id}-{end}")

    def count(self, soql: str, *, include_deleted: bool = False) -> int:
        """``totalSize`` of a query without rendering records.

        Example:
            >>> engine.count("SELECT Id FROM Account")  # doctest: +SKIP
            3
        """
        plan = self.plan(soql)
        now = self._clock()
        with self._store.read() as conn:
            if plan.aggregate is not None:
                return run_aggregate(conn, plan.aggregate, now, include_deleted=include_deleted)[0]
            assert plan.records is not None
            return len(snapshot(conn, plan.records, now, include_deleted=include_deleted))

    def columns(self, soql: str) -> dict[str, Any]:
        """The ``columns=true`` answer: ``columnMetadata`` plus entityName, groupBy, idSelected, keyPrefix.

        Example:
            >>> doc = engine.columns("SELECT Name, Owner.Name FROM Account")  # doctest: +SKIP
            >>> doc["columnMetadata"][1]["columnName"]  # doctest: +SKIP
            'Owner'
        """
        return columns_metadata(self.plan(soql))

    # ---- Bulk 2.0 ---------------------------------------------------------------------------------------

    def validate_bulk(self, soql: str) -> BulkQueryPlan:
        """Check ``soql`` for a Bulk 2.0 query job; raise what Bulk 2.0 refuses at job creation.

        Raises:
            kinetic_core.emulator.errors.ApiError: INVALIDENTITY, INVALIDJOB, MALFORMED_QUERY, INVALID_FIELD.

        Example:
            >>> engine.validate_bulk("SELECT Id, Name FROM Account").object_name  # doctest: +SKIP
            'Account'
        """
        return plan_bulk(soql, self._store.schema, self.plan)

    def iter_csv_rows(
        self, plan: BulkQueryPlan, *, include_deleted: bool
    ) -> tuple[list[str], Iterator[list[str]]]:
        """CSV header (canonical dotted names) and a lazy iterator of CSV-ready rows.

        Example:
            >>> header, rows = engine.iter_csv_rows(engine.validate_bulk("SELECT Id FROM Account"),
            ...                                     include_deleted=False)  # doctest: +SKIP
        """
        return csv_rows(self._store, plan, self._clock(), include_deleted=include_deleted)

    # ---- internals --------------------------------------------------------------------------------------

    def _page(
        self,
        conn: Any,
        plan: RecordPlan,
        rowids: Any,
        now: datetime,
        prefix: str,
        include_deleted: bool,
    ) -> list[dict[str, Any]]:
        rows = fetch(conn, plan, rowids)
        children = (
            fetch_children(conn, plan, rows, now, prefix, include_deleted=include_deleted) if rows else {}
        )
        return render(plan, rows, prefix, children)

    def _open(
        self,
        plan: RecordPlan | None,
        rowids: array[int],
        include_deleted: bool,
        batch: int,
        *,
        total: int = 0,
    ) -> _Cursor:
        now = self._clock().timestamp()
        with self._lock:
            self._expire(now)
            cursor_id = ids.make_id("01g", self._rng.randrange(62**9))
            while cursor_id in self._cursors:  # pragma: no cover - astronomically unlikely
                cursor_id = ids.make_id("01g", self._rng.randrange(62**9))
            cursor = _Cursor(cursor_id, plan, rowids, include_deleted, batch, now, total)
            self._cursors[cursor_id] = cursor
            while len(self._cursors) > m.MAX_OPEN_CURSORS:
                dropped, _ = self._cursors.popitem(last=False)
                log.debug("cursor %s evicted (too many open cursors)", dropped)
            return cursor

    def _expire(self, now: float) -> None:
        stale = [cid for cid, c in self._cursors.items() if now - c.last_used > m.CURSOR_IDLE_SECONDS]
        for cid in stale:
            del self._cursors[cid]


def _url_prefix(api_version: str) -> str:
    return f"/services/data/v{api_version}/sobjects/"
