"""values: JSON and CSV conversions, round trips and validation errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store import UNCHANGED, from_csv, from_json, to_csv, to_json
from kinetic_core.emulator.store.schema import FieldDef, FieldType
from kinetic_core.emulator.store.values import java_double

NAME = FieldDef("Name", FieldType.STRING, label="Account Name", length=255)
EMAIL = FieldDef("Email", FieldType.EMAIL, label="Email", length=80)
FLAG = FieldDef("IsActive", FieldType.BOOLEAN, label="Active")
COUNT = FieldDef("NumberOfEmployees", FieldType.INT, label="Employees", digits=8)
MONEY = FieldDef("Amount", FieldType.CURRENCY, label="Amount", precision=18, scale=2)
DAY = FieldDef("CloseDate", FieldType.DATE, label="Close Date")
MOMENT = FieldDef("When__c", FieldType.DATETIME, label="When")
CLOCK = FieldDef("At__c", FieldType.TIME, label="At")
REF = FieldDef("AccountId", FieldType.REFERENCE, label="Account ID", reference_to=("Account",))
PICK = FieldDef(
    "Tier__c", FieldType.PICKLIST, label="Tier", picklist_values=("Gold", "Silver"), restricted_picklist=True
)
OPEN_PICK = FieldDef("Kind__c", FieldType.PICKLIST, label="Kind", picklist_values=("A",))
MULTI = FieldDef(
    "Tags__c",
    FieldType.MULTIPICKLIST,
    label="Tags",
    picklist_values=("a", "b", "c"),
    restricted_picklist=True,
)


def api_error(call: Any, *args: Any) -> ApiError:
    with pytest.raises(ApiError) as e:
        call(*args)
    return e.value


@pytest.mark.parametrize(
    ("field", "json_in", "stored", "json_out", "csv_out"),
    [
        (NAME, "Acme", "Acme", "Acme", "Acme"),
        (NAME, 42, "42", "42", "42"),
        (NAME, "", None, None, ""),
        (FLAG, True, 1, True, "true"),
        (FLAG, "false", 0, False, "false"),
        (COUNT, 12, 12, 12, "12"),
        (COUNT, "7", 7, 7, "7"),
        (MONEY, 1234.567, 1234.567, 1234.567, "1234.567"),  # kept beyond the scale, as Salesforce does
        (MONEY, 12000000, 12000000.0, 12000000.0, "1.2E7"),
        (DAY, "2024-02-29", "2024-02-29", "2024-02-29", "2024-02-29"),
        (MOMENT, "2021-11-06T19:38:40+02:00", "2021-11-06T17:38:40.000Z", "2021-11-06T17:38:40.000+0000",
         "2021-11-06T17:38:40.000Z"),
        (MOMENT, "2021-11-06T17:38:40.123Z", "2021-11-06T17:38:40.123Z", "2021-11-06T17:38:40.123+0000",
         "2021-11-06T17:38:40.123Z"),
        (MOMENT, "2021-11-06T17:38:40.000+0000", "2021-11-06T17:38:40.000Z", "2021-11-06T17:38:40.000+0000",
         "2021-11-06T17:38:40.000Z"),
        (CLOCK, "10:30:00.000Z", "10:30:00.000", "10:30:00.000Z", "10:30:00.000Z"),
        (REF, "001D000000IqhSL", "001D000000IqhSLIAZ", "001D000000IqhSLIAZ", "001D000000IqhSLIAZ"),
        (PICK, "gold", "Gold", "Gold", "Gold"),
        (OPEN_PICK, "Anything", "Anything", "Anything", "Anything"),
        (MULTI, "b;a;b", "b;a", "b;a", "b;a"),
        (EMAIL, "a.b+c@example.co.uk", "a.b+c@example.co.uk", "a.b+c@example.co.uk", "a.b+c@example.co.uk"),
        (NAME, None, None, None, ""),
    ],
)  # fmt: skip
def test_json_round_trip(field: FieldDef, json_in: Any, stored: Any, json_out: Any, csv_out: str) -> None:
    assert from_json(field, json_in) == stored
    assert to_json(field, stored) == json_out
    assert to_csv(field, stored) == csv_out
    if csv_out:
        assert from_csv(field, csv_out) == stored


def test_csv_special_cells() -> None:
    assert from_csv(NAME, "") is UNCHANGED
    assert from_csv(COUNT, "#N/A") is None
    assert from_csv(FLAG, "TRUE") == 1
    assert from_csv(FLAG, "0") == 0
    assert from_csv(MONEY, "1.5E3") == 1500.0
    assert repr(UNCHANGED) == "UNCHANGED"
    assert not UNCHANGED


@pytest.mark.parametrize(
    ("field", "value", "java"),
    [
        (DAY, "2020-13-45", "date"),
        (DAY, 20200101, "date"),
        (MOMENT, "2020-01-01", "datetime"),
        (FLAG, "yes", "boolean"),
        (COUNT, 1.5, "int"),
        (COUNT, "ten", "int"),
        (MONEY, "abc", "double"),
        (MONEY, True, "double"),
        (NAME, {"a": 1}, "string"),
        (NAME, [1], "string"),
    ],
)
def test_json_type_errors(field: FieldDef, value: Any, java: str) -> None:
    err = api_error(from_json, field, value)
    assert err.error_code == "JSON_PARSER_ERROR"
    assert err.status == 400
    assert err.message.startswith(f"Cannot deserialize instance of {java} from ")
    assert err.message.endswith("or request may be missing a required field")


def test_json_date_message_matches_salesforce() -> None:
    err = api_error(from_json, DAY, "2020-13-45")
    assert err.message == (
        "Cannot deserialize instance of date from VALUE_STRING value 2020-13-45 "
        "or request may be missing a required field"
    )


@pytest.mark.parametrize(
    ("field", "text", "soap"),
    [
        (DAY, "x", "xsd:date"),
        (DAY, "2018/09/28", "xsd:date"),
        (MOMENT, "2018-09-28", "xsd:dateTime"),
        (FLAG, "maybe", "xsd:boolean"),
        (COUNT, "1.5", "xsd:int"),
        (MONEY, "1,000", "xsd:double"),
        (CLOCK, "25:00", "xsd:time"),
    ],
)
def test_csv_type_errors(field: FieldDef, text: str, soap: str) -> None:
    err = api_error(from_csv, field, text)
    assert (err.error_code, err.fields) == ("INVALID_FIELD", [field.name])
    assert err.message == f"'{text}' is not a valid value for the type {soap}"


def test_field_validation_errors() -> None:
    err = api_error(from_json, NAME, "x" * 256)
    assert (err.error_code, err.fields) == ("STRING_TOO_LONG", ["Name"])
    assert err.message == f"Account Name: data value too large: {'x' * 256} (max length=255)"
    err = api_error(from_csv, EMAIL, "not-an-email")
    assert (err.error_code, err.message) == (
        "INVALID_EMAIL_ADDRESS",
        "Email: invalid email address: not-an-email",
    )
    err = api_error(from_json, PICK, "Bronze")
    assert err.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert err.message == "Tier: bad value for restricted picklist field: Bronze"
    err = api_error(from_csv, MULTI, "a;z")
    assert err.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    err = api_error(from_json, REF, "001xyz")
    assert (err.error_code, err.message) == ("MALFORMED_ID", "Account ID: id value of incorrect type: 001xyz")
    err = api_error(from_json, FieldDef("P", FieldType.PERCENT, precision=3, scale=0), 1000)
    assert err.error_code == "NUMBER_OUTSIDE_VALID_RANGE"


def test_java_double() -> None:
    assert [java_double(v) for v in (0.0, 1.0, 0.001, 0.0001, 1e7, -2.5e-5, 123456.789)] == [
        "0.0", "1.0", "0.001", "1.0E-4", "1.0E7", "-2.5E-5", "123456.789",
    ]  # fmt: skip


@given(st.datetimes(timezones=st.just(__import__("datetime").UTC)))
def test_datetime_round_trip(moment: Any) -> None:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if moment.year < 1000:
        return
    stored = from_csv(MOMENT, text)
    assert to_csv(MOMENT, stored) == text
    assert from_json(MOMENT, to_json(MOMENT, stored)) == stored


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
def test_double_csv_round_trip(value: float) -> None:
    field = FieldDef("D", FieldType.DOUBLE)
    assert from_csv(field, to_csv(field, value)) == value


@pytest.mark.parametrize("convert", [from_json, from_csv])
def test_nul_character_is_refused_naming_the_field(convert: Any) -> None:
    name = FieldDef("Name", FieldType.STRING, label="Account Name", length=255)
    with pytest.raises(ApiError) as info:
        convert(name, "A\x00B")
    assert info.value.error_code == "FIELD_INTEGRITY_EXCEPTION"
    assert info.value.fields == ["Name"]
    assert "NUL" in info.value.message
