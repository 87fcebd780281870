"""Bulk API 2.0 query routes: ``/services/data/v{ver}/jobs/query...``.

Create answers JSON whatever the ``Accept`` header says; results are CSV pages with
``Sforce-Locator`` (literal ``null`` on the last page) and ``Sforce-NumberOfRecords``
on every page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from kinetic_core.emulator.bulk import JobKind
from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.routes.bulk_ingest import (
    csv_response,
    delete,
    engine_of,
    get_info,
    list_response,
    patch_state,
)
from kinetic_core.emulator.web import api_version_of, json_response, read_json, require_session


def _max_records(request: Request) -> int | None:
    raw = request.query_params.get("maxRecords")
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, "CLIENTINPUTERROR", f"Invalid maxRecords: {raw}") from None


async def create_job(request: Request) -> Response:
    session = require_session(request)
    spec = await read_json(request)
    job = engine_of(request).create_query_job(
        spec, user_id=session.user_id, api_version=api_version_of(request)
    )
    return json_response(job.info(full=False))


async def list_jobs(request: Request) -> Response:
    return list_response(request, JobKind.QUERY)


async def job_info(request: Request) -> Response:
    return get_info(request, JobKind.QUERY)


async def patch_job(request: Request) -> Response:
    return await patch_state(request, JobKind.QUERY)


async def delete_job(request: Request) -> Response:
    return delete(request, JobKind.QUERY)


async def results(request: Request) -> Response:
    """One page of results: ``?locator=&maxRecords=``."""
    require_session(request)
    page = engine_of(request).query_results(
        request.path_params["job_id"],
        locator=request.query_params.get("locator") or None,
        max_records=_max_records(request),
        api_version=api_version_of(request),
    )
    headers = {
        "Sforce-Locator": page.next_locator or "null",
        "Sforce-NumberOfRecords": str(page.number_of_records),
    }
    return csv_response(request, page.chunks, headers)


async def result_pages(request: Request) -> Response:
    """``GET .../resultPages`` (v58+): up to five page URLs for parallel download."""
    require_session(request)
    version = api_version_of(request)
    job_id = request.path_params["job_id"]
    pages, next_locator = engine_of(request).query_result_pages(
        job_id,
        locator=request.query_params.get("locator") or None,
        max_records=_max_records(request),
        api_version=version,
    )
    base = f"/services/data/v{version}/jobs/query/{job_id}"
    out = []
    for locator, size in pages:
        params = {"locator": locator, "maxRecords": size} if locator else {"maxRecords": size}
        out.append({"resultUrl": f"{base}/results?{urlencode(params)}"})
    next_url = f"{base}/resultPages?{urlencode({'locator': next_locator})}" if next_locator else None
    return json_response(
        {"resultPages": out, "nextRecordsUrl": next_url, "nextRecordUrl": next_url, "done": next_url is None}
    )
