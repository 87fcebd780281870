"""FieldMapper: paths, constants, defaults, transforms, conditions, YAML, describe validation, errors."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pytest

from kinetic_core import FieldMapper, FieldRule, MappingError
from kinetic_core.errors import ConfigError
from kinetic_core.mapping import IssueCode, transforms

DESCRIBE = {
    "name": "Contact",
    "fields": [
        {"name": "Id", "createable": False, "updateable": False, "nillable": False, "type": "id"},
        {
            "name": "LastName",
            "createable": True,
            "updateable": True,
            "nillable": False,
            "defaultedOnCreate": False,
            "type": "string",
        },
        {"name": "Email", "createable": True, "updateable": True, "nillable": True, "type": "email"},
        {
            "name": "CreatedDate",
            "createable": False,
            "updateable": False,
            "nillable": False,
            "defaultedOnCreate": True,
            "type": "datetime",
        },
        {
            "name": "Legacy_Key__c",
            "createable": True,
            "updateable": False,
            "nillable": True,
            "type": "string",
        },
        {
            "name": "AccountId",
            "createable": True,
            "updateable": True,
            "nillable": True,
            "type": "reference",
            "relationshipName": "Account",
        },
        {
            "name": "DoNotCall",
            "createable": True,
            "updateable": True,
            "nillable": False,
            "defaultedOnCreate": True,
            "type": "boolean",
        },
    ],
}


def test_renames_paths_constants_defaults_and_absent_keys() -> None:
    mapper = FieldMapper(
        {"name": "LastName", "address.city": "MailingCity", "tier": ("Tier__c", None, "Bronze")},
        constants={"LeadSource": "Web"},
    )
    assert mapper.map({"name": "Ng", "address": {"city": "Rome"}, "tier": None}) == {
        "LastName": "Ng",
        "MailingCity": "Rome",
        "Tier__c": "Bronze",
        "LeadSource": "Web",
    }
    # absent key -> target absent (leave unchanged); explicit None -> null
    assert mapper.map({"name": None}) == {"LastName": None, "Tier__c": "Bronze", "LeadSource": "Web"}
    assert FieldMapper({"name": "LastName"}, skip_none=True).map({"name": None}) == {}


def test_nested_targets_for_relationships_by_external_id() -> None:
    mapper = FieldMapper({"acct": "Account.External_Id__c"})
    assert mapper.map({"acct": "A1"}) == {"Account": {"External_Id__c": "A1"}}
    assert FieldMapper({"acct": "Account.External_Id__c"}, nest=False).map({"acct": "A1"}) == {
        "Account.External_Id__c": "A1"
    }


def test_builtin_transforms() -> None:
    b = transforms.BUILTINS
    assert b["strip"]("  x ") == "x"
    assert b["lower"]("AbC") == "abc"
    assert b["upper"]("abc") == "ABC"
    assert b["title"]("ada lovelace") == "Ada Lovelace"
    assert b["int"](" 42 ") == 42
    assert b["float"]("1.5") == 1.5
    assert b["decimal"]("10.10") == decimal.Decimal("10.10")
    assert b["bool"]("Yes") is True
    assert b["bool"]("0") is False
    assert b["email"]("  Ada@Example.COM ") == "ada@example.com"
    assert b["phone"]("+39 (06) 123-4567") == "+39061234567"
    assert b["phone"]("0044 20 7946 0958") == "+442079460958"
    assert b["date"]("2024-01-31") == dt.date(2024, 1, 31)
    assert b["int"](None) is None
    assert transforms.date("%d/%m/%Y")("31/01/2024") == dt.date(2024, 1, 31)
    rome = transforms.datetime("%Y-%m-%d %H:%M", tz="Europe/Rome")("2024-07-01 12:00")
    assert rome.astimezone(dt.UTC).hour == 10
    assert transforms.datetime("%Y-%m-%dT%H:%M%z")("2024-01-01T10:00+0100").utcoffset() == dt.timedelta(
        hours=1
    )
    for name, bad in [
        ("int", "1.5"),
        ("bool", "maybe"),
        ("email", "nope"),
        ("phone", "12"),
        ("decimal", "x"),
    ]:
        with pytest.raises((ValueError, TypeError)):
            b[name](bad)
    with pytest.raises(ValueError, match="no time zone"):
        transforms.datetime("%Y-%m-%d %H:%M")("2024-07-01 12:00")
    with pytest.raises(ValueError, match="unknown time zone"):
        transforms.datetime(tz="Mars/Olympus")


def test_failing_transform_names_record_and_field() -> None:
    mapper = FieldMapper({"age": ("Age__c", "int"), "name": "LastName"})
    rows = [{"age": "1", "name": "a"}, {"age": "x", "name": "b"}, {"age": "3", "name": "c"}]
    with pytest.raises(MappingError) as info:
        mapper.transform_batch(rows)
    assert (info.value.index, info.value.field) == (1, "Age__c")
    seen: list[MappingError] = []
    out = list(mapper.map_many(rows, on_error=seen.append))
    assert [r["LastName"] for r in out] == ["a", "c"]
    assert [e.index for e in seen] == [1]


def test_rules_conditions_and_computed() -> None:
    mapper = FieldMapper(
        rules=[
            FieldRule("LastName", "name", (str.strip,)),
            FieldRule("Rating", "score", default="Cold", when=lambda r: bool(r.get("active"))),
        ],
        computed={"Description": lambda r: f"score {r['score']}" if "score" in r else None},
    )
    assert mapper.map({"name": " A ", "active": True, "score": "Hot"}) == {
        "LastName": "A",
        "Rating": "Hot",
        "Description": "score Hot",
    }
    assert mapper.map({"name": "B", "active": False}) == {"LastName": "B"}
    with pytest.raises(MappingError, match="Description"):
        FieldMapper(computed={"Description": lambda r: r["missing"]}).map({}, index=7)


def test_from_yaml_text_and_file(tmp_path: Path) -> None:
    text = """
