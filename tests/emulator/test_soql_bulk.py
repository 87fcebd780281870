"""Bulk API 2.0 query support: refusals at job creation and streamed CSV rows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_soql_support import NOW, open_store

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.soql import QueryEngine, bulk
from kinetic_core.emulator.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path)
    yield s
    s.close()


@pytest.fixture
def engine(store: Store) -> QueryEngine:
    return QueryEngine(store, clock=lambda: NOW)


REFUSED = [
    ("SELECT Name, (SELECT LastName FROM Contacts) FROM Account", "INVALIDJOB", "Aggregate Relationships"),
    ("SELECT COUNT() FROM Account", "INVALIDJOB", "Aggregate functions"),
    ("SELECT COUNT(Id) FROM Account", "INVALIDJOB", "Aggregate functions"),
    ("SELECT Industry, MAX(Name) FROM Account GROUP BY Industry", "INVALIDJOB", "Aggregate functions"),
    ("SELECT Industry FROM Account GROUP BY Industry", "INVALIDJOB", "GROUP BY"),
    ("SELECT Name FROM Account LIMIT 5 OFFSET 1", "INVALIDJOB", "OFFSET"),
    ("SELECT Id, TYPEOF Owner WHEN User THEN Name END FROM Account", "INVALIDJOB", "TYPEOF"),
    ("SELECT FIELDS(STANDARD) FROM Account", "INVALIDJOB", "FIELDS()"),
    ("SELECT Id FROM Foo__c", "INVALIDENTITY", "Entity 'Foo__c' is not supported by the Bulk API."),
    (
        "SELECT Name FROM Organization",
        "INVALIDENTITY",
        "Entity 'Organization' is not supported by the Bulk API.",
    ),
    ("SELECT Bacon__c FROM Account", "INVALID_FIELD", "No such column 'Bacon__c'"),
    ("SELECT Id FRM Account", "MALFORMED_QUERY", "unexpected token"),
]


@pytest.mark.parametrize(("soql", "code", "text"), REFUSED)
def test_bulk_refusals(engine: QueryEngine, soql: str, code: str, text: str) -> None:
    with pytest.raises(ApiError) as info:
        engine.validate_bulk(soql)
    assert (info.value.status, info.value.error_code) == (400, code)
    assert text in info.value.message


def test_bulk_accepts_order_by_and_limit(engine: QueryEngine) -> None:
    plan = engine.validate_bulk(
        "select id, name, account.name from contact where lastname != null order by name limit 5"
    )
    assert plan.object_name == "Contact"
    assert plan.columns == ["Id", "Name", "Account.Name"]


def test_csv_rows_format(engine: QueryEngine, store: Store) -> None:
    acme = store.insert("Account", {"Name": "Acme, Inc.", "AnnualRevenue": 12000000, "NumberOfEmployees": 7})
    store.insert(
        "Contact", {"LastName": "Smith", "AccountId": acme, "DoNotCall": True, "Birthdate": "1980-02-01"}
    )
    store.insert("Contact", {"LastName": "Lone"})
    plan = engine.validate_bulk(
        "SELECT lastname, account.name, ACCOUNT.annualrevenue, Account.NumberOfEmployees, DoNotCall, "
        "Birthdate, CreatedDate, Email FROM Contact ORDER BY LastName DESC"
    )
    header, rows = engine.iter_csv_rows(plan, include_deleted=False)
    assert header == [
        "LastName",
        "Account.Name",
        "Account.AnnualRevenue",
        "Account.NumberOfEmployees",
        "DoNotCall",
        "Birthdate",
        "CreatedDate",
        "Email",
    ]
    got = list(rows)
    assert got[0] == [
        "Smith",
        "Acme, Inc.",
        "1.2E7",
        "7",
        "true",
        "1980-02-01",
        "2024-05-15T12:30:00.000Z",
        "",
    ]
    assert got[1] == ["Lone", "", "", "", "false", "", "2024-05-15T12:30:00.000Z", ""]


def test_csv_rows_stream_in_chunks_without_holding_the_store(
    engine: QueryEngine, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "CSV_CHUNK", 3)
    store.insert_many("Account", [{"Name": f"A{i:02d}"} for i in range(10)], source="json")
    plan = engine.validate_bulk("SELECT Name FROM Account")
    header, rows = engine.iter_csv_rows(plan, include_deleted=False)
    assert header == ["Name"]
    first = next(rows)
    assert first == ["A00"]
    store.insert("Account", {"Name": "During"})
    rest = [r[0] for r in rows]
    assert rest[:9] == [f"A{i:02d}" for i in range(1, 10)]
    assert len(rest) in (9, 10)


@pytest.mark.parametrize(
    ("soql", "expected"),
    [
        ("SELECT Name FROM Account LIMIT 7", [f"A{i:02d}" for i in range(7)]),
        ("SELECT Name FROM Account ORDER BY Name DESC LIMIT 4", ["A09", "A08", "A07", "A06"]),
        ("SELECT Name FROM Account WHERE Name > 'A04' ORDER BY Name", ["A05", "A06", "A07", "A08", "A09"]),
        (
            "SELECT Name FROM Account WHERE Name LIKE 'A0%' AND Name != 'A03'",
            [f"A{i:02d}" for i in range(10) if i != 3],
        ),
    ],
)
def test_csv_chunking_paths(
    engine: QueryEngine, store: Store, monkeypatch: pytest.MonkeyPatch, soql: str, expected: list[str]
) -> None:
    monkeypatch.setattr(bulk, "CSV_CHUNK", 2)
    store.insert_many("Account", [{"Name": f"A{i:02d}"} for i in range(10)], source="json")
    _, rows = engine.iter_csv_rows(engine.validate_bulk(soql), include_deleted=False)
    assert [r[0] for r in rows] == expected


def test_csv_query_all(engine: QueryEngine, store: Store) -> None:
    keep = store.insert("Account", {"Name": "Keep"})
    gone = store.insert("Account", {"Name": "Gone"})
    store.delete("Account", gone)
    plan = engine.validate_bulk("SELECT Id, IsDeleted FROM Account")
    assert list(engine.iter_csv_rows(plan, include_deleted=False)[1]) == [[keep, "false"]]
    assert list(engine.iter_csv_rows(plan, include_deleted=True)[1]) == [[keep, "false"], [gone, "true"]]


@pytest.mark.slow
def test_csv_speed_100k(tmp_path: Path) -> None:
    big = open_store(tmp_path)
    try:
        rows = [{"Name": f"Acct {i}", "Industry": "Tech", "AnnualRevenue": i * 1.5} for i in range(100_000)]
        for start in range(0, len(rows), 20_000):
            big.insert_many("Account", rows[start : start + 20_000], source="json")
        engine = QueryEngine(big)
        plan = engine.validate_bulk("SELECT Id, Name, Industry, AnnualRevenue FROM Account")
        began = time.perf_counter()
        _, it = engine.iter_csv_rows(plan, include_deleted=False)
        count = sum(1 for _ in it)
        elapsed = time.perf_counter() - began
        assert count == 100_000
        print(f"{count / elapsed:,.0f} rows/s (speed is tracked by benchmarks/, not asserted)")
    finally:
        big.close()
