"""Bulk query results as DataFrames on an async session: what ``BulkClient`` does with
:func:`~kinetic_core.bulk.query.to_dataframe` and :mod:`~kinetic_core.bulk.frames`, awaited.

The result pages are streamed into a temporary CSV file (the session writes it from a worker
thread), then parsed and typed in a worker thread: a large result never blocks the event loop.
The describes that type the columns are awaited one object at a time, as the columns need them.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kinetic_core.bulk.frames import column_kinds, query_object, type_pandas, type_polars
from kinetic_core.bulk.models import JobInfo
from kinetic_core.bulk.query import QueryExport, export_steps, read_frame
from kinetic_core.http.steps import ApiCall, AsyncSession, Flow, arun


class _Undescribed(LookupError):
    """The columns need the describe of an object not fetched yet."""

    def __init__(self, sobject: str) -> None:
        super().__init__(sobject)
        self.sobject = sobject


def describe_steps(sobject: str) -> Flow[dict[str, Any]]:
    """``GET .../sobjects/NAME/describe`` (as ``BulkClient.describe``)."""
    response = yield ApiCall("GET", f"sobjects/{sobject}/describe", retry=True)
    body: dict[str, Any] = response.json()
    return body


async def column_kinds_async(session: AsyncSession, soql: str, columns: list[str]) -> dict[str, Any]:
    """:func:`~kinetic_core.bulk.frames.column_kinds` with each describe awaited when first needed."""
    described: dict[str, Mapping[str, Any]] = {}

    def describe(name: str) -> Mapping[str, Any]:
        if name not in described:
            raise _Undescribed(name)
        return described[name]

    while True:
        try:
            return dict(column_kinds(query_object(soql), columns, describe))
        except _Undescribed as missing:
            described[missing.sobject] = await arun(session, describe_steps(missing.sobject))


async def read_dataframe(
    session: AsyncSession, job: JobInfo, flavour: str, max_records: int | None, soql: str | None
) -> Any:
    """Every page of a completed query job as a pandas or polars DataFrame; typed from describe
    when ``soql`` is given (None: every column stays text)."""
    workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="kinetic-query-"))
    try:
        path = workdir / "export.csv"
        export: QueryExport = await arun(session, export_steps(job, path, max_records))
        frame = await asyncio.to_thread(read_frame, path, export, job.column_delimiter.char, flavour)
        if soql is None or not len(frame.columns):
            return frame
        kinds = await column_kinds_async(session, soql, [str(c) for c in frame.columns])
        typer = type_polars if flavour == "polars" else type_pandas
        return await asyncio.to_thread(typer, frame, kinds)
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)
