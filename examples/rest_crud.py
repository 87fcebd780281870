"""REST CRUD and SOQL against the embedded org.

Run: python examples/rest_crud.py

The built-in ``local`` org is started in-process on a SQLite file under a temporary
Kinetic home, so nothing under ~/.kinetic is touched.
"""

from __future__ import annotations

import tempfile

from kinetic_core import EntityIsDeletedError, SalesforceClient, soql


def main() -> None:
    with tempfile.TemporaryDirectory() as home, SalesforceClient.connect("local", home=home) as client:
        print(f"connected to {client.org_name} at {client.instance_url} (API v{client.api_version})")

        # Create, read, update.
        account_id = client.create("Account", {"Name": "Acme", "Industry": "Energy", "External_Id__c": "A-1"})
        client.update("Account", account_id, {"Phone": "+1 415 555 0100"})
        account = client.get("Account", account_id, fields=["Name", "Phone"])
        print(f"read back: {account['Name']} {account['Phone']}")

        # Upsert on an external id: the second call updates the record the first one made.
        first = client.upsert("Account", "External_Id__c", "A-2", {"Name": "Globex"})
        second = client.upsert("Account", "External_Id__c", "A-2", {"Name": "Globex Corp"})
        print(
            f"upsert created={first.created}, then created={second.created}, same id={first.id == second.id}"
        )

        # Contacts linked to their account through the account's external id.
        for last_name in ("Ng", "Okafor", "Silva"):
            client.create("Contact", {"LastName": last_name, "Account": {"External_Id__c": "A-1"}})

        # SOQL: soql() quotes values safely; query() pages lazily through every result page.
        text = soql("SELECT LastName, Account.Name FROM Contact WHERE Account.Name = {}", "Acme")
        names = sorted(row["LastName"] for row in client.query(text))
        print(f"contacts of Acme: {', '.join(names)}")
        globex = client.count("Account", "Name = {}", "Globex Corp")
        print(f"count: {client.count('Contact')} contacts, {globex} Globex")
        top = client.query_one("SELECT Name FROM Account ORDER BY Name LIMIT 1")  # a dict, or None
        print(f"query_one: {top['Name'] if top else None}")

        # Delete, then the record is gone for get() and visible to query_all() as deleted.
        client.delete("Account", first.id)
        try:
            client.get("Account", first.id)
        except EntityIsDeletedError as exc:
            print(f"after delete: {exc.error_code}")
        deleted = client.query_all("SELECT Id FROM Account WHERE IsDeleted = true")
        print(f"deleted accounts seen by query_all: {len(list(deleted))}")

        # Metadata.
        fields = [f["name"] for f in client.describe("Account")["fields"]]
        print(f"Account has {len(fields)} fields; DailyApiRequests: {client.limits()['DailyApiRequests']}")
    print("rest_crud: done")


if __name__ == "__main__":
    main()
