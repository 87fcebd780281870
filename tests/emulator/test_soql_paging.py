"""REST query paging: cursors, locators, stable pages, expiry, eviction, aggregate refusal, speed."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from test_soql_support import NOW, open_store

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.soql import QueryEngine, QueryPage
from kinetic_core.emulator.soql import messages as m
from kinetic_core.emulator.store import Store, ids

LOCATOR = re.compile(r"^01g[0-9A-Za-z]{15}-\d+$")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path)
    rows = [{"Name": f"Acct {i:04d}", "NumberOfEmployees": i % 7} for i in range(650)]
    s.insert_many("Account", rows, source="json")
    yield s
    s.close()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def drain(engine: QueryEngine, first: QueryPage) -> list[QueryPage]:
    pages = [first]
    while not pages[-1].done:
        locator = pages[-1].next_locator
        assert locator is not None
        pages.append(engine.more(locator))
    return pages


def test_pages_cover_everything_once(store: Store) -> None:
    engine = QueryEngine(store, clock=Clock(), rng=random.Random(7))
    first = engine.run("SELECT Id, Name FROM Account ORDER BY Name DESC", batch_size=200)
    pages = drain(engine, first)
    assert [len(p.records) for p in pages] == [200, 200, 200, 50]
    assert {p.total_size for p in pages} == {650}
    assert [p.done for p in pages] == [False, False, False, True]
    assert pages[-1].next_locator is None
    names = [r["Name"] for p in pages for r in p.records]
    assert names == sorted((f"Acct {i:04d}" for i in range(650)), reverse=True)
    locator = first.next_locator
    assert locator is not None
    assert LOCATOR.match(locator)
    assert "/" not in locator
    cursor_id, offset = locator.split("-")
    assert ids.is_well_formed(cursor_id)
    assert offset == "200"
    body = first.body("58.0")
    assert body["nextRecordsUrl"] == f"/services/data/v58.0/query/{locator}"
    assert list(body) == ["totalSize", "done", "nextRecordsUrl", "records"]


def test_pages_are_stable_while_data_changes(store: Store) -> None:
    engine = QueryEngine(store, clock=Clock())
    first = engine.run("SELECT Id, Name FROM Account WHERE NumberOfEmployees < 7", batch_size=200)
    expected = [r["Id"] for r in QueryEngine(store).run("SELECT Id FROM Account").records]
    store.insert_many("Account", [{"Name": f"Late {i}"} for i in range(300)], source="json")
    victim = expected[450]
    store.delete("Account", victim)
    pages = drain(engine, first)
    seen = [r["Id"] for p in pages for r in p.records]
    assert len(seen) == 650
    assert seen == expected
    assert {p.total_size for p in pages} == {650}
    assert victim in seen


def test_query_all_cursor(store: Store) -> None:
    doomed = [r["Id"] for r in QueryEngine(store).run("SELECT Id FROM Account LIMIT 10").records]
    for record_id in doomed:
        store.delete("Account", record_id)
    engine = QueryEngine(store, clock=Clock())
    assert engine.run("SELECT Id FROM Account", batch_size=500).total_size == 640
    first = engine.run("SELECT Id, IsDeleted FROM Account", include_deleted=True, batch_size=500)
    pages = drain(engine, first)
    flags = [r["IsDeleted"] for p in pages for r in p.records]
    assert len(flags) == 650
    assert flags.count(True) == 10


def test_unknown_and_bad_locators(store: Store) -> None:
    engine = QueryEngine(store, clock=Clock())
    first = engine.run("SELECT Id FROM Account", batch_size=300)
    assert first.next_locator is not None
    cursor_id = first.next_locator.split("-")[0]
    for bad in (
        "garbage",
        "01g000000000000AAA-300",
        f"{cursor_id}-abc",
        f"{cursor_id}-650",
        f"{cursor_id}-0",
    ):
        with pytest.raises(ApiError) as info:
            engine.more(bad)
        assert (info.value.status, info.value.error_code) == (400, "INVALID_QUERY_LOCATOR")
    assert len(engine.more(f"{cursor_id}-600").records) == 50


def test_cursor_expires_after_idle_time(store: Store) -> None:
    clock = Clock()
    engine = QueryEngine(store, clock=clock)
    first = engine.run("SELECT Id FROM Account", batch_size=200)
    assert first.next_locator is not None
    clock.now = NOW + timedelta(seconds=m.CURSOR_IDLE_SECONDS - 1)
    second = engine.more(first.next_locator)
    assert second.next_locator is not None
    clock.now += timedelta(seconds=m.CURSOR_IDLE_SECONDS + 1)
    with pytest.raises(ApiError) as info:
        engine.more(second.next_locator)
    assert info.value.error_code == "INVALID_QUERY_LOCATOR"


def test_open_cursor_cap_drops_the_oldest(store: Store) -> None:
    engine = QueryEngine(store, clock=Clock())
    locators = [
        engine.run("SELECT Id FROM Account", batch_size=600).next_locator
        for _ in range(m.MAX_OPEN_CURSORS + 1)
    ]
    assert all(locators)
    with pytest.raises(ApiError):
        engine.more(str(locators[0]))
    assert len(engine.more(str(locators[-1])).records) == 50


def test_cursor_ids_come_from_the_injected_rng(store: Store) -> None:
    a = QueryEngine(store, clock=Clock(), rng=random.Random(42)).run("SELECT Id FROM Account", batch_size=200)
    b = QueryEngine(store, clock=Clock(), rng=random.Random(42)).run("SELECT Id FROM Account", batch_size=200)
    assert a.next_locator == b.next_locator


def test_aggregate_results_come_in_one_page_whatever_the_batch_size(store: Store) -> None:
    engine = QueryEngine(store, clock=Clock())
    page = engine.run("SELECT Name, COUNT(Id) FROM Account GROUP BY Name", batch_size=200)
    assert (page.total_size, len(page.records), page.done, page.next_locator) == (650, 650, True, None)
    small = engine.run("SELECT NumberOfEmployees, COUNT(Id) FROM Account GROUP BY NumberOfEmployees")
    assert (small.total_size, small.done) == (7, True)


def test_aggregate_query_over_2000_groups_is_refused(store: Store) -> None:
    store.insert_many("Account", [{"Name": f"Group {i:04d}"} for i in range(1350)], source="json")
    engine = QueryEngine(store, clock=Clock())
    exactly = engine.run("SELECT Name, COUNT(Id) FROM Account GROUP BY Name")
    assert (exactly.total_size, len(exactly.records), exactly.done) == (2000, 2000, True)
    store.insert_many("Account", [{"Name": "One more group"}], source="json")
    with pytest.raises(ApiError) as info:
        engine.run("SELECT Name, COUNT(Id) FROM Account GROUP BY Name")
    assert (info.value.status, info.value.error_code) == (400, "EXCEEDED_ID_LIMIT")
    assert info.value.message == (
        "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a single batch"
    )
    limited = engine.run("SELECT Name, COUNT(Id) FROM Account GROUP BY Name ORDER BY Name LIMIT 2000")
    assert (limited.total_size, limited.done) == (2000, True)


def test_batch_size_is_capped_at_2000(store: Store) -> None:
    store.insert_many("Account", [{"Name": f"More {i}"} for i in range(1500)], source="json")
    page = QueryEngine(store).run("SELECT Id FROM Account", batch_size=5000)
    assert (page.total_size, len(page.records), page.done) == (2150, 2000, False)


@pytest.mark.slow
def test_rest_paging_speed_100k(tmp_path: Path) -> None:
    big = open_store(tmp_path)
    try:
        rows = [{"Name": f"Acct {i}", "Industry": "Tech", "AnnualRevenue": i * 1.5} for i in range(100_000)]
        for start in range(0, len(rows), 20_000):
            big.insert_many("Account", rows[start : start + 20_000], source="json")
        engine = QueryEngine(big)
        engine.plan("SELECT Id, Name, Industry, AnnualRevenue FROM Account")
        began = time.perf_counter()
        pages = drain(engine, engine.run("SELECT Id, Name, Industry, AnnualRevenue FROM Account"))
        elapsed = time.perf_counter() - began
        count = sum(len(p.records) for p in pages)
        assert count == 100_000
        print(f"{count / elapsed:,.0f} rows/s (speed is tracked by benchmarks/, not asserted)")
    finally:
        big.close()
