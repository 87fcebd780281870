"""The Salesforce CLI (``sf``, unchanged, pinned in sf/package-lock.json) against the emulator over TLS.

Each test runs ``sf ... --json`` as a command, with its own HOME, logged in with an access token from
the emulator's OAuth endpoint, and Node told to trust the emulator's CA. The CLI is pinned to 2.128.5,
a release that still declares Node >= 18.6 (2.150.6, for one, requires Node 22); its ``undici`` is held
at 7.30.2 (``overrides`` in package.json) because undici 8 needs Node 22's zstd support and fails to
load on Node 20. Without
Node.js or without ``npm ci`` in ``tests/contract/sf`` these tests fail with a message saying so.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contract_helpers import (
    SF_DIR,
    OrgHandle,
    password_token,
    require_sf,
    run_sf,
    running_org,
    sf_ok,
    trusting_session,
)

from kinetic_core import SalesforceClient

pytestmark = pytest.mark.contract

ALIAS = "emu"


@pytest.fixture(scope="module")
def sf_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgHandle]:
    """A TLS emulator with small Bulk query pages (250 rows), so exports span several locators."""
    with running_org(tmp_path_factory.mktemp("sf-org"), tls=True, query_page_size=250) as org:
        yield org


@pytest.fixture(scope="module")
def sf_home(sf_org: OrgHandle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HOME where ``sf`` is logged in to the emulator under the alias ``emu``."""
    home = tmp_path_factory.mktemp("sf-home")
    with trusting_session(sf_org) as session:
        token = password_token(session, sf_org)["access_token"]
    result = sf_ok(
        [
            "org",
            "login",
            "access-token",
            "--instance-url",
            sf_org.instance_url,
            "--no-prompt",
            "--alias",
            ALIAS,
        ],
        sf_org,
        home,
        cwd=home,
        env={"SF_ACCESS_TOKEN": token},
    )
    assert result["username"] == sf_org.username
    return home


@pytest.fixture(scope="module")
def client(sf_org: OrgHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SalesforceClient]:
    """Kinetic's own client on the same org, to seed and check data independently of ``sf``."""
    home = tmp_path_factory.mktemp("kinetic-home")
    with SalesforceClient.connect(
        login_url=sf_org.login_url,
        client_id=sf_org.client_id,
        client_secret=sf_org.client_secret,
        username=sf_org.username,
        password=sf_org.password,
        ca_bundle=str(sf_org.ca_cert),
        environ={},
        cwd=home,
        home=home,
    ) as kc:
        yield kc


