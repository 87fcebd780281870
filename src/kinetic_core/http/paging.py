"""``PageGuard``: a query's pages must lead to an end.

A query is followed page by page through a cursor the server hands back (REST ``nextRecordsUrl``,
Bulk ``Sforce-Locator``, a job list's ``nextRecordsUrl``). A broken or hostile server can hand
back cursors for ever. Three facts of the protocol bound the walk, and breaking one is a
``QueryPagingError`` rather than an endless loop:

* a cursor is never handed back twice;
* a page that is not the last holds at least one record;
* a query never returns more records than it declared (REST ``totalSize``, a Bulk query job's
  ``numberRecordsProcessed``), when it declared a number.

Example:
    >>> guard = PageGuard("query", declared=3)
    >>> guard.page(2, last=False)
    >>> guard.cursor("/services/data/v62.0/query/01g-2")
    '/services/data/v62.0/query/01g-2'
    >>> guard.page(2, last=True)
    Traceback (most recent call last):
    ...
    kinetic_core.errors.QueryPagingError: query: 4 records so far, more than the 3 it declared
"""

from __future__ import annotations

from kinetic_core.errors import QueryPagingError


class PageGuard:
    """Checks each page and cursor of one query (see the module docstring).

    Args:
        what: names the query in messages (``"query job 750..."``).
        declared: the number of records the query declared, or None when it declared none.
    """

    def __init__(self, what: str, declared: int | None) -> None:
        self.what = what
        self.declared = declared
        self.records = 0
        self.pages = 0
        self._seen: set[str] = set()

    def cursor(self, cursor: str) -> str:
        """``cursor`` if it was not handed back before."""
        if cursor in self._seen:
            raise QueryPagingError(f"{self.what}: the server handed back {cursor!r} a second time")
        self._seen.add(cursor)
        return cursor

    def page(self, records: int, *, last: bool) -> None:
        """Count a page of ``records``; ``last`` when no cursor follows it."""
        self.pages += 1
        self.records += records
        if self.declared is not None and self.records > self.declared:
            raise QueryPagingError(
                f"{self.what}: {self.records} records so far, more than the {self.declared} it declared"
            )
        if records == 0 and not last:
            raise QueryPagingError(
                f"{self.what}: page {self.pages} holds no records but a next page is offered"
            )
