"""The ``kinetic`` commands through typer's CliRunner against a running emulator."""

from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kinetic_core import SalesforceClient
from kinetic_core.cli import app

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _json(stdout: str) -> object:
    return json.loads(stdout)  # the whole of stdout must be one JSON document


def _seed(home: Path, count: int = 3) -> None:
    with SalesforceClient.connect("local", home=home) as client:
        client.create_batch(
            "Account", [{"Name": f"Acme {n}", "External_Id__c": f"A{n}"} for n in range(count)]
        )


def test_help_documents_exit_codes_and_org_alias() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    out = " ".join(out.split())
    assert "Exit codes: 0 success; 1 some rows failed; 2 usage error; 3 authentication error; 4 API" in out
    code, out, _ = invoke("query", "--help")
    assert code == 0
    assert "--target-org" in out
    assert "-o" in out
    assert "--json" in out
    assert "Exit codes" in out


def test_query_formats(home: Path) -> None:
    _seed(home)
    code, out, err = invoke("query", "SELECT Name, External_Id__c FROM Account ORDER BY Name", "--json")
    assert code == 0
    assert _json(out) == [{"Name": f"Acme {n}", "External_Id__c": f"A{n}"} for n in range(3)]
    assert "org: local (local emulator at http://127.0.0.1:" in err
    code, out, _ = invoke("query", "SELECT Name FROM Account ORDER BY Name", "-f", "csv", "-o", "local")
    assert code == 0
    assert out.splitlines() == ["Name", "Acme 0", "Acme 1", "Acme 2"]
    code, out, _ = invoke("query", "SELECT Name FROM Account", "--target-org", "local")
    assert code == 0
    assert "Acme 1" in out


def test_errors_are_one_line_with_exit_codes(home: Path) -> None:
    code, out, err = invoke("query", "SELEC Name FROM Account", "--json")
    assert code == 4
    assert _json(out)["error"]["errorCode"] == "MALFORMED_QUERY"  # type: ignore[index]
    assert "Traceback" not in err
    assert sum(line.startswith("error:") for line in err.splitlines()) == 1
    code, _, err = invoke("query", "SELECT Name FROM Account", "--org", "nosuch")
    assert code == 2
    assert "no org profile 'nosuch'" in err
    code, _, err = invoke("load", "Account", "missing.csv")
    assert code == 2
    assert "file not found" in err
    code, _, err = invoke("load", "Account", "missing.csv", "--operation", "upsert")
    assert code == 2
    assert "--external-id" in err


def test_describe_and_limits(home: Path) -> None:
    code, out, _ = invoke("describe", "Contact", "--json")
    assert code == 0
    assert "LastName" in {f["name"] for f in _json(out)["fields"]}  # type: ignore[index]
    code, out, _ = invoke("describe", "Contact")
    assert code == 0
    assert "Account" in out
    code, out, _ = invoke("limits", "--json")
    assert code == 0
    assert _json(out)["DailyApiRequests"]["Max"] > 0  # type: ignore[index]
    code, out, _ = invoke("limits")
    assert "DailyApiRequests" in out


def _write_accounts(path: Path, count: int, bad: tuple[int, ...] = ()) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Name", "External_Id__c"])
        for n in range(1, count + 1):
            writer.writerow(["" if n in bad else f"Co {n}", f"L{n}"])
    return path


def test_load_bulk_result_files_and_exit_code(home: Path, tmp_path: Path) -> None:
    source = _write_accounts(tmp_path / "acc.csv", 50, bad=(4,))
    code, out, err = invoke(
        "load", "Account", str(source), "--strategy", "bulk", "--results-dir", "out", "--json"
    )
    assert code == 1, err
    summary = _json(out)
    assert isinstance(summary, dict)
    assert (summary["strategy"], summary["successful"], summary["failed"]) == ("bulk", 49, 1)
    job = summary["job_ids"][0]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"{job}-failed-records.csv",
        f"{job}-run.json",  # the run descriptor, for load --retry
        f"{job}-success-records.csv",
        f"{job}-unprocessed-records.csv",
    ]
    with (tmp_path / "out" / f"{job}-failed-records.csv").open(encoding="utf-8") as handle:
        failed = list(csv.DictReader(handle))
    assert failed[0]["kc__RowNumber"] == "4"
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    code, out, err = invoke(
        "load", "Account", str(source), "--operation", "upsert", "--external-id", "External_Id__c",
        "--strategy", "composite", "--results-dir", "out2",
    )  # fmt: skip
    assert code == 1
    assert "composite" in out
    names = sorted(p.name for p in (tmp_path / "out2").iterdir())
    assert len(names) == 4
    assert names[0].startswith("Account-upsert-")
    assert names[1].endswith("-run.json")
    assert names[3].endswith("-unprocessed-records.csv")
    with (tmp_path / "out2" / names[2]).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 49
    assert rows[0]["sf__Created"] == "false"  # updated, not created, by the upsert
    assert "REQUIRED_FIELD_MISSING" in out  # the first failures are shown


