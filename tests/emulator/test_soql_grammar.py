"""Table-driven SOQL grammar and schema validation: accepted queries and Salesforce error codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_soql_support import make_schema

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.soql import ast as a
from kinetic_core.emulator.soql.parser import parse_soql, unescape
from kinetic_core.emulator.soql.plan import QueryPlan
from kinetic_core.emulator.soql.planner import plan_query
from kinetic_core.emulator.store.schema import Schema

VALID = [
    "SELECT Id FROM Account",
    "select id from account",
    "SeLeCt Name FrOm AcCoUnT wHeRe NaMe = 'x'",
    "SELECT Id, Name, Industry, AnnualRevenue FROM Account",
    "SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType "
    "FROM Organization",
    "SELECT IsSandbox FROM Organization LIMIT 1",
    "SELECT Id, Username, Email FROM User WHERE Username='admin@kinetic.local'",
    "SELECT Id, Account.Name FROM Contact",
    "SELECT Id, Account.Owner.Name FROM Contact",
    "SELECT Contact.Account.Owner.Name FROM Contact",
    "SELECT c.Name, c.Account.Name FROM Contact c",
    "SELECT Account.Name FROM Account",
    "SELECT Id, Account__r.Name, Account__r.Owner.Email FROM Widget__c",
    "SELECT Name, (SELECT LastName FROM Contacts) FROM Account",
    "SELECT Name, (SELECT Id, LastName FROM Contacts WHERE LastName != null ORDER BY LastName DESC LIMIT 2) "
    "FROM Account",
    "SELECT Name, (SELECT Name FROM Widgets__r), (SELECT Name FROM Opportunities) FROM Account",
    "SELECT Name, (SELECT LastName, Owner.Name FROM Contacts) FROM Account",
    "SELECT Id FROM Account WHERE Name = 'A'",
    "SELECT Id FROM Account WHERE Name != 'A'",
    "SELECT Id FROM Account WHERE Name <> 'A'",
    "SELECT Id FROM Account WHERE NumberOfEmployees < 5",
    "SELECT Id FROM Account WHERE NumberOfEmployees <= 5",
    "SELECT Id FROM Account WHERE NumberOfEmployees > 5",
    "SELECT Id FROM Account WHERE NumberOfEmployees >= -5",
    "SELECT Id FROM Account WHERE AnnualRevenue > 1.5e3",
    "SELECT Id FROM Account WHERE Name LIKE 'Ac%'",
    "SELECT Id FROM Account WHERE Name LIKE 'A_me\\%'",
    "SELECT Id FROM Account WHERE Name IN ('a', 'b')",
    "SELECT Id FROM Account WHERE Name NOT IN ('a', 'b')",
    "SELECT Id FROM Account WHERE Name IN ('a', null)",
    "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
    "SELECT Id FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact WHERE LastName = 'x')",
    "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Account.Name LIKE 'a%')",
    "SELECT Id FROM Widget__c WHERE Tags__c INCLUDES ('red;big', 'blue')",
    "SELECT Id FROM Widget__c WHERE Tags__c EXCLUDES ('red')",
    "SELECT Id FROM Account WHERE (Name = 'a' OR Name = 'b') AND Industry != null",
    "SELECT Id FROM Account WHERE NOT Name = 'a'",
    "SELECT Id FROM Account WHERE NOT (Name = 'a' OR Industry = null)",
    "SELECT Id FROM Account WHERE Industry = null",
    "SELECT Id FROM Account WHERE Industry != NULL",
    "SELECT Id FROM Widget__c WHERE Active__c = true",
    "SELECT Id FROM Widget__c WHERE Active__c = FALSE",
    "SELECT Id FROM Account WHERE Name = 'it\\'s \\\\ \\n \\\" ok'",
    "SELECT Id FROM Widget__c WHERE Due__c = 2024-01-31",
    "SELECT Id FROM Widget__c WHERE Seen__c > 2024-01-31T10:00:00Z",
    "SELECT Id FROM Widget__c WHERE Seen__c > 2024-01-31T10:00:00.123+05:30",
    "SELECT Id FROM Widget__c WHERE Seen__c > 2024-01-31T10:00:00-08:00",
    "SELECT Id FROM Account WHERE CreatedDate = TODAY",
    "SELECT Id FROM Account WHERE CreatedDate = yesterday",
    "SELECT Id FROM Account WHERE CreatedDate > TOMORROW",
    "SELECT Id FROM Account WHERE CreatedDate = LAST_WEEK OR CreatedDate = THIS_WEEK "
    "OR CreatedDate = NEXT_WEEK",
    "SELECT Id FROM Account WHERE CreatedDate = LAST_MONTH OR CreatedDate = THIS_MONTH "
    "OR CreatedDate = NEXT_MONTH",
    "SELECT Id FROM Account WHERE CreatedDate = LAST_90_DAYS OR CreatedDate = NEXT_90_DAYS",
    "SELECT Id FROM Account WHERE CreatedDate = THIS_QUARTER OR CreatedDate = THIS_YEAR",
    "SELECT Id FROM Account WHERE CreatedDate = LAST_YEAR OR CreatedDate = NEXT_YEAR",
    "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30 AND CreatedDate < NEXT_N_DAYS:7",
    "SELECT Id FROM Widget__c WHERE Due__c IN (TODAY, 2024-01-01)",
    "SELECT Id FROM Account ORDER BY Name",
    "SELECT Id FROM Account ORDER BY Name DESC, Industry ASC NULLS LAST",
    "SELECT Id FROM Account ORDER BY Owner.Name NULLS FIRST",
    "SELECT Id FROM Account LIMIT 10 OFFSET 2000",
    "SELECT COUNT() FROM Account",
    "SELECT COUNT() FROM Account WHERE Name LIKE 'a%'",
    "SELECT COUNT(Id) FROM Account",
    "SELECT COUNT_DISTINCT(Industry) FROM Account",
    "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry",
    "SELECT Industry, COUNT(Id) total FROM Account GROUP BY Industry HAVING COUNT(Id) > 1",
    "SELECT Industry ind, SUM(AnnualRevenue), AVG(AnnualRevenue), MIN(Name), MAX(CreatedDate) FROM Account "
    "GROUP BY Industry ORDER BY SUM(AnnualRevenue) DESC",
    "SELECT Account.Name, COUNT(Id) FROM Contact GROUP BY Account.Name",
    "SELECT FIELDS(STANDARD) FROM Account",
    "SELECT FIELDS(ALL) FROM Account LIMIT 200",
    "SELECT FIELDS(CUSTOM) FROM Widget__c LIMIT 5",
    "SELECT Id FROM Widget__c WHERE Code__c = 'x' AND Qty__c = 3 AND Price__c = 1.25",
    "SELECT Id FROM Account WITH SECURITY_ENFORCED",
    "SELECT Id FROM Account WHERE Id = '0018c0000000001'",
    "SELECT Type FROM Account",
    "SELECT Id FROM Account\nWHERE Name = 'x'\nORDER BY Name",
]

INVALID = [
    ("SELECT Id FRM Account", "MALFORMED_QUERY"),
    ("SELECT FROM Account", "MALFORMED_QUERY"),
    ("SELECT Id FROM", "MALFORMED_QUERY"),
    ("SELECT Id, FROM Account", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'a' AND Type = 'b' OR Industry = 'c'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'a' OR Type = 'b' AND Industry = 'c'", "MALFORMED_QUERY"),
    ('SELECT Id FROM Account WHERE Name = "x"', "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'unterminated", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE Name = 'bad \\q escape'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account LIMIT x", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account LIMIT 1.5", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account ORDER Name", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE CreatedDate = SOMEDAY", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE CreatedDate = TODAY:3", "MALFORMED_QUERY"),
    ("SELECT Id FROM Widget__c WHERE Due__c = 2024-02-30", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account LIMIT 10 OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
    ("SELECT Name n FROM Account", "MALFORMED_QUERY"),
    ("SELECT Id, Name, name FROM Account", "MALFORMED_QUERY"),
    ("SELECT Name, COUNT(Id) FROM Account", "MALFORMED_QUERY"),
    ("SELECT Name, COUNT(Id) FROM Account GROUP BY Industry", "MALFORMED_QUERY"),
    ("SELECT COUNT(), Name FROM Account", "MALFORMED_QUERY"),
    ("SELECT SUM() FROM Account", "MALFORMED_QUERY"),
    ("SELECT FIELDS(ALL) FROM Account", "MALFORMED_QUERY"),
    ("SELECT FIELDS(CUSTOM) FROM Account LIMIT 201", "MALFORMED_QUERY"),
    ("SELECT FIELDS(SOME) FROM Account", "MALFORMED_QUERY"),
    ("SELECT Id, TYPEOF Owner WHEN User THEN Name END FROM Account", "MALFORMED_QUERY"),
    ("SELECT Name, (SELECT LastName, (SELECT Id FROM Cases) FROM Contacts) FROM Account", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account ORDER BY COUNT(Id)", "MALFORMED_QUERY"),
    ("SELECT Id FROM Account WHERE COUNT(Id) > 1", "MALFORMED_QUERY"),
    ("SELECT Industry FROM Account GROUP BY Industry HAVING Name = 'x'", "MALFORMED_QUERY"),
    ("SELECT Name FROM Account HAVING COUNT(Id) > 1", "MALFORMED_QUERY"),
    ("SELECT Id FROM ScratchOrgInfo limit 1", "INVALID_TYPE"),
    ("SELECT Id FROM Foo", "INVALID_TYPE"),
    ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Nope__c)", "INVALID_TYPE"),
    ("SELECT Name, (SELECT Id FROM Bacons) FROM Account", "INVALID_TYPE"),
    ("SELECT Bacon__c FROM Account LIMIT 2", "INVALID_FIELD"),
    ("SELECT Id, Account.Bacon__c FROM Contact", "INVALID_FIELD"),
    ("SELECT Id, Bacon__r.Name FROM Contact", "INVALID_FIELD"),
    ("SELECT Id, LastName.Name FROM Contact", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Bacon__c = 1", "INVALID_FIELD"),
    ("SELECT Id FROM Account ORDER BY Bacon__c", "INVALID_FIELD"),
    ("SELECT SUM(Name) FROM Account", "INVALID_FIELD"),
    ("SELECT Name, (SELECT Bacon__c FROM Contacts) FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Name IN (SELECT AccountId FROM Contact)", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE Id IN (SELECT LastName FROM Contact)", "INVALID_FIELD"),
    ("SELECT Id FROM Account WHERE CreatedDate > '2024-01-01'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Account WHERE CreatedDate > 2024-01-01", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Widget__c WHERE Due__c = 2024-01-01T00:00:00Z", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Widget__c WHERE Active__c = 'true'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Account WHERE NumberOfEmployees = '5'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Account WHERE Name = 5", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Account WHERE Name = TODAY", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Account WHERE Id = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Account WHERE Name INCLUDES ('a')", "INVALID_QUERY_FILTER_OPERATOR"),
    ("SELECT Id FROM Account WHERE NumberOfEmployees LIKE '5%'", "INVALID_QUERY_FILTER_OPERATOR"),
]


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Schema:
    base: Path = tmp_path_factory.mktemp("soql-schema")
    return make_schema(base)


def plan(soql: str, schema: Schema) -> QueryPlan:
    return plan_query(soql, parse_soql(soql), schema)


def test_table_is_large_enough() -> None:
    assert len(VALID) + len(INVALID) >= 80


@pytest.mark.parametrize("soql", VALID)
def test_valid_queries_compile(soql: str, schema: Schema) -> None:
    result = plan(soql, schema)
    assert result.records is not None or result.aggregate is not None


@pytest.mark.parametrize(("soql", "code"), INVALID)
def test_invalid_queries_fail_with_salesforce_code(soql: str, code: str, schema: Schema) -> None:
    with pytest.raises(ApiError) as info:
        plan(soql, schema)
    assert info.value.error_code == code
    assert info.value.status == 400
    if code not in ("NUMBER_OUTSIDE_VALID_RANGE",):
        assert "ERROR at Row:" in info.value.message


def test_invalid_field_message_matches_salesforce(schema: Schema) -> None:
    with pytest.raises(ApiError) as info:
        plan("SELECT Bacon__c FROM Account LIMIT 2", schema)
    assert info.value.message == (
        "\nSELECT Bacon__c FROM Account LIMIT 2\n       ^\nERROR at Row:1:Column:8\n"
        "No such column 'Bacon__c' on entity 'Account'. If you are attempting to use a custom field, "
        "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
        "describe call for the appropriate names."
    )


def test_invalid_type_points_at_the_object(schema: Schema) -> None:
    with pytest.raises(ApiError) as info:
        plan("select count() from XYZZY", schema)
    assert info.value.message.startswith(
        "\nselect count() from XYZZY\n                    ^\nERROR at Row:1:Column:21\n"
    )
    assert "sObject type 'XYZZY' is not supported." in info.value.message


def test_malformed_query_names_the_token(schema: Schema) -> None:
    with pytest.raises(ApiError) as info:
        plan("SELECT Id FROM Account WHERE Name = 'x' FRM", schema)
    assert info.value.message.endswith("unexpected token: 'FRM'")
    with pytest.raises(ApiError) as info:
        plan("SELECT Id FROM Account WHERE", schema)
    assert info.value.message.endswith("unexpected token: '<EOF>'")


def test_multiline_error_points_at_the_right_row(schema: Schema) -> None:
    with pytest.raises(ApiError) as info:
        plan("SELECT Id\nFROM Account\nWHERE Bogus__c = 1", schema)
    assert "\nWHERE Bogus__c = 1\n      ^\nERROR at Row:3:Column:7\n" in info.value.message


def test_ast_shape_for_a_rich_query() -> None:
    query = parse_soql(
        "SELECT Id, Account.Name, (SELECT LastName FROM Contacts LIMIT 3) FROM Account a "
        "WHERE Name LIKE 'x%' AND CreatedDate = LAST_N_DAYS:7 ORDER BY Name DESC NULLS LAST LIMIT 5 OFFSET 1"
    )
    assert query.sobject == "Account"
    assert query.alias == "a"
    assert isinstance(query.select[1], a.SelectField)
    assert query.select[1].path.parts == ("Account", "Name")
    sub = query.select[2]
    assert isinstance(sub, a.SelectSubquery)
    assert sub.query.limit == 3
    assert isinstance(query.where, a.And)
    date_cond = query.where.items[1]
    assert isinstance(date_cond, a.Comparison)
    assert date_cond.value == a.DateRangeLit("LAST_N_DAYS", 7, date_cond.value.pos)
    assert query.order_by == (a.OrderItem(a.FieldPath(("Name",), query.order_by[0].expr.pos), True, False),)
    assert (query.limit, query.offset) == (5, 1)


def test_datetime_literals_are_normalised_to_utc() -> None:
    query = parse_soql("SELECT Id FROM X WHERE A > 2024-01-31T10:00:00+05:30 AND B < 2024-01-31T23:59:59.5Z")
    assert isinstance(query.where, a.And)
    values = [c.value for c in query.where.items if isinstance(c, a.Comparison)]
    assert values[0] == a.DateTimeLit("2024-01-31T04:30:00.000Z", values[0].pos)
    assert values[1] == a.DateTimeLit("2024-01-31T23:59:59.500Z", values[1].pos)


def test_string_escapes() -> None:
    query = parse_soql(r"SELECT Id FROM X WHERE A = 'it\'s \\ \n \" \t \u00e9'")
    assert isinstance(query.where, a.Comparison)
    assert isinstance(query.where.value, a.StringLit)
    assert query.where.value.value == "it's \\ \n \" \t \u00e9"
    assert unescape(r"50\% of a\_b \\", like=True) == r"50\% of a\_b \\"
    assert unescape(r"50\% off", like=False) == "50% off"


def test_keywords_can_be_names_where_the_grammar_expects_names(schema: Schema) -> None:
    query = parse_soql("SELECT Type, Name FROM Group WHERE Type = 'x' ORDER BY Type")
    assert query.sobject == "Group"
    assert isinstance(query.select[0], a.SelectField)
    assert query.select[0].path.parts == ("Type",)
