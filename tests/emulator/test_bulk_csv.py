"""Bulk API 2.0 ingest CSV rules, operations and result files (engine, no HTTP)."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinetic_core.emulator.bulk import BulkEngine, BulkLimits, JobKind, JobState
from kinetic_core.emulator.bulk.csvio import BadRecord, Record, plan_header
from kinetic_core.emulator.bulk.ingest import BatchApplier
from kinetic_core.emulator.bulk.models import Operation
from kinetic_core.emulator.store.custom import build_schema
from kinetic_core.emulator.store.records import Store

V = "62.0"
DELIMS = {"COMMA": ",", "SEMICOLON": ";", "PIPE": "|", "TAB": "\t", "CARET": "^", "BACKQUOTE": "`"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "org.sqlite", build_schema())
    yield s
    s.close()


def engine_for(store: Store, **kw: Any) -> BulkEngine:
    return BulkEngine(store, None, sleep=lambda _s: None, rng=kw.pop("rng", random.Random(3)), **kw)


@pytest.fixture
def engine(store: Store) -> BulkEngine:
    return engine_for(store)


def run(engine: BulkEngine, store: Store, data: bytes | str, **spec: Any) -> str:
    body = {"object": "Account", "operation": "insert", **spec}
    job_id = engine.create_ingest_job(body, user_id=store.admin_user_id, api_version=V).id
    engine.upload(job_id, [data.encode() if isinstance(data, str) else data])
    engine.close_job(job_id)
    engine.run_pending()
    return job_id


def results(engine: BulkEngine, job_id: str, kind: str) -> str:
    return b"".join(engine.ingest_results(job_id, kind)).decode()


def rows(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def account(store: Store, record_id: str, *fields: str) -> dict[str, Any]:
    return store.get("Account", record_id, list(fields) or None)


# --- parsing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DELIMS))
def test_all_delimiters(engine: BulkEngine, store: Store, name: str) -> None:
    d = DELIMS[name]
    data = f'Name{d}Phone{d}Description\nAcme{d}555{d}"has {d} and ""quotes"""\n'
    job_id = run(engine, store, data, columnDelimiter=name)
    ok = results(engine, job_id, "successfulResults")
    parsed = rows(ok, d)
    assert parsed[0] == ["sf__Id", "sf__Created", "Name", "Phone", "Description"]
    assert parsed[1][1:] == ["true", "Acme", "555", f'has {d} and "quotes"']
    assert ok.startswith(f'"sf__Id"{d}"sf__Created"{d}Name{d}Phone{d}Description\n')
    rec = account(store, parsed[1][0], "Description")
    assert rec["Description"] == f'has {d} and "quotes"'


def test_crlf_job_and_embedded_newlines(engine: BulkEngine, store: Store) -> None:
    data = 'Name,Description\r\nAcme,"line1\r\nline2"\r\nBeta,plain\r\n'
    job_id = run(engine, store, data, lineEnding="CRLF")
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.state is JobState.JOB_COMPLETE
    assert job.processed == 2
    ok = results(engine, job_id, "successfulResults")
    assert ok.endswith("\r\n")
    assert "\nBeta" not in ok.replace("\r\n", "")
    parsed = rows(ok)
    assert account(store, parsed[1][0], "Description")["Description"] == "line1\r\nline2"


@pytest.mark.parametrize(("setting", "data"), [("LF", "Name\r\nAcme\r\n"), ("CRLF", "Name\nAcme\n")])
def test_line_ending_mismatch_fails_job(engine: BulkEngine, store: Store, setting: str, data: str) -> None:
    job_id = run(engine, store, data, lineEnding=setting)
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.state is JobState.FAILED
    assert job.processed == 0
    assert job.error_message == (
        f"ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {setting}"
    )
    assert job.info()["errorMessage"] == job.error_message
    assert rows(results(engine, job_id, "unprocessedrecords")) == [["Name"], ["Acme"]]


def test_bom_and_case_insensitive_header(engine: BulkEngine, store: Store) -> None:
    job_id = run(engine, store, "\ufeffNAME,phone,AnnualRevenue\nÄcme Ünïcode,1,2000\n".encode())
    parsed = rows(results(engine, job_id, "successfulResults"))
    assert parsed[0] == ["sf__Id", "sf__Created", "NAME", "phone", "AnnualRevenue"]
    rec = account(store, parsed[1][0], "Name", "Phone", "AnnualRevenue")
    assert (rec["Name"], rec["Phone"], rec["AnnualRevenue"]) == ("Äcme Ünïcode", "1", 2000)


