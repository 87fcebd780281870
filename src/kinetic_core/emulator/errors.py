"""The one exception the emulator's store, SOQL engine and bulk engine raise.

Routes turn it into the Salesforce-shaped body: REST answers a JSON array of
``{"message", "errorCode", "fields"}``; save results inside 2xx bodies use
``{"statusCode", "message", "fields"}``; bulk row failures become ``sf__Error``
strings (``CODE:message:field1,field2 --``).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Salesforce error: HTTP status, errorCode, message and the fields at fault.

    Example:
        >>> err = ApiError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"])
        >>> err.rest_body()[0]["errorCode"]
        'REQUIRED_FIELD_MISSING'
    """

    def __init__(self, status: int, error_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields or [])

    def rest_body(self) -> list[dict[str, Any]]:
        """The REST error array (``errorCode`` key)."""
        item: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields:
            item["fields"] = list(self.fields)
        return [item]

    def save_error(self) -> dict[str, Any]:
        """One entry of a SaveResult ``errors`` list (``statusCode`` key)."""
        return {"statusCode": self.error_code, "message": self.message, "fields": list(self.fields)}

    def bulk_error(self) -> str:
        """The ``sf__Error`` cell of a Bulk API 2.0 failed-results row."""
        return f"{self.error_code}:{self.message}:{','.join(self.fields)} --"


def not_found(message: str = "The requested resource does not exist") -> ApiError:
    """404 NOT_FOUND with Salesforce's generic text unless told otherwise."""
    return ApiError(404, "NOT_FOUND", message)
