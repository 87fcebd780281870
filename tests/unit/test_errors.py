"""The error tree: errorCode -> class, messages with method and URL, bodies of every shape."""

from __future__ import annotations

import inspect

import pytest

import kinetic_core.errors as errors_module
from kinetic_core.errors import (
    ApiError,
    BulkJobError,
    BulkTimeoutError,
    DuplicateValueError,
    EntityIsDeletedError,
    InvalidFieldError,
    InvalidTypeError,
    KineticError,
    MalformedIdError,
    MalformedQueryError,
    MultipleRecordsError,
    NotFoundError,
    RequestLimitExceeded,
    RequiredFieldMissingError,
    ServerUnavailableError,
    error_class_for,
)
from kinetic_core.http import ApiUsage
from kinetic_core.http.parse import error_from_response

URL = "https://acme.my.salesforce.com/services/data/v62.0/sobjects/Account"


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("NOT_FOUND", NotFoundError),
        ("MALFORMED_QUERY", MalformedQueryError),
        ("INVALID_FIELD", InvalidFieldError),
        ("INVALID_TYPE", InvalidTypeError),
        ("REQUIRED_FIELD_MISSING", RequiredFieldMissingError),
        ("DUPLICATE_VALUE", DuplicateValueError),
        ("DUPLICATES_DETECTED", DuplicateValueError),
        ("MALFORMED_ID", MalformedIdError),
        ("ENTITY_IS_DELETED", EntityIsDeletedError),
        ("SOMETHING_NEW", ApiError),
    ],
)
def test_error_codes_map_to_classes(code: str, cls: type[ApiError]) -> None:
    body = f'[{{"message":"m","errorCode":"{code}","fields":["Name"]}}]'.encode()
    err = error_from_response(400, body, "application/json;charset=UTF-8", "POST", URL)
    assert type(err) is cls
    assert isinstance(err, ApiError)
    assert err.error_code == code
    assert err.fields == ["Name"]
    assert err.method == "POST"
    assert "POST" in str(err)
    assert URL in str(err)


def test_every_class_is_under_the_root_and_drawn_in_the_docstring() -> None:
    doc = errors_module.__doc__ or ""
    for name, obj in vars(errors_module).items():
        if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__ == errors_module.__name__:
            assert issubclass(obj, KineticError), name
            assert name in doc, f"{name} missing from the tree drawing"


def test_multiple_choices_carries_urls() -> None:
    body = b'["/services/data/v62.0/sobjects/Account/001A","/services/data/v62.0/sobjects/Account/001B"]'
    err = error_from_response(300, body, "application/json", "PATCH", URL)
    assert isinstance(err, MultipleRecordsError)
    assert err.urls[1].endswith("001B")
    assert err.status == 300


def test_request_limit_carries_usage() -> None:
    body = b'[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]'
    err = error_from_response(403, body, "application/json", "GET", URL, ApiUsage(5000, 5000))
    assert isinstance(err, RequestLimitExceeded)
    assert err.api_usage == ApiUsage(5000, 5000)


def test_unparseable_bodies() -> None:
    html = error_from_response(502, b"<html>bad gateway</html>", "text/html", "GET", URL)
    assert isinstance(html, ServerUnavailableError)
    assert html.error_code == "ERROR_HTTP_502"
    assert html.message == "HTTP response contains html content"
    empty = error_from_response(418, b"", "", "GET", URL)
    assert type(empty) is ApiError
    assert empty.error_code == "ERROR_HTTP_418"


def test_long_urls_are_truncated_in_messages() -> None:
    long_url = URL + "?q=" + "x" * 1000
    err = error_from_response(400, b'[{"errorCode":"MALFORMED_QUERY","message":"m"}]', "", "GET", long_url)
    assert len(str(err)) < 500


def test_bulk_errors() -> None:
    err = BulkTimeoutError(["750A", "750B"])
    assert err.job_ids == ["750A", "750B"]
    assert "750A" in str(err)
    assert "750B" in str(err)
    job = BulkJobError("750A", "Failed", "InvalidBatch : bad header")
    assert isinstance(job, ApiError)
    assert job.job_id == "750A"
    assert "InvalidBatch" in str(job)


def test_error_class_for_5xx_fallback() -> None:
    assert error_class_for(503, "WHATEVER") is ServerUnavailableError
    assert error_class_for(400, "WHATEVER") is ApiError


def test_a_refused_tree_body_gives_its_first_error_and_every_record_error() -> None:
    body = (
        b'{"hasErrors":true,"results":[{"referenceId":"ref2","errors":[{"statusCode":"REQUIRED_FIELD_MISSING",'
        b'"message":"Required fields are missing: [LastName]","fields":["LastName"]}]}]}'
    )
    err = error_from_response(400, body, "application/json", "POST", URL)
    assert type(err) is RequiredFieldMissingError
    assert err.fields == ["LastName"]
    assert err.errors[0]["referenceId"] == "ref2"
