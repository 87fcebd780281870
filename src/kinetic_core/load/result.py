"""What a load returns, whatever API carried it: one outcome per input row, in input order."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kinetic_core.bulk.results import BulkResult, RowResult
from kinetic_core.inputs.normalise import INVALID_ROW
from kinetic_core.load.decide import Strategy
from kinetic_core.load.inputs import KeptBack


@dataclass(frozen=True)
class RowOutcome:
    """One input row's outcome, whatever the API used.

    Attributes:
        row_number: 1-based position in the input.
        status: ``success``, ``failed`` or ``unprocessed``.
        id: record id when known. created: inserted (not updated).
        error_code / error_message / error_fields: why it failed.
        index_label: the row's label in a pandas DataFrame input whose index is not the default
            ``RangeIndex`` (``row_number`` stays the 1-based position); else None.
    """

    row_number: int
    status: str
    id: str | None = None
    created: bool = False
    error_code: str | None = None
    error_message: str | None = None
    error_fields: tuple[str, ...] = ()
    index_label: Any = None

    @property
    def success(self) -> bool:
        """True when the row was saved."""
        return self.status == "success"


@dataclass
class LoadResult:
    """Outcome of :func:`load`: same shape for every strategy.

    Iterating yields one :class:`RowOutcome` per input row in input order (lazily for Bulk).

    Example:
        >>> result = client.load("Contact", rows)                     # doctest: +SKIP
        >>> result.strategy, result.reason, result.successful         # doctest: +SKIP
    """

    strategy: Strategy
    reason: str
    total: int
    successful: int
    failed: int
    unprocessed: int
    job_ids: tuple[str, ...] = ()
    bulk: BulkResult | None = None
    _outcomes: list[RowOutcome] = field(default_factory=list, repr=False)
    _numbers: list[int] | None = field(default=None, repr=False)
    _rejected: list[RowOutcome] = field(default_factory=list, repr=False)

    @property
    def renumbered(self) -> bool:
        """True when the API saw fewer rows than the input had (unreadable rows were kept back), so
        ``bulk`` numbers its rows among those sent; iterate this result for the input's numbers."""
        return self._numbers is not None

    def __iter__(self) -> Iterator[RowOutcome]:
        if self.bulk is None:
            yield from self._outcomes
            return
        streams = [self.bulk.successful_rows(), self.bulk.failed_rows(), self.bulk.unprocessed_rows()]
        numbers = self._numbers
        sent = (from_bulk(row, numbers) for row in heapq.merge(*streams, key=lambda r: r.row_number or 0))
        yield from heapq.merge(sent, self._rejected, key=lambda o: o.row_number)

    @property
    def outcomes(self) -> list[RowOutcome]:
        """Every outcome as a list (materialised; prefer iterating for big Bulk loads)."""
        return list(self)

    def failures(self) -> list[RowOutcome]:
        """Failed and unprocessed rows."""
        return [o for o in self if not o.success]

    def close(self) -> None:
        """Release the Bulk result store, if any."""
        if self.bulk is not None:
            self.bulk.close()


def from_bulk(row: RowResult, numbers: list[int] | None = None) -> RowOutcome:
    number = row.row_number or 0
    if numbers is not None and 0 < number <= len(numbers):
        number = numbers[number - 1]
    return RowOutcome(
        row_number=number,
        status=row.status.value,
        id=row.id,
        created=bool(row.created),
        error_code=row.error_code,
        error_message=row.error_message,
        error_fields=row.error_fields,
        index_label=row.index_label,
    )


@dataclass
class Renumber:
    """Input rows kept back before the API (unreadable CSV rows): the numbers of the rows sent, and
    the outcomes of the rows kept back."""

    numbers: list[int]
    rejected: list[RowOutcome]

    @classmethod
    def of(cls, kept: KeptBack | None) -> Renumber | None:
        if kept is None:
            return None
        rejected = [
            RowOutcome(n, "failed", None, False, INVALID_ROW, message) for n, message in kept.rejected
        ]
        return cls(kept.numbers, rejected)

    def apply(self, outcomes: list[RowOutcome]) -> list[RowOutcome]:
        fixed = [_renumbered(o, self.numbers[o.row_number - 1]) for o in outcomes]
        return sorted(fixed + self.rejected, key=lambda o: o.row_number)


def _renumbered(outcome: RowOutcome, number: int) -> RowOutcome:
    return RowOutcome(
        number,
        outcome.status,
        outcome.id,
        outcome.created,
        outcome.error_code,
        outcome.error_message,
        outcome.error_fields,
    )


__all__ = ["LoadResult", "RowOutcome"]
