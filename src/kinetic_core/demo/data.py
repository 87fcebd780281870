"""Realistic, reproducible demo data: Accounts and their Contacts, with a few deliberately bad rows.

Contacts point at their Account through ``Account.External_Id__c`` (a relationship by external id,
resolved by Salesforce at load time). The bad rows are a Contact without a last name, one with an
invalid email, one whose Account does not exist, and an Account whose name is too long; each kind
appears a few times, at fixed positions, so every run shows the same failures.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path

FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Ana", "Arjun", "Beatriz", "Carlos", "Chen", "Chiara", "Dmitri", "Elena", "Emeka",
    "Fatima", "Freya", "Grace", "Hana", "Hugo", "Ines", "Isaac", "Jamal", "Jana", "Jonas", "Kenji", "Lars",
    "Leila", "Lucia", "Maya", "Mateo", "Mei", "Nadia", "Noah", "Olga", "Omar", "Priya", "Rafael", "Rosa",
    "Sami", "Sofia", "Tariq", "Thea", "Tomas", "Uma", "Victor", "Wen", "Yara", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Abebe", "Andersen", "Bauer", "Bianchi", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad",
    "Ivanova", "Jensen", "Kaur", "Kim", "Kowalski", "Lee", "Lopez", "Mensah", "Moreau", "Müller", "Nakamura",
    "Novak", "O'Brien", "Okafor", "Patel", "Petrov", "Quinn", "Rossi", "Santos", "Schmidt", "Silva", "Singh",
    "Tanaka", "Tran", "Van Dijk", "Wagner", "Walsh", "Wong", "Yilmaz", "Zhang",
)  # fmt: skip
COMPANY_WORDS = (
    "Apex", "Atlas", "Aurora", "Beacon", "Blue Ridge", "Cedar", "Cobalt", "Crescent", "Delta", "Evergreen",
    "Falcon", "Granite", "Harbor", "Horizon", "Iron", "Juniper", "Keystone", "Lakeside", "Lumen", "Meridian",
    "Nimbus", "Northwind", "Oak", "Orion", "Pioneer", "Quantum", "Redwood", "Sierra", "Silverline", "Summit",
    "Tidal", "Vertex", "Willow", "Zenith",
)  # fmt: skip
COMPANY_KINDS = (
    "Analytics", "Bakery", "Biotech", "Builders", "Capital", "Consulting", "Dynamics", "Energy", "Foods",
    "Freight", "Health", "Hotels", "Labs", "Logistics", "Media", "Motors", "Networks", "Outfitters",
    "Pharma", "Robotics", "Software", "Systems", "Textiles", "Travel",
)  # fmt: skip
SUFFIXES = ("Inc.", "LLC", "Ltd", "GmbH", "S.A.", "Group", "Co.", "")
INDUSTRIES = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Consulting", "Education", "Energy", "Finance",
    "Food & Beverage", "Healthcare", "Hospitality", "Insurance", "Manufacturing", "Media", "Retail",
    "Technology", "Telecommunications", "Transportation",
)  # fmt: skip
CITIES = (
    ("Amsterdam", "Netherlands"), ("Austin", "United States"), ("Berlin", "Germany"), ("Bogotá", "Colombia"),
    ("Cape Town", "South Africa"), ("Chicago", "United States"), ("Dublin", "Ireland"), ("Lagos", "Nigeria"),
    ("Lisbon", "Portugal"), ("Lyon", "France"), ("Melbourne", "Australia"), ("Milan", "Italy"),
    ("Montréal", "Canada"), ("Mumbai", "India"), ("Osaka", "Japan"), ("São Paulo", "Brazil"),
    ("Seoul", "South Korea"), ("Stockholm", "Sweden"), ("Toronto", "Canada"), ("Warsaw", "Poland"),
)  # fmt: skip
TITLES = (
    "CEO", "CFO", "CTO", "VP Sales", "VP Marketing", "Head of Operations", "Data Engineer", "Account Manager",
    "Procurement Lead", "Office Manager", "Product Manager", "IT Director", "Sales Representative",
)  # fmt: skip

ACCOUNT_COLUMNS = (
    "External_Id__c", "Name", "Industry", "BillingCity", "BillingCountry", "Phone", "Website",
    "NumberOfEmployees", "AnnualRevenue",
)  # fmt: skip
CONTACT_COLUMNS = (
    "External_Id__c", "FirstName", "LastName", "Email", "Title", "Phone", "MailingCity",
    "Account.External_Id__c",
)  # fmt: skip
BAD_KINDS = 3
"""Each kind of invalid row appears this many times."""


@dataclass(frozen=True)
class DemoFiles:
    """The generated CSV files and what they hold."""

    accounts: Path
    contacts: Path
    account_rows: int
    contact_rows: int
    invalid_rows: int


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(c for c in ascii_text.lower() if c.isalnum())


def _phone(rng: random.Random) -> str:
    return f"+1 {rng.randint(200, 989)} {rng.randint(200, 999)} {rng.randint(1000, 9999)}"


def account_row(number: int, rng: random.Random) -> list[str]:
    """One Account (external id ``ACC-000001``...)."""
    name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)} {rng.choice(SUFFIXES)}".strip()
    city, country = rng.choice(CITIES)
    employees = int(rng.lognormvariate(4, 1.4)) + 1
    return [
        f"ACC-{number:06d}",
        name,
        rng.choice(INDUSTRIES),
        city,
        country,
        _phone(rng),
        f"https://www.{_slug(name)[:24]}.example",
        str(employees),
        str(employees * rng.randint(40_000, 250_000)),
    ]


def contact_row(
    number: int, accounts: int, rng: random.Random, avoid: frozenset[int] = frozenset()
) -> list[str]:
    """One Contact of a random Account among the first ``accounts`` (never one of ``avoid``)."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    account = rng.randint(1, accounts)
    while account in avoid and len(avoid) < accounts:
        account = account % accounts + 1
    city, _country = rng.choice(CITIES)
    return [
        f"CON-{number:07d}",
        first,
        last,
        f"{_slug(first)}.{_slug(last)}{number}@example.com",
        rng.choice(TITLES),
        _phone(rng),
        city,
        f"ACC-{account:06d}",
    ]


