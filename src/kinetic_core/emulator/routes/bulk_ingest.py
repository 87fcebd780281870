"""Bulk API 2.0 ingest routes: ``/services/data/v{ver}/jobs/ingest...``.

Thin handlers: parse the request, call :class:`~kinetic_core.emulator.bulk.BulkEngine`,
render its answer. Errors are raised as ``ApiError`` and rendered by the app as the
JSON error array (``application/json;charset=UTF-8``), even on CSV endpoints.
Also holds the helpers ``bulk_query`` shares (engine lookup, CSV streaming, list paging).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from kinetic_core.emulator.bulk import BulkEngine, JobKind, gzip_chunks
from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.service.jobs import create_multipart_job
from kinetic_core.emulator.web import (
    api_version_of,
    get_org,
    json_response,
    read_json,
    require_session,
)

LIST_LOCATOR_PREFIX = "01g8c0000000001"
CSV_TYPE = "text/csv"
MULTIPART_LIMIT = 150 * 1024 * 1024


def engine_of(request: Request) -> BulkEngine:
    """The org's bulk engine."""
    return get_org(request).bulk


def wants_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def csv_response(
    request: Request, chunks: Iterable[bytes], headers: Mapping[str, str] | None = None
) -> Response:
    """Stream CSV bytes, gzip-compressed when the client accepts gzip."""
    out = dict(headers or {})
    body: Iterator[bytes] = iter(chunks)
    if wants_gzip(request):
        body = gzip_chunks(body)
        out["Content-Encoding"] = "gzip"
        out["Vary"] = "Accept-Encoding"
    return StreamingResponse(body, media_type=CSV_TYPE, headers=out)


def list_offset(request: Request) -> int:
    """The offset encoded in a ``queryLocator`` (``01g...-2000``); 0 without one."""
    locator = request.query_params.get("queryLocator") or ""
    if not locator:
        return 0
    try:
        offset = int(locator.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        raise ApiError(400, "INVALIDURL", f"Invalid queryLocator: {locator}") from None
    if offset < 0:
        raise ApiError(400, "INVALIDURL", f"Invalid queryLocator: {locator}")
    return offset


def list_response(request: Request, kind: JobKind) -> Response:
    """``GET /jobs/{kind}``: ``{"done", "records", "nextRecordsUrl"}``."""
    require_session(request)
    engine = engine_of(request)
    page = engine.list_jobs(kind, offset=list_offset(request), job_type=request.query_params.get("jobType"))
    next_url = None
    if page.next_offset is not None:
        next_url = (
            f"/services/data/v{api_version_of(request)}/jobs/{kind.value}"
            f"?queryLocator={LIST_LOCATOR_PREFIX}-{page.next_offset}"
        )
    return json_response(
        {
            "done": page.next_offset is None,
            "records": [job.info(full=False) for job in page.jobs],
            "nextRecordsUrl": next_url,
        }
    )


async def patch_state(request: Request, kind: JobKind) -> Response:
    """``PATCH /jobs/{kind}/{id}`` with ``{"state": ...}``."""
    require_session(request)
    engine = engine_of(request)
    body = await read_json(request)
    if not isinstance(body, dict) or "state" not in body:
        raise ApiError(400, "INVALIDJOB", "InvalidJob : The request body must give the new job state")
    job = engine.set_state(request.path_params["job_id"], kind, body["state"])
    return json_response(job.info(full=False))


def get_info(request: Request, kind: JobKind) -> Response:
    require_session(request)
    job = engine_of(request).get_job(request.path_params["job_id"], kind)
    return json_response(job.info())


def delete(request: Request, kind: JobKind) -> Response:
    require_session(request)
    engine_of(request).delete_job(request.path_params["job_id"], kind)
    return Response(b"", status_code=204)


# --- ingest handlers -------------------------------------------------------------------------------


async def create_job(request: Request) -> Response:
    session = require_session(request)
    engine = engine_of(request)
    version = api_version_of(request)
    ctype = request.headers.get("content-type", "")
    if ctype.lower().startswith("multipart/"):
        return await _create_multipart(request, engine, session.user_id, version, ctype)
    spec = await read_json(request)
    job = engine.create_ingest_job(spec, user_id=session.user_id, api_version=version)
    return json_response(job.info(full=False))


async def _create_multipart(
    request: Request, engine: BulkEngine, user_id: str, version: str, ctype: str
) -> Response:
    body = await request.body()
    if len(body) > MULTIPART_LIMIT:
        raise ApiError(400, "CLIENTINPUTERROR", "Multipart job requests are limited to small data sets")
    job = create_multipart_job(engine, parse_multipart(body, ctype), user_id=user_id, api_version=version)
    return json_response(job.info(full=False))


def parse_multipart(body: bytes, content_type: str) -> dict[str, bytes]:
    """Split a ``multipart/form-data`` body into ``{name: bytes}``.

    Example:
        >>> parse_multipart(b'--B\\r\\nContent-Disposition: form-data; name="job"\\r\\n\\r\\n{}\\r\\n--B--',
        ...                 "multipart/form-data; boundary=B")
        {'job': b'{}'}
    """
    boundary = ""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        raise ApiError(400, "INVALIDJOB", "InvalidJob : The multipart Content-Type has no boundary")
    out: dict[str, bytes] = {}
    delimiter = b"--" + boundary.encode()
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        name = _part_name(head.decode("utf-8", "replace"))
        if name:
            out[name] = content.removesuffix(b"\r\n")
    return out


def _part_name(headers: str) -> str | None:
    for line in headers.split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() != "content-disposition":
            continue
        for param in value.split(";"):
            pkey, _, pval = param.strip().partition("=")
            if pkey.lower() == "name":
                return pval.strip().strip('"')
    return None


async def list_jobs(request: Request) -> Response:
    return list_response(request, JobKind.INGEST)


async def job_info(request: Request) -> Response:
    return get_info(request, JobKind.INGEST)


async def patch_job(request: Request) -> Response:
    return await patch_state(request, JobKind.INGEST)


async def delete_job(request: Request) -> Response:
    return delete(request, JobKind.INGEST)


async def upload(request: Request) -> Response:
    """``PUT .../batches``: stream the body to disk; 201 with an empty body."""
    require_session(request)
    engine = engine_of(request)
    writer = engine.open_upload(request.path_params["job_id"])
    refused: ApiError | None = None
    with writer:
        async for chunk in request.stream():
            if refused is not None:
                continue
            try:
                writer.write(chunk)
            except ApiError as err:
                refused = err
        if refused is not None:
            raise refused
        writer.commit()
    return Response(b"", status_code=201)


async def results(request: Request) -> Response:
    require_session(request)
    chunks = engine_of(request).ingest_results(request.path_params["job_id"], request.path_params["result"])
    return csv_response(request, chunks)


__all__ = ["csv_response", "engine_of", "list_response", "parse_multipart"]