def test_unknown_column_fails_job(engine: BulkEngine, store: Store) -> None:
    job_id = run(engine, store, "Name,ContactId__c\nA,1\n")
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.state is JobState.FAILED
    assert job.processed == 0
    assert job.error_message == "InvalidBatch : Field name not found : ContactId__c"
    assert store.record_counts()["Account"] == 0


def test_bad_relationship_header_fails_job(engine: BulkEngine, store: Store) -> None:
    job_id = run(engine, store, "LastName,Acount.External_Id__c\nX,1\n", object="Contact")
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.error_message == "InvalidBatch : Unable to find relationship: Acount"
    job_id = run(engine, store, "LastName,Account.Nope__c\nX,1\n", object="Contact")
    assert engine.get_job(job_id, JobKind.INGEST).error_message == (
        "InvalidBatch : Field name not found : Account.Nope__c"
    )


def test_relationship_columns(engine: BulkEngine, store: Store) -> None:
    parent = store.insert("Account", {"Name": "P", "External_Id__c": "A1"})
    data = f"LastName,account.external_id__c,Owner.Id\nKid,A1,{store.admin_user_id}\nLost,ZZ,\n"
    job_id = run(engine, store, data, object="Contact")
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.state is JobState.JOB_COMPLETE
    assert (job.processed, job.failed) == (2, 1)
    ok = rows(results(engine, job_id, "successfulResults"))
    assert ok[0][2:] == ["LastName", "account.external_id__c", "Owner.Id"]
    kid = store.get("Contact", ok[1][0], ["AccountId", "OwnerId"])
    assert kid["AccountId"] == parent
    assert kid["OwnerId"] == store.admin_user_id
    failed = rows(results(engine, job_id, "failedResults"))
    assert failed[0][:2] == ["sf__Id", "sf__Error"]
    assert failed[1][0] == ""
    assert "ZZ" in failed[1][1]
    assert failed[1][1].endswith(" --")
    assert failed[1][2:] == ["Lost", "ZZ", ""]


def test_na_nulls_and_empty_cells_unchanged(engine: BulkEngine, store: Store) -> None:
    rid = store.insert("Account", {"Name": "Keep", "Phone": "111", "Website": "w.example"})
    run(engine, store, f"Id,Phone,Website\n{rid},#N/A,\n", operation="update")
    rec = account(store, rid, "Name", "Phone", "Website")
    assert rec["Phone"] is None
    assert rec["Website"] == "w.example"
    assert rec["Name"] == "Keep"


def test_type_validation_row_errors_do_not_fail_job(engine: BulkEngine, store: Store) -> None:
    job_id = run(engine, store, "Name,NumberOfEmployees,AnnualRevenue\nGood,5,1.5\nBad,many,x\n")
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.state is JobState.JOB_COMPLETE
    assert (job.processed, job.failed) == (2, 1)
    failed = rows(results(engine, job_id, "failedResults"))
    assert failed[1][1].startswith("INVALID_FIELD:") or failed[1][1].split(":")[0] in (
        "INVALID_TYPE",
        "INVALID_FIELD",
    )
    assert failed[1][2:] == ["Bad", "many", "x"]


def test_per_record_limits(store: Store) -> None:
    engine = engine_for(
        store, limits=BulkLimits(max_field_chars=10, max_record_chars=15, max_fields_per_record=3)
    )
    data = "Name,Phone,Description\nOk,1,2\nToolong,1,12345678901\nA,12345678,1234567\nX,1,2,extra\n"
    job_id = run(engine, store, data)
    job = engine.get_job(job_id, JobKind.INGEST)
    assert (job.processed, job.failed) == (4, 3)
    errors = [r[1] for r in rows(results(engine, job_id, "failedResults"))[1:]]
    assert errors[0].startswith("STRING_TOO_LONG:Description: data value too large: 11 characters")
    assert errors[1].startswith("LIMIT_EXCEEDED:Record has 16 characters")
    assert errors[2].startswith("INVALID_FIELD:Record has 4 values")


