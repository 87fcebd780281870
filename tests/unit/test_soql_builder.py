"""The SOQL builder: literals by type, and a fuzz test that user strings cannot change a query."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinetic_core.rest.soql import literal, quote_string, select, soql

ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def read_string_literal(text: str, start: int) -> tuple[str, int]:
    """An independent reader of a SOQL string literal at ``start``: (decoded value, index after it)."""
    assert text[start] == "'"
    out = []
    i = start + 1
    while True:
        ch = text[i]
        if ch == "\\":
            out.append(ESCAPES[text[i + 1]])
            i += 2
        elif ch == "'":
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1


@given(st.text())
def test_any_string_roundtrips_and_cannot_escape_its_literal(value: str) -> None:
    prefix = "SELECT Id FROM Account WHERE Name = "
    query = soql(prefix + "{} AND IsDeleted = FALSE", value)
    assert query.startswith(prefix)
    decoded, end = read_string_literal(query, len(prefix))
    assert decoded == value
    assert query[end:] == " AND IsDeleted = FALSE"


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_lists_of_strings_roundtrip(values: list[str]) -> None:
    prefix = "SELECT Id FROM Contact WHERE Email IN "
    query = soql(prefix + "{} LIMIT 5", values)
    pos = len(prefix)
    assert query[pos] == "("
    pos += 1
    decoded = []
    for n in range(len(values)):
        value, pos = read_string_literal(query, pos)
        decoded.append(value)
        if n < len(values) - 1:
            assert query[pos : pos + 2] == ", "
            pos += 2
    assert decoded == values
    assert query[pos:] == ") LIMIT 5"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "NULL"),
        (True, "TRUE"),
        (False, "FALSE"),
        (42, "42"),
        (-1.5, "-1.5"),
        (decimal.Decimal("10.50"), "10.50"),
        (dt.date(2024, 1, 31), "2024-01-31"),
        (dt.datetime(2024, 1, 31, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2024-01-31T10:00:00Z"),
        (dt.datetime(2024, 1, 31, 10, 0, 0, 250000, tzinfo=dt.UTC), "2024-01-31T10:00:00.250Z"),
        ([1, "a", None], "(1, 'a', NULL)"),
        ({"b", "a"}, "('a', 'b')"),
        ("it's \\ \n", "'it\\'s \\\\ \\n'"),
    ],
)
def test_literals(value: object, expected: str) -> None:
    assert literal(value) == expected


@pytest.mark.parametrize(
    "bad",
    [dt.datetime(2024, 1, 1), float("nan"), float("inf"), [], [[1]], decimal.Decimal("NaN")],
)
def test_values_without_a_literal_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        literal(bad)


def test_unsupported_types_and_placeholder_errors() -> None:
    with pytest.raises(TypeError):
        literal(object())
    with pytest.raises(ValueError, match="fewer"):
        soql("SELECT Id FROM A WHERE X = {} AND Y = {}", 1)
    with pytest.raises(ValueError, match="placeholders"):
        soql("SELECT Id FROM A", 1)
    with pytest.raises(ValueError, match="lone brace"):
        soql("SELECT Id FROM A WHERE X = {0}", 1)
    assert soql("SELECT Id FROM A WHERE X = '{{}}'") == "SELECT Id FROM A WHERE X = '{}'"


def test_quote_string_and_select() -> None:
    assert quote_string("O'Brien") == "'O\\'Brien'"
    assert select("Contact", ["Id", "Account.Name"], "Email = {}", "a@b.c") == (
        "SELECT Id, Account.Name FROM Contact WHERE Email = 'a@b.c'"
    )
    with pytest.raises(ValueError):
        select("Contact; DROP", ["Id"])
    with pytest.raises(ValueError):
        select("Contact", ["Id FROM User --"])
