"""SOQL functions: toLabel(), FORMAT(), convertCurrency(), date functions, GROUP BY ROLLUP/CUBE, GROUPING().

Grammar (what parses and into which tree), engine (values on a real Store), fidelity (result keys named
as Salesforce names them: ``expr0, expr1`` for unaliased aggregates and functions, the field name for
toLabel/FORMAT/convertCurrency of a field) and refusals (Salesforce-shaped, and "not supported by this
emulator" for what is not emulated).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_soql_support import open_store

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.soql import QueryEngine
from kinetic_core.emulator.soql import ast as a
from kinetic_core.emulator.soql.parser import parse_soql
from kinetic_core.emulator.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path)
    acme = s.insert("Account", {"Name": "Acme", "Industry": "Banking", "Type": "Prospect"})
    s.insert("Account", {"Name": "Beta", "Industry": "Banking", "Type": "Other"})
    s.insert("Account", {"Name": "Gamma", "Industry": "Energy", "Type": "Other"})
    s.insert("Contact", {"LastName": "Lovelace", "AccountId": acme, "CleanStatus": "Matched"})
    s.insert("Contact", {"LastName": "Hopper", "CleanStatus": "Pending"})
    for name, close, amount in (
        ("O1", "2024-02-20", 1234.5),
        ("O2", "2023-11-05", 10),
        ("O3", "2024-03-31", -2),
    ):
        s.insert(
            "Opportunity", {"Name": name, "StageName": "Prospecting", "CloseDate": close, "Amount": amount}
        )
    yield s
    s.close()


@pytest.fixture
def engine(store: Store) -> QueryEngine:
    return QueryEngine(store)


def rows(engine: QueryEngine, soql: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "attributes"} for r in engine.run(soql).records]


def refused(engine: QueryEngine, soql: str) -> ApiError:
    with pytest.raises(ApiError) as exc:
        engine.run(soql)
    assert exc.value.status == 400
    return exc.value


# ---- grammar ---------------------------------------------------------------------------------------------


def test_grammar_parses_functions_everywhere() -> None:
    query = parse_soql(
        "SELECT toLabel(Type) t, CALENDAR_YEAR(convertTimezone(CreatedDate)), FORMAT(MIN(CreatedDate)) "
        "FROM Account WHERE DAY_ONLY(CreatedDate) = 2024-01-31 "
        "GROUP BY ROLLUP(Type, CALENDAR_YEAR(convertTimezone(CreatedDate)))"
    )
    label, year, fmt = query.select
    assert isinstance(label, a.SelectFunc)
    assert (label.call.func, label.call.name, label.alias) == (a.Func.TOLABEL, "toLabel", "t")
    assert isinstance(year, a.SelectFunc)
    inner = year.call.args[0]
    assert isinstance(inner, a.FuncCall)
    assert inner.func is a.Func.CONVERTTIMEZONE
    assert isinstance(fmt, a.SelectFunc)
    assert isinstance(fmt.call.args[0], a.Aggregate)
    assert isinstance(query.where, a.Comparison)
    assert isinstance(query.where.left, a.FuncCall)
    assert query.group_kind == "ROLLUP"
    assert [type(g).__name__ for g in query.group_by] == ["FieldPath", "FuncCall"]


@pytest.mark.parametrize("name", ["Format", "Grouping", "Rollup", "Cube", "Day_Only"])
def test_function_names_without_parentheses_stay_field_names(name: str) -> None:
    query = parse_soql(f"SELECT {name} FROM Account GROUP BY {name}")
    assert isinstance(query.select[0], a.SelectField)
    assert query.group_kind is None


# ---- date functions --------------------------------------------------------------------------------------


def test_date_functions_in_select_group_by_and_order_by(engine: QueryEngine) -> None:
    soql = (
        "SELECT CALENDAR_YEAR(CloseDate), SUM(Amount), COUNT(Id) n FROM Opportunity "
        "GROUP BY CALENDAR_YEAR(CloseDate) ORDER BY CALENDAR_YEAR(CloseDate) DESC"
    )
    assert rows(engine, soql) == [
        {"expr0": 2024, "expr1": 1232.5, "n": 2},
        {"expr0": 2023, "expr1": 10.0, "n": 1},
    ]


def test_every_date_function_value(engine: QueryEngine) -> None:
    funcs = [
        "CALENDAR_MONTH", "CALENDAR_QUARTER", "DAY_IN_MONTH", "DAY_IN_WEEK", "DAY_IN_YEAR", "FISCAL_MONTH",
        "FISCAL_QUARTER", "FISCAL_YEAR", "WEEK_IN_MONTH", "WEEK_IN_YEAR",
    ]  # fmt: skip
    select = ", ".join(f"{f}(CloseDate) {f.lower()}" for f in funcs)
    group = ", ".join(f"{f}(CloseDate)" for f in funcs)
    soql = f"SELECT {select} FROM Opportunity WHERE Name = 'O1' GROUP BY {group}"
    # 2024-02-20 is a Tuesday, the 51st day of a leap year, in the third week of February.
    assert rows(engine, soql) == [
        {"calendar_month": 2, "calendar_quarter": 1, "day_in_month": 20, "day_in_week": 3, "day_in_year": 51,
         "fiscal_month": 2, "fiscal_quarter": 1, "fiscal_year": 2024, "week_in_month": 3, "week_in_year": 8}
    ]  # fmt: skip


def test_datetime_functions(engine: QueryEngine) -> None:
    # open_store's clock is 2024-05-15T12:30Z: every CreatedDate is then.
    soql = (
        "SELECT DAY_ONLY(CreatedDate), HOUR_IN_DAY(convertTimezone(CreatedDate)), COUNT(Id) FROM Account "
        "GROUP BY DAY_ONLY(CreatedDate), HOUR_IN_DAY(convertTimezone(CreatedDate))"
    )
    assert rows(engine, soql) == [{"expr0": "2024-05-15", "expr1": 12, "expr2": 3}]


def test_date_functions_in_where(engine: QueryEngine) -> None:
    names = rows(engine, "SELECT Name FROM Opportunity WHERE CALENDAR_YEAR(CloseDate) = 2024 ORDER BY Name")
    assert names == [{"Name": "O1"}, {"Name": "O3"}]
    q1 = rows(
        engine,
        "SELECT Name FROM Opportunity "
        "WHERE CALENDAR_QUARTER(CloseDate) IN (4) AND DAY_IN_WEEK(CloseDate) = 1",
    )
    assert q1 == [{"Name": "O2"}]
    assert rows(engine, "SELECT Name FROM Account WHERE DAY_ONLY(CreatedDate) = 2024-05-15 LIMIT 1") == [
        {"Name": "Acme"}
    ]


def test_date_function_needs_grouping_and_a_date_field(engine: QueryEngine) -> None:
    error = refused(engine, "SELECT CALENDAR_YEAR(CloseDate) FROM Opportunity")
    assert error.error_code == "MALFORMED_QUERY"
    assert error.message.endswith("Field must be grouped or aggregated: CALENDAR_YEAR(CloseDate)")
    error = refused(engine, "SELECT Id FROM Opportunity WHERE CALENDAR_YEAR(Name) = 2024")
    assert error.error_code == "INVALID_FIELD"
    error = refused(engine, "SELECT Id FROM Opportunity WHERE HOUR_IN_DAY(CloseDate) = 2")
    assert error.error_code == "INVALID_FIELD"
    assert "datetime field" in error.message


# ---- toLabel, FORMAT, convertCurrency -------------------------------------------------------------------


def test_tolabel_in_select_and_where(engine: QueryEngine) -> None:
    soql = "SELECT LastName, toLabel(CleanStatus) FROM Contact ORDER BY LastName"
    assert rows(engine, soql) == [
        {"LastName": "Hopper", "CleanStatus": "Not Compared"},
        {"LastName": "Lovelace", "CleanStatus": "In Sync"},
    ]
    aliased = rows(
        engine, "SELECT toLabel(CleanStatus) status FROM Contact WHERE toLabel(CleanStatus) = 'in sync'"
    )
    assert aliased == [{"status": "In Sync"}]
    parent = rows(engine, "SELECT toLabel(Account.Type) FROM Contact WHERE AccountId != null")
    assert parent == [{"Account": {"attributes": parent[0]["Account"]["attributes"], "Type": "Prospect"}}]


def test_format_and_convert_currency(engine: QueryEngine) -> None:
    soql = (
        "SELECT FORMAT(Amount), convertCurrency(Amount) conv, FORMAT(CloseDate) d FROM Opportunity "
        "ORDER BY Name"
    )
    assert rows(engine, soql) == [
        {"Amount": "$1,234.50", "conv": 1234.5, "d": "2/20/2024"},
        {"Amount": "$10.00", "conv": 10.0, "d": "11/5/2023"},
        {"Amount": "-$2.00", "conv": -2.0, "d": "3/31/2024"},
    ]
    agg = rows(engine, "SELECT FORMAT(MIN(CloseDate)), FORMAT(SUM(Amount)) total FROM Opportunity")
    assert agg == [{"expr0": "11/5/2023", "total": "$1,242.50"}]
    created = rows(engine, "SELECT FORMAT(CreatedDate) FROM Account LIMIT 1")
    assert created == [{"CreatedDate": "5/15/2024, 12:30 PM"}]


def test_function_refusals(engine: QueryEngine) -> None:
    assert (
        "not allowed in the WHERE clause"
        in refused(engine, "SELECT Id FROM Opportunity WHERE convertCurrency(Amount) > 5").message
    )
    assert refused(engine, "SELECT toLabel(Name) FROM Account").error_code == "INVALID_FIELD"
    assert refused(engine, "SELECT convertCurrency(Name) FROM Account").error_code == "INVALID_FIELD"
    assert (
        "only be used in a date function"
        in refused(engine, "SELECT convertTimezone(CreatedDate) FROM Account").message
    )
    duplicate = refused(engine, "SELECT CleanStatus, toLabel(CleanStatus) FROM Contact")
    assert duplicate.message.endswith("duplicate field selected: CleanStatus")


def test_unsupported_functions_say_so(engine: QueryEngine) -> None:
    error = refused(
        engine, "SELECT Name FROM Account WHERE DISTANCE(BillingAddress, GEOLOCATION(1, 2), 'mi') < 5"
    )
    assert error.error_code == "MALFORMED_QUERY"
    assert error.message.endswith("DISTANCE() is not supported by this emulator")


# ---- ROLLUP / CUBE / GROUPING ---------------------------------------------------------------------------


def test_group_by_rollup_with_grouping(engine: QueryEngine) -> None:
    soql = (
        "SELECT Industry, Type, COUNT(Id) n, GROUPING(Industry) gi, GROUPING(Type) gt FROM Account "
        "GROUP BY ROLLUP(Industry, Type)"
    )
    assert rows(engine, soql) == [
        {"Industry": "Banking", "Type": "Other", "n": 1, "gi": 0, "gt": 0},
        {"Industry": "Banking", "Type": "Prospect", "n": 1, "gi": 0, "gt": 0},
        {"Industry": "Banking", "Type": None, "n": 2, "gi": 0, "gt": 1},
        {"Industry": "Energy", "Type": "Other", "n": 1, "gi": 0, "gt": 0},
        {"Industry": "Energy", "Type": None, "n": 1, "gi": 0, "gt": 1},
        {"Industry": None, "Type": None, "n": 3, "gi": 1, "gt": 1},
    ]


def test_group_by_cube(engine: QueryEngine) -> None:
    got = rows(
        engine, "SELECT Type, Industry, COUNT(Id), GROUPING(Type) FROM Account GROUP BY CUBE(Type, Industry)"
    )
    assert len(got) == 3 + 2 + 2 + 1  # (type, industry), (type), (industry), ()
    assert {"Type": None, "Industry": None, "expr0": 3, "expr1": 1} in got
    assert {"Type": None, "Industry": "Banking", "expr0": 2, "expr1": 1} in got
    assert {"Type": "Other", "Industry": None, "expr0": 2, "expr1": 0} in got


def test_grouping_needs_rollup_or_cube(engine: QueryEngine) -> None:
    error = refused(engine, "SELECT Industry, GROUPING(Industry) FROM Account GROUP BY Industry")
    assert error.message.endswith("GROUPING() is only valid with GROUP BY ROLLUP or GROUP BY CUBE")


# ---- Bulk 2.0 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT toLabel(CleanStatus) FROM Contact", "INVALIDJOB"),
        (
            "SELECT CALENDAR_YEAR(CloseDate), COUNT(Id) FROM Opportunity GROUP BY CALENDAR_YEAR(CloseDate)",
            "INVALIDJOB",
        ),
    ],
)
def test_bulk_query_refuses_functions(engine: QueryEngine, soql: str, code: str) -> None:
    with pytest.raises(ApiError) as exc:
        engine.validate_bulk(soql)
    assert exc.value.error_code == code
    assert engine.validate_bulk(
        "SELECT Id FROM Opportunity WHERE CALENDAR_YEAR(CloseDate) = 2024"
    ).object_name == ("Opportunity")
