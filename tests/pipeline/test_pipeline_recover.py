"""Settling the batch in flight at a crash: cost that grows with the rows, not with their square, and
in-doubt inserts settled by their external id."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from kinetic_core import FieldMapper, SalesforceClient
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.load import Thresholds
from kinetic_core.pipeline import SyncPipeline, recover
from kinetic_core.pipeline.indoubt import MAX_QUERY_BYTES, MAX_SOQL_CHARS, KeyField, key_field, lookup_chunks
from kinetic_core.pipeline.runner import Item

FAST = PollPolicy(initial=0.02, maximum=0.1)


class Crash(BaseException):
    """Stands for the process dying at a journal step."""


def _crash_at(step: str, after: int = 1) -> Any:
    seen = Counter[str]()

    def checkpoint(name: str) -> None:
        seen[name] += 1
        if name == step and seen[name] == after:
            raise Crash(name)

    return checkpoint


def _refs(client: SalesforceClient) -> Counter[str]:
    return Counter(str(r["External_Id__c"]) for r in client.query("SELECT External_Id__c FROM Account"))


def test_bulk_recovery_encodes_each_row_once_per_column_set(
    client: SalesforceClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = 1500
    source = tmp_path / "a.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["company", "ref"])
        for n in range(1, rows + 1):
            writer.writerow([f'Company "{n}",\nline two é' if n % 7 == 0 else f"Company {n}", f"R{n:05d}"])
    mapper = FieldMapper.from_dict({"fields": {"Name": "company", "External_Id__c": "ref"}})
    kwargs: dict[str, Any] = {
        "mapper": mapper,
        "failure_dir": tmp_path / "f",
        "strategy": "bulk",
        "batch_size": rows,
        "max_records_per_job": 500,
        "poll": FAST,
        "thresholds": Thresholds(),
    }
    with pytest.raises(Crash):
        SyncPipeline(client, "Account", checkpoint=_crash_at("batch_sent"), **kwargs).run(source)
    calls = Counter[str]()
    real = recover.encode_record

    def counting(record: Any) -> dict[str, str]:
        calls["encode"] += 1
        return real(record)

    monkeypatch.setattr(recover, "encode_record", counting)
    report = SyncPipeline(client, "Account", **kwargs).run(source, resume=True)
    assert (report.rows, report.successful, report.recovered_batches) == (rows, rows, 1)
    # three jobs share one column set: one index over the batch, not one per result row
    assert 0 < calls["encode"] <= rows
    refs = _refs(client)
    assert len(refs) == rows
    assert max(refs.values()) == 1


# ------------------------------------------------------------------ in-doubt inserts settled by external id
def _ids(client: SalesforceClient) -> dict[str, str]:
    return {
        str(r["External_Id__c"]): str(r["Id"]) for r in client.query("SELECT Id, External_Id__c FROM Account")
    }


def _ext_mapper() -> FieldMapper:
    return FieldMapper.from_dict({"fields": {"Name": "company", "External_Id__c": "ref"}})


def test_composite_insert_in_flight_is_settled_by_external_id(
    client: SalesforceClient, tmp_path: Path
) -> None:
    rows = [{"company": f"C{n}", "ref": "" if n in (260, 261) else f"Q{n}"} for n in range(1, 501)]
    kwargs: dict[str, Any] = {"mapper": _ext_mapper(), "failure_dir": tmp_path / "f", "strategy": "composite"}
    with pytest.raises(Crash):
        SyncPipeline(client, "Account", checkpoint=_crash_at("batch_sent", 2), **kwargs).run(rows)
    # the second call (rows 201-400) was saved; make 50 of its records disappear as if it had stopped short
    stored = {
        str(r["External_Id__c"]): str(r["Id"]) for r in client.query("SELECT Id, External_Id__c FROM Account")
    }
    gone = [stored[f"Q{n}"] for n in range(201, 251)]
    assert all(r.success for r in client.delete_batch(gone))
    successes: dict[int, str | None] = {}
    report = SyncPipeline(
        client, "Account", on_record_success=lambda n, _src, rid: successes.__setitem__(n, rid), **kwargs
    ).run(rows, resume=True)
    # rows 201-250 absent: sent again; 251-400 found; 260 and 261 have no external id: still in doubt
    assert (report.rows, report.successful, report.in_doubt, report.recovered_batches) == (500, 498, 2, 1)
    assert report.error_counts == {"IN_DOUBT": 2}
    live = {
        str(r["External_Id__c"] or ""): str(r["Id"])
        for r in client.query("SELECT Id, External_Id__c FROM Account")
    }
    refs = _refs(client)
    assert refs["None"] == 2  # the two rows without a key were saved, once each
    assert set(refs) - {"None"} == {f"Q{n}" for n in range(1, 501) if n not in (260, 261)}
    assert max(n for k, n in refs.items() if k != "None") == 1
    for n in range(201, 401):
        if n not in (260, 261):
            assert successes[n] == live[f"Q{n}"]  # found rows carry the org's Id
    assert successes[300] == stored["Q300"]
    assert successes[201] != stored["Q201"]  # re-sent: a new record


def test_insert_journalled_but_never_sent_is_sent_once(client: SalesforceClient, tmp_path: Path) -> None:
    rows = [{"company": f"C{n}", "ref": f"S{n}"} for n in range(1, 401)]
    kwargs: dict[str, Any] = {
        "mapper": _ext_mapper(),
        "failure_dir": tmp_path / "f",
        "strategy": "rest",
        "external_id_field": "External_Id__c",
    }
    with pytest.raises(Crash):
        SyncPipeline(client, "Account", checkpoint=_crash_at("batch_started", 2), **kwargs).run(rows)
    assert len(_refs(client)) == 200
    report = SyncPipeline(client, "Account", **kwargs).run(rows, resume=True)
    assert (report.successful, report.in_doubt, report.recovered_batches) == (400, 0, 1)
    refs = _refs(client)
    assert len(refs) == 400
    assert max(refs.values()) == 1


NON_UNIQUE = """
fields:
  Account:
    Legacy__c: {type: text, length: 40, external_id: true}
