"""``kinetic load`` checks the object, columns, operation and external id against describe before sending
(the real ``kinetic`` process against the emulator; the org's job list shows nothing was sent)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kinetic_core import SalesforceClient

KINETIC = Path(sys.executable).parent / "kinetic"


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KINETIC_HOME": str(home)}
    return subprocess.run(
        [str(KINETIC), *args],
        cwd=home.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _jobs(home: Path) -> list[str]:
    with SalesforceClient.connect("local", home=home) as client:
        return [job.id for job in client.bulk.list_jobs()]


def _contacts(home: Path) -> int:
    with SalesforceClient.connect("local", home=home) as client:
        return client.count("Contact")


def _csv(home: Path, text: str) -> str:
    path = home.parent / "c.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_misspelt_object_is_named_with_the_closest_and_no_job_is_sent(home: Path) -> None:
    source = _csv(home, "LastName,Email\n" + "".join(f"Ng{n},n{n}@example.com\n" for n in range(200)))
    result = _run(home, "load", "Contactt", source, "--strategy", "bulk")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("error:") == 1
    assert "object Contactt: not found in the org (did you mean Contact?)" in result.stderr
    assert "nothing was sent" in result.stderr
    assert "Traceback" not in result.stderr
    assert _jobs(home) == []
    as_json = _run(home, "load", "Contactt", source, "--strategy", "bulk", "--json")
    error = json.loads(as_json.stdout)["error"]
    assert (error["type"], error["exit_code"]) == ("LoadCheckError", 2)
    assert error["problems"] == ["object Contactt: not found in the org (did you mean Contact?)"]
    assert _jobs(home) == []


def test_every_bad_column_is_named_in_one_error(home: Path) -> None:
    source = _csv(home, "LastName,Emial,Phnoe,Account.Nmae,Acount.External_Id__c\nNg,a@b.c,1,x,y\n")
    result = _run(home, "load", "Contact", source, "--strategy", "bulk")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("error:") == 1
    assert "4 problems" in result.stderr
    for line in (
        "column Emial: Contact has no field Emial (did you mean Email?)",
        "column Phnoe: Contact has no field Phnoe (did you mean Phone?)",
        "column Account.Nmae: Account has no field Nmae that identifies a record",
        "column Acount.External_Id__c: Contact has no relationship Acount (did you mean Account?)",
    ):
        assert line in result.stderr
    assert _jobs(home) == []
    assert _contacts(home) == 0


def test_a_relationship_path_to_a_field_that_is_not_a_key(home: Path) -> None:
    source = _csv(home, "LastName,Account.Name\nNg,Acme\n")
    result = _run(home, "load", "Contact", source, "--json")
    assert result.returncode == 2
    problems = json.loads(result.stdout)["error"]["problems"]
    assert len(problems) == 1
    assert problems[0].startswith("column Account.Name: Account.Name is not an external id or idLookup field")
    assert _contacts(home) == 0
    good = _csv(home, "LastName,Account.External_Id__c,Owner.Username\nNg,,\n")
    loaded = _run(home, "load", "Contact", good, "--json")
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["successful"] == 1


def test_external_id_must_be_an_external_id_or_idlookup_field(home: Path) -> None:
    source = _csv(home, "LastName,External_Id__c\nNg,E1\n")
    result = _run(home, "load", "Contact", source, "--operation", "upsert", "--external-id", "LastName")
    assert result.returncode == 2
    assert "--external-id LastName: Contact.LastName is not an external id or idLookup field" in result.stderr
    typo = _run(home, "load", "Contact", source, "-p", "upsert", "-i", "External_Idd__c", "--json")
    problems = json.loads(typo.stdout)["error"]["problems"]
    assert problems == [
        "--external-id External_Idd__c: Contact has no field External_Idd__c (did you mean External_Id__c?)"
    ]
    assert _jobs(home) == []
    assert _contacts(home) == 0
    ok = _run(home, "load", "Contact", source, "-p", "upsert", "-i", "External_Id__c", "--json")
    assert ok.returncode == 0, ok.stderr


def test_operation_needs_its_columns_and_no_check_sends_anyway(home: Path) -> None:
    source = _csv(home, "LastName\nNg\n")
    update = _run(home, "load", "Contact", source, "--operation", "update", "--json")
    assert update.returncode == 2
    assert json.loads(update.stdout)["error"]["problems"] == [
        "column Id: update needs an Id column (the records to change)"
    ]
    bad = _csv(home, "LastName,Emial\nNg,a@b.c\n")
    sent = _run(home, "load", "Contact", bad, "--no-check", "--strategy", "bulk", "--json")
    assert sent.returncode == 4  # the job failed as a whole: it was sent
    assert len(_jobs(home)) == 1
