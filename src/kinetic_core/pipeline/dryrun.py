"""``--dry-run``: validate a pipeline against describe and a sample of records; write nothing."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kinetic_core.bulk.codec import encode_record
from kinetic_core.load import Decision, Thresholds
from kinetic_core.mapping import FieldMapper, Issue, IssueCode
from kinetic_core.pipeline.runner import BatchRunner, Callbacks, Item
from kinetic_core.pipeline.sources import Source, SqlSource

COUNT_LIMIT = 10_000_000
"""Rows counted at most to estimate batches and jobs (the count streams the source)."""
EXAMPLES_PER_CODE = 3
"""Sample rows shown for each error code in the text report (the rest are counted)."""


def summarise_errors(errors: list[dict[str, Any]], examples: int = EXAMPLES_PER_CODE) -> list[dict[str, Any]]:
    """Group sample errors by code, in order of first appearance: count, row numbers, a few examples.

    Example:
        >>> rows = [{"row_number": n, "error_code": "MISSING_KEY", "error_message": "-"} for n in range(4)]
        >>> [(g["error_code"], g["count"], len(g["examples"])) for g in summarise_errors(rows)]
        [('MISSING_KEY', 4, 3)]
    """
    groups: dict[str, dict[str, Any]] = {}
    for error in errors:
        code = str(error["error_code"])
        group = groups.setdefault(code, {"error_code": code, "count": 0, "examples": []})
        group["count"] += 1
        if len(group["examples"]) < examples:
            group["examples"].append(error)
    return list(groups.values())


@dataclass
class DryRunReport:
    """What a run would do.

    Attributes:
        rows: source rows counted (None for SQL sources, which are not read in full).
        strategy / reason: the router's choice for the whole source, and why (with the source size used).
        batches / jobs: how the run would be cut up (estimates).
        issues: mapping problems found against describe.
        sample_errors: sample rows that would fail: mapping errors, and values describe says Salesforce
            would refuse (required field missing on insert, text longer than the field).
        sample_records: the first few mapped records.
    """

    name: str
    object: str
    operation: str
    source: str
    rows: int | None
    sampled: int
    strategy: str
    reason: str
    batches: int | None
    jobs: int | None
    issues: list[Issue] = field(default_factory=list)
    sample_errors: list[dict[str, Any]] = field(default_factory=list)
    sample_records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing blocks the run (no error-level issue, no failing sample row)."""
        return not self.sample_errors and all(i.severity != "error" for i in self.issues)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "name": self.name,
            "object": self.object,
            "operation": self.operation,
            "source": self.source,
            "rows": self.rows,
            "sampled": self.sampled,
            "strategy": self.strategy,
            "reason": self.reason,
            "batches": self.batches,
            "jobs": self.jobs,
            "issues": [
                {"severity": i.severity, "code": i.code.value, "field": i.field, "message": i.message}
                for i in self.issues
            ],
            "sample_errors": self.sample_errors,
            "error_summary": [
                {
                    "error_code": g["error_code"],
                    "count": g["count"],
                    "rows": [e["row_number"] for e in g["examples"]],
                }
                for g in summarise_errors(self.sample_errors)
            ],
            "sample_records": self.sample_records,
            "ok": self.ok,
        }

    def render(self) -> str:
        """A plain-text summary."""
        rows = "unknown" if self.rows is None else str(self.rows)
        lines = [
            f"dry run of {self.name}: {self.operation} {self.object} from {self.source}",
            f"rows: {rows}; sampled: {self.sampled}",
            f"strategy: {self.strategy} ({self.reason})",
        ]
        if self.batches is not None:
            lines.append(
                f"would send {self.batches} batch(es)" + (f", {self.jobs} Bulk job(s)" if self.jobs else "")
            )
        for issue in self.issues:
            lines.append(f"{issue.severity}: {issue.code.value} {issue.field}: {issue.message}")
        for group in summarise_errors(self.sample_errors):
            shown = group["examples"]
            if group["count"] == 1:
                only = shown[0]
                lines.append(f"row {only['row_number']}: {only['error_code']}: {only['error_message']}")
                continue
            lines.append(f"{group['error_code']}: {group['count']:,} of {self.sampled:,} sampled rows, e.g.")
            lines += [f"  row {e['row_number']}: {e['error_message']}" for e in shown]
            if group["count"] > len(shown):
                lines.append(f"  ... and {group['count'] - len(shown):,} more")
        lines.append("nothing was written" + ("" if self.ok else "; fix the problems above first"))
        return "\n".join(lines)


