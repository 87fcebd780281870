"""Bulk query results as typed DataFrames (pandas, polars) on the emulator; the missing-library error."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kinetic_core.bulk import BulkClient, PollPolicy
from kinetic_core.client import SalesforceClient
from kinetic_core.emulator.server import LocalOrg

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

FAST = PollPolicy(initial=0.02, maximum=0.1)
SOQL = (
    "SELECT Id, LastName, Birthdate, HasOptedOutOfEmail, CreatedDate, "
    "Account.NumberOfEmployees, Account.Name FROM Contact ORDER BY LastName"
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[SalesforceClient]:
    with LocalOrg(data_dir=tmp_path / "local"), SalesforceClient.connect("local", home=tmp_path) as sf:
        account = sf.create("Account", {"Name": "Acme", "NumberOfEmployees": 120})
        sf.create(
            "Contact",
            {"LastName": "Ng", "AccountId": account, "Birthdate": "1990-05-01", "HasOptedOutOfEmail": True},
        )
        sf.create("Contact", {"LastName": "Ortiz"})
        yield sf


def test_pandas_frame_is_typed_from_describe(client: SalesforceClient) -> None:
    frame = BulkClient(client, poll=FAST).query(SOQL, as_dataframe=True)
    assert str(frame["Account.NumberOfEmployees"].dtype) == "Int64"
    assert str(frame["HasOptedOutOfEmail"].dtype) == "boolean"
    assert str(frame["CreatedDate"].dtype).startswith("datetime64[")
    assert str(frame["CreatedDate"].dt.tz) == "UTC"
    assert str(frame["Birthdate"].dtype) == "date32[day][pyarrow]"
    ng, ortiz = frame.iloc[0], frame.iloc[1]
    assert (ng["LastName"], ng["Account.NumberOfEmployees"], ng["HasOptedOutOfEmail"]) == ("Ng", 120, True)
    assert ng["Birthdate"] == dt.date(1990, 5, 1)
    assert ng["Account.Name"] == "Acme"
    assert bool(ortiz["HasOptedOutOfEmail"]) is False  # pd.NA would raise here
    assert pd.isna(ortiz["Account.NumberOfEmployees"])
    assert pd.isna(ortiz["Birthdate"])
    created = ng["CreatedDate"].to_pydatetime()
    assert created.tzinfo is not None
    assert abs(created - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_polars_frame_is_typed_from_describe(client: SalesforceClient) -> None:
    frame = BulkClient(client, poll=FAST).query(SOQL, as_dataframe="polars")
    schema = dict(frame.schema)
    assert schema["Account.NumberOfEmployees"] == pl.Int64
    assert schema["HasOptedOutOfEmail"] == pl.Boolean
    assert schema["Birthdate"] == pl.Date
    assert schema["CreatedDate"] == pl.Datetime("ms", "UTC")
    assert frame.row(0, named=True)["Birthdate"] == dt.date(1990, 5, 1)
    assert frame.row(1, named=True)["Birthdate"] is None  # empty cell: null, not ""
    assert frame.row(1, named=True)["Account.Name"] is None


def test_untyped_frame_keeps_text(client: SalesforceClient) -> None:
    frame = BulkClient(client, poll=FAST).query(SOQL, as_dataframe=True, typed=False)
    assert frame.iloc[0]["Account.NumberOfEmployees"] == "120"
    assert frame.iloc[0]["HasOptedOutOfEmail"] == "true"


@pytest.mark.parametrize("flavour", [True, "polars"])
def test_missing_library_is_a_clear_error_before_any_job(
    client: SalesforceClient, monkeypatch: pytest.MonkeyPatch, flavour: bool | str
) -> None:
    bulk = BulkClient(client, poll=FAST)
    name = "polars" if flavour == "polars" else "pandas"
    before = len(list(bulk.list_jobs(kind="query")))
    monkeypatch.setitem(sys.modules, name, None)  # `import pandas` now raises ImportError
    with pytest.raises(ImportError, match=rf"as_dataframe needs {name}, which is not installed: pip install"):
        bulk.query(SOQL, as_dataframe=flavour)
    monkeypatch.undo()
    assert len(list(bulk.list_jobs(kind="query"))) == before  # no query job was created


def test_row_outcomes_carry_the_frame_index_label(client: SalesforceClient) -> None:
    source = pd.DataFrame({"LastName": ["Ali", None, "Chen", "Diaz"], "Keep": [True, True, False, True]})
    frame = source[source["Keep"]].drop(columns="Keep")  # index 0, 1, 3: not a default range
    with BulkClient(client, poll=FAST).insert("Contact", frame) as result:
        assert (result.successful, result.failed) == (2, 1)
        failed = next(result.failed_rows())
        assert (failed.row_number, failed.index_label) == (2, 1)  # 1-based position, and the label
        assert sorted((r.row_number, r.index_label) for r in result.successful_rows()) == [(1, 0), (3, 3)]
    labelled = pd.DataFrame({"LastName": ["Eze", None]}, index=["e-1", "e-2"])
    for strategy in ("composite", "bulk"):
        outcome = client.load("Contact", labelled, strategy=strategy)
        try:
            assert [(o.row_number, o.index_label, o.status) for o in outcome] == [
                (1, "e-1", "success"),
                (2, "e-2", "failed"),
            ], strategy
        finally:
            outcome.close()
    default = client.load("Contact", pd.DataFrame({"LastName": ["Fox"]}), strategy="rest")
    assert [o.index_label for o in default] == [None]  # a default RangeIndex adds nothing