"""


def test_non_unique_external_id_settles_only_absent_rows(tmp_path: Path) -> None:
    schema = tmp_path / "schema.yaml"
    schema.write_text(NON_UNIQUE, encoding="utf-8")
    home = tmp_path / "home"
    with LocalOrg(data_dir=home / "local", schema=schema), SalesforceClient.connect("local", home=home) as sf:
        rows = [{"company": f"C{n}", "legacy": f"L{n}"} for n in range(1, 301)]
        mapper = FieldMapper.from_dict({"fields": {"Name": "company", "Legacy__c": "legacy"}})
        kwargs: dict[str, Any] = {"mapper": mapper, "failure_dir": tmp_path / "f", "strategy": "composite"}
        with pytest.raises(Crash):
            SyncPipeline(sf, "Account", checkpoint=_crash_at("batch_sent", 1), **kwargs).run(rows)
        stored = {str(r["Legacy__c"]): str(r["Id"]) for r in sf.query("SELECT Id, Legacy__c FROM Account")}
        assert all(r.success for r in sf.delete_batch([stored[f"L{n}"] for n in range(1, 21)]))
        report = SyncPipeline(sf, "Account", **kwargs).run(rows, resume=True)
        # absent rows 1-20 sent again; rows 21-200 found, but a non-unique value proves nothing
        assert (report.successful, report.in_doubt) == (120, 180)
        legacy = Counter(str(r["Legacy__c"]) for r in sf.query("SELECT Legacy__c FROM Account"))
        assert len(legacy) == 300
        assert max(legacy.values()) == 1


# ------------------------------------------------------------------ the pure parts
def _field(name: str, **spec: Any) -> dict[str, Any]:
    return {"name": name, "type": "string", "filterable": True, "externalId": False, "unique": False, **spec}


DESCRIBE = {
    "fields": [
        _field("Id", type="id", idLookup=True),
        _field("Name", idLookup=True),
        _field("Code__c", externalId=True, unique=True),
        _field("Other__c", externalId=True, unique=True),
        _field("Num__c", type="double", externalId=True, unique=True),
        _field("Hidden__c", externalId=True, unique=True, filterable=False),
    ]
}


def _item(**record: Any) -> Item:
    return Item(1, {}, record)


def test_key_field_choice() -> None:
    items = [_item(Name="A", Other__c="o", Code__c="c")]
    assert key_field(DESCRIBE, None, items) == KeyField("Other__c", True)  # first external id mapped
    assert key_field(DESCRIBE, "code__c", items) == KeyField("Code__c", True)  # declared wins
    assert key_field(DESCRIBE, "Name", [_item(Name="A")]) is None  # idLookup is not an external id
    assert key_field(DESCRIBE, None, [_item(Name="A", Num__c=3)]) is None  # numbers are not compared
    assert key_field(DESCRIBE, None, [_item(Hidden__c="h")]) is None  # not filterable
    assert key_field(DESCRIBE, None, [_item(Account={"Code__c": "x"})]) is None  # a relationship, not a key
    assert key_field(DESCRIBE, "Missing__c", [_item(Code__c="c")]) == KeyField("Code__c", True)


def test_lookup_chunks_stay_under_the_length_limits() -> None:
    values = [f"Ünïcødé 'quoted' \\ {i:05d} " + "x" * 200 for i in range(2000)]
    chunks = list(lookup_chunks("Account", "External_Id__c", values))
    assert len(chunks) > 1
    assert all(len(quote_plus(c)) <= MAX_QUERY_BYTES and len(c) <= MAX_SOQL_CHARS for c in chunks)
    literals = [lit for c in chunks for lit in c.split(" IN (", 1)[1][:-1].split("','")]
    assert len(literals) == len(values)
    one = next(iter(lookup_chunks("Account", "Ext__c", ["O'B"])))
    assert one == "SELECT Id, Ext__c FROM Account WHERE Ext__c IN ('O\\'B')"
    assert list(lookup_chunks("Account", "Ext__c", [])) == []