def sf(args: list[str], org: OrgHandle, home: Path, cwd: Path) -> Any:
    return sf_ok([*args, "--target-org", ALIAS], org, home, cwd=cwd)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")  # the CLI's jobs default to LF
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_sf_version_is_pinned() -> None:
    lock = json.loads((SF_DIR / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/@salesforce/cli"]["version"]
    assert version == "2.128.5"
    require_sf()
    installed = SF_DIR / "node_modules" / "@salesforce" / "cli" / "package.json"
    assert json.loads(installed.read_text(encoding="utf-8"))["version"] == version, (
        "node_modules is stale: run `npm ci` in tests/contract/sf"
    )


def test_login_with_an_access_token_reads_the_org(sf_org: OrgHandle, sf_home: Path) -> None:
    result = sf_ok(["org", "display", "--target-org", ALIAS], sf_org, sf_home, cwd=sf_home)
    assert result["instanceUrl"].rstrip("/") == sf_org.instance_url
    assert result["username"] == sf_org.username
    assert result["id"].startswith("00D")
    assert result["connectedStatus"] == "Connected"


def test_record_create_get_update_delete(sf_org: OrgHandle, sf_home: Path, tmp_path: Path) -> None:
    created = sf(
        [
            "data",
            "create",
            "record",
            "--sobject",
            "Account",
            "--values",
            "Name='CLI Acme' Phone=555-0100 AnnualRevenue=12345678",
        ],
        sf_org,
        sf_home,
        tmp_path,
    )
    assert created["success"] is True
    record_id = created["id"]
    assert record_id.startswith("001")
    got = sf(
        ["data", "get", "record", "--sobject", "Account", "--record-id", record_id], sf_org, sf_home, tmp_path
    )
    assert (got["Name"], got["Phone"]) == ("CLI Acme", "555-0100")
    assert got["AnnualRevenue"] == 12345678  # sent by the org as 1.2345678E7, as Salesforce writes it
    sf(
        [
            "data",
            "update",
            "record",
            "--sobject",
            "Account",
            "--record-id",
            record_id,
            "--values",
            "Name='CLI Acme 2'",
        ],
        sf_org,
        sf_home,
        tmp_path,
    )
    got = sf(
        ["data", "get", "record", "--sobject", "Account", "--record-id", record_id], sf_org, sf_home, tmp_path
    )
    assert got["Name"] == "CLI Acme 2"
    sf(
        ["data", "delete", "record", "--sobject", "Account", "--record-id", record_id],
        sf_org,
        sf_home,
        tmp_path,
    )
    gone = run_sf(
        ["data", "get", "record", "--sobject", "Account", "--record-id", record_id, "--target-org", ALIAS],
        sf_org,
        sf_home,
        cwd=tmp_path,
    )
    assert gone.returncode != 0
    assert "ENTITY_IS_DELETED" in json.dumps(gone.data) or "NOT_FOUND" in json.dumps(gone.data)


def test_query_follows_every_rest_page(
    sf_org: OrgHandle, sf_home: Path, client: SalesforceClient, tmp_path: Path
) -> None:
    seeded = client.bulk.insert("Account", [{"Name": f"CLI Page {i:05d}"} for i in range(2_600)])
    assert seeded.successful == 2_600
    seeded.close()
    result = sf(
        ["data", "query", "--query", "SELECT Id, Name FROM Account WHERE Name LIKE 'CLI Page %'"],
        sf_org,
        sf_home,
        tmp_path,
    )
    assert result["totalSize"] == 2_600
    names = [r["Name"] for r in result["records"]]
    assert sorted(names) == [f"CLI Page {i:05d}" for i in range(2_600)]  # more than one page of 2,000


def test_bulk_import_then_export_over_several_locator_pages(
    sf_org: OrgHandle, sf_home: Path, client: SalesforceClient, tmp_path: Path
) -> None:
    rows = [[f"CLI Bulk {i:04d}", f"555-{i:04d}", f"CLI-B-{i}"] for i in range(1_234)]
    source = write_csv(tmp_path / "accounts.csv", ["Name", "Phone", "External_Id__c"], rows)
    result = sf(
        ["data", "import", "bulk", "--sobject", "Account", "--file", str(source), "--wait", "5"],
        sf_org,
        sf_home,
        tmp_path,
    )
    assert (result["processedRecords"], result["successfulRecords"], result["failedRecords"]) == (
        1_234,
        1_234,
        0,
    )
    assert client.count("SELECT count() FROM Account WHERE Name LIKE 'CLI Bulk %'") == 1_234

    out = tmp_path / "export.csv"
    query = "SELECT Id, Name, Phone, External_Id__c FROM Account WHERE Name LIKE 'CLI Bulk %'"
    exported = sf(
        ["data", "export", "bulk", "--query", query, "--output-file", str(out), "--wait", "5"],
        sf_org,
        sf_home,
        tmp_path,
    )
    assert exported["totalSize"] == 1_234
    with out.open(encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["Id", "Name", "Phone", "External_Id__c"]
    assert len(lines) == 1 + 1_234  # 5 pages of at most 250 rows, the header once
    assert sorted(line[1:] for line in lines[1:]) == sorted(rows)
    assert all(line[0].startswith("001") for line in lines[1:])


def test_bulk_upsert_by_external_id_then_delete(
    sf_org: OrgHandle, sf_home: Path, client: SalesforceClient, tmp_path: Path
) -> None:
    first = client.bulk.insert(
        "Account", [{"Name": f"CLI Up {i}", "External_Id__c": f"CLI-U-{i}"} for i in range(50)]
    )
    assert first.successful == 50
    first.close()
    rows = [[f"CLI Up {i} v2", f"CLI-U-{i}"] for i in range(100)]  # 50 updates, 50 inserts
    source = write_csv(tmp_path / "upsert.csv", ["Name", "External_Id__c"], rows)
    result = sf(
        [
            "data",
            "upsert",
            "bulk",
            "--sobject",
            "Account",
            "--file",
            str(source),
            "--external-id",
            "External_Id__c",
            "--wait",
            "5",
        ],
        sf_org,
        sf_home,
        tmp_path,
    )
    info, records = result["jobInfo"], result["records"]
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        100,
        0,
    )
    created = sorted(r["sf__Created"] for r in records["successfulResults"])
    assert created == ["false"] * 50 + ["true"] * 50
    assert records["failedResults"] == []
    found = list(client.query("SELECT Id, Name FROM Account WHERE External_Id__c LIKE 'CLI-U-%'"))
    assert len(found) == 100
    assert all(r["Name"].endswith(" v2") for r in found)

    ids = write_csv(tmp_path / "ids.csv", ["Id"], [[r["Id"]] for r in found])
    deleted = sf(
        ["data", "delete", "bulk", "--sobject", "Account", "--file", str(ids), "--wait", "5"],
        sf_org,
        sf_home,
        tmp_path,
    )
    info = deleted["jobInfo"]
    assert (info["operation"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "delete",
        100,
        0,
    )
    assert sorted(r["sf__Id"] for r in deleted["records"]["successfulResults"]) == sorted(
        r["Id"] for r in found
    )
    assert client.count("SELECT count() FROM Account WHERE External_Id__c LIKE 'CLI-U-%'") == 0


def test_bulk_row_failures_and_job_failures_reach_the_cli(
    sf_org: OrgHandle, sf_home: Path, tmp_path: Path
) -> None:
    partial = write_csv(
        tmp_path / "partial.csv", ["Name", "Phone"], [["CLI ok 1", "1"], ["", "2"], ["CLI ok 2", "3"]]
    )
    out = run_sf(
        [
            "data",
            "import",
            "bulk",
            "--sobject",
            "Account",
            "--file",
            str(partial),
            "--wait",
            "5",
            "--target-org",
            ALIAS,
        ],
        sf_org,
        sf_home,
        cwd=tmp_path,
    )
    assert out.returncode != 0
    assert out.data["name"] == "FailedRecordDetailsError"
    assert "failed to process 1 records" in out.data["message"]
    job_id = out.data["data"]["jobId"]
    results = sf(["data", "bulk", "results", "--job-id", job_id], sf_org, sf_home, tmp_path)
    assert (results["processedRecords"], results["successfulRecords"], results["failedRecords"]) == (3, 2, 1)
    with (tmp_path / results["failedFilePath"]).open(encoding="utf-8", newline="") as handle:
        failed = list(csv.DictReader(handle))
    assert [row["Phone"] for row in failed] == ["2"]
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING")

    bad = write_csv(tmp_path / "bad.csv", ["Name", "Nope__c"], [["x", "1"]])
    out = run_sf(
        [
            "data",
            "import",
            "bulk",
            "--sobject",
            "Account",
            "--file",
            str(bad),
            "--wait",
            "5",
            "--target-org",
            ALIAS,
        ],
        sf_org,
        sf_home,
        cwd=tmp_path,
    )
    assert out.returncode != 0
    assert out.data["name"] == "JobFailedError"
    assert "Nope__c" in out.data["message"]


def test_tree_export_with_a_plan_then_import_recreates_parents_and_children(
    sf_org: OrgHandle, sf_home: Path, client: SalesforceClient, tmp_path: Path
) -> None:
    parent = client.create("Account", {"Name": "CLI Tree Parent"})
    for name in ("Ada", "Grace"):
        client.create("Contact", {"LastName": f"CLI Tree {name}", "AccountId": parent})
    query = "SELECT Id, Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account"
    query += f" WHERE Id = '{parent}'"
    plan = sf(
        ["data", "export", "tree", "--query", query, "--plan", "--output-dir", "tree"],
        sf_org,
        sf_home,
        tmp_path,
    )
    assert [step["sobject"] for step in plan] == ["Account", "Contact"]
    contacts = json.loads((tmp_path / "tree" / "Contact.json").read_text(encoding="utf-8"))["records"]
    assert sorted(c["LastName"] for c in contacts) == ["CLI Tree Ada", "CLI Tree Grace"]
    assert {c["AccountId"] for c in contacts} == {"@AccountRef1"}

    plan_file = next((tmp_path / "tree").glob("*plan.json"))
    imported = sf(["data", "import", "tree", "--plan", str(plan_file)], sf_org, sf_home, tmp_path)
    by_type = {r["refId"]: (r["type"], r["id"]) for r in imported}
    new_parent = by_type["AccountRef1"][1]
    assert new_parent != parent
    assert sorted(t for t, _ in by_type.values()) == ["Account", "Contact", "Contact"]
    children = client.query_all(
        f"SELECT LastName FROM Contact WHERE AccountId = '{new_parent}' ORDER BY LastName"
    )
    assert [c["LastName"] for c in children] == ["CLI Tree Ada", "CLI Tree Grace"]


def test_bulk_import_resumed_by_job_id_with_pipes_and_crlf(
    sf_org: OrgHandle, sf_home: Path, client: SalesforceClient, tmp_path: Path
) -> None:
    source = tmp_path / "pipes.csv"
    source.write_bytes(
        b"Name|Description\r\n"
        + b"".join(f'CLI Pipe {i}|"a, b and ""c"" {i}"\r\n'.encode() for i in range(300))
    )
    started = sf(
        [
            "data",
            "import",
            "bulk",
            "--sobject",
            "Account",
            "--file",
            str(source),
            "--line-ending",
            "CRLF",
            "--column-delimiter",
            "PIPE",
        ],
        sf_org,
        sf_home,
        tmp_path,
    )
    job_id = started["jobId"]
    assert job_id.startswith("750")
    # no --target-org: the CLI finds the org in its cache of the job it started
    done = sf_ok(
        ["data", "import", "resume", "--job-id", job_id, "--wait", "5"], sf_org, sf_home, cwd=tmp_path
    )
    assert (done["jobId"], done["processedRecords"], done["failedRecords"]) == (job_id, 300, 0)
    found = client.query_all("SELECT Name, Description FROM Account WHERE Name LIKE 'CLI Pipe %'")
    assert sorted((r["Name"], r["Description"]) for r in found) == sorted(
        (f"CLI Pipe {i}", f'a, b and "c" {i}') for i in range(300)
    )

    out = tmp_path / "pipes-export.csv"
    exported = sf(
        [
            "data",
            "export",
            "bulk",
            "--query",
            "SELECT Name, Description FROM Account WHERE Name LIKE 'CLI Pipe %'",
            "--output-file",
            str(out),
            "--column-delimiter",
            "PIPE",
            "--line-ending",
            "CRLF",
            "--wait",
            "5",
        ],
        sf_org,
        sf_home,
        tmp_path,
    )
    assert exported["totalSize"] == 300
    text = out.read_bytes()
    assert text.count(b"\r\n") == 301  # header once, then every row, across two locator pages
    with out.open(encoding="utf-8", newline="") as handle:
        back = list(csv.reader(handle, delimiter="|"))
    assert back[0] == ["Name", "Description"]
    assert sorted(tuple(r) for r in back[1:]) == sorted(
        (f"CLI Pipe {i}", f'a, b and "c" {i}') for i in range(300)
    )


def test_data_search_finds_records_by_sosl(sf_org: OrgHandle, sf_home: Path, tmp_path: Path) -> None:
    for values in ("Name='Zyxwidget Labs' Phone='(650) 555-0123'", "Name='Other Labs'"):
        sf(
            ["data", "create", "record", "--sobject", "Account", "--values", values],
            sf_org,
            sf_home,
            tmp_path,
        )
    sf(["data", "create", "record", "--sobject", "Contact", "--values", "LastName=Zyxwidgetson"],
       sf_org, sf_home, tmp_path)  # fmt: skip
    sosl = "FIND {zyxwidget*} IN NAME FIELDS RETURNING Account(Name, Phone ORDER BY Name), Contact(LastName)"
    result = sf(["data", "search", "--query", sosl], sf_org, sf_home, tmp_path)
    records = result["searchRecords"]
    assert [r["attributes"]["type"] for r in records] == ["Account", "Contact"]
    assert records[0]["Name"] == "Zyxwidget Labs"
    assert records[0]["Phone"] == "(650) 555-0123"
    assert records[1]["LastName"] == "Zyxwidgetson"
    bad = run_sf(
        ["data", "search", "--query", "FIND zyx", "--target-org", ALIAS], sf_org, sf_home, cwd=tmp_path
    )
    assert bad.returncode != 0
    assert "enclosed in braces" in json.dumps(bad.data)
