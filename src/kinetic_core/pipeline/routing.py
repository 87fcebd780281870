"""Choosing the API of a pipeline run once, on the whole source.

The router's cost model (:func:`kinetic_core.decide`) needs the size of the load. A pipeline
sends its source a window at a time, but the choice is made for the whole source, before the first
window, so that a 100,000-row file goes Bulk even though each window holds 10,000 rows:

* a CSV or JSON-lines file: counted exactly when it fits in the sample read from its start
  (:data:`SAMPLE_BYTES`), else estimated from the file's size and the rows per byte of that sample;
* a DataFrame, or a list (any sized, re-iterable collection) of records: its length;
* anything else (a generator, a SQL query): the pipeline reads ahead up to the Bulk threshold
  (:func:`peek`), so the count is exact below it and "at least" the threshold above.

The decision is recorded in the run's journal, and a resumed run uses the recorded one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kinetic_core.load import CostModel, Decision, Thresholds, decide
from kinetic_core.load.observe import org_view
from kinetic_core.pipeline.csvsource import RawRow

SAMPLE_BYTES = 1024 * 1024
"""Bytes read from the start of a file to count or estimate its rows."""


@dataclass(frozen=True)
class SourceSize:
    """How big a source is, and how that was found.

    Attributes:
        rows: data rows (exact, estimated, or a lower bound).
        encoded_bytes: the data's size in bytes (0 when unknown).
        basis: how ``rows`` was found, for the decision's reason.
    """

    rows: int
    encoded_bytes: int
    basis: str


def _count_records(sample: bytes, quotes: bool) -> tuple[int, int]:
    """(non-blank records, bytes they span) among the complete lines of ``sample``."""
    end = sample.rfind(b"\n") + 1
    records = 0
    spanned = 0
    parity = 0
    start = 0
    blank = True
    for line in sample[:end].split(b"\n")[:-1]:
        blank = blank and not line.strip(b"\r \t")
        if quotes:
            parity ^= line.count(b'"') & 1
        start += len(line) + 1
        if parity:
            continue
        if not blank:
            records += 1
            spanned = start
        blank = True
    return records, spanned


def file_size(path: Path, *, skip_header: bool, quotes: bool) -> SourceSize:
    """Count (small file) or estimate (big file) the data rows of a CSV or JSON-lines file.

    Example:
        >>> file_size(Path("contacts.csv"), skip_header=True, quotes=True).basis  # doctest: +SKIP
        '1,204 rows counted in the file'
    """
    total = path.stat().st_size
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES + 1)
    header_end = 0
    if skip_header:
        header_end = _header_end(sample, quotes)
    body = sample[header_end:]
    whole = len(sample) <= SAMPLE_BYTES
    if whole and not body.endswith(b"\n"):
        body += b"\n"
    rows, spanned = _count_records(body, quotes)
    data_bytes = max(0, total - header_end)
    if whole:
        return SourceSize(rows, data_bytes, f"{rows:,} rows counted in the file")
    if rows == 0 or spanned == 0:
        return SourceSize(1, data_bytes, f"at least one row in {data_bytes:,} bytes")
    estimate = max(rows, round(data_bytes * rows / spanned))
    return SourceSize(
        estimate,
        data_bytes,
        f"about {estimate:,} rows, estimated from the file's {data_bytes:,} bytes"
        f" and {rows:,} rows in its first {spanned:,}",
    )


def _header_end(sample: bytes, quotes: bool) -> int:
    parity = 0
    position = 0
    while True:
        newline = sample.find(b"\n", position)
        if newline < 0:
            return len(sample)
        if quotes:
            parity ^= sample.count(b'"', position, newline) & 1
        position = newline + 1
        if not parity:
            return position


def source_size(source: Any) -> SourceSize | None:
    """The size of a pipeline source, when it can be known without reading it through (else None)."""
    from kinetic_core.pipeline.sources import CsvSource, DataFrameSource, IterableSource, JsonLinesSource

    if isinstance(source, CsvSource):
        if source.layout.encoding.lower().replace("_", "-").startswith(("utf-16", "utf-32")):
            rows = sum(1 for _ in source.rows())
            return SourceSize(rows, source.path.stat().st_size, f"{rows:,} rows counted in the file")
        return file_size(source.path, skip_header=True, quotes=True)
    if isinstance(source, JsonLinesSource):
        return file_size(source.path, skip_header=False, quotes=False)
    if isinstance(source, DataFrameSource):
        rows = len(source.frame)
        return SourceSize(rows, 0, f"{rows:,} rows in the DataFrame")
    if isinstance(source, IterableSource) and source.reiterable and isinstance(source.records, Sized):
        rows = len(source.records)
        return SourceSize(rows, 0, f"{rows:,} records in the {type(source.records).__name__}")
    return None


def peek(rows: Iterator[RawRow], limit: int) -> tuple[SourceSize, Iterator[RawRow]]:
    """Read ahead up to ``limit`` rows of a source of unknown size; the rows are given back in full.

    Example:
        >>> size, rows = peek(iter([RawRow(1, {"a": "x"})]), 25_000)
        >>> size.rows, size.basis, [r.number for r in rows]
        (1, '1 rows read ahead (the whole source)', [1])
    """
    head = list(itertools.islice(rows, limit))
    size = sum(len(str(v)) + 1 for raw in head for v in (raw.cells or {}).values())
    if len(head) < limit:
        basis = f"{len(head):,} rows read ahead (the whole source)"
    else:
        basis = f"at least {len(head):,} rows read ahead"
    return SourceSize(len(head), size, basis), itertools.chain(head, rows)


def choose(
    client: Any, size: SourceSize, thresholds: Thresholds | None, model: CostModel | None = None
) -> Decision:
    """The router's decision for a source of ``size`` (at most one ``limits`` call).

    Example:
        >>> choose(client, SourceSize(100_000, 0, "100,000 rows"), None).strategy  # doctest: +SKIP
        <Strategy.BULK: 'bulk'>
    """
    view = org_view(client, size.rows, size.encoded_bytes, model or CostModel())
    decision = decide(
        size.rows,
        size.encoded_bytes,
        view.api_remaining,
        view.bulk_batches_remaining,
        thresholds,
        view.model,
        observed=view.observed,
    )
    return Decision(decision.strategy, f"{decision.reason} (source: {size.basis})", decision.predicted)