def test_export_and_jobs(home: Path, tmp_path: Path) -> None:
    _seed(home, 5)
    code, out, err = invoke("export", "SELECT Id, Name FROM Account", "--out", "accounts.csv", "--json")
    assert code == 0, err
    info = _json(out)
    assert isinstance(info, dict)
    assert info["rows"] == 5
    assert (tmp_path / "accounts.csv").read_text(encoding="utf-8").splitlines()[0] == '"Id","Name"'
    query_job = info["job_id"]
    source = _write_accounts(tmp_path / "acc.csv", 10)
    code, out, _ = invoke(
        "load", "Account", str(source), "--strategy", "bulk", "--results-dir", "r", "--json"
    )
    assert code == 0
    ingest_job = _json(out)["job_ids"][0]  # type: ignore[index]
    code, out, _ = invoke("jobs", "list", "--json")
    assert code == 0
    listed = {j["id"]: j for j in _json(out)}  # type: ignore[union-attr]
    assert listed[ingest_job]["state"] == "JobComplete"
    assert listed[query_job]["kind"] == "query"
    code, out, _ = invoke("jobs", "show", ingest_job, "--json")
    assert code == 0
    assert _json(out)["numberRecordsProcessed"] == 10  # type: ignore[index]
    code, out, _ = invoke("jobs", "wait", ingest_job, "--wait", "1", "--json")
    assert code == 0
    assert _json(out)["state"] == "JobComplete"  # type: ignore[index]
    code, out, _ = invoke("jobs", "results", ingest_job, "--results-dir", "again", "--json")
    assert code == 0
    assert _json(out)["successful"] == 10  # type: ignore[index]
    assert (tmp_path / "again" / f"{ingest_job}-success-records.csv").exists()
    code, out, _ = invoke("jobs", "results", query_job, "--out", "q.csv", "--json")
    assert code == 0
    assert _json(out)["rows"] == 5  # type: ignore[index]
    code, out, err = invoke("jobs", "abort", ingest_job)
    assert code == 4  # a finished job cannot be aborted: the API says so
    assert err.count("error:") == 1


def test_org_login_list_remove(home: Path) -> None:
    env = {"KC_TEST_PASSWORD": "kinetic", "KC_TEST_SECRET": "kinetic-local-secret"}
    local = json.loads((home / "local" / "emulator.json").read_text(encoding="utf-8"))
    args = [
        "org", "login", "dev", "--login-url", local["login_url"], "--client-id", "kinetic-local-client",
        "--client-secret-env", "KC_TEST_SECRET", "--username", "admin@kinetic.local",
        "--password-env", "KC_TEST_PASSWORD", "--json",
    ]  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        code, out, err = invoke(*args)
        assert code == 0, err
        assert _json(out) == {
            "org": "dev",
            "flow": "password",
            "file": str(home / "orgs.toml"),
            "default": False,
            "checked": True,
        }
        text = (home / "orgs.toml").read_text(encoding="utf-8")
        assert 'password_env = "KC_TEST_PASSWORD"' in text
        assert "kinetic-local-secret" not in text  # secrets by reference only
        assert stat.S_IMODE(os.stat(home / "orgs.toml").st_mode) == 0o600
        code, out, err = invoke("query", "SELECT Id FROM User", "--org", "dev", "--json")
        assert code == 0
        assert "org: dev (" in err
        mp.setenv("KC_TEST_PASSWORD", "wrong")
        code, out, err = invoke("query", "SELECT Id FROM User", "--org", "dev")
        assert code == 3
        code, _, err = invoke(*args[:-1], "--org", "other")
        assert code == 3  # the check failed: nothing saved under "other"... and "dev" is kept
    code, out, _ = invoke("org", "list", "--json")
    assert [o["name"] for o in _json(out)] == ["local", "dev"]  # type: ignore[union-attr]
    code, _, err = invoke(
        "org",
        "login",
        "broken",
        "--client-id",
        "x",
        "--password-env",
        "NOT_SET_ANYWHERE_42",
        "--username",
        "u",
    )
    assert code == 2
    assert "NOT_SET_ANYWHERE_42" in err
    code, out, _ = invoke("org", "remove", "dev", "--json")
    assert (code, _json(out)) == (0, {"removed": "dev"})
    code, _, _ = invoke("org", "remove", "dev")
    assert code == 2


