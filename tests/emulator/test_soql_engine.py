"""SOQL execution on a real Store: record shapes, relationships, filters, dates, ordering, aggregates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_soql_support import NOW, open_store

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.soql import QueryEngine
from kinetic_core.emulator.store import Store

V = "62.0"


class Data:
    """A small org: three accounts, four contacts, five widgets."""

    def __init__(self, store: Store) -> None:
        self.acme = store.insert(
            "Account",
            {
                "Name": "Acme",
                "Industry": "Tech",
                "AnnualRevenue": 1000,
                "NumberOfEmployees": 50,
                "Tier__c": "Gold",
            },
        )
        self.beta = store.insert("Account", {"Name": "beta", "Industry": "Retail", "NumberOfEmployees": 5})
        self.gamma = store.insert("Account", {"Name": "Gamma", "AnnualRevenue": 300})
        self.smith = store.insert(
            "Contact",
            {"LastName": "Smith", "AccountId": self.acme, "Email": "s@x.com", "Birthdate": "1980-02-01"},
        )
        self.jones = store.insert("Contact", {"LastName": "Jones", "AccountId": self.acme, "DoNotCall": True})
        self.brown = store.insert("Contact", {"LastName": "Brown", "AccountId": self.beta})
        self.loner = store.insert("Contact", {"LastName": "O'Neil"})
        widgets = [
            ("W1", "red;big", 1, 1.5, "2024-05-15", "2024-05-15T08:00:00.000Z", True, self.acme),
            ("W2", "green", 2, 2.5, "2024-05-14", "2024-05-14T23:59:59.000Z", False, self.acme),
            ("W3", "blue;red", 3, None, "2024-05-12", "2024-05-01T00:00:00.000Z", True, None),
            ("W4", None, None, 10.0, "2024-06-03", "2024-04-30T23:00:00.000Z", False, self.beta),
            ("W5", "big", 5, 0.5, None, None, None, None),
        ]
        self.widgets: dict[str, str] = {}
        for name, tags, qty, price, due, seen, active, account in widgets:
            values: dict[str, Any] = {"Name": name, "Tags__c": tags, "Qty__c": qty, "Price__c": price}
            values.update({"Due__c": due, "Seen__c": seen, "Account__c": account, "Code__c": name.lower()})
            if active is not None:
                values["Active__c"] = active
            self.widgets[name] = store.insert("Widget__c", values)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path)
    yield s
    s.close()


@pytest.fixture
def data(store: Store) -> Data:
    return Data(store)


@pytest.fixture
def engine(store: Store) -> QueryEngine:
    return QueryEngine(store, clock=lambda: NOW)


def names(engine: QueryEngine, soql: str, key: str = "Name") -> list[Any]:
    return [r[key] for r in engine.run(soql).records]


# ---- shapes ---------------------------------------------------------------------------------------------


def test_plain_records_have_attributes_and_select_order(engine: QueryEngine, data: Data) -> None:
    page = engine.run(
        "select annualrevenue, NAME, id, industry from account where name = 'acme'", api_version="58.0"
    )
    assert page.total_size == 1
    assert page.done is True
    assert page.next_locator is None
    rec = page.records[0]
    assert list(rec) == ["attributes", "AnnualRevenue", "Name", "Id", "Industry"]
    assert rec["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v58.0/sobjects/Account/{data.acme}",
    }
    assert rec["AnnualRevenue"] == 1000.0
    assert isinstance(rec["AnnualRevenue"], float)
    assert rec["Name"] == "Acme"


def test_value_formats(engine: QueryEngine, data: Data) -> None:
    rec = engine.run(
        "SELECT Qty__c, Price__c, Due__c, Seen__c, Active__c, Tags__c FROM Widget__c WHERE Name = 'W1'"
    )
    row = rec.records[0]
    assert row["Qty__c"] == 1
    assert isinstance(row["Qty__c"], int)
    assert row["Price__c"] == 1.5
    assert row["Due__c"] == "2024-05-15"
    assert row["Seen__c"] == "2024-05-15T08:00:00.000+0000"
    assert row["Active__c"] is True
    assert row["Tags__c"] == "red;big"
    body = rec.body(V)
    assert list(body) == ["totalSize", "done", "records"]


def test_parent_relationships_nest_and_null(engine: QueryEngine, data: Data, store: Store) -> None:
    page = engine.run(
        "SELECT LastName, Account.Name, Account.Owner.Name, Account.Industry FROM Contact ORDER BY LastName"
    )
    by_name = {r["LastName"]: r for r in page.records}
    smith = by_name["Smith"]
    assert list(smith) == ["attributes", "LastName", "Account"]
    account = smith["Account"]
    assert account["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v{V}/sobjects/Account/{data.acme}",
    }
    assert list(account) == ["attributes", "Name", "Owner", "Industry"]
    assert account["Owner"]["attributes"]["type"] == "User"
    assert account["Owner"]["Name"] == store.get("User", store.admin_user_id)["Name"]
    assert by_name["O'Neil"]["Account"] is None


def test_two_level_path_with_object_prefix(engine: QueryEngine, data: Data) -> None:
    rec = engine.run("SELECT Contact.Account.Owner.Name FROM Contact c WHERE c.LastName = 'Smith'").records[0]
    assert rec["Account"]["Owner"]["Name"]


def test_child_subquery(engine: QueryEngine, data: Data, store: Store) -> None:
    soql = (
        "SELECT Name, (SELECT LastName FROM Contacts WHERE LastName != 'Nobody' ORDER BY LastName LIMIT 5) "
        "FROM Account ORDER BY Name"
    )
    recs = {r["Name"]: r for r in engine.run(soql).records}
    acme = recs["Acme"]["Contacts"]
    assert acme["totalSize"] == 2
    assert acme["done"] is True
    assert [c["LastName"] for c in acme["records"]] == ["Jones", "Smith"]
    assert acme["records"][0]["attributes"]["type"] == "Contact"
    assert recs["Gamma"]["Contacts"] is None
    assert recs["beta"]["Contacts"]["totalSize"] == 1
    store.delete("Contact", data.brown)
    recs = {r["Name"]: r for r in engine.run(soql).records}
    assert recs["beta"]["Contacts"] is None
    recs = {r["Name"]: r for r in engine.run(soql, include_deleted=True).records}
    assert recs["beta"]["Contacts"]["totalSize"] == 1


def test_child_subquery_limit_and_custom_relationship(engine: QueryEngine, data: Data) -> None:
    rec = engine.run(
        "SELECT Name, (SELECT Name, Account__r.Name FROM Widgets__r ORDER BY Name DESC LIMIT 1) FROM Account "
        "WHERE Name = 'Acme'"
    ).records[0]
    widgets = rec["Widgets__r"]
    assert widgets["totalSize"] == 1
    assert widgets["records"][0]["Name"] == "W2"
    assert widgets["records"][0]["Account__r"]["Name"] == "Acme"


# ---- filters --------------------------------------------------------------------------------------------

FILTERS = [
    ("Name = 'acme'", ["Acme"]),
    ("Name != 'Acme'", ["beta", "Gamma"]),
    ("Name <> 'Acme'", ["beta", "Gamma"]),
    ("Industry = null", ["Gamma"]),
    ("Industry != null", ["Acme", "beta"]),
    ("Industry != 'Tech'", ["beta", "Gamma"]),
    ("NumberOfEmployees > 5", ["Acme"]),
    ("NumberOfEmployees >= 5", ["Acme", "beta"]),
    ("NumberOfEmployees < 50", ["beta"]),
    ("NumberOfEmployees <= 50", ["Acme", "beta"]),
    ("AnnualRevenue > 299.5", ["Acme", "Gamma"]),
    ("Name LIKE 'a%'", ["Acme"]),
    ("Name LIKE '%A'", ["beta", "Gamma"]),
    ("Name LIKE '_eta'", ["beta"]),
    ("Name IN ('ACME', 'Gamma')", ["Acme", "Gamma"]),
    ("Name NOT IN ('Acme')", ["beta", "Gamma"]),
    ("Industry IN ('Tech', null)", ["Acme", "Gamma"]),
    ("Industry NOT IN ('Tech')", ["beta", "Gamma"]),
    ("Name = 'Acme' OR Name = 'beta'", ["Acme", "beta"]),
    ("(Name = 'Acme' OR Name = 'beta') AND Industry = 'Retail'", ["beta"]),
    ("NOT Name = 'Acme'", ["beta", "Gamma"]),
    ("NOT (Name = 'Acme' OR Industry = null)", ["beta"]),
    ("Tier__c = 'Gold'", ["Acme"]),
    ("Id IN (SELECT AccountId FROM Contact)", ["Acme", "beta"]),
    ("Id NOT IN (SELECT AccountId FROM Contact)", ["Gamma"]),
    ("Id IN (SELECT AccountId FROM Contact WHERE LastName = 'Brown')", ["beta"]),
    ("Id IN (SELECT Account__c FROM Widget__c WHERE Active__c = true)", ["Acme"]),
]


@pytest.mark.parametrize(("where", "expected"), FILTERS)
def test_account_filters(engine: QueryEngine, data: Data, where: str, expected: list[str]) -> None:
    assert names(engine, f"SELECT Name FROM Account WHERE {where} ORDER BY Name") == expected


WIDGET_FILTERS = [
    ("Tags__c INCLUDES ('red')", ["W1", "W3"]),
    ("Tags__c INCLUDES ('red;big')", ["W1"]),
    ("Tags__c INCLUDES ('red;big', 'green')", ["W1", "W2"]),
    ("Tags__c EXCLUDES ('red')", ["W2", "W4", "W5"]),
    ("Tags__c = 'green'", ["W2"]),
    ("Active__c = true", ["W1", "W3"]),
    ("Active__c = false", ["W2", "W4", "W5"]),
    ("Qty__c IN (1, 3)", ["W1", "W3"]),
    ("Price__c = null", ["W3"]),
    ("Due__c = 2024-05-14", ["W2"]),
    ("Due__c > 2024-05-14", ["W1", "W4"]),
    ("Seen__c >= 2024-05-14T23:59:59Z", ["W1", "W2"]),
    ("Seen__c < 2024-05-01T02:00:00+02:00", ["W4"]),
    ("Account__r.Name = 'Acme'", ["W1", "W2"]),
    ("Account__r.Owner.Name != null", ["W1", "W2", "W4"]),
    ("Account__c = null", ["W3", "W5"]),
    ("Code__c = 'W1'", ["W1"]),
]


@pytest.mark.parametrize(("where", "expected"), WIDGET_FILTERS)
def test_widget_filters(engine: QueryEngine, data: Data, where: str, expected: list[str]) -> None:
    assert names(engine, f"SELECT Name FROM Widget__c WHERE {where} ORDER BY Name") == expected


def test_string_escapes_and_ids(engine: QueryEngine, data: Data) -> None:
    assert names(engine, "SELECT LastName FROM Contact WHERE LastName = 'O\\'Neil'", "LastName") == ["O'Neil"]
    assert names(engine, f"SELECT Name FROM Account WHERE Id = '{data.acme[:15]}'") == ["Acme"]
    assert names(engine, f"SELECT Name FROM Account WHERE Id = '{data.acme}'") == ["Acme"]


DATE_LITERALS = [
    ("Due__c = TODAY", ["W1"]),
    ("Due__c = YESTERDAY", ["W2"]),
    ("Due__c = TOMORROW", []),
    ("Due__c = THIS_WEEK", ["W1", "W2", "W3"]),
    ("Due__c = LAST_WEEK", []),
    ("Due__c = NEXT_WEEK", []),
    ("Due__c = NEXT_MONTH", ["W4"]),
    ("Due__c = THIS_MONTH", ["W1", "W2", "W3"]),
    ("Due__c < TODAY", ["W2", "W3"]),
    ("Due__c <= TODAY", ["W1", "W2", "W3"]),
    ("Due__c > TODAY", ["W4"]),
    ("Due__c >= TODAY", ["W1", "W4"]),
    ("Due__c != TODAY", ["W2", "W3", "W4", "W5"]),
    ("Due__c = LAST_N_DAYS:1", ["W1", "W2"]),
    ("Due__c = NEXT_N_DAYS:30", ["W4"]),
    ("Due__c = LAST_90_DAYS", ["W1", "W2", "W3"]),
    ("Due__c = THIS_QUARTER", ["W1", "W2", "W3", "W4"]),
    ("Due__c = THIS_YEAR", ["W1", "W2", "W3", "W4"]),
    ("Due__c = LAST_YEAR", []),
    ("Due__c IN (TODAY, YESTERDAY)", ["W1", "W2"]),
    ("Seen__c = TODAY", ["W1"]),
    ("Seen__c = YESTERDAY", ["W2"]),
    ("Seen__c = THIS_MONTH", ["W1", "W2", "W3"]),
    ("Seen__c = LAST_MONTH", ["W4"]),
    ("Seen__c = LAST_N_DAYS:14", ["W1", "W2", "W3"]),
]


@pytest.mark.parametrize(("where", "expected"), DATE_LITERALS)
def test_date_literals_use_the_injected_clock(
    engine: QueryEngine, data: Data, where: str, expected: list[str]
) -> None:
    assert names(engine, f"SELECT Name FROM Widget__c WHERE {where} ORDER BY Name") == expected


def test_created_date_today(engine: QueryEngine, data: Data, store: Store) -> None:
    assert len(engine.run("SELECT Id FROM Account WHERE CreatedDate = TODAY").records) == 3
    later = QueryEngine(store, clock=lambda: NOW.replace(day=20))
    assert later.run("SELECT Id FROM Account WHERE CreatedDate = TODAY").records == []
    assert len(later.run("SELECT Id FROM Account WHERE CreatedDate = THIS_MONTH").records) == 3


# ---- ordering, limit, offset ----------------------------------------------------------------------------


def test_ordering_with_nulls(engine: QueryEngine, data: Data) -> None:
    base = "SELECT Name FROM Widget__c ORDER BY "
    assert names(engine, base + "Price__c") == ["W3", "W5", "W1", "W2", "W4"]
    assert names(engine, base + "Price__c DESC") == ["W4", "W2", "W1", "W5", "W3"]
    assert names(engine, base + "Price__c ASC NULLS LAST") == ["W5", "W1", "W2", "W4", "W3"]
    assert names(engine, base + "Price__c DESC NULLS FIRST") == ["W3", "W4", "W2", "W1", "W5"]
    assert names(engine, base + "Active__c DESC, Name DESC") == ["W3", "W1", "W5", "W4", "W2"]
    assert names(engine, base + "Account__r.Name DESC, Name") == ["W4", "W1", "W2", "W3", "W5"]


def test_text_order_ignores_case(engine: QueryEngine, data: Data) -> None:
    assert names(engine, "SELECT Name FROM Account ORDER BY Name") == ["Acme", "beta", "Gamma"]


def test_limit_and_offset(engine: QueryEngine, data: Data) -> None:
    assert names(engine, "SELECT Name FROM Widget__c ORDER BY Name LIMIT 2") == ["W1", "W2"]
    assert names(engine, "SELECT Name FROM Widget__c ORDER BY Name LIMIT 2 OFFSET 2") == ["W3", "W4"]
    assert names(engine, "SELECT Name FROM Widget__c ORDER BY Name OFFSET 4") == ["W5"]
    page = engine.run("SELECT Name FROM Widget__c LIMIT 0")
    assert (page.total_size, page.records) == (0, [])


# ---- aggregates -----------------------------------------------------------------------------------------


def test_count_forms(engine: QueryEngine, data: Data) -> None:
    page = engine.run("SELECT COUNT() FROM Contact")
    assert page.body(V) == {"totalSize": 4, "done": True, "records": []}
    assert engine.run("SELECT COUNT() FROM Contact WHERE AccountId = null").total_size == 1
    assert engine.run("SELECT COUNT() FROM Contact LIMIT 2").total_size == 2
    rec = engine.run("SELECT COUNT(Id), COUNT(Email), COUNT_DISTINCT(AccountId) FROM Contact").records
    assert rec == [{"attributes": {"type": "AggregateResult"}, "expr0": 4, "expr1": 1, "expr2": 2}]


def test_group_by_having_aliases(engine: QueryEngine, data: Data) -> None:
    page = engine.run(
        "SELECT Account.Name, COUNT(Id) n, MAX(LastName) FROM Contact GROUP BY Account.Name "
        "HAVING COUNT(Id) >= 1 ORDER BY COUNT(Id) DESC, Account.Name NULLS LAST"
    )
    assert page.total_size == 3
    assert page.records[0] == {
        "attributes": {"type": "AggregateResult"},
        "Name": "Acme",
        "n": 2,
        "expr0": "Smith",
    }
    assert [r["Name"] for r in page.records] == ["Acme", "beta", None]
    having = engine.run("SELECT AccountId, COUNT(Id) FROM Contact GROUP BY AccountId HAVING COUNT(Id) > 1")
    assert having.records == [{"attributes": {"type": "AggregateResult"}, "AccountId": data.acme, "expr0": 2}]


def test_sum_avg_min_max(engine: QueryEngine, data: Data) -> None:
    rec = engine.run(
        "SELECT SUM(Qty__c), AVG(Price__c), MIN(Due__c), MAX(Seen__c), SUM(Price__c) total FROM Widget__c"
    ).records[0]
    assert rec["expr0"] == 11
    assert isinstance(rec["expr0"], int)
    assert rec["expr1"] == pytest.approx(3.625)
    assert rec["expr2"] == "2024-05-12"
    assert rec["expr3"] == "2024-05-15T08:00:00.000+0000"
    assert rec["total"] == 14.5
    grouped = engine.run("SELECT Active__c, SUM(Qty__c) FROM Widget__c GROUP BY Active__c ORDER BY Active__c")
    assert [(r["Active__c"], r["expr0"]) for r in grouped.records] == [(False, 7), (True, 4)]


# ---- queryAll, CLI queries, errors ----------------------------------------------------------------------


def test_query_all_shows_deleted(engine: QueryEngine, data: Data, store: Store) -> None:
    store.delete("Account", data.gamma)
    assert names(engine, "SELECT Name FROM Account ORDER BY Name") == ["Acme", "beta"]
    assert names(engine, "SELECT Name, IsDeleted FROM Account ORDER BY Name", "IsDeleted") == [False, False]
    every = engine.run("SELECT Name, IsDeleted FROM Account ORDER BY Name", include_deleted=True).records
    assert [(r["Name"], r["IsDeleted"]) for r in every] == [("Acme", False), ("beta", False), ("Gamma", True)]
    assert engine.count("SELECT Id FROM Account", include_deleted=True) == 3
    assert engine.run("SELECT COUNT() FROM Account", include_deleted=True).total_size == 3


def test_cli_queries(engine: QueryEngine, store: Store) -> None:
    org = engine.run(
        "SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType "
        "FROM Organization"
    ).records[0]
    assert org["attributes"]["type"] == "Organization"
    assert list(org)[1:] == [
        "Name",
        "InstanceName",
        "IsSandbox",
        "TrialExpirationDate",
        "NamespacePrefix",
        "OrganizationType",
    ]
    assert org["IsSandbox"] is False
    with pytest.raises(ApiError) as info:
        engine.run("SELECT Id FROM ScratchOrgInfo limit 1")
    assert info.value.error_code == "INVALID_TYPE"
    users = engine.run("SELECT Id, Username FROM User WHERE Username='admin@kinetic.local'").records
    assert [u["Id"] for u in users] == [store.admin_user_id]


def test_columns_metadata(engine: QueryEngine) -> None:
    doc = engine.columns("SELECT Id, Name, Owner.Name, (SELECT LastName FROM Contacts) FROM Account")
    assert set(doc) == {"columnMetadata", "entityName", "groupBy", "idSelected", "keyPrefix"}
    assert (doc["entityName"], doc["groupBy"], doc["idSelected"], doc["keyPrefix"]) == (
        "Account",
        False,
        True,
        "001",
    )
    cols = doc["columnMetadata"]
    keys = {"aggregate", "apexType", "booleanType", "columnName", "custom", "displayName", "foreignKeyName"}
    keys |= {"insertable", "joinColumns", "numberType", "textType", "updatable"}
    assert all(set(c) == keys for c in cols)
    assert [c["columnName"] for c in cols] == ["Id", "Name", "Owner", "Contacts"]
    assert cols[0]["apexType"] == "Id"
    assert cols[2]["foreignKeyName"] == "OwnerId"
    assert cols[2]["joinColumns"][0]["columnName"] == "Name"
    assert cols[3]["aggregate"] is True
    assert cols[3]["joinColumns"][0]["columnName"] == "LastName"
    agg = engine.columns("SELECT Industry, AVG(AnnualRevenue) FROM Account GROUP BY Industry")
    assert agg["groupBy"] is True
    assert agg["columnMetadata"][1]["columnName"] == "expr0"
    assert agg["columnMetadata"][1]["displayName"] == "avg(AnnualRevenue)"
    assert agg["columnMetadata"][1]["aggregate"] is True
    assert agg["columnMetadata"][1]["numberType"] is True
