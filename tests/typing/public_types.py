"""Checked by mypy --strict in scripts/test (not a pytest module): the public entry points are typed
by what they return, with no ``Any``: the client's bulk, load (and every input it takes), tree and
replication calls, a pipeline's dry run, the Bulk API query overloads chosen by ``out`` and
``as_dataframe``, and the async client's bulk and load calls."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, assert_type

import pandas
import polars
import pyarrow

from kinetic_core import (
    AsyncBulkClient,
    AsyncQueryResult,
    AsyncRows,
    AsyncSalesforceClient,
    BulkClient,
    BulkResult,
    DeletedRecords,
    LoadInput,
    LoadResult,
    RecordResult,
    SalesforceClient,
    SubResponse,
    SyncPipeline,
    TreeResult,
    UpdatedRecords,
    UpsertResult,
)
from kinetic_core.bulk.query import QueryExport
from kinetic_core.pipeline import DryRunReport


def client_calls(client: SalesforceClient, when: dt.datetime) -> None:
    assert_type(client.bulk, BulkClient)
    assert_type(client.load("Account", [{"Name": "Acme"}]), LoadResult)
    assert_type(client.smart_insert("Account", "accounts.csv"), LoadResult)
    assert_type(client.tree("Account", [{"Name": "Acme"}]), TreeResult)
    assert_type(client.get_deleted("Account", when, when), DeletedRecords)
    assert_type(client.get_updated("Account", when, when), UpdatedRecords)
    assert_type(client.composite([]), list[SubResponse])


def load_inputs(client: SalesforceClient, path: Path, frame: pandas.DataFrame, table: pyarrow.Table) -> None:
    """Every input of the one adapter type-checks as ``records``; what is not an input does not."""
    assert_type(client.load("Account", path), LoadResult)
    with path.open() as text, path.open("rb") as raw:
        assert_type(client.load("Account", text), LoadResult)
        assert_type(client.load("Account", raw), LoadResult)
    assert_type(client.load("Account", io.StringIO("Name\nAcme\n")), LoadResult)
    assert_type(client.load("Account", io.BytesIO(b"Name\nAcme\n")), LoadResult)
    assert_type(client.load("Account", frame), LoadResult)
    assert_type(client.load("Account", polars.DataFrame({"Name": ["Acme"]})), LoadResult)
    assert_type(client.load("Account", table), LoadResult)
    assert_type(client.load("Account", ({"Name": f"Acme {i}"} for i in range(3))), LoadResult)
    assert_type(client.load("Account", ["001000000000001AAA"], operation="delete"), LoadResult)
    rows: list[dict[str, int | str | None]] = [{"Name": "Acme", "NumberOfEmployees": None}]
    assert_type(
        client.load("Account", rows, "upsert", external_id_field="Ext__c", results_dir="out"), LoadResult
    )
    assert_type(client.smart_insert("Account", rows, timeout=60.0), LoadResult)
    records: LoadInput = rows
    assert_type(client.load("Account", records), LoadResult)
    client.load("Account", 42)  # type: ignore[arg-type]
    client.load("Account", b"Name\nAcme\n")  # type: ignore[arg-type]
    client.load("Account", [1, 2, 3])  # type: ignore[arg-type]
    client.load("Account", rows, external_id_field=1)  # type: ignore[arg-type]


def bulk_loads(bulk: BulkClient, path: Path, frame: polars.DataFrame) -> None:
    """The Bulk API loads take the same inputs as ``load``."""
    assert_type(bulk.insert("Account", path), BulkResult)
    assert_type(bulk.update("Account", frame), BulkResult)
    assert_type(bulk.upsert("Account", [{"Ext__c": "1"}], external_id_field="Ext__c"), BulkResult)
    assert_type(bulk.delete("Account", ["001000000000001AAA"]), BulkResult)
    assert_type(bulk.hard_delete("Account", io.StringIO("Id\n001000000000001AAA\n")), BulkResult)
    bulk.insert("Account", 42)  # type: ignore[arg-type]


def bulk_queries(bulk: BulkClient) -> None:
    assert_type(bulk.query("SELECT Id FROM Account"), Iterator[dict[str, str | None]])
    assert_type(bulk.query("SELECT Id FROM Account", max_records=500), Iterator[dict[str, str | None]])
    assert_type(bulk.query("SELECT Id FROM Account", out="accounts.csv"), QueryExport)
    assert_type(bulk.query_all("SELECT Id FROM Account", out=Path("a.csv")), QueryExport)
    assert_type(bulk.query("SELECT Id FROM Account", as_dataframe=True), pandas.DataFrame)
    assert_type(bulk.query("SELECT Id FROM Account", as_dataframe="pandas", typed=False), pandas.DataFrame)
    assert_type(
        bulk.query_all("SELECT Id FROM Account", as_dataframe="polars", timeout=5.0), polars.DataFrame
    )


def connect_returns_the_class() -> None:
    with SalesforceClient.connect("local") as client:
        assert_type(client, SalesforceClient)


def options_are_typed(client: SalesforceClient, rows: list[dict[str, str]]) -> None:
    """The keyword options of connect, load, smart_insert and the Bulk loads: a misspelled one, or one
    of the wrong type, does not type-check."""
    SalesforceClient.connect(username="u", password="p", read_timeout=5.0, environ={}, home=Path("h"))
    AsyncSalesforceClient.connect("local", max_connections=5, sleep=asyncio.sleep, verify_tls=False)
    assert_type(client.load("Account", rows, results_dir="out", max_concurrent_jobs=2), LoadResult)
    assert_type(client.smart_insert("Account", rows, "bulk", poll=None, timeout=5), LoadResult)
    SalesforceClient.connect("local", usernme="u")  # type: ignore[call-arg]
    SalesforceClient.connect("local", max_connections=5)  # type: ignore[call-arg]
    SalesforceClient.connect("local", read_timeout="5s")  # type: ignore[arg-type]
    AsyncSalesforceClient.connect("local", max_conections=5)  # type: ignore[call-arg]
    client.load("Account", rows, result_dir="out")  # type: ignore[call-arg]
    client.load("Account", rows, timeout="soon")  # type: ignore[arg-type]
    client.smart_insert("Account", rows, timout=5)  # type: ignore[call-arg]
    client.bulk.insert("Account", rows, max_jobs=2)  # type: ignore[call-arg]


async def async_options_are_typed(client: AsyncSalesforceClient, rows: list[dict[str, str]]) -> None:
    assert_type(await client.load("Account", rows, on_event=print), LoadResult)
    await client.load("Account", rows, on_events=print)  # type: ignore[call-arg]
    await client.smart_insert("Account", rows, results_dirs="out")  # type: ignore[call-arg]
    await client.bulk.upsert("Account", rows, external_id_field="E", column_delimeter=",")  # type: ignore[call-arg]


async def async_client_calls() -> None:
    async with AsyncSalesforceClient.connect("local") as client:
        assert_type(client, AsyncSalesforceClient)
        assert_type(await client.create("Account", {"Name": "Acme"}), str)
        assert_type(await client.upsert("Account", "Ext__c", "1", {}), UpsertResult)
        assert_type(client.query("SELECT Id FROM Account"), AsyncQueryResult)
        assert_type(await client.query("SELECT Id FROM Account"), AsyncQueryResult)
        assert_type([row async for row in client.query_all("SELECT Id FROM Account")], list[dict[str, Any]])
        assert_type(await client.create_batch("Account", []), list[RecordResult])
        assert_type(await client.tree("Account", [{"Name": "Acme"}]), TreeResult)
        assert_type(await client.batch([]), list[SubResponse])
        assert_type(client.bulk, AsyncBulkClient)
        assert_type(await client.bulk.insert("Account", "accounts.csv"), BulkResult)
        assert_type(await client.bulk.query("SELECT Id FROM Account"), AsyncRows)
        assert_type(await client.bulk.query("SELECT Id FROM Account", out="a.csv"), QueryExport)
        assert_type(await client.bulk.query_all("SELECT Id FROM Account", max_records=500), AsyncRows)
        assert_type(await client.bulk.query("SELECT Id FROM Account", as_dataframe=True), pandas.DataFrame)
        assert_type(
            await client.bulk.query("SELECT Id FROM Account", as_dataframe="pandas", typed=False),
            pandas.DataFrame,
        )
        assert_type(
            await client.bulk.query_all("SELECT Id FROM Account", as_dataframe="polars", timeout=5.0),
            polars.DataFrame,
        )
        assert_type(await client.bulk.query("SELECT Id FROM Account", as_dataframe=False), AsyncRows)
        assert_type(
            [row async for row in await client.bulk.query("SELECT Id FROM Account")],
            list[dict[str, str | None]],
        )
        assert_type(await client.load("Account", [{"Name": "Acme"}]), LoadResult)


def pipeline_dry_run(pipeline: SyncPipeline) -> None:
    assert_type(pipeline.dry_run(), DryRunReport)
