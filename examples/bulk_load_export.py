"""Bulk API 2.0: a split insert with row-mapped results and result files, then a streamed export.

Run: python examples/bulk_load_export.py

This one starts its own ``LocalOrg`` (an emulator server in a background thread, data in a
temporary directory) and builds the client from an explicit password-flow session.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from kinetic_core import HttpSession, PasswordAuth, SalesforceClient
from kinetic_core.bulk import BulkEvent, JobCreated, LoadDone, PollPolicy
from kinetic_core.emulator import LocalOrg

FAST_POLL = PollPolicy(initial=0.05, maximum=0.5)  # the emulator answers at once; Salesforce needs ~1 s+


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, LocalOrg(data_dir=Path(tmp) / "org") as org:
        auth = PasswordAuth(org.login_url, org.client_id, org.client_secret, org.username, org.password)
        with SalesforceClient(HttpSession(auth, api_version=org.api_version)) as client:
            # 2,500 contacts; every 500th has no LastName and will fail.
            rows = [
                {
                    "FirstName": f"First{n}",
                    "LastName": None if n % 500 == 0 else f"Last{n}",
                    "Email": f"c{n}@example.com",
                }
                for n in range(1, 2501)
            ]

            def on_event(event: BulkEvent) -> None:
                if isinstance(event, JobCreated):
                    print(f"  job {event.part} created: {event.job_id}")
                elif isinstance(event, LoadDone):
                    jobs = len(event.job_ids)
                    print(f"  load done: {event.successful} ok, {event.failed} failed in {jobs} jobs")

            results_dir = Path(tmp) / "results"
            result = client.bulk.insert(
                "Contact",
                rows,
                max_records_per_job=1000,  # split into 3 jobs (the default splits at 100 MB)
                results_dir=results_dir,
                on_event=on_event,
                poll=FAST_POLL,
            )
            with result:
                print(f"bulk insert: {result!r}")
                assert result.successful + result.failed + result.unprocessed == result.total
                for row in result.failed_rows():
                    print(f"  input row {row.row_number}: {row.error_code} ({row.job_id})")
                print(f"result files: {', '.join(sorted(p.name for p in result.files.values()))}")

            # Resume-style access: any finished job can be waited on and read again by id.
            job_id = result.job_ids[0]
            info = client.bulk.wait(job_id)
            again = client.bulk.get_results(job_id)
            with again:
                print(f"job {job_id}: {info.state.value}, {again.successful} successful rows fetched by id")

            # Export with a Bulk query, streamed to a CSV file page by page.
            out = Path(tmp) / "contacts.csv"
            export = client.bulk.query("SELECT Id, FirstName, LastName, Email FROM Contact", out=out)
            header = out.read_text(encoding="utf-8").splitlines()[0]
            print(f"exported {export.rows} rows to {out.name}; header: {header}")

            # Or iterate the records as dicts without a file.
            first = next(iter(client.bulk.query("SELECT Email FROM Contact ORDER BY Email LIMIT 1")))
            print(f"first email: {first['Email']}")
        print(f"emulator stats: {org.admin('stats')['records'].get('Contact')} contacts stored")
    print("bulk_load_export: done")


if __name__ == "__main__":
    main()