def test_field_count_limit(store: Store) -> None:
    engine = engine_for(store, limits=BulkLimits(max_fields_per_record=1))
    job_id = run(engine, store, "Name,Phone\nA,1\n")
    failed = rows(results(engine, job_id, "failedResults"))
    assert failed[1][1].startswith("LIMIT_EXCEEDED:Record has 2 fields; the limit is 1")


def test_default_field_limit_of_csv_parser_is_a_row_error(engine: BulkEngine, store: Store) -> None:
    big = "x" * 131_073
    job_id = run(engine, store, f"Name,Description\nA,{big}\nB,ok\n")
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.state is JobState.JOB_COMPLETE
    assert job.failed == 1
    assert rows(results(engine, job_id, "successfulResults"))[1][2] == "B"


# --- operations -----------------------------------------------------------------------------------


def test_update(engine: BulkEngine, store: Store) -> None:
    rid = store.insert("Account", {"Name": "Old"})
    job_id = run(engine, store, f"ID,Name\n{rid},New\n,NoId\n001000000000000AAA,Ghost\n", operation="update")
    job = engine.get_job(job_id, JobKind.INGEST)
    assert (job.processed, job.failed) == (3, 2)
    ok = rows(results(engine, job_id, "successfulResults"))
    assert ok[1][:2] == [rid, "false"]
    assert ok[0][2:] == ["ID", "Name"]
    failed = rows(results(engine, job_id, "failedResults"))
    assert failed[1][1].startswith("MISSING_ARGUMENT:Id not specified")
    assert failed[2][0] == "001000000000000AAA"
    assert account(store, rid, "Name")["Name"] == "New"


def test_upsert_by_external_id(engine: BulkEngine, store: Store) -> None:
    existing = store.insert("Account", {"Name": "Old", "External_Id__c": "E1"})
    data = "External_Id__c,Name\nE1,Updated\nE2,Created\n,Blank\n"
    job_id = run(engine, store, data, operation="upsert", externalIdFieldName="External_Id__c")
    ok = rows(results(engine, job_id, "successfulResults"))
    assert ok[1][:2] == [existing, "false"]
    assert ok[1][3] == "Updated"
    assert ok[2][1] == "true"
    failed = rows(results(engine, job_id, "failedResults"))
    assert len(failed) == 2
    assert failed[1][1].startswith("MISSING_ARGUMENT")
    assert account(store, existing, "Name")["Name"] == "Updated"


def test_upsert_missing_external_id_column_fails_job(engine: BulkEngine, store: Store) -> None:
    job_id = run(engine, store, "Name\nA\n", operation="upsert", externalIdFieldName="External_Id__c")
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.state is JobState.FAILED
    assert job.error_message == "InvalidBatch : Field name not found : External_Id__c"


def test_upsert_on_id_without_column_inserts(engine: BulkEngine, store: Store) -> None:
    job_id = run(engine, store, "NAME,PHONE\nA,1\nB,2\n", operation="upsert", externalIdFieldName="Id")
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.state is JobState.JOB_COMPLETE
    assert (job.processed, job.failed) == (2, 0)
    ok = rows(results(engine, job_id, "successfulResults"))
    assert [r[1] for r in ok[1:]] == ["true", "true"]
    assert ok[0] == ["sf__Id", "sf__Created", "NAME", "PHONE"]


def test_upsert_on_id_with_column(engine: BulkEngine, store: Store) -> None:
    rid = store.insert("Account", {"Name": "Old"})
    job_id = run(engine, store, f"Id,Name\n{rid},New\n,Fresh\n", operation="upsert", externalIdFieldName="Id")
    ok = rows(results(engine, job_id, "successfulResults"))
    assert sorted(r[1] for r in ok[1:]) == ["false", "true"]
    assert account(store, rid, "Name")["Name"] == "New"


