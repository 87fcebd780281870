"""The smart router: one call, and the cheapest API (REST, Composite or Bulk) carries the load.

Run: python examples/smart_router.py

``decide`` is a pure function you can call to see the choice; ``client.load`` makes it and runs
the load, returning the same ``LoadResult`` shape whatever the API used.
"""

from __future__ import annotations

import tempfile

from kinetic_core import SalesforceClient
from kinetic_core.bulk import PollPolicy
from kinetic_core.load import CostModel, Thresholds, decide


def contacts(count: int, prefix: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {"LastName": f"{prefix}{n}", "External_Id__c": f"{prefix}-{n}"} for n in range(count)
    ]
    if count > 5:
        rows[5] = {"FirstName": "NoLastName"}  # fails: REQUIRED_FIELD_MISSING
    return rows


def main() -> None:
    # The pure decision: each API's predicted time from the cost model (Salesforce's defaults here;
    # a client's load uses the latency its session observes), the least wins.
    for count in (2, 500, 50_000):
        choice = decide(count, 0, None, None, model=CostModel.salesforce())
        print(f"decide({count}): {choice.strategy.value} - {choice.reason}")
    # With few API calls left, a mid-size load goes Bulk to spare the daily allowance.
    print(f"decide(5000, 510 calls left): {decide(5000, 0, 510, None).strategy.value}")

    # A Bulk switch point set by hand overrides the model; here it keeps the example quick.
    thresholds = Thresholds(bulk_min_records=1_000)
    poll = PollPolicy(initial=0.05, maximum=0.5)
    with tempfile.TemporaryDirectory() as home, SalesforceClient.connect("local", home=home) as client:
        for count, prefix in ((2, "R"), (300, "C"), (1_500, "B")):
            result = client.load("Contact", contacts(count, prefix), thresholds=thresholds, poll=poll)
            print(
                f"load {count:>5}: {result.strategy.value:<9} ok={result.successful} failed={result.failed}"
                f" jobs={len(result.job_ids)}"
            )
            for failure in result.failures():
                print(f"    row {failure.row_number}: {failure.error_code}")
            result.close()

        # Upsert: keys C-1 to C-299 exist from the Composite load (update), the rest are new.
        rows = [{"External_Id__c": f"C-{n}", "LastName": f"Upserted{n}"} for n in range(1, 400)]
        result = client.load("Contact", rows, operation="upsert", external_id_field="External_Id__c")
        created = sum(1 for o in result if o.created)
        print(
            f"upsert 399: {result.strategy.value}, {created} created, {result.successful - created} updated"
        )

        # Force an API with strategy=...
        forced = client.load("Contact", contacts(3, "F"), strategy="bulk", poll=poll)
        print(f"forced: {forced.strategy.value} ({forced.reason})")
        forced.close()
    print("smart_router: done")


if __name__ == "__main__":
    main()
