"""The asyncio client against the embedded org: concurrent creates, async for over a query,
a Composite batch, a composite request, Bulk API 2.0 loads and queries, and the smart loader.

Run: python examples/async_client.py

The built-in ``local`` org is started in-process on a SQLite file under a temporary
Kinetic home, so nothing under ~/.kinetic is touched.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from kinetic_core import AsyncSalesforceClient, EntityIsDeletedError
from kinetic_core.composite import SubRequest


async def main(home: str) -> None:
    out = Path(home) / "bulk-accounts.csv"
    async with AsyncSalesforceClient.connect("local", home=home, max_connections=10) as client:
        print(f"connected to {client.org_name} (API v{client.api_version})")

        # 50 single creates, up to 10 calls in flight on one client.
        ids = await asyncio.gather(
            *(client.create("Account", {"Name": f"Async {n:02d}", "Industry": "Energy"}) for n in range(50))
        )
        print(f"created {len(set(ids))} accounts concurrently")

        # Reads, updates and upserts are awaited like any coroutine.
        await client.update("Account", ids[0], {"Phone": "+1 415 555 0100"})
        first = await client.get("Account", ids[0], fields=["Name", "Phone"])
        print(f"read back: {first['Name']} {first['Phone']}")
        outcome = await client.upsert("Account", "External_Id__c", "A-1", {"Name": "Globex"})
        print(f"upsert created={outcome.created}")

        # async for walks every page of a query; each page is fetched when reached.
        names = [
            row["Name"] async for row in client.query("SELECT Name FROM Account WHERE Industry = 'Energy'")
        ]
        print(f"query: {len(names)} energy accounts, first {sorted(names)[0]}")
        print(f"count: {await client.count('Account')}")

        # Composite: sObject Collections (chunks of 200, two chunks in flight) and a composite request.
        contacts = [{"LastName": f"Contact {n}", "AccountId": ids[n % 50]} for n in range(450)]
        contacts[7] = {"FirstName": "no last name"}
        saved = await client.create_batch("Contact", contacts, concurrency=2)
        failed = [r for r in saved if not r.success]
        print(f"create_batch: {len(saved) - len(failed)} created, {len(failed)} failed")
        answers = await client.composite(
            [
                SubRequest("POST", "sobjects/Account", "acct", {"Name": "Initech"}),
                SubRequest("GET", "sobjects/Account/@{acct.id}", "check"),
            ],
            all_or_none=True,
        )
        print(f"composite: {', '.join(f'{a.reference_id} {a.status}' for a in answers)}")

        # Bulk API 2.0: split into jobs, uploaded in parallel, every input row accounted for.
        rows = [{"External_Id__c": f"B-{n}", "Name": f"Bulk {n:04d}"} for n in range(1, 1201)]
        rows[41] = {"External_Id__c": "B-42"}  # no Name: the insert of row 42 fails
        with await client.bulk.upsert(
            "Account", rows, external_id_field="External_Id__c", max_records_per_job=500
        ) as loaded:
            (bad,) = loaded.failed_rows()
            print(
                f"bulk upsert: {loaded.successful} ok, {loaded.failed} failed in {len(loaded.job_ids)} jobs"
            )
            print(f"input row {bad.row_number}: {bad.error_code}")
        export = await client.bulk.query("SELECT Id, Name FROM Account WHERE Name LIKE 'Bulk%'", out=out)
        bulk_rows = await client.bulk.query("SELECT Name FROM Account WHERE Name LIKE 'Bulk%'")
        names = sorted([row["Name"] or "" async for row in bulk_rows])
        print(f"bulk query: {export.rows} rows to {out.name}, {len(names)} rows read, first {names[0]}")

        # The smart loader: the same decision and result as the sync client's load().
        routed = await client.load("Contact", [{"LastName": f"Routed {n}"} for n in range(3000)])
        print(f"load: {routed.strategy.value}, {routed.successful} of {routed.total} saved")

        # Errors are the sync client's exceptions.
        await client.delete("Account", ids[1])
        try:
            await client.get("Account", ids[1])
        except EntityIsDeletedError as exc:
            print(f"after delete: {exc.error_code}")
    print("async_client: done")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as kinetic_home:
        asyncio.run(main(kinetic_home))
