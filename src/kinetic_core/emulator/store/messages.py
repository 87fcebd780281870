"""Every error the store raises, with Salesforce's error codes and message texts.

Texts marked ``[R]`` or ``[D]`` come from real responses or Salesforce documentation; texts marked
``[I]`` are this emulator's decision where the sources are silent. All wording decisions live in this
module so that they can be corrected in one place.

Example:
    >>> required_missing(["Name"]).message
    'Required fields are missing: [Name]'
"""

from __future__ import annotations

from kinetic_core.emulator.errors import ApiError


class MultipleMatches(ApiError):
    """An external-id lookup matched several records: HTTP 300 with the records' URLs (or ids).

    Example:
        >>> MultipleMatches(["/services/data/v62.0/sobjects/Account/001"]).status
        300
    """

    def __init__(self, urls_or_ids: list[str]) -> None:
        super().__init__(300, "MULTIPLE_CHOICES", "Multiple records found")  # [I] code/message, body = list
        self.urls_or_ids = list(urls_or_ids)


def invalid_type(name: str) -> ApiError:
    """[R] unknown or inaccessible sObject."""
    return ApiError(
        400,
        "INVALID_TYPE",
        f"sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to "
        "append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
        "appropriate names.",
    )


def no_such_column(field: str, sobject: str) -> ApiError:
    """[C] DML with an unknown field."""
    return ApiError(400, "INVALID_FIELD", f"No such column '{field}' on sobject of type {sobject}", [field])


def not_insertable(fields: list[str]) -> ApiError:
    """[D] code; [I] wording (Salesforce's field-level-security text)."""
    return ApiError(
        400,
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {', '.join(fields)}. Please check the security settings of this "
        "field and verify that it is read/write for your profile or permission set.",
        fields,
    )


def id_on_insert() -> ApiError:
    """[I] wording: an ``Id`` given to a create call."""
    return ApiError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"])


def required_missing(fields: list[str]) -> ApiError:
    """[R] ``Required fields are missing: [Name]``."""
    return ApiError(
        400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(fields)}]", fields
    )


def malformed_id(label: str, value: object, field: str = "Id") -> ApiError:
    """[D] ``Account ID: id value of incorrect type: <id>``."""
    return ApiError(400, "MALFORMED_ID", f"{label}: id value of incorrect type: {value}", [field])


def not_found(message: str = "The requested resource does not exist") -> ApiError:
    """[D] 404 NOT_FOUND."""
    return ApiError(404, "NOT_FOUND", message)


def ext_field_missing(field: str) -> ApiError:
    """[C] restforce fixtures: unknown or non-external-id field used as an upsert key."""
    return not_found(f"Provided external ID field does not exist or is not accessible: {field}")


def entity_is_deleted(status: int = 400) -> ApiError:
    """[R] ``entity is deleted``."""
    return ApiError(status, "ENTITY_IS_DELETED", "entity is deleted")


def duplicate_value(field: str, other_id: str) -> ApiError:
    """[R] the other record's id is given in its 15-character form."""
    return ApiError(
        400,
        "DUPLICATE_VALUE",
        f"duplicate value found: {field} duplicates value on record with id: {other_id[:15]}",
        [field],
    )


def duplicate_external_id(field: str, value: str) -> ApiError:
    """[I] the same key appears on several rows of one upsert call."""
    return ApiError(400, "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [field])


def external_id_multiple(field: str, ids: list[str]) -> ApiError:
    """[I] a bulk upsert row whose key matches several existing records."""
    return ApiError(
        400,
        "DUPLICATE_EXTERNAL_ID",
        f"{field}: more than one record found for external id field: [{', '.join(i[:15] for i in ids)}]",
        [field],
    )


def invalid_cross_reference(field: str) -> ApiError:
    """[R] lookup to a missing record or a record of the wrong type."""
    return ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [field])


def foreign_key_not_found(value: str, field: str, entity: str, ref_field: str) -> ApiError:
    """[R] relationship by external id whose parent does not exist."""
    return ApiError(
        400,
        "INVALID_FIELD",
        f"Foreign key external ID: {value} not found for field {field} in entity {entity}",
        [ref_field],
    )


