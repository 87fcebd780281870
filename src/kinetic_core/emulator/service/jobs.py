"""Bulk API 2.0 job lifecycles that span several engine calls.

The engine (:mod:`kinetic_core.emulator.bulk`) owns each step's rules; what a route would otherwise
string together lives here: a multipart create is create + upload + close, undone (aborted and
deleted) when a later step fails, so no half-made job is left behind.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from kinetic_core.emulator.bulk import JobKind
from kinetic_core.emulator.errors import ApiError

if TYPE_CHECKING:
    from kinetic_core.emulator.bulk import BulkEngine
    from kinetic_core.emulator.bulk.models import Job


def create_multipart_job(
    engine: BulkEngine, parts: dict[str, bytes], *, user_id: str, api_version: str
) -> Job:
    """Create an ingest job from a multipart request's ``job`` part, upload ``content`` and close it.

    Raises:
        ApiError: 400 ``INVALIDJOB`` for a missing part, ``JSON_PARSER_ERROR`` for a bad ``job`` part, or
            what the engine refuses; a job created before the failure is aborted and deleted.

    Example:
        >>> parts = {"job": b'{"object":"Account","operation":"insert"}', "content": b"Name\\nAcme\\n"}
        >>> create_multipart_job(org.bulk, parts, user_id=uid, api_version="62.0")  # doctest: +SKIP
    """
    if "job" not in parts:
        raise ApiError(400, "INVALIDJOB", "InvalidJob : The multipart request has no 'job' part")
    try:
        spec = json.loads(parts["job"])
    except ValueError:
        raise ApiError(400, "JSON_PARSER_ERROR", "The 'job' part is not valid JSON") from None
    job = engine.create_ingest_job(spec, user_id=user_id, api_version=api_version)
    try:
        if "content" not in parts:
            raise ApiError(400, "INVALIDJOB", "InvalidJob : The multipart request has no 'content' part")
        engine.upload(job.id, [parts["content"]])
        return engine.close_job(job.id)
    except ApiError:
        engine.abort_job(job.id, JobKind.INGEST)
        engine.delete_job(job.id, JobKind.INGEST)
        raise


__all__ = ["create_multipart_job"]