@pytest.mark.parametrize("operation", ["delete", "hardDelete"])
def test_delete_and_hard_delete(engine: BulkEngine, store: Store, operation: str) -> None:
    a = store.insert("Account", {"Name": "A"})
    b = store.insert("Account", {"Name": "B"})
    job_id = run(engine, store, f"Id\n{a}\n{b[:15]}\n\n", operation=operation)
    job = engine.get_job(job_id, JobKind.INGEST)
    assert (job.processed, job.failed) == (2, 0)
    ok = rows(results(engine, job_id, "successfulResults"))
    assert {r[0] for r in ok[1:]} == {a, b}
    assert {r[1] for r in ok[1:]} == {"false"}
    assert store.record_counts()["Account"] == 0
    assert store.record_counts(include_deleted=True)["Account"] == (2 if operation == "delete" else 0)


def test_delete_of_unknown_id_is_row_error(engine: BulkEngine, store: Store) -> None:
    job_id = run(engine, store, "Id\n001000000000000AAA\n", operation="delete")
    failed = rows(results(engine, job_id, "failedResults"))
    assert failed[1][0] == "001000000000000AAA"
    assert failed[1][1].endswith(" --")


# --- results --------------------------------------------------------------------------------------


def test_failed_results_format_and_empty_files(engine: BulkEngine, store: Store) -> None:
    job_id = run(engine, store, "Name,Phone\n,555\n")
    failed = results(engine, job_id, "failedResults")
    assert (
        failed == '"sf__Id","sf__Error",Name,Phone\n'
        '"","REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",,555\n'
    )
    assert results(engine, job_id, "successfulResults") == '"sf__Id","sf__Created",Name,Phone\n'
    assert results(engine, job_id, "UNPROCESSEDRECORDS") == "Name,Phone\n"


def test_results_use_job_delimiter_and_crlf(engine: BulkEngine, store: Store) -> None:
    job_id = run(engine, store, "Name|Phone\r\nA|1\r\n", columnDelimiter="PIPE", lineEnding="CRLF")
    assert results(engine, job_id, "successfulResults").endswith("|A|1\r\n")
    assert results(engine, job_id, "failedResults") == '"sf__Id"|"sf__Error"|Name|Phone\r\n'


def test_shuffle_results_across_batches(store: Store) -> None:
    names = [f"N{i:03d}" for i in range(60)]
    data = "Name\n" + "".join(n + "\n" for n in names)
    plain = engine_for(store, limits=BulkLimits(batch_size=10))
    ordered = rows(results(plain, run(plain, store, data), "successfulResults"))[1:]
    assert [r[2] for r in ordered] == names

    def shuffled(seed: int) -> list[str]:
        eng = engine_for(
            store, limits=BulkLimits(batch_size=10), shuffle_results=True, rng=random.Random(seed)
        )
        return [r[2] for r in rows(results(eng, run(eng, store, data), "successfulResults"))[1:]]

    first = shuffled(11)
    assert sorted(first) == names
    assert first != names
    assert shuffled(11) == first
    positions = [first.index(n) for n in names[:10]]  # rows of the first batch spread across the file
    assert max(positions) >= 10


# --- realistic Contact rows: multi-line quoted values, non-ASCII, lookups, row failures mixed in ---

REALISTIC = (
    "FirstName,LastName,Email,Title,MailingStreet,Description,Account.External_Id__c\r\n"
    'Zoë,Müller 1,zoe@example.com,"VP, Sales","12 Rue de l\'Église\r\nBâtiment 3","Met at ""Expo"";\r\n'
    'prefers email",ACC-1\r\n'
    "Łukasz,Dvořák 2,,Ingénieur,Main St,,acc-2\r\n"
    "Søren,Ødegaard 3,not-an-email,,,,ACC-1\r\n"
    "José,García 4,,,,,NOPE\r\n"
    ',Ångström 5,,"Head of ""Growth""",,,\r\n'
    "Mei,,,,,,ACC-2\r\n"
    "Ana,Kim 7,,,,,#N/A\r\n"
    'Chloé,Lefèvre 8,,,"Line one\r\nLine two\r\nLine three",x,ACC-2\r\n'
)