def _bad_positions(total: int, kinds: int, rng: random.Random) -> dict[int, int]:
    """Row number -> kind of defect, spread over the file."""
    positions: dict[int, int] = {}
    count = min(total, kinds * BAD_KINDS)
    for kind_index, row in enumerate(sorted(rng.sample(range(1, total + 1), count))):
        positions[row] = kind_index % kinds
    return positions


def generate(directory: Path, records: int, *, seed: int = 20240601) -> DemoFiles:
    """Write ``accounts.csv`` and ``contacts.csv`` (one Account for every four Contacts) into ``directory``.

    Example:
        >>> files = generate(Path("/tmp/demo"), 1000)  # doctest: +SKIP
        >>> files.account_rows, files.contact_rows      # doctest: +SKIP
        (200, 800)
    """
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    accounts = max(1, records // 5)
    contacts = max(0, records - accounts)
    bad_accounts = _bad_positions(accounts, 1, rng) if accounts >= 10 else {}
    bad_contacts = _bad_positions(contacts, 3, rng) if contacts >= 10 else {}
    account_file = directory / "accounts.csv"
    with account_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ACCOUNT_COLUMNS)
        for number in range(1, accounts + 1):
            row = account_row(number, rng)
            if number in bad_accounts:
                row[1] = row[1] + " " + "X" * 250  # longer than the 255 characters Account.Name allows
            writer.writerow(row)
    contact_file = directory / "contacts.csv"
    with contact_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CONTACT_COLUMNS)
        avoid = frozenset(bad_accounts)
        for number in range(1, contacts + 1):
            row = contact_row(number, accounts, rng, avoid)
            kind = bad_contacts.get(number)
            if kind == 0:
                row[2] = ""  # no LastName
            elif kind == 1:
                row[3] = row[3].replace("@", " at ")  # not an email address
            elif kind == 2:
                row[7] = "ACC-999999"  # no such Account
            writer.writerow(row)
    return DemoFiles(account_file, contact_file, accounts, contacts, len(bad_accounts) + len(bad_contacts))
