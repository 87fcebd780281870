"""Composite sObject Collections: create, update, upsert and delete many records, 200 per call.

Run: python examples/composite_batch.py

Every input record gets a ``RecordResult`` at its own position (``index``), so a failed
record is never lost. The embedded org runs in a temporary Kinetic home.
"""

from __future__ import annotations

import tempfile

from kinetic_core import SalesforceClient


def main() -> None:
    with tempfile.TemporaryDirectory() as home, SalesforceClient.connect("local", home=home) as client:
        # 450 accounts go in 3 calls (200 + 200 + 50); two of them are invalid on purpose.
        accounts = [{"Name": f"Account {n:03d}", "External_Id__c": f"ACC-{n:03d}"} for n in range(450)]
        accounts[7] = {"External_Id__c": "ACC-007"}  # no Name: REQUIRED_FIELD_MISSING
        accounts[300] = {"Name": "x" * 300}  # longer than the 255 characters allowed
        results = client.create_batch("Account", accounts)
        created = [r for r in results if r.success]
        print(f"create_batch: {len(created)} created, {len(results) - len(created)} failed")
        for r in results:
            if not r.success:
                print(f"  record {r.index}: {r.errors[0].code} {r.errors[0].message[:60]}")

        # Update by Id, with two calls running at once.
        updates = [{"Id": r.id, "Rating": "Hot"} for r in created[:250]]
        updated = client.update_batch("Account", updates, concurrency=2)
        print(f"update_batch: {sum(r.success for r in updated)} updated")

        # Upsert on the external id: existing keys update, new keys insert.
        rows = [{"External_Id__c": f"ACC-{n:03d}", "Name": f"Account {n:03d} (v2)"} for n in range(440, 460)]
        upserted = client.upsert_batch("Account", rows, "External_Id__c")
        inserted = sum(r.created for r in upserted)
        print(f"upsert_batch: {inserted} inserted, {len(upserted) - inserted} updated")

        # all_or_none: one bad record rolls back its whole chunk.
        rolled_back = client.create_batch(
            "Contact", [{"LastName": "Ok"}, {"FirstName": "NoLast"}], all_or_none=True
        )
        print(f"all_or_none: successes={sum(r.success for r in rolled_back)}")

        # Delete by id.
        deleted = client.delete_batch([r.id for r in created[:100] if r.id])
        print(f"delete_batch: {sum(r.success for r in deleted)} deleted")
        print(f"accounts left: {client.count('Account')}")
    print("composite_batch: done")


if __name__ == "__main__":
    main()
