"""Every SOQL error text and every emulator-chosen SOQL limit, in one place.

Texts marked [R] match real Salesforce responses; [I] marks our own decisions
(wording or numbers nobody has confirmed), kept here so they are easy to correct.
"""

from __future__ import annotations

from kinetic_core.emulator.errors import ApiError

from .ast import Pos

MAX_OFFSET = 2000
"""Largest OFFSET Salesforce accepts (commonly documented)."""

MAX_BATCH_SIZE = 2000
"""Largest REST page; ``Sforce-Query-Options: batchSize`` may only lower it."""

FIELDS_ALL_MAX_LIMIT = 200
"""``FIELDS(ALL)`` / ``FIELDS(CUSTOM)`` need ``LIMIT`` of at most this. [D]"""

MAX_OPEN_CURSORS = 50
"""Open query cursors kept per engine; the least recently used one is dropped beyond this. [I]"""

CURSOR_IDLE_SECONDS = 15 * 60
"""A cursor unused for this long expires (third-party write-ups say about 15 minutes). [I]"""

PLAN_CACHE_SIZE = 256
"""Parsed and validated queries kept per engine. [I]"""

_CUSTOM_FIELD_HINT = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
_CUSTOM_OBJECT_HINT = (
    "If you are attempting to use a custom object, be sure to append the '__c' after the entity name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
_CUSTOM_REL_HINT = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' after the custom "
    "relationship name. Please reference your WSDL or the describe call for the appropriate names."
)


def echo(soql: str, pos: Pos, text: str) -> str:
    """Salesforce's error echo: the query line, a caret, ``ERROR at Row:r:Column:c``, then ``text``. [R]"""
    row, col = pos
    lines = soql.split("\n")
    line = lines[row - 1] if 0 < row <= len(lines) else soql
    return f"\n{line}\n{' ' * max(col - 1, 0)}^\nERROR at Row:{row}:Column:{col}\n{text}"


def malformed(soql: str, pos: Pos, text: str) -> ApiError:
    return ApiError(400, "MALFORMED_QUERY", echo(soql, pos, text))


def unexpected_token(soql: str, pos: Pos, token: str) -> ApiError:
    """MALFORMED_QUERY ``unexpected token: 'X'``. [R]"""
    return malformed(soql, pos, f"unexpected token: '{token}'")


def not_supported(soql: str, pos: Pos, what: str) -> ApiError:
    """A SOQL feature Salesforce has and this emulator does not. [I]"""
    return malformed(soql, pos, f"{what} is not supported by this emulator")


def no_such_column(soql: str, pos: Pos, column: str, entity: str) -> ApiError:
    """INVALID_FIELD for an unknown field. [R]"""
    text = f"No such column '{column}' on entity '{entity}'. {_CUSTOM_FIELD_HINT}"
    return ApiError(400, "INVALID_FIELD", echo(soql, pos, text))


def bad_relationship(soql: str, pos: Pos, name: str) -> ApiError:
    """INVALID_FIELD for an unknown relationship inside a field path. [R wording]"""
    text = f"Didn't understand relationship '{name}' in field path. {_CUSTOM_REL_HINT}"
    return ApiError(400, "INVALID_FIELD", echo(soql, pos, text))


def bad_child_relationship(soql: str, pos: Pos, name: str) -> ApiError:
    """INVALID_TYPE for an unknown relationship in a subquery's FROM. [R wording]"""
    text = f"Didn't understand relationship '{name}' in FROM part of query call. {_CUSTOM_REL_HINT}"
    return ApiError(400, "INVALID_TYPE", echo(soql, pos, text))


def invalid_type(soql: str, pos: Pos, name: str) -> ApiError:
    """INVALID_TYPE for an unknown sObject, echoed at the object name. [R]"""
    text = f"sObject type '{name}' is not supported. {_CUSTOM_OBJECT_HINT}"
    return ApiError(400, "INVALID_TYPE", echo(soql, pos, text))


