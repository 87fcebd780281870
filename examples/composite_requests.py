"""Composite requests, batches and trees, then a replication window of what changed.

Run: python examples/composite_requests.py

A composite request chains up to 25 steps in one call (a later step uses an earlier answer through
``@{reference.field}``); a batch runs up to 25 independent steps; a tree creates parents with their
children, all or nothing. ``get_updated`` / ``get_deleted`` then list what changed in a time window.
The embedded org runs in a temporary Kinetic home.
"""

from __future__ import annotations

import datetime as dt
import tempfile

from kinetic_core import SalesforceClient
from kinetic_core.composite import SubRequest


def main() -> None:
    with tempfile.TemporaryDirectory() as home, SalesforceClient.connect("local", home=home) as client:
        since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)

        # One call, three dependent steps, all or nothing.
        steps = client.composite(
            [
                SubRequest("POST", "sobjects/Account", "acct", {"Name": "Initech"}),
                SubRequest(
                    "POST", "sobjects/Contact", "boss", {"LastName": "Lumbergh", "AccountId": "@{acct.id}"}
                ),
                SubRequest("GET", "sobjects/Contact/@{boss.id}?fields=LastName,AccountId", "check"),
            ],
            all_or_none=True,
        )
        print("composite:", ", ".join(f"{s.reference_id} {s.status}" for s in steps))
        print(f"contact's account is the new one: {steps[2].body['AccountId'] == steps[0].body['id']}")

        # A failing step rolls the others back.
        failed = client.composite(
            [
                SubRequest("POST", "sobjects/Account", "acct", {"Name": "Never Saved"}),
                SubRequest("POST", "sobjects/Contact", "bad", {"FirstName": "No LastName"}),
            ],
            all_or_none=True,
        )
        print("rolled back:", ", ".join(f"{s.reference_id} {s.errors[0].code}" for s in failed))

        # Independent steps in one call.
        answers = client.batch([SubRequest("GET", "limits"), SubRequest("GET", "sobjects/Account/describe")])
        daily = answers[0].body["DailyApiRequests"]
        print(f"batch: {[a.status for a in answers]}, DailyApiRequests max {daily['Max']}")

        # Parents with their children; the children's object comes from Account's describe.
        tree = client.tree(
            "Account",
            [
                {"Name": "Globex", "Contacts": [{"LastName": "Scorpio"}, {"LastName": "Simpson"}]},
                {"Name": "Hooli", "Contacts": [{"LastName": "Belson"}]},
            ],
        )
        print(f"tree: ok={tree.ok}, {len(tree.ids)} records created")

        # What changed since the start: created or updated, and deleted.
        client.delete("Account", tree.ids["ref4"])  # Hooli (its contact goes with it)
        until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
        updated = client.get_updated("Account", since, until)
        deleted = client.get_deleted("Account", since, until)
        print(f"accounts changed: {len(updated.ids)}, deleted: {len(deleted.ids)}")
        print("composite_requests: done")


if __name__ == "__main__":
    main()
