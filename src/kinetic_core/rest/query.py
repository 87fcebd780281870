"""Lazy SOQL results: one page in memory at a time, the next fetched only when reached.

``PageCursor`` holds the paging rules (no I/O); ``QueryResult`` walks it with an ``HttpSession``,
``AsyncQueryResult`` with an ``AsyncHttpSession`` (``async for``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from kinetic_core.http.paging import PageGuard
from kinetic_core.http.session import HttpSession
from kinetic_core.http.steps import Steps, arun, run
from kinetic_core.rest.ops import next_page, query_headers

if TYPE_CHECKING:
    from kinetic_core.http.asession import AsyncHttpSession

__all__ = ["AsyncQueryResult", "PageCursor", "QueryResult", "query_headers"]

logger = logging.getLogger(__name__)


class PageCursor:
    """The records of the page in hand and the URL of the next, with the paging rules checked.

    Each ``nextRecordsUrl`` must stay on the instance, under ``/services/`` (``answer_url`` raises
    ``UnsafeUrlError`` otherwise), and the pages must lead to an end (``QueryPagingError``): no URL
    twice, no empty page before the last, never more records than the declared ``totalSize``.

    Example:
        >>> cursor = PageCursor(str, {"totalSize": 1, "done": True, "records": [{"Id": "1"}]})
        >>> (cursor.take(), cursor.take(), cursor.next_url)
        ({'Id': '1'}, None, None)
    """

    def __init__(self, answer_url: Callable[[str], str], first_page: Mapping[str, Any]) -> None:
        self._answer_url = answer_url
        declared = first_page.get("totalSize")
        self.total_size = int(declared or 0)
        self._guard = PageGuard("query", int(declared) if isinstance(declared, int) else None)
        self.pages_fetched = 1
        self.next_url: str | None = None
        self.done = True
        self._page: list[dict[str, Any]] = []
        self._pos = 0
        self._load(first_page)

    def _load(self, page: Mapping[str, Any]) -> None:
        self._page = list(page.get("records") or [])
        self._pos = 0
        self.done = bool(page.get("done", True))
        next_url = page.get("nextRecordsUrl")
        self.next_url = None
        if next_url and not self.done:
            self.next_url = self._answer_url(self._guard.cursor(str(next_url)))
        self._guard.page(len(self._page), last=self.next_url is None)

    def take(self) -> dict[str, Any] | None:
        """The next record of the page in hand, or None when it is used up."""
        if self._pos >= len(self._page):
            return None
        record = self._page[self._pos]
        self._pos += 1
        return record

    def turn(self, page: Mapping[str, Any]) -> None:
        """The page fetched from ``next_url`` becomes the page in hand."""
        self.pages_fetched += 1
        logger.debug("query page %d", self.pages_fetched)
        self._load(page)


class QueryResult(Iterator[dict[str, Any]]):
    """Iterate the records of a SOQL query across all pages, following ``nextRecordsUrl``.

    The first page is fetched when the query is issued (so errors surface at the call); each later page
    only when iteration reaches it. Iterate once. Paging rules: see ``PageCursor``.

    Attributes:
        total_size: ``totalSize`` of the whole query.
        pages_fetched: pages requested so far.

    Example:
        >>> for row in client.query("SELECT Id, Name FROM Account"):  # doctest: +SKIP
        ...     print(row["Name"])
    """

    def __init__(
        self, session: HttpSession, first_page: Mapping[str, Any], *, batch_size: int | None = None
    ) -> None:
        self._session = session
        self._batch_size = batch_size
        query_headers(batch_size)
        self._cursor = PageCursor(session.answer_url, first_page)
        self.total_size = self._cursor.total_size

    @property
    def pages_fetched(self) -> int:
        return self._cursor.pages_fetched

    @property
    def done(self) -> bool:
        return self._cursor.done

    def __iter__(self) -> QueryResult:
        return self

    def __next__(self) -> dict[str, Any]:
        cursor = self._cursor
        while (record := cursor.take()) is None:
            if cursor.next_url is None:
                raise StopIteration
            cursor.turn(run(self._session, next_page(cursor.next_url, self._batch_size)))
        return record

    def to_list(self) -> list[dict[str, Any]]:
        """The remaining records as a list (holds them all in memory)."""
        return list(self)


class AsyncQueryResult(AsyncIterator[dict[str, Any]]):
    """``QueryResult`` for asyncio: ``async for`` over every record, each page awaited when reached.

    The first page is fetched by ``await`` on the result (errors surface there, and ``total_size`` is
    known after it) or else by the first step of ``async for``. Iterate once.

    Example:
        >>> async for row in client.query("SELECT Id, Name FROM Account"):  # doctest: +SKIP
        ...     print(row["Name"])
        >>> result = await client.query("SELECT Id FROM Account")           # doctest: +SKIP
        >>> result.total_size                                                # doctest: +SKIP
        42
    """

    def __init__(
        self, session: AsyncHttpSession, first: Steps[dict[str, Any]], *, batch_size: int | None = None
    ) -> None:
        query_headers(batch_size)
        self._session = session
        self._batch_size = batch_size
        self._first: Steps[dict[str, Any]] | None = first
        self._cursor: PageCursor | None = None
        self.total_size = 0

    @property
    def pages_fetched(self) -> int:
        return self._cursor.pages_fetched if self._cursor is not None else 0

    @property
    def done(self) -> bool:
        return self._cursor.done if self._cursor is not None else False

    async def _start(self) -> PageCursor:
        if self._cursor is None:
            first, self._first = self._first, None
            if first is None:
                raise RuntimeError("the query's first page failed; run the query again")
            page = await arun(self._session, first)
            self._cursor = PageCursor(self._session.answer_url, page)
            self.total_size = self._cursor.total_size
        return self._cursor

    def __await__(self) -> Generator[Any, None, AsyncQueryResult]:
        return self._started().__await__()

    async def _started(self) -> AsyncQueryResult:
        await self._start()
        return self

    def __aiter__(self) -> AsyncQueryResult:
        return self

    async def __anext__(self) -> dict[str, Any]:
        cursor = await self._start()
        while (record := cursor.take()) is None:
            if cursor.next_url is None:
                raise StopAsyncIteration
            cursor.turn(await arun(self._session, next_page(cursor.next_url, self._batch_size)))
        return record

    async def to_list(self) -> list[dict[str, Any]]:
        """The remaining records as a list (holds them all in memory)."""
        return [record async for record in self]
