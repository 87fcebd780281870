"""Store: the many-rows paths used by Bulk API 2.0 (CSV text rows) and collections (JSON rows)."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kinetic_core.emulator.store import RowOutcome, Store, build_schema, ids


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "org.db", build_schema())
    yield s
    s.close()


def codes(outcomes: list[RowOutcome]) -> list[str | None]:
    return [o.error.error_code if o.error else None for o in outcomes]


def test_insert_many_csv_per_row_outcomes(store: Store) -> None:
    rows = [
        {"Name": "A", "AnnualRevenue": "1.5E6", "NumberOfEmployees": "12", "External_Id__c": "E1"},
        {"Name": "", "AnnualRevenue": "", "NumberOfEmployees": "", "External_Id__c": "E2"},
        {"Name": "C", "AnnualRevenue": "lots", "NumberOfEmployees": "", "External_Id__c": "E3"},
        {"Name": "D", "AnnualRevenue": "", "NumberOfEmployees": "", "External_Id__c": "e1"},
        {"Name": "E", "AnnualRevenue": "#N/A", "NumberOfEmployees": "", "External_Id__c": ""},
    ]
    out = store.insert_many("Account", rows)
    assert codes(out) == [None, "REQUIRED_FIELD_MISSING", "INVALID_FIELD", "DUPLICATE_VALUE", None]
    assert out[0].created
    assert out[0].id is not None
    assert out[1].id is None
    bad = out[2].error
    assert bad is not None
    assert (
        bad.message
        == "Failed to deserialize field at col 1. Due to, 'lots' is not a valid value for the type xsd:double"
    )
    assert bad.fields == ["AnnualRevenue"]
    assert bad.bulk_error().startswith("INVALID_FIELD:Failed to deserialize field at col 1.")
    dup = out[3].error
    assert dup is not None
    assert dup.message.endswith(out[0].id[:15])
    rec = store.get("Account", out[0].id)
    assert rec["AnnualRevenue"] == 1500000.0
    assert rec["NumberOfEmployees"] == 12
    assert store.record_counts()["Account"] == 2


def test_csv_relationship_columns(store: Store) -> None:
    store.insert_many("Account", [{"Name": "P", "External_Id__c": "P1"}])
    owner = store.user_by_username("standard@kinetic.local")
    assert owner is not None
    rows = [
        {"LastName": "A", "Account.External_Id__c": "P1", "Owner.Id": owner["Id"][:15]},
        {"LastName": "B", "Account.External_Id__c": "nope", "Owner.Id": ""},
        {"LastName": "C", "Account.External_Id__c": "", "Owner.Id": ""},
        {"LastName": "D", "Account.Name": "P", "Owner.Id": ""},
    ]
    out = store.insert_many("Contact", rows)
    assert codes(out) == [None, "INVALID_FIELD", None, "INVALID_FIELD"]
    assert out[1].error is not None
    assert (
        out[1].error.message
        == "Foreign key external ID: nope not found for field External_Id__c in entity Account"
    )
    a = store.get("Contact", out[0].id or "")
    assert a["AccountId"] is not None
    assert a["OwnerId"] == owner["Id"]
    assert store.get("Contact", out[2].id or "")["AccountId"] is None
    out = store.insert_many("Contact", [{"LastName": "X", "Bogus.Field": "1"}])
    assert codes(out) == ["INVALID_FIELD"]


def test_json_rows(store: Store) -> None:
    out = store.insert_many(
        "Account",
        [
            {"attributes": {"type": "Account"}, "Name": "J1", "NumberOfEmployees": 5},
            {"Name": "J2", "NumberOfEmployees": "many"},
        ],
        source="json",
    )
    assert codes(out) == [None, "JSON_PARSER_ERROR"]


def test_update_many(store: Store) -> None:
    ins = store.insert_many("Account", [{"Name": "A", "Phone": "1"}, {"Name": "B", "Phone": "2"}])
    a, b = (o.id or "" for o in ins)
    deleted = store.insert_many("Account", [{"Name": "Z"}])[0].id or ""
    store.delete("Account", deleted)
    rows = [
        {"Id": a[:15], "Name": "", "Phone": "#N/A"},
        {"ID": b, "Name": "B2", "Phone": ""},
        {"Id": "", "Name": "x", "Phone": ""},
        {"Id": ids.make_id("001", 99_999), "Name": "x", "Phone": ""},
        {"Id": deleted, "Name": "x", "Phone": ""},
        {"Id": "003000000000001", "Name": "x", "Phone": ""},
    ]
    out = store.update_many("account", rows)
    assert codes(out) == [
        None,
        None,
        "MISSING_ARGUMENT",
        "INVALID_CROSS_REFERENCE_KEY",
        "ENTITY_IS_DELETED",
        "MALFORMED_ID",
    ]
    assert not out[0].created
    assert out[0].id == a
    ra, rb = store.get("Account", a), store.get("Account", b)
    assert (ra["Name"], ra["Phone"]) == ("A", None)
    assert (rb["Name"], rb["Phone"]) == ("B2", "2")


def test_upsert_many(store: Store) -> None:
    store.insert_many("Account", [{"Name": "Old", "External_Id__c": "X1"}])
    rows = [
        {"External_Id__c": "x1", "Name": "Updated"},
        {"External_Id__c": "X2", "Name": "New"},
        {"External_Id__c": "X3", "Name": "Twice"},
        {"External_Id__c": "X3", "Name": "Twice again"},
        {"External_Id__c": "", "Name": "No key"},
        {"External_Id__c": "X4", "Name": ""},
    ]
    out = store.upsert_many("Account", "External_Id__c", rows)
    assert codes(out) == [None, None, "DUPLICATE_EXTERNAL_ID", "DUPLICATE_EXTERNAL_ID", "MISSING_ARGUMENT",
                          "REQUIRED_FIELD_MISSING"]  # fmt: skip
    assert [o.created for o in out[:2]] == [False, True]
    assert store.get("Account", out[0].id or "")["Name"] == "Updated"
    assert store.find_ids("Account", "External_Id__c", "X2") == [out[1].id]
    # upsert on Id: rows without an Id are inserted
    by_id = store.upsert_many(
        "Account", "Id", [{"Id": out[1].id or "", "Name": "N2"}, {"Id": "", "Name": "Fresh"}]
    )
    assert codes(by_id) == [None, None]
    assert [o.created for o in by_id] == [False, True]
    # several existing matches on a non-unique id-lookup field
    store.insert_many(
        "Contact", [{"LastName": "A", "Email": "d@x.com"}, {"LastName": "B", "Email": "d@x.com"}]
    )
    out = store.upsert_many("Contact", "Email", [{"Email": "d@x.com", "LastName": "C"}])
    assert codes(out) == ["DUPLICATE_EXTERNAL_ID"]


def test_delete_many(store: Store) -> None:
    ins = store.insert_many("Account", [{"Name": "A"}, {"Name": "B"}])
    a, b = (o.id or "" for o in ins)
    out = store.delete_many("Account", [a, a, "bad", ids.make_id("001", 424_242)])
    assert codes(out) == [None, "ENTITY_IS_DELETED", "MALFORMED_ID", "INVALID_CROSS_REFERENCE_KEY"]
    assert store.get("Account", a, include_deleted=True)["IsDeleted"] is True
    out = store.delete_many("Account", [a, b], hard=True)
    assert codes(out) == [None, None]
    assert store.record_counts(include_deleted=True)["Account"] == 0


def test_batch_rolls_back_as_a_whole(store: Store) -> None:
    def load_then_fail() -> None:
        with store.transaction():
            store.insert_many("Account", [{"Name": "A"}, {"Name": "B"}])
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        load_then_fail()
    assert store.record_counts()["Account"] == 0


def test_insert_many_throughput(store: Store) -> None:
    n = 100_000
    header = "Name,Industry,AnnualRevenue,Phone,External_Id__c\n"
    text = header + "".join(f"Acme {i},Technology,{i * 10}.5,555-{i:04d},EXT-{i}\n" for i in range(n))
    start = time.perf_counter()
    rows = list(csv.DictReader(io.StringIO(text)))
    outcomes = store.insert_many("Account", rows)
    elapsed = time.perf_counter() - start
    print(f"\ninsert_many: {n} Account rows from CSV in {elapsed:.2f}s = {n / elapsed:,.0f} rows/s")
    assert all(o.error is None for o in outcomes)
    assert store.record_counts()["Account"] == n
    assert store.find_ids("Account", "External_Id__c", "ext-99999") == [outcomes[-1].id]


def test_concurrent_writers_and_readers(store: Store) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(20):
                store.insert_many("Account", [{"Name": f"T{n}-{i}", "External_Id__c": f"T{n}-{i}"}])
                with store.read() as conn:
                    conn.execute('SELECT count(*) FROM "sobj_account"').fetchone()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.record_counts()["Account"] == 80
