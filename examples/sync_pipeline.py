"""A sync pipeline from YAML: CSV source, mapping, router, failure file, journal, dry run.

Run: python examples/sync_pipeline.py

Everything (the CSV, the pipeline file, failures, the journal and the embedded org) lives in a
temporary directory.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from kinetic_core import FieldMapper, SalesforceClient, SyncPipeline

CSV = """email;first_name;last_name;account
ada@example.com;Ada;Lovelace;ACME
alan@example.com;Alan;Turing;ACME
bad-row@example.com;NoLast;;ACME
grace@example.com;Grace;Hopper;ACME
"""

PIPELINE = """
name: contacts
object: Contact
operation: upsert
external_id: External_Id__c
strategy: auto
source:
  path: contacts.csv          # relative to this file; ';' is sniffed
  required_columns: [email, last_name]
mapping:
  fields:
    External_Id__c: email
    Email: {source: email, transform: email}
    FirstName: {source: first_name, transform: strip}
    LastName: last_name
    Account.External_Id__c: account
batch:
  size: 1000
failures:
  dir: failures
"""


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        SalesforceClient.connect("local", home=Path(tmp) / "home") as client,
    ):
        work = Path(tmp)
        (work / "contacts.csv").write_text(CSV, encoding="utf-8")
        (work / "contacts.yaml").write_text(PIPELINE, encoding="utf-8")
        client.create("Account", {"Name": "Acme", "External_Id__c": "ACME"})

        pipeline = SyncPipeline.from_yaml(
            work / "contacts.yaml",
            client,
            on_batch_complete=lambda b: print(
                f"  batch {b.batch_no}: rows {b.first_row}-{b.last_row} via {b.strategy}"
            ),
        )
        print(pipeline.dry_run().render())

        report = pipeline.run()
        print(f"run: {report.successful} loaded, {report.failed} failed, errors {report.error_counts}")
        assert report.failure_file is not None
        print(f"failure file ({report.failure_file.name}):")
        print(report.failure_file.read_text(encoding="utf-8").strip())

        # Running the same finished pipeline again with resume=True reports the journal, sends nothing.
        again = pipeline.run(resume=True)
        print(f"resume of a finished run: rows this run={again.rows_this_run}, total rows={again.rows}")

        # The same thing from Python, with an in-memory source.
        python_pipeline = SyncPipeline(
            client,
            "Contact",
            operation="insert",
            mapper=FieldMapper({"last": "LastName", "mail": ("Email", "email")}),
            failure_dir=work / "py-failures",
            on_record_error=lambda e: print(f"  row {e.row_number}: {e.error_code}"),
        )
        result = python_pipeline.run([{"last": "Ng", "mail": "NG@EXAMPLE.COM"}, {"mail": "x@example.com"}])
        print(f"python pipeline: {result.successful} loaded, {result.failed} failed")
        print(f"contacts in the org: {client.count('Contact')}")
    print("sync_pipeline: done")


if __name__ == "__main__":
    main()
