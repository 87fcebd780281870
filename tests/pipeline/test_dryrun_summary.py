"""Dry run: repeated sample errors summarised by code, mapping sources missing from the source header."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kinetic_core import FieldMapper, SalesforceClient
from kinetic_core.pipeline import SyncPipeline

KINETIC = Path(sys.executable).parent / "kinetic"


def _csv(path: Path, rows: int) -> Path:
    lines = ["id,last_name,email"] + [f"C-{n},Name {n},n{n}@example.com" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_unmapped_upsert_key_is_one_summary_line_not_a_hundred(
    client: SalesforceClient, tmp_path: Path
) -> None:
    source = _csv(tmp_path / "contacts.csv", 100)
    pipeline = SyncPipeline(
        client,
        "Contact",
        operation="upsert",
        external_id_field="External_Id__c",
        mapper=FieldMapper({"last_name": "LastName", "email": "Email"}),
        failure_dir=tmp_path / "failures",
    )
    plan = pipeline.dry_run(source, sample=100)
    assert len(plan.sample_errors) == 100
    assert {e["error_code"] for e in plan.sample_errors} == {"MISSING_KEY"}
    text = plan.render()
    assert text.count("MISSING_KEY") == 1
    assert "MISSING_KEY: 100 of 100 sampled rows, e.g." in text
    assert "  row 1: " in text
    assert "  row 3: " in text
    assert "  row 4: " not in text
    assert "... and 97 more" in text
    summary = plan.to_dict()["error_summary"]
    assert summary == [{"error_code": "MISSING_KEY", "count": 100, "rows": [1, 2, 3]}]


def test_a_single_failing_row_keeps_its_own_line(client: SalesforceClient, tmp_path: Path) -> None:
    pipeline = SyncPipeline(client, "Account", mapper=FieldMapper({"n": "Name"}), failure_dir=tmp_path / "f")
    plan = pipeline.dry_run([{"n": "Acme"}, {"n": None}])
    assert "row 2: REQUIRED_FIELD_MISSING: Required fields are missing: [Name]" in plan.render()


def test_mapping_sources_missing_from_the_header_are_warned(client: SalesforceClient, tmp_path: Path) -> None:
    source = _csv(tmp_path / "contacts.csv", 5)
    mapper = FieldMapper(
        {
            "id": "External_Id__c",
            "lastname": "LastName",  # the column is last_name
            "EMAIL": "Email",  # header names are compared without regard to case
            "address.city": "MailingCity",
        },
        constants={"LeadSource": "Web"},
    )
    pipeline = SyncPipeline(
        client,
        "Contact",
        operation="upsert",
        external_id_field="External_Id__c",
        mapper=mapper,
        failure_dir=tmp_path / "failures",
    )
    plan = pipeline.dry_run(source)
    missing = [i for i in plan.issues if i.code.value == "SOURCE_NOT_FOUND"]
    assert [(i.severity, i.field) for i in missing] == [("warning", "LastName"), ("warning", "MailingCity")]
    assert "reads 'lastname', which is not a column of the source (columns: id, last_name, email)" in (
        missing[0].message
    )
    assert "warning: SOURCE_NOT_FOUND LastName:" in plan.render()
    # Records without a header: the sampled keys are the columns.
    listed = pipeline.dry_run([{"id": "C-1", "last_name": "Ng", "EMAIL": "a@b.co"}])
    assert [i.field for i in listed.issues if i.code.value == "SOURCE_NOT_FOUND"] == [
        "LastName",
        "MailingCity",
    ]


def test_the_cli_dry_run_prints_the_summary(home: Path, tmp_path: Path) -> None:
    _csv(tmp_path / "contacts.csv", 40)
    (tmp_path / "p.yaml").write_text(
        "object: Contact\noperation: upsert\nexternal_id: External_Id__c\nsource: {path: contacts.csv}\n"
        "mapping: {fields: {LastName: last_name, Email: email}}\n",
        encoding="utf-8",
    )

    def sync(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(KINETIC), "sync", str(tmp_path / "p.yaml"), "--dry-run", *extra],
            env={**os.environ, "KINETIC_HOME": str(home)},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    text = sync()
    assert text.returncode == 1, text.stderr
    assert text.stdout.count("MISSING_KEY") == 1, text.stdout
    assert "MISSING_KEY: 40 of 40 sampled rows, e.g." in text.stdout
    as_json = sync("--json")
    assert json.loads(as_json.stdout)["error_summary"] == [
        {"error_code": "MISSING_KEY", "count": 40, "rows": [1, 2, 3]}
    ]