def test_doctor_admin_passes_standard_user_fails(home: Path) -> None:
    code, out, err = invoke("doctor", "--json")
    assert code == 0, out
    checks = {c["check"]: c for c in _json(out)["checks"]}  # type: ignore[index]
    for name in (
        "connectivity and TLS", "authentication", "API version", "token scopes", "API Enabled",
        "Bulk API Hard Delete", "View All Data", "Modify All Data", "limit DailyApiRequests",
    ):  # fmt: skip
        assert checks[name]["ok"], name
    assert "org: local" in err
    local = json.loads((home / "local" / "emulator.json").read_text(encoding="utf-8"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KC_STD_PASSWORD", "kinetic")
        mp.setenv("KC_STD_SECRET", "kinetic-local-secret")
        code, _, err = invoke(
            "org", "login", "std", "--login-url", local["login_url"], "--client-id", "kinetic-local-client",
            "--client-secret-env", "KC_STD_SECRET", "--username", "standard@kinetic.local",
            "--password-env", "KC_STD_PASSWORD",
        )  # fmt: skip
        assert code == 0, err
        code, out, _ = invoke("doctor", "--org", "std", "--json")
        assert code == 1
        checks = {c["check"]: c for c in _json(out)["checks"]}  # type: ignore[index]
        assert checks["API Enabled"]["ok"]
        assert checks["connectivity and TLS"]["ok"]  # plain HTTP to a local emulator is a note
        assert checks["connectivity and TLS"]["note"]
        for name in ("Bulk API Hard Delete", "View All Data", "Modify All Data"):
            assert not checks[name]["ok"]
            assert "System Permissions" in checks[name]["fix"]
        code, out, _ = invoke("doctor", "--org", "std")
        assert "FAIL" in out
        assert "PASS" in out
        mp.setenv("KC_STD_PASSWORD", "nope")
        code, out, _ = invoke("doctor", "--org", "std", "--json")
        assert code == 3


def test_sync_dry_run_and_run(home: Path, tmp_path: Path) -> None:
    _write_accounts(tmp_path / "acc.csv", 30, bad=(2,))
    (tmp_path / "p.yaml").write_text(
        "object: Account\nsource: {path: acc.csv}\nmapping: {Name: Name, External_Id__c: External_Id__c}\n",
        encoding="utf-8",
    )
    code, out, err = invoke("sync", "p.yaml", "--dry-run", "--json")
    assert code == 1  # the sample shows a row Salesforce would refuse
    plan = _json(out)
    assert isinstance(plan, dict)
    assert plan["sample_errors"] == [
        {
            "row_number": 2,
            "error_code": "REQUIRED_FIELD_MISSING",
            "error_message": "Required fields are missing: [Name]",
        }
    ]
    assert plan["rows"] == 30
    assert plan["strategy"] == "composite"
    assert not (tmp_path / "failures").exists()
    code, out, err = invoke("sync", "p.yaml", "--json")
    assert code == 1
    report = _json(out)
    assert isinstance(report, dict)
    assert (report["successful"], report["failed"]) == (29, 1)
    assert Path(report["failure_file"]).is_file()
    code, out, _ = invoke("sync", "p.yaml", "--resume")
    assert code == 1
    assert "(resumed)" in out
    code, _, err = invoke("sync", "nope.yaml")
    assert code == 2
    assert "cannot read" in err


def test_demo_small(home: Path) -> None:
    code, out, err = invoke("demo", "--records", "600", "--json")
    assert code == 0, err
    summary = _json(out)
    assert isinstance(summary, dict)
    assert summary["failure_counts"] == {
        "STRING_TOO_LONG": 3,
        "REQUIRED_FIELD_MISSING": 3,
        "INVALID_EMAIL_ADDRESS": 3,
        "INVALID_FIELD": 3,
    }
    assert summary["loaded"] == 600 - 12
    assert summary["export_rows"] == 480 - 9
    assert "org: local (" in err
    code, _, err = invoke("demo", "--org", "prod")
    assert code == 2


def test_wait_running_out_prints_the_job_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kinetic_core.emulator.server import LocalOrg

    base = tmp_path / "slow"
    monkeypatch.setenv("KINETIC_HOME", str(base))
    monkeypatch.chdir(tmp_path)
    source = _write_accounts(tmp_path / "acc.csv", 5)
    with LocalOrg(data_dir=base / "local", bulk_job_delay_seconds=30):
        code, out, err = invoke(
            "load",
            "Account",
            str(source),
            "--strategy",
            "bulk",
            "--wait",
            "0.002",
            "--results-dir",
            "r",
            "--json",
        )
        assert code == 4
        error = _json(out)["error"]  # type: ignore[index]
        job = error["job_ids"][0]
        assert job.startswith("750")
        resume = (
            "the job goes on in Salesforce; "
            f"resume with: kinetic jobs wait {job}, then kinetic jobs results {job}"
        )
        assert resume in err
        assert error["resume"] == resume
        assert "wait()" not in err  # the library's advice is not the command line's
        code, out, err = invoke(
            "export", "SELECT Id FROM Account", "--out", "a.csv", "--wait", "0.002", "--json"
        )
        assert code == 4
        export_job = _json(out)["error"]["job_ids"][0]  # type: ignore[index]
        assert (
            f"resume with: kinetic jobs wait {export_job}, then kinetic jobs results {export_job} --out a.csv"
            in err
        )
        code, out, _ = invoke("jobs", "abort", job, "--json")
        assert code == 0
        assert _json(out)["state"] == "Aborted"  # type: ignore[index]
