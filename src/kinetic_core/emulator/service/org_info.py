"""What an org says about itself: API versions, resources, describe, limits and record counts.

Operations of the URL table (see :mod:`kinetic_core.emulator.service.records`), free of HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kinetic_core.emulator.org import MAX_API_VERSION, MIN_API_VERSION, Org
from kinetic_core.emulator.service import records
from kinetic_core.emulator.service.calls import Call, Reply
from kinetic_core.emulator.service.records import object_def, parse_fields
from kinetic_core.emulator.store.describe import describe_global, describe_sobject

_SEASONS = ("Summer", "Winter", "Spring")


def version_label(major: int) -> str:
    """Release name of an API version: 31 -> ``Summer '14``, 62 -> ``Winter '25``.

    Example:
        >>> version_label(62)
        "Winter '25"
    """
    season = _SEASONS[(major - 31) % 3]
    year = 14 + (major - 31) // 3 + (0 if season == "Summer" else 1)
    return f"{season} '{year:02d}"


def versions_body() -> list[dict[str, str]]:
    return [
        {"label": version_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(MIN_API_VERSION, MAX_API_VERSION + 1)
    ]


def resources_body(org: Org, ver: str, user_id: str) -> dict[str, str]:
    base = f"/services/data/v{ver}"
    names = [
        *("tooling", "metadata", "eclair", "folders", "prechatForms", "chatter", "tabs", "appMenu"),
        *("quickActions", "queryAll", "commerce", "wave", "iot", "analytics", "search", "composite"),
        *("smartdatadiscovery", "parameterizedSearch", "fingerprint", "theme", "nouns", "recent"),
        *("licensing", "limits", "async-queries", "query", "sobjects", "actions", "support", "jobs"),
        *("localizedvalue", "scheduling", "connect", "ui-api", "consent", "dedupe", "jsonxform", "process"),
    ]
    body = {name: f"{base}/{name}" for name in dict.fromkeys(names)}
    body["identity"] = org.identity_url(user_id)
    return body


def _limit(max_value: int, used: int = 0) -> dict[str, int]:
    return {"Max": max_value, "Remaining": max(0, max_value - used)}


def limits_body(org: Org) -> dict[str, Any]:
    """The ``/limits`` document; API, bulk batch and bulk query job figures are real counts."""
    store = org.store
    records = sum(store.record_counts().values())
    data_mb = 1024
    used_mb = min(data_mb, records * 2 // 1024)  # Salesforce counts ~2 KB per record
    return {
        "ActiveScratchOrgs": _limit(3),
        "AnalyticsExternalDataSizeMB": _limit(40960),
        "ConcurrentAsyncGetReportInstances": _limit(200),
        "ConcurrentSyncReportRuns": _limit(20),
        "DailyAnalyticsDataflowJobExecutions": _limit(60),
        "DailyApiRequests": _limit(org.api_request_limit(), org.api_counter.used()),
        "DailyAsyncApexExecutions": _limit(250000),
        "DailyAsyncApexTests": _limit(500),
        "DailyBulkApiBatches": _limit(15000, store.count_last_24h("bulk_batches")),
        "DailyBulkV2QueryFileStorageMB": _limit(976562),
        "DailyBulkV2QueryJobs": _limit(10000, store.count_last_24h("bulk_query_jobs")),
        "DailyDeliveredPlatformEvents": _limit(10000),
        "DailyDurableGenericStreamingApiEvents": _limit(10000),
        "DailyDurableStreamingApiEvents": _limit(10000),
        "DailyScratchOrgs": _limit(6),
        "DailyStandardVolumePlatformEvents": _limit(10000),
        "DailyStreamingApiEvents": _limit(10000),
        "DailyWorkflowEmails": _limit(405),
        "DataStorageMB": _limit(data_mb, used_mb),
        "DurableStreamingApiConcurrentClients": _limit(20),
        "FileStorageMB": _limit(20),
        "HourlyAsyncReportRuns": _limit(1200),
        "HourlyDashboardRefreshes": _limit(200),
        "HourlyDashboardResults": _limit(5000),
        "HourlyDashboardStatuses": _limit(999999999),
        "HourlyLongTermIdMapping": _limit(100000),
        "HourlyManagedContentPublicRequests": _limit(50000),
        "HourlyODataCallout": _limit(10000),
        "HourlyPublishedPlatformEvents": _limit(50000),
        "HourlyPublishedStandardVolumePlatformEvents": _limit(50000),
        "HourlyShortTermIdMapping": _limit(100000),
        "HourlySyncReportRuns": _limit(500),
        "HourlyTimeBasedWorkflow": _limit(50),
        "MassEmail": _limit(10),
        "Package2VersionCreates": _limit(6),
        "Package2VersionCreatesWithoutValidation": _limit(500),
        "PermissionSets": _limit(1500),
        "PrivateConnectOutboundCalloutHourlyLimitMB": _limit(0),
        "SingleEmail": _limit(15),
        "StreamingApiConcurrentClients": _limit(20),
    }


def record_count_body(org: Org, names: Sequence[str] | None) -> dict[str, Any]:
    counts = org.store.record_counts()
    wanted: Mapping[str, int]
    if names:
        lower = {k.lower(): (k, v) for k, v in counts.items()}
        wanted = dict(lower[n.lower()] for n in names if n.lower() in lower)
    else:
        wanted = counts
    return {"sObjects": [{"count": c, "name": n} for n, c in wanted.items() if c > 0]}


def describe_global_body(org: Org, ver: str) -> dict[str, Any]:
    body: dict[str, Any] = describe_global(org.store.schema, ver)
    return body


def describe_body(org: Org, ver: str, sobject: str) -> dict[str, Any]:
    body: dict[str, Any] = describe_sobject(
        org.store.schema, object_def(org, sobject), ver, instance_url=org.base_url
    )
    return body


def basic_info_body(org: Org, ver: str, sobject: str) -> dict[str, Any]:
    """``GET /sobjects/{sobject}``: the object's describe-global entry and no recent items."""
    obj = object_def(org, sobject)
    entry = next(
        (e for e in describe_global(org.store.schema, ver)["sobjects"] if e["name"] == obj.name),
        {"name": obj.name},
    )
    return {"objectDescribe": entry, "recentItems": []}


# -- the URL table's operations ---------------------------------------------------------------------


def op_versions(call: Call) -> Reply:
    return Reply(200, versions_body())


def op_resources(call: Call) -> Reply:
    return Reply(200, resources_body(call.org, call.ver, call.user_id))


def op_describe_global(call: Call) -> Reply:
    return Reply(200, describe_global_body(call.org, call.ver))


def op_basic_info(call: Call) -> Reply:
    return Reply(200, basic_info_body(call.org, call.ver, call.param("sobject")))


def op_describe(call: Call) -> Reply:
    return Reply(200, describe_body(call.org, call.ver, call.param("sobject")))


def op_limits(call: Call) -> Reply:
    return Reply(200, limits_body(call.org))


def op_record_count(call: Call) -> Reply:
    return Reply(200, record_count_body(call.org, parse_fields(call.arg("sObjects"))))


def op_sobject(call: Call) -> Reply:
    """``/sobjects/{sobject}``: GET its basic information, POST creates a record."""
    if call.method == "POST":
        return records.op_create(call)
    return op_basic_info(call)