def invalid_field(soql: str, pos: Pos, text: str) -> ApiError:
    return ApiError(400, "INVALID_FIELD", echo(soql, pos, text))


def compound_field(soql: str, pos: Pos, field: str, use: str) -> ApiError:
    """A compound field (``BillingAddress``) in WHERE, ORDER BY, GROUP BY or an aggregate.

    ``use`` is ``filtered``, ``sorted``, ``grouped`` or ``aggregated``. [R code; wording I]
    """
    text = f"field '{field}' can not be {use} in a query call"
    return ApiError(400, "INVALID_FIELD", echo(soql, pos, text))


def bad_filter_value(soql: str, pos: Pos, field: str, expected: str, quoted: bool) -> ApiError:
    """INVALID_QUERY_FILTER_OPERATOR for a literal of the wrong type. [R code; wording I]"""
    should = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    text = f"value of filter criterion for field '{field}' must be of type {expected} and {should}"
    return ApiError(400, "INVALID_QUERY_FILTER_OPERATOR", echo(soql, pos, text))


def bad_id(soql: str, pos: Pos, value: str) -> ApiError:
    """INVALID_QUERY_FILTER_OPERATOR for a malformed id literal. [R wording]"""
    return ApiError(400, "INVALID_QUERY_FILTER_OPERATOR", echo(soql, pos, f"invalid ID field: {value}"))


def not_multipicklist(soql: str, pos: Pos) -> ApiError:
    """INCLUDES / EXCLUDES on another field type. [I wording]"""
    text = "includes or excludes operator only valid on multipicklist field"
    return ApiError(400, "INVALID_QUERY_FILTER_OPERATOR", echo(soql, pos, text))


def offset_too_large(soql: str, pos: Pos) -> ApiError:
    """OFFSET above 2,000. [I wording]"""
    return ApiError(
        400,
        "NUMBER_OUTSIDE_VALID_RANGE",
        echo(soql, pos, f"Maximum SOQL offset allowed is {MAX_OFFSET}"),
    )


def aggregate_query_more() -> ApiError:
    """queryMore on an aggregate query. [R]"""
    return ApiError(
        400,
        "EXCEEDED_ID_LIMIT",
        "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a single batch",
    )


def invalid_locator(locator: str) -> ApiError:
    """Unknown, expired or evicted cursor. [R code; status and wording I]"""
    return ApiError(400, "INVALID_QUERY_LOCATOR", f"invalid query locator: {locator}")


def bulk_entity(name: str) -> ApiError:
    """Bulk 2.0 query on an object it cannot serve. [R]"""
    return ApiError(400, "INVALIDENTITY", f"Entity '{name}' is not supported by the Bulk API.")


def bulk_compound() -> ApiError:
    """Bulk query selecting a compound field. [R: code and text as real orgs answer Bulk API 1.0]"""
    return ApiError(400, "FUNCTIONALITY_NOT_ENABLED", "Selecting compound data not supported in Bulk Query")


def bulk_unsupported(text: str) -> ApiError:
    """Bulk 2.0 refusing a SOQL feature at job creation. [I code; 'Aggregate Relationships' text C]"""
    return ApiError(400, "INVALIDJOB", text)


BULK_SUBQUERY = "Aggregate Relationships not supported in Bulk Query"
BULK_AGGREGATE = "Aggregate functions (COUNT(), SUM(), ...) are not supported in Bulk Query"
BULK_GROUP_BY = "GROUP BY is not supported in Bulk Query"
BULK_OFFSET = "OFFSET is not supported in Bulk Query"
BULK_TYPEOF = "TYPEOF is not supported in Bulk Query"
BULK_FIELDS = "FIELDS() is not supported in Bulk Query"
BULK_FUNCTIONS = "toLabel(), FORMAT() and convertCurrency() in Bulk Query are not supported by this emulator"