def foreign_key_multiple(value: str, field: str, entity: str, ref_field: str) -> ApiError:
    """[I] relationship by external id matching several parents."""
    return ApiError(
        400,
        "INVALID_FIELD",
        f"More than 1 record found for External ID: {value} for field {field} in entity {entity}",
        [ref_field],
    )


def bad_relationship_field(field: str, entity: str) -> ApiError:
    """[I] the parent field of a relationship reference is not an indexed (id lookup / external id) field."""
    return ApiError(
        400,
        "INVALID_FIELD",
        f"Field name provided, {field} is not an External ID or indexed field for {entity}",
        [field],
    )


def string_too_long(label: str, field: str, value: str, max_length: int) -> ApiError:
    """[I] wording: Salesforce prefixes the field label."""
    return ApiError(
        400,
        "STRING_TOO_LONG",
        f"{label}: data value too large: {value} (max length={max_length})",
        [field],
    )


def nul_character(label: str, field: str) -> ApiError:
    """[I] decision: text holding U+0000 is refused, naming the field (Salesforce's XML-based
    stores cannot hold the character; no captured REST/Bulk answer is known)."""
    return ApiError(
        400,
        "FIELD_INTEGRITY_EXCEPTION",
        f"{label}: the value contains a NUL character (U+0000), which a text field cannot hold",
        [field],
    )


def invalid_email(label: str, field: str, value: str) -> ApiError:
    """[D] ``Email: invalid email address: <value>``."""
    return ApiError(400, "INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {value}", [field])


def bad_restricted_picklist(label: str, field: str, value: str) -> ApiError:
    """[R] ``<Label>: bad value for restricted picklist field: <value>``."""
    return ApiError(
        400,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        f"{label}: bad value for restricted picklist field: {value}",
        [field],
    )


def json_type_error(java_type: str, token: str, value: object) -> ApiError:
    """[I] JSON value of the wrong type, in the style of Salesforce's JSON deserializer."""
    return ApiError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {java_type} from {token} value {value} "
        "or request may be missing a required field",
    )


def csv_type_error(value: str, soap_type: str, field: str, column: int | None = None) -> ApiError:
    """[R] Bulk's text for a CSV cell that does not parse as the field's type."""
    text = f"'{value}' is not a valid value for the type {soap_type}"
    if column is not None:
        text = f"Failed to deserialize field at col {column}. Due to, {text}"
    return ApiError(400, "INVALID_FIELD", text, [field])


def number_too_large(label: str, field: str, value: object) -> ApiError:
    """[I] a number with more integer digits than the field allows."""
    return ApiError(
        400,
        "NUMBER_OUTSIDE_VALID_RANGE",
        f"{label}: value outside of valid range on numeric field: {value}",
        [field],
    )


def not_operable(sobject: str, operation: str) -> ApiError:
    """[I] create/update/delete on an object that does not allow it."""
    return ApiError(
        400,
        "INVALID_TYPE_FOR_OPERATION",
        f"entity type {sobject} does not support {operation}",
    )


def missing_id() -> ApiError:
    """[R] Bulk update row without an id."""
    return ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])


def bad_relationship_value(key: str) -> ApiError:
    """[I] a JSON relationship object that does not hold exactly one key field."""
    return ApiError(
        400,
        "JSON_PARSER_ERROR",
        f"Relationship {key} must name exactly one external ID or indexed field",
    )


def no_such_column_on_entity(field: str, sobject: str) -> ApiError:
    """[R] (query wording) an unknown field asked for by name, e.g. ``?fields=`` on a record GET."""
    return ApiError(
        400,
        "INVALID_FIELD",
        f"No such column '{field}' on entity '{sobject}'. If you are attempting to use a custom field, be "
        "sure to append the '__c' after the custom field name. Please reference your WSDL or the describe "
        "call for the appropriate names.",
        [field],
    )


def malformed_any_id(value: object) -> ApiError:
    """[D] wording of sObject Collections delete for an id of no known object."""
    return ApiError(400, "MALFORMED_ID", f"malformed id {value}", ["Id"])


def missing_external_id(field: str) -> ApiError:
    """[I] an upsert row without a value for its key."""
    return ApiError(400, "MISSING_ARGUMENT", f"{field} not specified", [field])
