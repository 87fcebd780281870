"""The other placement of a job's failed and unprocessed rows: each at its last possible place.

:func:`.rowmerge.locate` takes each failed row at the first input row holding the same bytes. When
such a row is there more than once, the first place is not always the right one: two identical rows
with a unique field, say, where the first is inserted and the second refused as a duplicate.
:func:`locate_latest` reads the same runs of the split backwards and takes each row of a stream,
the last one first, at the latest whole input row still free before the place of the row after it.
Which placement is right is then for the success file to say, compared in input order
(:func:`.rowmerge.successes_in_order`); one that fits neither goes to the index.
"""

from __future__ import annotations

from collections.abc import Sequence

from kinetic_core.bulk.csvfile import CsvLayout, RowRun
from kinetic_core.bulk.rowmerge import InputChanged, Segment, replay_runs


def _find_back(run: RowRun, row: bytes, pos: int, base: int, claimed: set[int]) -> tuple[int, int] | None:
    """The last whole row of ``run`` ending by ``pos`` equal to ``row``, not claimed: (number, start)."""
    data = run.data
    hit = data.rfind(row, run.begin, pos)
    while hit >= 0:
        i = run.row_spanning(hit, len(row))
        if i is not None and base + i not in claimed:
            return base + i, hit
        hit = data.rfind(row, run.begin, hit + len(row) - 1)
    return None


def locate_latest(
    layout: CsvLayout,
    first_row: int,
    streams: Sequence[Sequence[bytes]],
    spans: dict[int, tuple[int, int]],
    segments: Sequence[Segment],
) -> list[list[int]] | None:
    """Input row numbers of the rows of each stream (each in input order), every row placed as late
    as the rows after it in its stream allow; None when a row is not found or the split's
    ``segments`` of the job are not known (nothing is scanned to find the runs). ``spans`` receives
    each placed row's byte range in the file by row number.
    """
    if not segments:
        return None
    found: list[list[int]] = [[] for _ in streams]
    heads = [len(rows) for rows in streams]  # rows of each stream still to place, the last first
    claimed: set[int] = set()
    top = first_row + sum(rows for _, _, rows in segments)
    try:
        for run in replay_runs(layout, segments[::-1]):
            base = top - run.rows
            for s, rows in enumerate(streams):
                pos = run.stop
                while heads[s]:
                    row = rows[heads[s] - 1]
                    hit = _find_back(run, row, pos, base, claimed)
                    if hit is None:
                        break
                    number, pos = hit
                    claimed.add(number)
                    found[s].append(number)
                    spans[number] = (run.offset + pos, run.offset + pos + len(row))
                    heads[s] -= 1
            if not any(heads):
                return [numbers[::-1] for numbers in found]
            top = base
    except InputChanged:
        return None
    return None
