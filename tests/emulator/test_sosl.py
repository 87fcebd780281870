"""SOSL: ``/search`` and ``/parameterizedSearch`` on a running emulator, grammar and matching rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.soql.search import compile_term, words_of
from kinetic_core.emulator.soql.sosl import SearchGroup, Word, parse_sosl, parse_term

if TYPE_CHECKING:
    from conftest import EmulatorApi


@pytest.fixture
def api(emulator_api: EmulatorApi) -> EmulatorApi:
    acme = emulator_api.create("Account", Name="Acme Widgets", Phone="(415) 555-1212", Industry="Banking")
    emulator_api.create("Account", Name="Acme Old", Industry="Energy")
    emulator_api.create("Account", Name="Globex", Description="acme reseller")
    emulator_api.create(
        "Contact", LastName="Lovelace", FirstName="Ada", Email="ada@acme.example", AccountId=acme
    )
    emulator_api.create("Contact", LastName="Hopper", FirstName="Grace", Title="Admiral")
    emulator_api.create("Lead", LastName="Acmeson", Company="Initech")
    return emulator_api


def search(api: EmulatorApi, sosl: str) -> list[dict[str, Any]]:
    response = api.get("search", params={"q": sosl})
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()["searchRecords"]
    return records


def names(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["attributes"]["type"], r.get("Name") or r.get("LastName") or r["Id"]) for r in records]


def test_find_returns_ids_of_every_searchable_object(api: EmulatorApi) -> None:
    records = search(api, "FIND {acme}")
    types = sorted(r["attributes"]["type"] for r in records)
    # Acme Widgets, Acme Old, Globex (its description), Lovelace (her e-mail); not Acmeson (another word)
    assert types == ["Account", "Account", "Account", "Contact"]
    first = records[0]
    assert set(first) == {"attributes", "Id"}
    assert first["attributes"]["url"] == f"/services/data/v62.0/sobjects/Account/{first['Id']}"


def test_returning_fields_where_order_limit(api: EmulatorApi) -> None:
    sosl = (
        "FIND {acme*} IN NAME FIELDS "
        "RETURNING Account(Name, Industry WHERE Industry != null ORDER BY Name DESC), "
        "Lead(LastName, Company), Contact"
    )
    records = search(api, sosl)
    assert [{k: v for k, v in r.items() if k != "attributes"} for r in records] == [
        {"Name": "Acme Widgets", "Industry": "Banking"},
        {"Name": "Acme Old", "Industry": "Energy"},
        {"LastName": "Acmeson", "Company": "Initech"},
    ]
    limited = search(
        api, "FIND {acme*} RETURNING Account(Name ORDER BY Name LIMIT 1), Lead(LastName) LIMIT 2"
    )
    assert names(limited) == [("Account", "Acme Old"), ("Lead", "Acmeson")]


def test_search_groups_phrases_wildcards_and_operators(api: EmulatorApi) -> None:
    assert names(search(api, "FIND {ada@acme.example} IN EMAIL FIELDS RETURNING Contact(LastName)")) == [
        ("Contact", "Lovelace")
    ]
    assert names(search(api, "FIND {4155551212} IN PHONE FIELDS RETURNING Account(Name)")) == [
        ("Account", "Acme Widgets")
    ]
    assert search(api, "FIND {acme} IN PHONE FIELDS RETURNING Account(Name)") == []
    assert names(search(api, 'FIND {"acme w*"} RETURNING Account(Name)')) == [("Account", "Acme Widgets")]
    assert names(search(api, "FIND {gl?bex OR hopper} RETURNING Account(Name), Contact(LastName)")) == [
        ("Account", "Globex"),
        ("Contact", "Hopper"),
    ]
    assert names(search(api, "FIND {acme AND NOT (old OR reseller)} RETURNING Account(Name)")) == [
        ("Account", "Acme Widgets")
    ]
    assert names(search(api, "FIND {acme widgets} RETURNING Account(Name)")) == [("Account", "Acme Widgets")]


def test_deleted_records_are_not_found(api: EmulatorApi) -> None:
    found = search(api, "FIND {globex} RETURNING Account(Id)")
    assert api.delete(f"sobjects/Account/{found[0]['Id']}").status_code == 204
    assert search(api, "FIND {globex} RETURNING Account(Id)") == []


@pytest.mark.parametrize(
    ("sosl", "code", "text"),
    [
        ("foo", "MALFORMED_SEARCH", "No search term found. The search term must be enclosed in braces."),
        ("FIND {a}", "MALFORMED_SEARCH", "Search term must be at least 2 characters long"),
        ("FIND {acme} WITH SNIPPET", "MALFORMED_SEARCH", "WITH SNIPPET is not supported by this emulator"),
        (
            "FIND {acme} IN SIDEBAR FIELDS",
            "MALFORMED_SEARCH",
            "IN SIDEBAR FIELDS is not supported by this emulator",
        ),
        ("FIND {acme} RETURNING Nope__c", "INVALID_TYPE", "sObject type 'Nope__c' is not supported."),
        ("FIND {acme} RETURNING Account(Bogus__c)", "INVALID_FIELD", "No such column 'Bogus__c'"),
        ("FIND {acme} RETURNING Account(Name", "MALFORMED_SEARCH", "no viable alternative"),
    ],
)
def test_errors(api: EmulatorApi, sosl: str, code: str, text: str) -> None:
    response = api.get("search", params={"q": sosl})
    assert response.status_code == 400
    error = response.json()[0]
    assert error["errorCode"] == code
    assert text in error["message"]


def test_old_versions_answer_a_bare_array(api: EmulatorApi) -> None:
    response = api.http.get("/services/data/v35.0/search", params={"q": "FIND {globex}"}, headers=api.auth)
    body = response.json()
    assert isinstance(body, list)
    assert body[0]["attributes"]["type"] == "Account"


def test_parameterized_search_get_and_post(api: EmulatorApi) -> None:
    got = api.get(
        "parameterizedSearch",
        params={
            "q": "acme*",
            "sobject": "Account",
            "Account.fields": "Id,Name",
            "Account.limit": "5",
            "in": "NAME",
        },
    ).json()
    assert sorted(r["Name"] for r in got["searchRecords"]) == ["Acme Old", "Acme Widgets"]
    body = {
        "q": "acme",
        "fields": ["Id"],
        "sobjects": [
            {"name": "Account", "fields": ["Name"], "where": "Industry = 'Banking'"},
            {"name": "Contact"},
        ],
        "overallLimit": 10,
    }
    posted = api.post("parameterizedSearch", json=body)
    assert posted.status_code == 200, posted.text
    account, contact = posted.json()["searchRecords"]
    assert (account["attributes"]["type"], account["Name"]) == ("Account", "Acme Widgets")
    assert (contact["attributes"]["type"], set(contact)) == ("Contact", {"attributes", "Id"})  # fields: [Id]
    everywhere = api.get("parameterizedSearch", params={"q": "hopper"}).json()["searchRecords"]
    assert [r["attributes"]["type"] for r in everywhere] == ["Contact"]
    refused = api.get("parameterizedSearch", params={"q": "acme", "snippet": "x"})
    assert refused.status_code == 400
    assert "not supported by this emulator" in refused.json()[0]["message"]


# ---- grammar and matching without a server ---------------------------------------------------------------


def test_sosl_grammar() -> None:
    search = parse_sosl(
        "find {Acme*} in email fields returning Contact(Email ORDER BY Email LIMIT 3 OFFSET 1) limit 9"
    )
    assert search.group is SearchGroup.EMAIL
    assert search.limit == 9
    item = search.returning[0]
    assert (item.sobject, item.limit, item.offset) == ("Contact", 3, 1)
    assert parse_term(r'"a\"b" OR x\{y') is not None
    assert parse_term("o'brien") == Word(("o", "brien"), phrase=True)


def test_matching_rules() -> None:
    match = compile_term(parse_term("jo?n* AND NOT smith"))
    assert match([words_of("Johnny Walker", False)])
    assert not match([words_of("Johnny", False), words_of("Smith", False)])
    assert not match([words_of("Jon", False)])  # ? is exactly one character
    assert words_of("+1 (415) 555-1212", True)[-1] == "14155551212"
    with pytest.raises(ApiError):
        parse_term("acme AND")