def _targets(items: list[Item]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        for key in encode_record(item.record):
            seen.setdefault(key, None)
    return list(seen)


def _predicted_errors(item: Item, describe: dict[str, Any], operation: str) -> list[dict[str, Any]]:
    """What Salesforce would refuse in one mapped sample record: missing required values, long text."""
    fields = {str(f.get("name", "")).lower(): f for f in describe.get("fields") or []}
    record = encode_record(item.record)
    errors: list[dict[str, Any]] = []
    if operation == "insert":
        for field_def in fields.values():
            required = (
                field_def.get("createable")
                and not field_def.get("nillable", True)
                and not field_def.get("defaultedOnCreate")
                and field_def.get("type") != "boolean"
            )
            name = str(field_def.get("name"))
            if required and record.get(name, "") in ("", "#N/A"):
                errors.append(
                    {
                        "row_number": item.row_number,
                        "error_code": "REQUIRED_FIELD_MISSING",
                        "error_message": f"Required fields are missing: [{name}]",
                    }
                )
    for key, value in record.items():
        field_def = fields.get(key.lower())
        length = int(field_def.get("length") or 0) if field_def else 0
        if field_def and field_def.get("type") in ("string", "textarea") and 0 < length < len(value):
            errors.append(
                {
                    "row_number": item.row_number,
                    "error_code": "STRING_TOO_LONG",
                    "error_message": f"{key}: {len(value)} characters, the field takes {length}",
                }
            )
    return errors


def missing_sources(mapper: FieldMapper | None, source: Source, raws: list[Any]) -> list[Issue]:
    """Warnings for mapping sources that are not columns of the source.

    The columns are the source's header (CSV, DataFrame) or, for sources without one, the keys of the
    sampled records; nothing is reported when neither is known. A dotted source (``address.city``)
    is checked by its first part. Header names are compared without regard to case.
    """
    if mapper is None:
        return []
    columns = list(getattr(source, "columns", None) or ())
    if not columns:
        seen: dict[str, None] = {}
        for raw in raws:
            for key in getattr(raw, "cells", None) or {}:
                seen.setdefault(str(key), None)
        columns = list(seen)
    if not columns:
        return []
    known = {c.lower() for c in columns}
    listed = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
    issues = []
    for rule in mapper.rules:
        if rule.source and rule.source.split(".", 1)[0].lower() not in known:
            issues.append(
                Issue(
                    "warning",
                    IssueCode.SOURCE_NOT_FOUND,
                    rule.target,
                    f"{rule.target} reads {rule.source!r}, which is not a column of the source "
                    f"(columns: {listed}); the field would be left out of every record",
                )
            )
    return issues


class Planned(Protocol):
    """What a dry run reads of a pipeline (a ``SyncPipeline``): its settings and its routing decision."""

    @property
    def name(self) -> str: ...
    @property
    def client(self) -> Any: ...
    @property
    def sobject(self) -> str: ...
    @property
    def operation(self) -> str: ...
    @property
    def external_id_field(self) -> str | None: ...
    @property
    def mapper(self) -> FieldMapper | None: ...
    @property
    def thresholds(self) -> Thresholds | None: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def bulk_options(self) -> Mapping[str, Any]: ...
    def decide(self, source: Source) -> tuple[Decision, Any]:
        """The API for the whole run, and the rows to read."""
        ...


def dry_run(pipeline: Planned, source: Source, sample: int) -> DryRunReport:
    """Build the :class:`DryRunReport` of ``pipeline`` on ``source``; nothing is written or sent."""
    runner = BatchRunner(
        client=pipeline.client,
        sobject=pipeline.sobject,
        operation=pipeline.operation,
        external_id_field=pipeline.external_id_field,
        mapper=pipeline.mapper,
        journal=None,
        callbacks=Callbacks(),
        bulk_options={},
        thresholds=pipeline.thresholds,
        checkpoint=None,
    )
    raws = list(itertools.islice(source.rows(), max(1, sample)))
    prepared = runner.prepare(raws)
    describe = pipeline.client.describe(pipeline.sobject)
    check = pipeline.mapper or FieldMapper({t: t for t in _targets(prepared.items)})
    issues = missing_sources(pipeline.mapper, source, raws) + list(
        check.validate(describe, pipeline.operation)
    )
    rows: int | None = None
    if not isinstance(source, SqlSource):
        rows = sum(1 for _ in itertools.islice(source.rows(), COUNT_LIMIT))
    decision, _ = pipeline.decide(source)
    strategy, reason = decision.strategy.value, decision.reason
    batches = jobs = None
    if rows is not None:
        if strategy == "bulk":
            batches = math.ceil(rows / pipeline.batch_size)
            per_job = int(pipeline.bulk_options.get("max_records_per_job", pipeline.batch_size))
            full, tail = divmod(rows, pipeline.batch_size)
            jobs = full * math.ceil(pipeline.batch_size / per_job) + math.ceil(tail / per_job)
        else:
            batches = math.ceil(rows / 200) if strategy == "composite" else rows
    return DryRunReport(
        name=pipeline.name,
        object=pipeline.sobject,
        operation=pipeline.operation,
        source=source.describe(),
        rows=rows,
        sampled=len(raws),
        strategy=strategy,
        reason=reason,
        batches=batches,
        jobs=jobs,
        issues=issues,
        sample_errors=sorted(
            [
                {"row_number": f.row_number, "error_code": f.error_code, "error_message": f.error_message}
                for f in prepared.failures
            ]
            + [e for item in prepared.items for e in _predicted_errors(item, describe, pipeline.operation)],
            key=lambda e: int(e["row_number"]),
        ),
        sample_records=[item.record for item in prepared.items[:3]],
    )
