"""Lazy SOQL results: one page in memory at a time, the next fetched only when reached."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from kinetic_core.http.paging import PageGuard
from kinetic_core.http.session import HttpSession

logger = logging.getLogger(__name__)


def query_headers(batch_size: int | None) -> dict[str, str]:
    """``Sforce-Query-Options: batchSize=N`` (Salesforce accepts 200..2000) or nothing."""
    if batch_size is None:
        return {}
    if not 200 <= batch_size <= 2000:
        raise ValueError("batch_size must be between 200 and 2000")
    return {"Sforce-Query-Options": f"batchSize={batch_size}"}


class QueryResult(Iterator[dict[str, Any]]):
    """Iterate the records of a SOQL query across all pages, following ``nextRecordsUrl``.

    The first page is fetched when the query is issued (so errors surface at the call); each later page
    only when iteration reaches it. Iterate once.

    Each ``nextRecordsUrl`` must stay on the instance, under ``/services/`` (``UnsafeUrlError``
    otherwise), and the pages must lead to an end (``QueryPagingError``): no URL twice, no empty
    page before the last, never more records than the declared ``totalSize``.

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
        self._headers = query_headers(batch_size)
        declared = first_page.get("totalSize")
        self.total_size = int(declared or 0)
        self._guard = PageGuard("query", int(declared) if isinstance(declared, int) else None)
        self.pages_fetched = 1
        self._load(first_page)

    def _load(self, page: Mapping[str, Any]) -> None:
        records = page.get("records") or []
        self._page: list[dict[str, Any]] = list(records)
        self._pos = 0
        self.done = bool(page.get("done", True))
        next_url = page.get("nextRecordsUrl")
        self._next_url: str | None = None
        if next_url and not self.done:
            self._next_url = self._session.answer_url(self._guard.cursor(str(next_url)))
        self._guard.page(len(self._page), last=self._next_url is None)

    def __iter__(self) -> QueryResult:
        return self

    def __next__(self) -> dict[str, Any]:
        while self._pos >= len(self._page):
            if self._next_url is None:
                raise StopIteration
            url = self._next_url
            # Paging a cursor is a read: safe to repeat.
            resp = self._session.request("GET", url, headers=self._headers, retry=True)
            self.pages_fetched += 1
            logger.debug("query page %d: %s", self.pages_fetched, url)
            self._load(resp.json())
        record = self._page[self._pos]
        self._pos += 1
        return record

    def to_list(self) -> list[dict[str, Any]]:
        """The remaining records as a list (holds them all in memory)."""
        return list(self)
