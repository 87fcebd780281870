"""Same input, same outcome, whatever the API: REST, Composite and Bulk API 2.0 load one input alike.

One generated input (text with quotes, commas, line breaks and non-ASCII characters, ``#N/A``, empty
values, None, booleans, dates, naive and aware datetimes, numbers, values too long for a field, bad
dates) is loaded as a list of dicts, as a CSV file and as a DataFrame, each with ``strategy="rest"``,
``"composite"`` and ``"bulk"``, into an emptied org. The stored records (queried back) and the per-row
outcomes (status, error code, row number) must be the same for the three APIs.

Error codes are Salesforce's own. The one place where they differ by API for the same input is a value
that cannot be read as its field's type (a bad date): REST and Composite answer ``JSON_PARSER_ERROR``,
a Bulk job ``INVALID_FIELD``, as Salesforce does; the test counts those two as one outcome.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kinetic_core import SalesforceClient
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.inputs.normalise import salesforce_text
from kinetic_core.pipeline import SyncPipeline

SCHEMA = """
fields:
  Account:
    Short__c: {type: text, length: 10}
    When__c: {type: datetime}
    On__c: {type: date}
    Flag__c: {type: checkbox}
    Score__c: {type: number, precision: 8, scale: 2}
"""
FIELDS = ("Name", "Short__c", "When__c", "On__c", "Flag__c", "Score__c")
STRATEGIES = ("rest", "composite", "bulk")
SAME_ERROR = {"JSON_PARSER_ERROR": "INVALID_FIELD"}
"""Error codes that mean the same for a row, by API (see the module docstring)."""


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    root = tmp_path_factory.mktemp("same-input")
    (root / "schema.yaml").write_text(SCHEMA, encoding="utf-8")
    with LocalOrg(data_dir=root / "home" / "local", schema=root / "schema.yaml") as running:
        yield running


@pytest.fixture(scope="module")
def sf(org: LocalOrg) -> Iterator[SalesforceClient]:
    with SalesforceClient.connect("local", home=org.org.settings.data_dir.parent) as client:
        client.bulk.poll = PollPolicy(initial=0.01, maximum=0.05)
        yield client


TEXT = st.text(
    alphabet=st.sampled_from(list("ab ,;\"\n'é漢\U0001f600"))
    | st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    max_size=14,
)
EMPTY = st.sampled_from(["", "#N/A", None])
ZONES = st.sampled_from(
    [None, dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(-dt.timedelta(hours=8))]
)


@st.composite
def datetimes(draw: st.DrawFn) -> dt.datetime:
    moment = draw(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2060, 1, 1)))
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    return moment.replace(tzinfo=draw(ZONES))


GOOD = st.fixed_dictionaries(
    {
        "Name": TEXT.filter(lambda t: t not in ("", "#N/A")),
        "Short__c": TEXT.filter(lambda t: len(t) <= 10) | EMPTY,
        "When__c": datetimes() | EMPTY,
        "On__c": st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)) | EMPTY,
        "Flag__c": st.booleans() | EMPTY,
        "Score__c": st.integers(-999_999, 999_999) | st.sampled_from([0.5, -12.25, 1234.75]) | EMPTY,
    }
)
FAULTS = st.sampled_from(
    [
        ("Name", None),  # REQUIRED_FIELD_MISSING (None, "#N/A" and "" alike)
        ("Name", "#N/A"),
        ("Name", ""),
        ("Short__c", "eleven char"),  # STRING_TOO_LONG
        ("When__c", "not a time"),  # a value that is not of the field's type
        ("On__c", "31/02/2024"),
    ]
)


@st.composite
def one_row(draw: st.DrawFn) -> dict[str, Any]:
    """A row with at most one fault: with two, which one an API reports first is its own choice."""
    row = draw(GOOD)
    if draw(st.booleans()):
        field, value = draw(FAULTS)
        row[field] = value
    return row


def _csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["External_Id__c", *FIELDS])
        for row in rows:
            writer.writerow([row["External_Id__c"], *(_cell(row[f]) for f in FIELDS)])
    return path


def _cell(value: Any) -> str:
    return "" if value == "" else salesforce_text(value)


def _load(
    sf: SalesforceClient, org: LocalOrg, records: Any, strategy: str
) -> tuple[list[Any], dict[str, Any]]:
    org.org.reset()
    result = sf.load("Account", records, strategy=strategy)
    try:
        outcomes = [
            (o.row_number, o.status, SAME_ERROR.get(o.error_code or "", o.error_code)) for o in result
        ]
        assert result.strategy.value == strategy
    finally:
        result.close()
    stored = {
        str(r["External_Id__c"]): {f: r[f] for f in FIELDS}
        for r in sf.query(f"SELECT External_Id__c, {', '.join(FIELDS)} FROM Account")
    }
    return outcomes, stored


@settings(
    max_examples=40,
    phases=[Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(one_row(), min_size=1, max_size=6))
def test_rest_composite_and_bulk_store_the_same_records(
    rows: list[dict[str, Any]], org: LocalOrg, sf: SalesforceClient, tmp_path: Path
) -> None:
    records = [{"External_Id__c": f"X{n}", **row} for n, row in enumerate(rows, 1)]
    inputs = {
        "dicts": lambda: [dict(r) for r in records],
        "csv": lambda: _csv(tmp_path / "rows.csv", records),
        "frame": lambda: pd.DataFrame(records),
    }
    for form, make in inputs.items():
        seen = {strategy: _load(sf, org, make(), strategy) for strategy in STRATEGIES}
        outcomes, stored = seen["rest"]
        assert [n for n, _, _ in outcomes] == list(range(1, len(rows) + 1))
        for strategy in ("composite", "bulk"):
            assert seen[strategy][0] == outcomes, f"{form}: {strategy} outcomes differ from rest"
            assert seen[strategy][1] == stored, f"{form}: {strategy} stored records differ from rest"


def _stored(sf: SalesforceClient) -> dict[str, Any]:
    return {
        str(r["External_Id__c"]): {f: r[f] for f in FIELDS}
        for r in sf.query(f"SELECT External_Id__c, {', '.join(FIELDS)} FROM Account")
    }


def test_a_frame_with_nat_aware_datetimes_and_na_text_loads_alike(
    org: LocalOrg, sf: SalesforceClient
) -> None:
    frame = pd.DataFrame(
        {
            "External_Id__c": ["F1", "F2", "F3"],
            "Name": ["A", "B", "C"],
            "When__c": pd.to_datetime(["2024-03-01 10:00", None, "2024-03-02 23:30"]).tz_localize(
                "Etc/GMT-1"
            ),
            "On__c": [dt.date(2024, 3, 1), dt.date(2024, 3, 2), pd.NaT],
            "Short__c": ["#N/A", "x", ""],
        }
    )
    assert frame["When__c"].isna().sum() == 1  # a NaT in a zone-aware column
    seen = {strategy: _load(sf, org, frame, strategy) for strategy in STRATEGIES}
    assert seen["rest"][0] == [(1, "success", None), (2, "success", None), (3, "success", None)]
    assert seen["rest"][1]["F1"]["When__c"] == "2024-03-01T09:00:00.000+0000"
    assert seen["rest"][1]["F1"]["Short__c"] is None  # #N/A is null, not the text "#N/A"
    assert seen["rest"][1]["F3"]["On__c"] is None
    assert seen["composite"] == seen["rest"]
    assert seen["bulk"] == seen["rest"]


def test_header_spaces_and_result_columns_load_alike(
    org: LocalOrg, sf: SalesforceClient, tmp_path: Path
) -> None:
    path = tmp_path / "spaced.csv"
    path.write_text(" Name ,External_Id__c , kc__RowNumber\nA,S1,7\n", encoding="utf-8")
    seen = {strategy: _load(sf, org, path, strategy) for strategy in STRATEGIES}
    assert seen["rest"][0] == [(1, "success", None)]
    assert seen["rest"][1]["S1"]["Name"] == "A"
    assert seen["composite"] == seen["rest"]
    assert seen["bulk"] == seen["rest"]


BROKEN = 'Name,External_Id__c\nA,B1\nB\nC,B3,extra\nD,"B4\nE,B5\n'
"""Row 2 is short, row 3 long, row 4 opens a quote that never closes; rows 1 and 5 are fine."""


def test_unreadable_rows_fail_alike_through_load_and_sync(
    org: LocalOrg, sf: SalesforceClient, tmp_path: Path
) -> None:
    path = tmp_path / "broken.csv"
    path.write_text(BROKEN, encoding="utf-8")
    expected = [
        (1, "success", None),
        (2, "failed", "INVALID_ROW"),
        (3, "failed", "INVALID_ROW"),
        (4, "failed", "INVALID_ROW"),
        (5, "success", None),
    ]
    for strategy in STRATEGIES:
        outcomes, stored = _load(sf, org, path, strategy)
        assert outcomes == expected, strategy
        assert sorted(stored) == ["B1", "B5"], strategy
    for strategy in STRATEGIES:
        org.org.reset()
        report = SyncPipeline(sf, "Account", strategy=strategy, failure_dir=tmp_path / strategy).run(path)
        assert (report.successful, report.failed, report.error_counts) == (2, 3, {"INVALID_ROW": 3}), strategy
        text = (tmp_path / strategy / "account-insert-failures.csv").read_text(encoding="utf-8")
        failures = list(csv.DictReader(text.splitlines(keepends=True)))
        assert [f["row_number"] for f in failures] == ["2", "3", "4"]
        assert "unbalanced double quote" in failures[2]["error_message"]
        assert sorted(_stored(sf)) == ["B1", "B5"]


REALISTIC_ROWS = 10_250
"""Past one Composite call (200 records) and one internal Bulk batch (10,000 records): every API
sends this input in its default chunks."""
BOUNDARY_FAULTS = (1, 199, 200, 201, 400, 401, 9_999, 10_000, 10_001, REALISTIC_ROWS)
"""Rows with a fault at the edges of a Composite call and of a Bulk batch."""
TEXTS = ("Ng", 'Say "hi"', "a, b; c", "two\nlines", "crlf\r\nend", "Zoë", "漢字", "\U0001f600", " pad ", "x")
FAULT_VALUES = (
    ("Name", None),
    ("Name", "#N/A"),
    ("Name", ""),
    ("Short__c", "eleven char"),
    ("When__c", "not a time"),
    ("On__c", "31/02/2024"),
)


def _realistic_rows(count: int, seed: int = 14) -> list[dict[str, Any]]:
    """Rows like a real export: mixed text, empty and null cells, every type, 3 % faulty."""
    rng = random.Random(seed)
    zones = [None, dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))]
    rows: list[dict[str, Any]] = []
    for number in range(1, count + 1):
        moment = dt.datetime(2000, 1, 1) + dt.timedelta(seconds=rng.randrange(900_000_000))
        row: dict[str, Any] = {
            "External_Id__c": f"R{number}",
            "Name": f"{rng.choice(TEXTS)} {number}",
            "Short__c": rng.choice([*TEXTS, "", "#N/A", None]),
            "When__c": rng.choice([moment.replace(tzinfo=rng.choice(zones)), None, ""]),
            "On__c": rng.choice([moment.date(), None, "#N/A"]),
            "Flag__c": rng.choice([True, False, None]),
            "Score__c": rng.choice([rng.randrange(-999_999, 999_999), 0.5, -12.25, None]),
        }
        if number in BOUNDARY_FAULTS or rng.random() < 0.03:
            field, value = rng.choice(FAULT_VALUES)
            row[field] = value
        rows.append(row)
    return rows


def test_a_realistic_input_past_the_default_batch_sizes_loads_alike(
    org: LocalOrg, sf: SalesforceClient, tmp_path: Path
) -> None:
    records = _realistic_rows(REALISTIC_ROWS)
    inputs = {
        "dicts": lambda: [dict(r) for r in records],
        "csv": lambda: _csv(tmp_path / "realistic.csv", records),
    }
    for form, make in inputs.items():
        seen = {strategy: _load(sf, org, make(), strategy) for strategy in STRATEGIES}
        outcomes, stored = seen["rest"]
        assert [n for n, _, _ in outcomes] == list(range(1, REALISTIC_ROWS + 1))
        failed = [n for n, status, _ in outcomes if status == "failed"]
        assert set(BOUNDARY_FAULTS) <= set(failed), form
        assert len(stored) == REALISTIC_ROWS - len(failed)
        assert any("\n" in str(values["Name"]) for values in stored.values())
        for strategy in ("composite", "bulk"):
            assert seen[strategy][0] == outcomes, f"{form}: {strategy} outcomes differ from rest"
            assert seen[strategy][1] == stored, f"{form}: {strategy} stored records differ from rest"
        # whatever the router picks for it, the same outcome
        org.org.reset()
        routed = sf.load("Account", make())
        try:
            assert [
                (o.row_number, o.status, SAME_ERROR.get(o.error_code or "", o.error_code)) for o in routed
            ] == outcomes, f"{form}: the router's {routed.strategy.value} differs"
        finally:
            routed.close()
        assert _stored(sf) == stored


@pytest.mark.parametrize("size", [12, 3_000])
def test_refused_copies_of_a_row_fail_at_their_own_rows_whatever_the_api(
    size: int, org: LocalOrg, sf: SalesforceClient, tmp_path: Path
) -> None:
    """Rows that repeat an earlier row cell for cell (its unique external id included): the first
    copy is inserted, the later ones are refused as duplicates, at their own row numbers, by REST,
    Composite and Bulk alike. The Bulk result files echo identical bytes for the copies; their
    numbers come from the order of the success file, with no index."""
    rng = random.Random(size)
    records = [
        {"External_Id__c": f"D{n}", "Name": f'Name "{n}", é\nsecond line' if n % 7 == 0 else f"Name {n}"}
        for n in range(1, size + 1)
    ]
    copies = {4: 1, 9: 1, 10: 4}  # row 1 twice
    if size > 12:  # each a copy of one of the five nearest earlier rows that are not copies
        targets = set(rng.sample(range(2, size + 1), 30))
        copies = {n: rng.choice([m for m in range(1, n) if m not in targets][-5:]) for n in sorted(targets)}
    for at, of in copies.items():
        records[at - 1] = dict(records[of - 1])
    refused = sorted(copies)
    path = _csv_plain(tmp_path / "copies.csv", records)
    outcomes = {}
    for strategy in ("rest", "composite", "bulk") if size < 100 else ("composite", "bulk"):
        org.org.reset()
        result = sf.load("Account", path, strategy=strategy)
        try:
            assert result.strategy.value == strategy
            # failures first: for Bulk, the listing that reads the success file only when in doubt
            alone = result.bulk.failed_rows() if result.bulk is not None else result.failures()
            failed = [(o.row_number, o.error_code) for o in alone]
            listed = sorted((o.row_number, o.status) for o in result)
            if result.bulk is not None:
                assert result.bulk.indexed_jobs == ()
        finally:
            result.close()
        assert failed == [(n, "DUPLICATE_VALUE") for n in refused], strategy
        assert listed == [(n, "failed" if n in copies else "success") for n in range(1, size + 1)]
        outcomes[strategy] = listed
    assert len({tuple(v) for v in outcomes.values()}) == 1


def _csv_plain(path: Path, records: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return path
