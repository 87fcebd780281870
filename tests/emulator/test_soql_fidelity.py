"""Query answers against recorded Salesforce responses (same keys and JSON types), and date ranges."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from test_soql_support import NOW, open_store

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.soql import QueryEngine
from kinetic_core.emulator.soql.dates import date_range
from kinetic_core.emulator.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path)
    yield s
    s.close()


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively (lists reduced to their first element)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def body_of(fixtures: Path, name: str) -> Any:
    return json.loads((fixtures / name).read_text(encoding="utf-8"))["response"]["body"]


def test_simple_query_shape(sf_fixtures_dir: Path, store: Store) -> None:
    store.insert("Account", {"Name": "Sitwell-Bluth"})
    real = body_of(sf_fixtures_dir, "cumulusci/query_simple_200.json")
    ours = QueryEngine(store).run("select Name from Account").body("62.0")
    assert shape(ours) == shape(real)


def test_aggregate_count_shape(sf_fixtures_dir: Path, store: Store) -> None:
    store.insert("Account", {"Name": "A"})
    real = body_of(sf_fixtures_dir, "cumulusci/query_aggregate_count_id_200.json")
    ours = QueryEngine(store).run("select count(Id) from Account").body("62.0")
    assert shape(ours) == shape(real)


def test_child_subquery_shape(sf_fixtures_dir: Path, store: Store) -> None:
    store.insert("Account", {"Name": "Lindsay"})
    real = body_of(sf_fixtures_dir, "cumulusci/query_child_subquery_200.json")["records"][0]
    ours = QueryEngine(store).run("select Name,(select LastName from Contacts) from Account").body("62.0")
    record = ours["records"][0]
    assert [shape(v) for v in record.values()] == [shape(v) for v in real.values()]
    assert record["Contacts"] is None


def test_count_and_empty_shapes(sf_fixtures_dir: Path, store: Store) -> None:
    real = body_of(sf_fixtures_dir, "cumulusci/composite_count_queries_200.json")["compositeResponse"][1][
        "body"
    ]
    assert QueryEngine(store).run("select count() from Opportunity").body("62.0") == real
    empty = body_of(sf_fixtures_dir, "cumulusci/query_empty_200.json")
    assert QueryEngine(store).run("SELECT Id, LastName FROM Contact").body("62.0") == empty


def test_invalid_type_message_matches_recording(sf_fixtures_dir: Path, store: Store) -> None:
    real = body_of(sf_fixtures_dir, "cumulusci/composite_subrequest_400_invalid_type.json")
    expected = real["compositeResponse"][1]["body"][0]
    with pytest.raises(ApiError) as info:
        QueryEngine(store).run("select count() from XYZZY")
    assert info.value.rest_body() == [expected]


def test_parent_relationship_shape_matches_recording(sf_fixtures_dir: Path, store: Store) -> None:
    real = body_of(sf_fixtures_dir, "cumulusci/query_typeof_polymorphic_200.json")["records"][1]["What"]
    account = store.insert(
        "Account", {"Name": "Tom Cruise", "Description": "d", "Phone": "1", "AccountNumber": "2"}
    )
    store.insert("Contact", {"LastName": "x", "AccountId": account})
    rec = QueryEngine(store).run(
        "SELECT Account.Name, Account.Description, Account.Phone, Account.AccountNumber FROM Contact"
    )
    assert shape(rec.records[0]["Account"]) == shape(real)


@pytest.mark.parametrize(
    ("name", "n", "today", "expected"),
    [
        ("THIS_WEEK", None, date(2024, 5, 15), (date(2024, 5, 12), date(2024, 5, 19))),
        ("THIS_WEEK", None, date(2024, 5, 12), (date(2024, 5, 12), date(2024, 5, 19))),
        ("LAST_WEEK", None, date(2024, 5, 11), (date(2024, 4, 28), date(2024, 5, 5))),
        ("LAST_MONTH", None, date(2024, 1, 10), (date(2023, 12, 1), date(2024, 1, 1))),
        ("NEXT_MONTH", None, date(2024, 12, 31), (date(2025, 1, 1), date(2025, 2, 1))),
        ("THIS_QUARTER", None, date(2024, 5, 15), (date(2024, 4, 1), date(2024, 7, 1))),
        ("LAST_QUARTER", None, date(2024, 2, 1), (date(2023, 10, 1), date(2024, 1, 1))),
        ("NEXT_YEAR", None, date(2024, 5, 15), (date(2025, 1, 1), date(2026, 1, 1))),
        ("LAST_90_DAYS", None, date(2024, 5, 15), (date(2024, 2, 15), date(2024, 5, 16))),
        ("NEXT_90_DAYS", None, date(2024, 5, 15), (date(2024, 5, 16), date(2024, 8, 14))),
        ("LAST_N_DAYS", 3, date(2024, 3, 1), (date(2024, 2, 27), date(2024, 3, 2))),
        ("NEXT_N_DAYS", 2, date(2024, 2, 28), (date(2024, 2, 29), date(2024, 3, 2))),
        ("N_DAYS_AGO", 2, date(2024, 3, 1), (date(2024, 2, 28), date(2024, 2, 29))),
        ("LAST_N_MONTHS", 2, date(2024, 2, 10), (date(2023, 12, 1), date(2024, 2, 1))),
    ],
)
def test_date_ranges(name: str, n: int | None, today: date, expected: tuple[date, date]) -> None:
    assert date_range(name, n, today) == expected


def test_engine_clock_is_used_for_relative_dates(store: Store) -> None:
    assert NOW.date() == date(2024, 5, 15)
    store.insert("Widget__c", {"Name": "w", "Due__c": "2024-05-16"})
    assert (
        QueryEngine(store, clock=lambda: NOW).count("SELECT Id FROM Widget__c WHERE Due__c = TOMORROW") == 1
    )
    assert QueryEngine(store, clock=lambda: NOW).count("SELECT Id FROM Widget__c WHERE Due__c = TODAY") == 0