mapping:
  first: FirstName
  mail: {target: Email, transform: [strip, email]}
fields:
  LastName: {source: person.last, transform: strip}
  Birthdate: {source: born, transform: {date: {format: "%d/%m/%Y"}}}
  Rating: {source: score, default: Cold, when: {field: active, equals: true}}
  Type__c: {constant: Customer}
constants:
  LeadSource: Import
"""
    path = tmp_path / "map.yaml"
    path.write_text(text)
    for mapper in (
        FieldMapper.from_yaml(text),
        FieldMapper.from_yaml(path),
        FieldMapper.from_yaml(str(path)),
    ):
        out = mapper.map(
            {
                "first": "Ada",
                "mail": " ADA@X.IO ",
                "person": {"last": " L "},
                "born": "10/12/1815",
                "active": True,
            }
        )
        assert out == {
            "FirstName": "Ada",
            "Email": "ada@x.io",
            "LastName": "L",
            "Birthdate": dt.date(1815, 12, 10),
            "Rating": "Cold",
            "Type__c": "Customer",
            "LeadSource": "Import",
        }


@pytest.mark.parametrize(
    "text",
    [
        "- a list",
        "fields: {X: {transform: nope}}",
        "fields: {X: {colour: red}}",
        "mapping: {a: 3}",
        "bogus: 1",
        "fields: {X: {source: a, when: {field: a}}}",
        "fields: [",
        "fields: {X: {transform: {int: {}}}}",
    ],
)
def test_bad_yaml_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        FieldMapper.from_yaml(text)


def test_validate_against_describe() -> None:
    mapper = FieldMapper(
        {
            "mail": "Email",
            "x": "Nmae",
            "key": "Legacy_Key__c",
            "when": "CreatedDate",
            "acct": "Account.External_Id__c",
            "y": "Owner.Name",
        }
    )
    issues = mapper.validate(DESCRIBE, "insert")
    found = {(i.code, i.field, i.severity) for i in issues}
    assert (IssueCode.UNKNOWN_FIELD, "Nmae", "error") in found
    assert (IssueCode.UNKNOWN_FIELD, "Owner.Name", "error") in found
    assert (IssueCode.NOT_CREATEABLE, "CreatedDate", "error") in found
    assert (IssueCode.REQUIRED_NOT_MAPPED, "LastName", "error") in found
    assert not any(i.field in ("Email", "Account.External_Id__c", "DoNotCall") for i in issues)
    update = {(i.code, i.field) for i in mapper.validate(DESCRIBE, "update")}
    assert (IssueCode.NOT_UPDATEABLE, "Legacy_Key__c") in update
    assert not any(code is IssueCode.REQUIRED_NOT_MAPPED for code, _ in update)
    ok = FieldMapper({"n": "LastName"}, constants={"Email": "a@b.c"})
    assert ok.validate(DESCRIBE, "insert") == []
    with pytest.raises(ValueError):
        ok.validate(DESCRIBE, "merge")
