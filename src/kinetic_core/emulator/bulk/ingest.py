"""Applying one internal batch of an ingest job to the store and rendering its result records."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from kinetic_core.emulator.bulk.csvio import (
    BadRecord,
    HeaderPlan,
    Record,
    encode_many,
    encode_minimal,
    encode_quoted,
)
from kinetic_core.emulator.bulk.models import BulkLimits, Job, Operation
from kinetic_core.emulator.bulk.ports import RowOutcomeLike, StoreLike
from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store.bulkops import CreatedIds
from kinetic_core.emulator.store.columnar import HeaderRows


@dataclass
class BatchOutput:
    """Encoded success and failure records of one batch (without line endings).

    ``rows`` (filled only for an applier made with ``keep_rows=True``) has one
    ``(id, created, error)`` outcome per input record, in input order: what Bulk API 1.0
    batch results report.
    """

    ok: list[str] = field(default_factory=list)
    fail: list[str] = field(default_factory=list)
    rows: list[tuple[str, bool, ApiError | None]] = field(default_factory=list)


def result_header(prefix: tuple[str, str], plan_columns: Sequence[str], delimiter: str) -> str:
    """``"sf__Id","sf__Created",<original columns>`` (or ``sf__Error``), original spelling kept."""
    head = encode_quoted(list(prefix), delimiter)
    if not plan_columns:
        return head
    return head + delimiter + encode_minimal(list(plan_columns), delimiter)


def _row_error(code: str, message: str, fields: list[str] | None = None) -> ApiError:
    return ApiError(400, code, message, fields)


@dataclass(slots=True)
class _Pending:
    index: int
    cells: list[str]
    values: dict[str, Any]
    record_id: str


class BatchApplier:
    """Turns CSV records into store calls for one job and renders per-row outcomes.

    Example:
        >>> applier = BatchApplier(store, job, plan, BulkLimits(), user_id="005...")  # doctest: +SKIP
        >>> out = applier.apply(records)  # doctest: +SKIP
    """

    def __init__(
        self,
        store: StoreLike,
        job: Job,
        plan: HeaderPlan,
        limits: BulkLimits,
        user_id: str,
        *,
        keep_rows: bool = False,
    ) -> None:
        self._keep_rows = keep_rows
        self._store = store
        self._job = job
        self._plan = plan
        self._limits = limits
        self._user_id = user_id
        self._delim = job.column_delimiter.char
        self._width = len(plan.columns)

    def cells_of(self, record: Record) -> list[str]:
        """The record's cells padded to the header width (for echoing in results)."""
        if isinstance(record, BadRecord):
            return [""] * self._width
        return record + [""] * (self._width - len(record)) if len(record) < self._width else record

    def apply(self, records: Sequence[Record]) -> BatchOutput:
        """Apply the batch; row problems become failed records, never exceptions."""
        errors: dict[int, ApiError] = {}
        width = self._width
        if self._all_fit(records):
            # Every record is a list as wide as the header and within every size limit.
            all_cells = cast("list[list[str]]", records if type(records) is list else list(records))
            indexes = list(range(len(all_cells)))
        else:
            all_cells, indexes = self._sort_out(records, errors)
        outcomes = self._dispatch(indexes, all_cells, errors)
        out = BatchOutput()
        d = self._delim
        if isinstance(outcomes, CreatedIds) and width and not self._keep_rows:
            # Every row created (no refused row either): one success record per id, in input order.
            head = f'"{d}"true"{d}'
            encoded = encode_many(all_cells, d)
            out.ok = [f'"{rid}{head}{tail}' for rid, tail in zip(outcomes.ids, encoded, strict=True)]
            return out
        tails = [d + t for t in encode_many(all_cells, d)] if width else [""] * len(all_cells)
        ok, fail = out.ok.append, out.fail.append
        created_text = {True: '"true"', False: '"false"'}
        keep = out.rows.append if self._keep_rows else None
        for i, cells in enumerate(all_cells):
            err = errors.get(i) if errors else None
            if err is None:
                outcome = outcomes[i]
                if outcome.error is None:
                    rid = outcome.id or self._failed_id(cells)
                    ok(f'"{rid}"{d}{created_text[outcome.created]}{tails[i]}')
                    if keep is not None:
                        keep((rid, outcome.created, None))
                    continue
                err = outcome.error
                rid = outcome.id or self._failed_id(cells)
            else:
                rid = self._failed_id(cells)
            fail(encode_quoted([rid, err.bulk_error()], d) + tails[i])
            if keep is not None:
                keep((rid, False, err))
        return out

    def _all_fit(self, records: Sequence[Record]) -> bool:
        """Whether no record needs a look of its own: lists of the header's width, each within the
        field and record size limits (checked a column of lengths at a time)."""
        lim = self._limits
        if not records or self._width > lim.max_fields_per_record:
            return False
        if set(map(type, records)) != {list}:
            return False
        rows = cast("Sequence[list[str]]", records)
        if set(map(len, rows)) != {self._width}:
            return False
        return max(map(len, map("".join, rows))) <= min(lim.max_field_chars, lim.max_record_chars)

    def _sort_out(
        self, records: Sequence[Record], errors: dict[int, ApiError]
    ) -> tuple[list[list[str]], list[int]]:
        """Every record's cells (padded) and the indexes of those without a problem (in ``errors``)."""
        all_cells: list[list[str]] = []
        indexes: list[int] = []
        for i, record in enumerate(records):
            cells = self.cells_of(record)
            all_cells.append(cells)
            problem = self._check(record, cells)
            if problem is None:
                indexes.append(i)
            else:
                errors[i] = problem
        return all_cells, indexes

    def _failed_id(self, cells: list[str]) -> str:
        if self._job.operation is Operation.INSERT or self._plan.id_index is None:
            return ""
        return cells[self._plan.id_index]

    def _check(self, record: Record, cells: list[str]) -> ApiError | None:
        lim = self._limits
        if isinstance(record, BadRecord):
            return _row_error("STRING_TOO_LONG", record.message)
        if len(record) > self._width:
            return _row_error(
                "INVALID_FIELD", f"Record has {len(record)} values but the header has {self._width} columns"
            )
        if len(cells) > lim.max_fields_per_record:
            return _row_error(
                "LIMIT_EXCEEDED",
                f"Record has {len(cells)} fields; the limit is {lim.max_fields_per_record} fields per record",
            )
        total = sum(map(len, cells))
        for c, value in enumerate(cells if total > lim.max_field_chars else ()):
            if len(value) > lim.max_field_chars:
                col = self._plan.columns[c]
                return _row_error(
                    "STRING_TOO_LONG",
                    f"{col}: data value too large: {len(value)} characters "
                    f"(max length={lim.max_field_chars})",
                    [self._plan.keys[c]],
                )
        if total > lim.max_record_chars:
            return _row_error(
                "LIMIT_EXCEEDED",
                f"Record has {total} characters; the limit is {lim.max_record_chars} characters per record",
            )
        return None

    def _dispatch(
        self, indexes: list[int], all_cells: list[list[str]], errors: dict[int, ApiError]
    ) -> Mapping[int, RowOutcomeLike] | CreatedIds:
        """Run the store calls of the batch; rows refused before any call get their error in ``errors``.

        The outcomes by input index; :class:`CreatedIds` (indexed the same) when no row was refused
        and the store created every one.
        """
        op = self._job.operation
        if op is Operation.INSERT:
            # One header for the whole batch: the store reads it column by column.
            clean = len(indexes) == len(all_cells)
            cells = all_cells if clean else [all_cells[i] for i in indexes]
            batch = HeaderRows(tuple(self._plan.keys), cells)
            done = self._store.insert_many(self._job.object, batch, user_id=self._user_id) if indexes else []
            if clean and isinstance(done, CreatedIds):
                return done
            return dict(zip(indexes, done, strict=True))
        keys, id_index = self._plan.keys, self._plan.id_index
        pending = [
            _Pending(
                i,
                all_cells[i],
                dict(zip(keys, all_cells[i], strict=True)),
                all_cells[i][id_index] if id_index is not None else "",
            )
            for i in indexes
        ]
        if op is Operation.UPSERT:
            calls = self._upsert_calls(pending, errors)
        elif op is Operation.UPDATE:
            calls = [(self._with_id(pending, errors, "Id", "an update"), self._update)]
        else:
            calls = [(self._with_id(pending, errors, "Id", "a delete"), self._delete)]
        outcomes: dict[int, RowOutcomeLike] = {}
        for items, call in calls:
            if items:
                outcomes.update(zip([p.index for p in items], call(items), strict=True))
        return outcomes

    @staticmethod
    def _with_id(
        pending: list[_Pending], errors: dict[int, ApiError], what: str, verb: str
    ) -> list[_Pending]:
        """The rows with a key (``record_id``); the others get ``MISSING_ARGUMENT``."""
        for p in pending:
            if not p.record_id:
                errors[p.index] = _row_error("MISSING_ARGUMENT", f"{what} not specified in {verb} call")
        return [p for p in pending if p.record_id]

    def _upsert_calls(
        self, pending: list[_Pending], errors: dict[int, ApiError]
    ) -> list[tuple[list[_Pending], _Call]]:
        ext = self._job.external_id_field or "Id"
        if ext.lower() == "id":
            fresh = [p for p in pending if not p.record_id]
            for p in fresh:
                p.values.pop("Id", None)
            keyed = [p for p in pending if p.record_id]
            return [(keyed, lambda it: self._upsert("Id", it)), (fresh, self._insert)]
        idx = self._plan.ext_index
        for p in pending:
            p.record_id = p.cells[idx] if idx is not None else ""
        return [(self._with_id(pending, errors, ext, "an upsert"), lambda it: self._upsert(ext, it))]

    def _insert(self, items: list[_Pending]) -> Sequence[RowOutcomeLike]:
        return self._store.insert_many(self._job.object, _rows_of(items), user_id=self._user_id)

    def _update(self, items: list[_Pending]) -> Sequence[RowOutcomeLike]:
        return self._store.update_many(self._job.object, _rows_of(items), user_id=self._user_id)

    def _upsert(self, ext: str, items: list[_Pending]) -> Sequence[RowOutcomeLike]:
        return self._store.upsert_many(self._job.object, ext, _rows_of(items), user_id=self._user_id)

    def _delete(self, items: list[_Pending]) -> Sequence[RowOutcomeLike]:
        hard = self._job.operation is Operation.HARD_DELETE
        return self._store.delete_many(self._job.object, [p.record_id for p in items], hard=hard)


_Call = Callable[[list[_Pending]], Sequence[RowOutcomeLike]]


def _rows_of(items: list[_Pending]) -> list[Mapping[str, Any]]:
    return [p.values for p in items]
