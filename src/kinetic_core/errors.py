"""The one error tree of Kinetic Core, keyed by Salesforce ``errorCode``.

::

    KineticError
    ├── ConfigError                      bad or missing configuration (.env, orgs.toml, overrides)
    │   ├── RunLockedError               another live run holds the journal/manifest (path, holder)
    │   └── OutputNotWritableError       a results/failures location refused a probe write (path)
    ├── TransportError                   no usable HTTP answer: connect/read failure, timeout
    ├── AuthenticationError              the token endpoint refused (error, description)
    ├── SessionExpiredError              401 INVALID_SESSION_ID and no way (left) to re-authenticate
    ├── MappingError                     a field transform failed (record index, field)
    ├── InvalidNameError (ValueError)    an id or API name refused before it became part of a URL path
    ├── UnsafeUrlError                   a URL taken from an answer leads outside the instance's /services/
    ├── ResponseLimitError               an answer broke a ``ResponseBounds`` limit (limit, value)
    ├── QueryPagingError                 query pages that never end: a repeated cursor, an empty page
    │                                    that is not the last, more records than the query declared
    ├── ApiError                         a non-2xx answer (status, error_code, message, fields, method, url)
    │   ├── MultipleRecordsError         300: several records match an external id (urls)
    │   ├── NotFoundError                NOT_FOUND
    │   ├── MalformedQueryError          MALFORMED_QUERY, MALFORMED_SEARCH
    │   ├── InvalidFieldError            INVALID_FIELD, INVALID_FIELD_FOR_INSERT_UPDATE
    │   ├── InvalidTypeError             INVALID_TYPE
    │   ├── RequiredFieldMissingError    REQUIRED_FIELD_MISSING
    │   ├── DuplicateValueError          DUPLICATE_VALUE, DUPLICATES_DETECTED
    │   ├── MalformedIdError             MALFORMED_ID, INVALID_ID
    │   ├── EntityIsDeletedError         ENTITY_IS_DELETED
    │   ├── InvalidQueryLocatorError     INVALID_QUERY_LOCATOR
    │   ├── ServerUnavailableError       SERVER_UNAVAILABLE and bare 5xx answers
    │   ├── RequestLimitExceeded         REQUEST_LIMIT_EXCEEDED (403), carries ``api_usage``; never retried
    │   └── BulkJobError                 a Bulk API 2.0 job failed or was aborted (job_id, state)
    ├── BulkTimeoutError                 waiting for bulk jobs gave up; the jobs may still run (job_ids)
    └── ResultsNotSavedError             rows were sent but their result files could not be written
                                         (path, job_ids, counts, next_step)

Messages name the HTTP method and URL of the failed call and never contain tokens,
passwords or other secrets (URLs never carry them: the access token travels in a header).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kinetic_core.usage import ApiUsage


class KineticError(Exception):
    """Root of every error Kinetic Core raises.

    Example:
        >>> try:
        ...     raise NotFoundError(404, "NOT_FOUND", "The requested resource does not exist")
        ... except KineticError as err:
        ...     err.error_code
        'NOT_FOUND'
    """

    unaborted_jobs: tuple[str, ...] = ()
    """On an error that stopped a bulk load: ids of the load's jobs it tried to abort and could not
    (the abort call itself failed, e.g. on REQUEST_LIMIT_EXCEEDED), so they may still be running
    on the server. Check them later with ``client.bulk.get_job`` / ``wait`` / ``abort_job``."""


class ConfigError(KineticError):
    """Configuration is missing or malformed (the message names the source, never a secret value)."""


class RunLockedError(ConfigError):
    """Another run that is still alive holds the lock of a journal, a job manifest or a data dir.

    A second run is refused at once, before it sends anything: two runs of one journal would load
    the same rows twice. A lock left by a process that died is taken over without this error.

    Attributes:
        path: the lock file.
        pid / host / started: the holder (None when the lock file does not say).
    """

    def __init__(
        self,
        message: str,
        *,
        path: Any = None,
        pid: int | None = None,
        host: str | None = None,
        started: str | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.pid = pid
        self.host = host
        self.started = started


class OutputNotWritableError(ConfigError):
    """A results or failures location cannot be written; checked before anything is sent.

    Attributes:
        path: the directory (or file) that refused the probe write.
    """

    def __init__(self, message: str, *, path: Any = None) -> None:
        super().__init__(message)
        self.path = path


class TransportError(KineticError):
    """The call got no usable HTTP answer (connection refused or dropped, timeout).

    Attributes:
        method: HTTP method of the call.
        url: URL of the call.
        in_doubt: True when the request may have reached the server and been processed.
    """

    def __init__(self, message: str, *, method: str = "", url: str = "", in_doubt: bool = False) -> None:
        where = f" ({method} {url})" if method else ""
        super().__init__(f"{message}{where}")
        self.method = method
        self.url = url
        self.in_doubt = in_doubt


class AuthenticationError(KineticError):
    """The OAuth token endpoint refused to issue a token.

    Attributes:
        error: the OAuth ``error`` code, e.g. ``invalid_grant``.
        description: the OAuth ``error_description``.
        status: HTTP status of the token response (0 when there was none).
    """

    def __init__(self, error: str, description: str = "", *, status: int = 0, url: str = "") -> None:
        text = f"{error}: {description}" if description else error
        if url:
            text += f" (POST {url})"
        super().__init__(text)
        self.error = error
        self.description = description
        self.status = status
        self.url = url


class SessionExpiredError(KineticError):
    """The session is invalid and cannot be renewed (static token, or a renewed token refused too)."""


class MappingError(KineticError):
    """A field mapping failed for one record.

    Attributes:
        index: 0-based position of the record in the input.
        field: the target field whose value could not be produced.
    """

    def __init__(self, index: int, field: str, reason: str) -> None:
        super().__init__(f"record {index}, field {field}: {reason}")
        self.index = index
        self.field = field
        self.reason = reason


class InvalidNameError(KineticError, ValueError):
    """An id, sObject or field name that is not well formed, refused before anything is sent.

    Attributes:
        what: what the value should have been (``"job id"``, ``"sObject"``, ``"field"``...).
        value: the value refused.
    """

    def __init__(self, what: str, value: object, rule: str) -> None:
        super().__init__(f"not a valid {what}: {value!r} ({rule})")
        self.what = what
        self.value = value


class UnsafeUrlError(KineticError):
    """A URL taken from an answer (``nextRecordsUrl``, a locator page...) that leads off the instance.

    The request is never sent: the access token only ever travels to the instance's scheme, host
    and port, under ``/services/``.

    Attributes:
        url: the URL refused (shortened for messages).
        instance_url: the instance it had to stay on.
    """

    def __init__(self, url: str, instance_url: str, reason: str) -> None:
        shown = url if len(url) <= 300 else url[:300] + "..."
        super().__init__(
            f"refused to follow {shown!r}: {reason}; URLs taken from an answer must stay on "
            f"{instance_url} under /services/ (the access token is never sent elsewhere)"
        )
        self.url = shown
        self.instance_url = instance_url


class ResponseLimitError(KineticError):
    """An answer broke one of the client's ``ResponseBounds`` (size, compression ratio, time).

    Attributes:
        limit: the ``ResponseBounds`` field that was exceeded, e.g. ``"max_response_bytes"``.
        value: its value.
        url: the URL of the call.
    """

    def __init__(self, limit: str, value: object, detail: str, *, method: str = "", url: str = "") -> None:
        where = f" ({method} {url})" if method else ""
        super().__init__(
            f"{detail}{where}: over the limit {limit}={value!r}; if the answer is genuine, raise it with "
            f"SalesforceClient.connect(bounds=ResponseBounds({limit}=...))"
        )
        self.limit = limit
        self.value = value
        self.url = url


class QueryPagingError(KineticError):
    """The pages of a query (REST or Bulk) do not lead to an end.

    A cursor (``nextRecordsUrl`` or ``Sforce-Locator``) seen before, a page that is not the last
    but holds no records, or more records than the query declared (``totalSize``, the job's
    ``numberRecordsProcessed``): following such pages could go on for ever.
    """


class ApiError(KineticError):
    """A non-2xx Salesforce answer.

    Attributes:
        status: HTTP status.
        error_code: Salesforce ``errorCode`` of the first error (``ERROR_HTTP_<status>`` when unparseable).
        message: its ``message``.
        fields: the fields at fault.
        method: HTTP method of the call.
        url: URL of the call.
        errors: every error object of the body (``errorCode``/``message``/``fields`` dicts).
    """

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: Sequence[str] | None = None,
        method: str = "",
        url: str = "",
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        where = f" ({method} {url} -> {status})" if method else f" (HTTP {status})"
        super().__init__(f"{error_code}: {message}{where}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields or [])
        self.method = method
        self.url = url
        self.errors = [dict(e) for e in errors or []]


class MultipleRecordsError(ApiError):
    """300 Multiple Choices: several records match the external id; ``urls`` lists them."""

    def __init__(self, urls: Sequence[str], method: str = "", url: str = "") -> None:
        super().__init__(300, "MULTIPLE_CHOICES", f"{len(urls)} records match", [], method, url)
        self.urls = list(urls)


class NotFoundError(ApiError):
    """NOT_FOUND: unknown record, object or external-id field."""


class MalformedQueryError(ApiError):
    """MALFORMED_QUERY / MALFORMED_SEARCH: the SOQL or SOSL text does not parse."""


class InvalidFieldError(ApiError):
    """INVALID_FIELD: an unknown or unusable field."""


class InvalidTypeError(ApiError):
    """INVALID_TYPE: an unknown or inaccessible sObject type."""


class RequiredFieldMissingError(ApiError):
    """REQUIRED_FIELD_MISSING."""


class DuplicateValueError(ApiError):
    """DUPLICATE_VALUE (unique field) or DUPLICATES_DETECTED (duplicate rules)."""


class MalformedIdError(ApiError):
    """MALFORMED_ID: an id of the wrong shape or the wrong object."""


class EntityIsDeletedError(ApiError):
    """ENTITY_IS_DELETED: the record is in the recycle bin."""


class InvalidQueryLocatorError(ApiError):
    """INVALID_QUERY_LOCATOR: a query cursor expired or is unknown."""


class ServerUnavailableError(ApiError):
    """SERVER_UNAVAILABLE or another 5xx answer (after the retries the call allowed)."""


class RequestLimitExceeded(ApiError):
    """REQUEST_LIMIT_EXCEEDED (403): the org's rolling 24-hour API allowance is used up.

    Never retried automatically. ``api_usage`` is the last ``Sforce-Limit-Info`` reading, or None.
    """

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: Sequence[str] | None = None,
        method: str = "",
        url: str = "",
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        api_usage: ApiUsage | None = None,
    ) -> None:
        super().__init__(status, error_code, message, fields, method, url, errors=errors)
        self.api_usage = api_usage


class BulkJobError(ApiError):
    """A Bulk API 2.0 job ended ``Failed`` or ``Aborted``.

    Attributes:
        job_id: the job's id.
        state: its final state.
    """

    def __init__(self, job_id: str, state: str, message: str, *, status: int = 200, url: str = "") -> None:
        super().__init__(status, f"JOB_{state.upper()}", f"job {job_id}: {message}", [], "", url)
        self.job_id = job_id
        self.state = state


class BulkTimeoutError(KineticError):
    """Waiting for bulk jobs gave up; the jobs may still be running on the server.

    Attributes:
        job_ids: every job still unfinished; pass them to ``client.bulk.wait`` to resume.
        reason: what timed out, without the job ids and the resume advice.
    """

    def __init__(self, job_ids: Sequence[str], message: str = "timed out waiting for bulk jobs") -> None:
        ids = list(job_ids)
        super().__init__(f"{message}: {', '.join(ids)} (still running on the server; resume with wait())")
        self.job_ids = ids
        self.reason = message


class ResultsNotSavedError(KineticError):
    """Rows were sent (and are recorded) but writing their result or failure files failed.

    The message names the jobs and the counts so far and the next step that gets the files
    without sending any row again (e.g. ``kinetic jobs results JOB --results-dir OTHER``).

    Attributes:
        path: where the files were to go.
        job_ids: Bulk jobs of the load (empty for REST/Composite).
        counts: ``total``, ``successful``, ``failed``, ``unprocessed`` as known.
        next_step: what to run to get the files (or the failures) without loading again.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Any = None,
        job_ids: Sequence[str] = (),
        counts: Mapping[str, int] | None = None,
        next_step: str = "",
    ) -> None:
        ids = list(job_ids)
        parts = [message]
        if ids:
            parts.append(f"job(s): {', '.join(ids)}")
        if counts:
            parts.append("counts so far: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        if next_step:
            parts.append(f"next: {next_step}")
        super().__init__("; ".join(parts))
        self.path = path
        self.job_ids = ids
        self.counts = dict(counts or {})
        self.next_step = next_step


ERROR_CLASSES: Mapping[str, type[ApiError]] = {
    "NOT_FOUND": NotFoundError,
    "MALFORMED_QUERY": MalformedQueryError,
    "MALFORMED_SEARCH": MalformedQueryError,
    "INVALID_FIELD": InvalidFieldError,
    "INVALID_FIELD_FOR_INSERT_UPDATE": InvalidFieldError,
    "INVALID_TYPE": InvalidTypeError,
    "REQUIRED_FIELD_MISSING": RequiredFieldMissingError,
    "DUPLICATE_VALUE": DuplicateValueError,
    "DUPLICATES_DETECTED": DuplicateValueError,
    "MALFORMED_ID": MalformedIdError,
    "INVALID_ID": MalformedIdError,
    "ENTITY_IS_DELETED": EntityIsDeletedError,
    "INVALID_QUERY_LOCATOR": InvalidQueryLocatorError,
    "SERVER_UNAVAILABLE": ServerUnavailableError,
    "REQUEST_LIMIT_EXCEEDED": RequestLimitExceeded,
}
"""errorCode -> exception class; unknown codes become ``ApiError`` (5xx: ``ServerUnavailableError``)."""


def error_class_for(status: int, error_code: str) -> type[ApiError]:
    """The exception class for a status and Salesforce ``errorCode``.

    Example:
        >>> error_class_for(400, "MALFORMED_QUERY").__name__
        'MalformedQueryError'
    """
    cls = ERROR_CLASSES.get(error_code)
    if cls is not None:
        return cls
    if status >= 500:
        return ServerUnavailableError
    return ApiError