@pytest.mark.parametrize("batch_size", [10_000, 3])
def test_realistic_contacts_store_exact_values_and_row_failures(store: Store, batch_size: int) -> None:
    """Clean rows and failing rows in the same batches: exact stored values, errors per row, row order."""
    acc1 = store.insert("Account", {"Name": "One", "External_Id__c": "ACC-1"})
    acc2 = store.insert("Account", {"Name": "Two", "External_Id__c": "ACC-2"})
    engine = engine_for(store, limits=BulkLimits(batch_size=batch_size))
    job_id = run(engine, store, REALISTIC.encode(), object="Contact", lineEnding="CRLF")
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.state is JobState.JOB_COMPLETE
    assert (job.processed, job.failed) == (8, 3)
    ok = rows(results(engine, job_id, "successfulResults"))
    assert [r[2:4] for r in ok[1:]] == [
        ["Zoë", "Müller 1"], ["Łukasz", "Dvořák 2"], ["", "Ångström 5"], ["Ana", "Kim 7"],
        ["Chloé", "Lefèvre 8"],
    ]  # fmt: skip
    assert all(r[1] == "true" for r in ok[1:])
    fields = ["FirstName", "LastName", "Name", "Email", "Title", "MailingStreet", "Description", "AccountId"]
    stored = [store.get("Contact", r[0], fields) for r in ok[1:]]
    assert [[s[f] for f in fields] for s in stored] == [
        ["Zoë", "Müller 1", "Zoë Müller 1", "zoe@example.com", "VP, Sales",
         "12 Rue de l'Église\r\nBâtiment 3", 'Met at "Expo";\r\nprefers email', acc1],
        ["Łukasz", "Dvořák 2", "Łukasz Dvořák 2", None, "Ingénieur", "Main St", None, acc2],
        [None, "Ångström 5", "Ångström 5", None, 'Head of "Growth"', None, None, None],
        ["Ana", "Kim 7", "Ana Kim 7", None, None, None, None, None],
        ["Chloé", "Lefèvre 8", "Chloé Lefèvre 8", None, None, "Line one\r\nLine two\r\nLine three", "x",
         acc2],
    ]  # fmt: skip
    failed = rows(results(engine, job_id, "failedResults"))
    assert [r[2:4] for r in failed[1:]] == [["Søren", "Ødegaard 3"], ["José", "García 4"], ["Mei", ""]]
    assert [r[0] for r in failed[1:]] == ["", "", ""]
    assert [r[1] for r in failed[1:]] == [
        "INVALID_EMAIL_ADDRESS:Email: invalid email address: not-an-email:Email --",
        "INVALID_FIELD:Foreign key external ID: NOPE not found for field External_Id__c in entity Account"
        ":AccountId --",
        "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
    ]
    assert store.record_counts()["Contact"] == 5


CHECK_CELLS = ["", "#N/A", "Acme", "1", "x" * 11, "Zoë", "a,b"]


@settings(max_examples=40, deadline=None)
@given(
    records=st.lists(
        st.lists(st.sampled_from(CHECK_CELLS), min_size=1, max_size=4)
        | st.just(BadRecord("CSV parse error: field larger than field limit (131072)")),
        min_size=1,
        max_size=6,
    ),
    keep_rows=st.booleans(),
)
def test_batch_checked_at_once_as_record_by_record(
    tmp_path_factory: pytest.TempPathFactory, records: list[Record], keep_rows: bool
) -> None:
    """A batch whose records all fit is accepted whole; any other batch is checked record by record.
    Forcing the record-by-record check on every batch gives the same results."""
    outputs = []
    for whole in (True, False):
        root = tmp_path_factory.mktemp("whole" if whole else "each")
        with Store(root / "org.db", build_schema(), clock=lambda: datetime(2024, 1, 2, tzinfo=UTC)) as s:
            limits = BulkLimits(max_field_chars=10, max_record_chars=15, max_fields_per_record=3)
            engine = engine_for(s, limits=limits)
            spec = {"object": "Account", "operation": "insert"}
            job = engine.create_ingest_job(spec, user_id=s.admin_user_id, api_version=V)
            account = s.schema.get("Account")
            assert account is not None
            plan = plan_header(s.schema, account, ["Name", "Phone", "Description"], Operation.INSERT, None)
            applier = BatchApplier(s, job, plan, limits, s.admin_user_id, keep_rows=keep_rows)
            with pytest.MonkeyPatch.context() as mp:
                if not whole:
                    mp.setattr(applier, "_all_fit", lambda _records: False)
                with s.transaction():
                    out = applier.apply(records)
            shown = [(rid, created, err and err.bulk_error()) for rid, created, err in out.rows]
            outputs.append((out.ok, out.fail, shown))
    assert outputs[0] == outputs[1]
