"""The options of one ingest load (``LoadOptions``), built the same way by the sync and async clients.

Example:
    >>> from kinetic_core.bulk.models import Operation
    >>> options = load_options(Operation.INSERT, "Account", manifests=None, poll=None, timeout=60)
    >>> (options.timeout, options.max_concurrent_jobs)
    (60, 4)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from kinetic_core.bulk.events import BulkEvent
from kinetic_core.bulk.models import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_CONCURRENT_JOBS,
    DEFAULT_MAX_RECORDS,
    ColumnDelimiter,
    LineEnding,
    Operation,
)
from kinetic_core.bulk.poller import PollPolicy

if TYPE_CHECKING:
    from kinetic_core.bulk.manifest import ManifestStore


class BulkOptions(TypedDict, total=False):
    """The keyword options of a Bulk API 2.0 load (``BulkClient.insert`` and the other loads,
    ``client.load``, ``client.smart_insert``), typed so a misspelled one is a type error."""

    max_bytes_per_job: int
    max_records_per_job: int
    max_concurrent_jobs: int
    column_delimiter: ColumnDelimiter | str | None
    line_ending: LineEnding | str | None
    columns: Sequence[str] | None
    results_dir: str | Path | None
    timeout: float | None
    on_event: Callable[[BulkEvent], None] | None
    poll: PollPolicy | None
    assignment_rule_id: str | None


BULK_OPTIONS = BulkOptions.__optional_keys__
"""The names of :class:`BulkOptions`."""


def check_options(options: Mapping[str, object], function: str) -> None:
    """Raise ``TypeError`` naming the first option that is not one of :class:`BulkOptions`.

    Example:
        >>> check_options({"timeout": 5, "result_dir": "out"}, "load")
        Traceback (most recent call last):
        ...
        TypeError: load() got an unexpected keyword argument 'result_dir'
    """
    for name in options:
        if name not in BULK_OPTIONS:
            raise TypeError(f"{function}() got an unexpected keyword argument {name!r}")


@dataclass(frozen=True)
class LoadOptions:
    """Everything that shapes one ingest load (see ``BulkClient.insert`` for the meaning)."""

    sobject: str
    operation: Operation
    external_id_field: str | None = None
    max_bytes_per_job: int = DEFAULT_MAX_BYTES
    max_records_per_job: int = DEFAULT_MAX_RECORDS
    max_concurrent_jobs: int = DEFAULT_MAX_CONCURRENT_JOBS
    column_delimiter: ColumnDelimiter | str | None = None
    line_ending: LineEnding | str | None = None
    columns: Sequence[str] | None = None
    results_dir: Path | None = None
    timeout: float | None = None
    on_event: Callable[[BulkEvent], None] | None = None
    poll: PollPolicy = field(default_factory=PollPolicy)
    assignment_rule_id: str | None = None
    upload_attempts: int = 3
    manifests: ManifestStore | None = None


def load_options(
    operation: Operation,
    sobject: str,
    *,
    manifests: ManifestStore | None,
    poll: PollPolicy | None,
    external_id_field: str | None = None,
    max_bytes_per_job: int = DEFAULT_MAX_BYTES,
    max_records_per_job: int = DEFAULT_MAX_RECORDS,
    max_concurrent_jobs: int = DEFAULT_MAX_CONCURRENT_JOBS,
    column_delimiter: ColumnDelimiter | str | None = None,
    line_ending: LineEnding | str | None = None,
    columns: Sequence[str] | None = None,
    results_dir: str | Path | None = None,
    timeout: float | None = None,
    on_event: Callable[[BulkEvent], None] | None = None,
    assignment_rule_id: str | None = None,
) -> LoadOptions:
    """The options of a load from the keyword arguments of ``BulkClient.insert`` (see there);
    ``results_dir`` is checked first: a load must not end unable to say what it did.

    Raises:
        OutputNotWritableError: ``results_dir`` is a file, read-only or full (nothing was sent).
    """
    from kinetic_core.runfiles import check_writable

    if results_dir is not None:
        check_writable(Path(results_dir))
    return LoadOptions(
        sobject=sobject,
        operation=operation,
        external_id_field=external_id_field,
        max_bytes_per_job=max_bytes_per_job,
        max_records_per_job=max_records_per_job,
        max_concurrent_jobs=max_concurrent_jobs,
        column_delimiter=column_delimiter,
        line_ending=line_ending,
        columns=columns,
        results_dir=Path(results_dir) if results_dir is not None else None,
        timeout=timeout,
        on_event=on_event,
        poll=poll or PollPolicy(),
        assignment_rule_id=assignment_rule_id,
        manifests=manifests,
    )
