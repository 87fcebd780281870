"""FieldMapper: rename, transform, default, nest and validate records before loading them.

Run: python examples/field_mapper.py
"""

from __future__ import annotations

import tempfile
from typing import Any

from kinetic_core import FieldMapper, FieldRule, MappingError, SalesforceClient

# Source records as an upstream system might export them.
SOURCE: list[dict[str, Any]] = [
    {
        "id": "C-1",
        "name": {"first": " ada ", "last": "Lovelace"},
        "mail": "ADA@Example.COM",
        "company": "A-1",
        "joined": "10/12/2023",
        "vip": "yes",
    },
    {
        "id": "C-2",
        "name": {"first": "alan", "last": "Turing"},
        "mail": None,
        "company": "A-1",
        "joined": "23/06/2024",
        "vip": "no",
    },
    {
        "id": "C-3",
        "name": {"first": "grace", "last": "Hopper"},
        "mail": "grace@example.com",
        "company": "A-1",
        "joined": "not a date",
        "vip": "no",
    },
]

# The same mapping can live in YAML (see docs/pipelines.md); here it is built in Python.
MAPPING_YAML = """
fields:
  External_Id__c: id
  FirstName: {source: name.first, transform: [strip, title]}
  LastName: name.last
  Email: {source: mail, transform: email}
  Account.External_Id__c: company
  Birthdate: {source: joined, transform: {date: {format: "%d/%m/%Y"}}}
  Description: {source: notes, default: "Imported"}
constants:
  LeadSource: Partner Referral
"""


def main() -> None:
    mapper = FieldMapper.from_yaml(MAPPING_YAML)
    print(f"targets: {', '.join(mapper.targets)}")
    print(f"mapped: {mapper.map(SOURCE[0])}")

    # The Python form: source-keyed entries, target-keyed rules, constants and computed values.
    python_mapper = FieldMapper(
        {"mail": ("Email", "email"), "name.last": "LastName"},
        rules=[FieldRule("FirstName", "name.first", (str.strip, str.title))],
        computed={"Title": lambda r: "VIP" if r.get("vip") == "yes" else None},
    )
    print(f"python form: {python_mapper.map(SOURCE[0])}")

    # None means "set to null", an absent key means "leave unchanged".
    second = mapper.map(SOURCE[1])
    print(f"null email kept as None: {'Email' in second and second['Email'] is None}")

    # A bad value is a MappingError naming the record and the field, never a silently dropped row.
    errors: list[MappingError] = []
    mapped = list(mapper.map_many(SOURCE, on_error=errors.append))
    for err in errors:
        print(f"mapping error: {err}")

    with tempfile.TemporaryDirectory() as home, SalesforceClient.connect("local", home=home) as client:
        # Check the targets against the object's describe before sending anything.
        issues = mapper.validate(client.describe("Contact"), "insert")
        print(f"issues against Contact describe: {[f'{i.code}:{i.field}' for i in issues] or 'none'}")

        client.create("Account", {"Name": "Analytical Engines", "External_Id__c": "A-1"})
        results = client.create_batch("Contact", mapped)
        print(f"loaded {sum(r.success for r in results)} of {len(mapped)} mapped contacts")
        row = client.query_one(
            "SELECT FirstName, Email, Birthdate, Account.Name FROM Contact WHERE LastName = 'Lovelace'"
        )
        assert row is not None
        print(f"stored: {row['FirstName']} {row['Email']} {row['Birthdate']} {row['Account']['Name']}")
    print("field_mapper: done")


if __name__ == "__main__":
    main()
