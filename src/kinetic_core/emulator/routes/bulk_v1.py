"""Bulk API 1.0 routes (``/services/async/{version}/job...``): parse, call the service, render.

The session comes from the ``X-SFDC-Session`` header. Bodies are XML (``jobInfo``, ``batchInfo``,
``batchInfoList``, ``result-list``, ``error``) or JSON, chosen by the request's ``Content-Type`` or
the job's ``contentType``; errors are ``{exceptionCode, exceptionMessage}`` with status 400 (404
``InvalidUrl`` for an unknown URL), as Salesforce sends them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from kinetic_core.emulator.bulk.files import iter_file
from kinetic_core.emulator.bulk.models import Operation
from kinetic_core.emulator.bulk.v1 import BulkV1
from kinetic_core.emulator.bulk.v1_data import DATALOAD_NS
from kinetic_core.emulator.bulk.v1_models import ContentType, V1Error, V1Job
from kinetic_core.emulator.org import MAX_API_VERSION, RETIRED_BELOW
from kinetic_core.emulator.tokens import Session
from kinetic_core.emulator.web import dumps, get_org, session_or_none

XML_TYPE = "application/xml"
JSON_TYPE = "application/json"
_VERSION = re.compile(r"^\d+\.\d$")
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


def _wants_json(request: Request, job: V1Job | None = None) -> bool:
    if "json" in request.headers.get("content-type", "").lower():
        return True
    return job is not None and job.content_type is ContentType.JSON


def _xml_fields(root: str, fields: Iterable[tuple[str, Any]]) -> str:
    body = "".join(
        f"<{k}>{escape(str(v).lower() if isinstance(v, bool) else str(v))}</{k}>" for k, v in fields
    )
    return f"{body}" if not root else f'<{root} xmlns="{DATALOAD_NS}">{body}</{root}>'


def _render(
    request: Request, root: str, fields: list[tuple[str, Any]], *, job: V1Job | None, status: int = 200
) -> Response:
    if _wants_json(request, job):
        return Response(dumps(dict(sorted(fields))), status_code=status, media_type=JSON_TYPE)
    return Response(f"{_HEAD}{_xml_fields(root, fields)}".encode(), status_code=status, media_type=XML_TYPE)


def error_response(request: Request, err: V1Error) -> Response:
    """The ``error`` body for ``err`` in the request's format."""
    if _wants_json(request):
        body = {"exceptionCode": err.code, "exceptionMessage": err.message}
        return Response(dumps(body), status_code=err.status, media_type=JSON_TYPE)
    fields = [("exceptionCode", err.code), ("exceptionMessage", err.message)]
    return Response(
        f"{_HEAD}{_xml_fields('error', fields)}".encode(), status_code=err.status, media_type=XML_TYPE
    )


def _service(request: Request) -> BulkV1:
    return get_org(request).bulk_v1


def _check(request: Request) -> tuple[BulkV1, Session, str]:
    version = request.path_params["ver"]
    major = int(version.split(".")[0]) if _VERSION.match(version) else -1
    if major < RETIRED_BELOW or major > MAX_API_VERSION or not version.endswith(".0"):
        raise V1Error(400, "InvalidVersion", f"Invalid API version: {version}")  # [R code] [I text]
    token = request.headers.get("x-sfdc-session", "").strip()
    session = session_or_none(get_org(request), f"Bearer {token}") if token else None
    if session is None:
        raise V1Error(400, "InvalidSessionId", "Invalid session id")
    return _service(request), session, version


def _parse_job_info(request: Request, raw: bytes) -> dict[str, Any]:
    if _wants_json(request):
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise V1Error(400, "InvalidJob", f"Unable to parse the jobInfo JSON: {exc}") from None
        if not isinstance(data, dict):
            raise V1Error(400, "InvalidJob", "The jobInfo must be a JSON object")
        return data
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise V1Error(400, "InvalidXML", "DOCTYPE is not allowed")
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError as exc:
        raise V1Error(400, "InvalidXML", f"Unable to parse the jobInfo XML: {exc}") from None
    if root.tag.rsplit("}", 1)[-1] != "jobInfo":
        raise V1Error(400, "InvalidXML", "Expected a jobInfo element")
    return {child.tag.rsplit("}", 1)[-1]: (child.text or "").strip() for child in root}


