"""What only the asyncio client has: many tasks on one client, a bounded pool, one shared renewal,
a bulk load stopped by cancelling its task."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from both_clients import no_sleep, settings

from kinetic_core import AsyncSalesforceClient, SalesforceClient
from kinetic_core.bulk import BulkEvent, JobCreated, JobState, PollPolicy, RowsUploaded
from kinetic_core.bulk.aclient import AsyncBulkClient
from kinetic_core.emulator.server import LocalOrg


def open_connections(client: AsyncSalesforceClient) -> int:
    """Connections open in the client's pool (httpcore's pools, one per URL scheme)."""
    transport: Any = client.http.http_client._transport
    pools = [t._pool for t in transport._transports.values()]
    return sum(len(pool.connections) for pool in pools)


def test_200_concurrent_creates_share_a_bounded_pool(local_org: LocalOrg, tmp_path: Path) -> None:
    bound = 8

    async def main() -> tuple[list[str], int]:
        args = settings(local_org, tmp_path)
        async with AsyncSalesforceClient.connect(max_connections=bound, sleep=no_sleep, **args) as client:
            await client.count("Account")
            local_org.admin("faults", {"latency_ms": 20})
            peak = 0
            done = asyncio.Event()

            async def watch() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, open_connections(client))
                    await asyncio.sleep(0.002)

            watcher = asyncio.create_task(watch())
            ids = await asyncio.gather(*(client.create("Account", {"Name": f"G{n}"}) for n in range(200)))
            done.set()
            await watcher
            local_org.admin("faults", {})
            return list(ids), peak

    started = time.monotonic()
    ids, peak = asyncio.run(main())
    elapsed = time.monotonic() - started
    assert len(set(ids)) == 200
    assert local_org.org.store.record_counts()["Account"] == 200
    assert peak == bound  # the pool filled up and never went past its bound
    # 200 calls of at least 20 ms each, 8 at a time: at least 25 rounds of 20 ms.
    assert elapsed >= 200 / bound * 0.02


def test_concurrent_tasks_share_one_token_renewal(local_org: LocalOrg, tmp_path: Path) -> None:
    async def main() -> list[str]:
        args = settings(local_org, tmp_path)
        async with AsyncSalesforceClient.connect(sleep=no_sleep, **args) as client:
            await client.count("Account")
            logins = local_org.org.request_counts().get("oauth", 0)
            local_org.admin("faults", {"session_ttl_seconds": 1.0})
            await asyncio.sleep(1.1)  # the session is now expired on the server
            ids = await asyncio.gather(*(client.create("Account", {"Name": f"T{n}"}) for n in range(20)))
            local_org.admin("faults", {})
            assert client.http.refresh_count == 1
            assert local_org.org.request_counts()["oauth"] == logins + 1
            return list(ids)

    assert len(set(asyncio.run(main()))) == 20
    assert local_org.org.store.record_counts()["Account"] == 20


def test_query_walks_pages_with_async_for(local_org: LocalOrg, tmp_path: Path) -> None:
    async def main() -> tuple[list[str], int]:
        async with AsyncSalesforceClient.connect(sleep=no_sleep, **settings(local_org, tmp_path)) as client:
            results = await client.create_batch(
                "Account", [{"Name": f"P{n:03d}"} for n in range(500)], concurrency=3
            )
            assert all(r.success for r in results)
            query = client.query("SELECT Name FROM Account ORDER BY Name", batch_size=200)
            names = [row["Name"] async for row in query]
            return names, query.pages_fetched

    names, pages = asyncio.run(main())
    assert names == [f"P{n:03d}" for n in range(500)]
    assert pages == 3


def test_cancelling_a_bulk_load_aborts_its_open_jobs(tmp_path: Path) -> None:
    fast = PollPolicy(initial=0.02, maximum=0.05)
    rows = [{"Name": f"X{n}"} for n in range(20)]
    with LocalOrg(data_dir=tmp_path / "org", bulk_job_delay_seconds=60.0) as org:

        async def main() -> tuple[list[str], set[int]]:
            async with AsyncSalesforceClient.connect(sleep=no_sleep, **settings(org, tmp_path)) as client:
                created: list[str] = []
                threads: set[int] = set()
                uploaded = asyncio.Event()

                def on_event(event: BulkEvent) -> None:
                    threads.add(threading.get_ident())
                    if isinstance(event, JobCreated):
                        created.append(event.job_id)
                    if isinstance(event, RowsUploaded) and len(created) == 2:
                        uploaded.set()

                bulk = AsyncBulkClient(client, poll=fast, state_dir=False)
                load = asyncio.create_task(
                    bulk.insert("Account", rows, max_records_per_job=10, on_event=on_event)
                )
                await asyncio.wait_for(uploaded.wait(), 30)
                load.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await load
                return created, threads

        created, threads = asyncio.run(main())
        assert len(created) == 2
        assert threads == {threading.get_ident()}  # progress is reported on the event loop's thread
        with SalesforceClient.connect(sleep=lambda s: None, **settings(org, tmp_path)) as sync:
            assert [sync.bulk.get_job(job_id).state for job_id in created] == [JobState.ABORTED] * 2
        assert org.org.store.record_counts().get("Account", 0) == 0