async def _guard(request: Request, handler: Any) -> Response:
    try:
        result: Response = await handler(request)
        return result
    except V1Error as err:
        return error_response(request, err)


async def create_job(request: Request) -> Response:
    async def run(request: Request) -> Response:
        service, session, version = _check(request)
        spec = _parse_job_info(request, await request.body())
        chunking = request.headers.get("sforce-enable-pkchunking")
        job = service.create_job(spec, user_id=session.user_id, api_version=version, pk_chunking=chunking)
        return _render(request, "jobInfo", job.info(_wants_json(request, job)), job=job, status=201)

    return await _guard(request, run)


async def job(request: Request) -> Response:
    async def run(request: Request) -> Response:
        service, _, _ = _check(request)
        job_id = request.path_params["job_id"]
        if request.method == "POST":
            spec = _parse_job_info(request, await request.body())
            found = service.set_state(job_id, spec.get("state"))
        else:
            found = service.get_job(job_id)
        return _render(request, "jobInfo", found.info(_wants_json(request, found)), job=found)

    return await _guard(request, run)


async def batches(request: Request) -> Response:
    async def run(request: Request) -> Response:
        service, _, _ = _check(request)
        job_id = request.path_params["job_id"]
        found = service.get_job(job_id)
        as_json = _wants_json(request, found)
        if request.method == "POST":
            batch = service.add_batch(job_id, await request.body(), request.headers.get("content-type", ""))
            return _render(request, "batchInfo", batch.info(as_json), job=found, status=201)
        infos = [b.info(as_json) for b in service.list_batches(job_id)]
        if as_json:
            body = {"batchInfo": [dict(sorted(i)) for i in infos]}
            return Response(dumps(body), media_type=JSON_TYPE)
        inner = "".join(f"<batchInfo>{_xml_fields('', i)}</batchInfo>" for i in infos)
        return Response(
            f'{_HEAD}<batchInfoList xmlns="{DATALOAD_NS}">{inner}</batchInfoList>'.encode(),
            media_type=XML_TYPE,
        )

    return await _guard(request, run)


async def batch(request: Request) -> Response:
    async def run(request: Request) -> Response:
        service, _, _ = _check(request)
        found = service.get_job(request.path_params["job_id"])
        info = service.get_batch(found.id, request.path_params["batch_id"])
        return _render(request, "batchInfo", info.info(_wants_json(request, found)), job=found)

    return await _guard(request, run)


def _file(path: Any, media_type: str) -> Response:
    return StreamingResponse(iter_file(path, 256 * 1024), media_type=media_type)


async def batch_request(request: Request) -> Response:
    async def run(request: Request) -> Response:
        service, _, _ = _check(request)
        path, media_type = service.batch_request(
            request.path_params["job_id"], request.path_params["batch_id"]
        )
        return _file(path, media_type)

    return await _guard(request, run)


async def batch_result(request: Request) -> Response:
    async def run(request: Request) -> Response:
        service, _, _ = _check(request)
        found, info, path = service.batch_result(
            request.path_params["job_id"], request.path_params["batch_id"]
        )
        if found.operation in (Operation.QUERY, Operation.QUERY_ALL):
            ids = [info.result_id] if path is not None else []
            if found.content_type is ContentType.JSON:
                return Response(dumps(ids), media_type=JSON_TYPE)
            inner = "".join(f"<result>{i}</result>" for i in ids)
            return Response(
                f'{_HEAD}<result-list xmlns="{DATALOAD_NS}">{inner}</result-list>'.encode(),
                media_type=XML_TYPE,
            )
        if path is None:
            raise V1Error(400, "InvalidBatch", "Batch results are not available")
        return _file(path, found.content_type.media_type)

    return await _guard(request, run)


async def query_result(request: Request) -> Response:
    async def run(request: Request) -> Response:
        service, _, _ = _check(request)
        found, path = service.query_result(
            request.path_params["job_id"], request.path_params["batch_id"], request.path_params["result_id"]
        )
        return _file(path, found.content_type.media_type)

    return await _guard(request, run)


async def unknown(request: Request) -> Response:
    return error_response(request, V1Error(404, "InvalidUrl", "Unknown or Invalid URL"))  # [I] text
