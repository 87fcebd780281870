"""``kinetic jobs list | show | results | abort | wait``: Bulk API 2.0 job control and resume."""

from __future__ import annotations

import enum
import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kinetic_core.bulk.models import JobInfo, JobKind, JobState
from kinetic_core.bulk.query import export_to_file
from kinetic_core.cli.common import (
    ORG_EXIT_CODES,
    ExitCode,
    JsonOption,
    OrgOption,
    connected,
    emit_json,
    exit_codes_help,
    handle_errors,
    parse_minutes,
    stderr,
    stdout,
)
from kinetic_core.cli.data_cmd import FAST_POLL
from kinetic_core.cli.progress import LoadProgress
from kinetic_core.errors import ApiError

jobs_app = typer.Typer(
    help="Bulk API 2.0 jobs: list, inspect, fetch results, abort, wait.", no_args_is_help=True
)
ROWS_FAILED_HELP = "the job has failed or unprocessed rows"

JobId = Annotated[str, typer.Argument(help="Job id (750...).")]


class KindChoice(enum.StrEnum):
    """Which jobs ``jobs list`` shows."""

    ALL = "all"
    INGEST = "ingest"
    QUERY = "query"


def job_dict(info: JobInfo) -> dict[str, Any]:
    """A JSON-ready view of a job."""
    return {
        "id": info.id,
        "kind": info.kind.value,
        "object": info.object,
        "operation": info.operation.value,
        "state": info.state.value,
        "records_processed": info.records_processed,
        "records_failed": info.records_failed,
        "created_date": info.created_date,
        "error_message": info.error_message,
    }


COUNTERS = ("numberRecordsProcessed", "numberRecordsFailed")


def with_counters(client: Any, jobs: list[JobInfo], workers: int = 4) -> list[JobInfo]:
    """The jobs with their record counters, read from each job's info where the list left them out.

    ``GET /jobs/ingest`` (and ``/jobs/query``) list each job's configuration only: the counters
    (``numberRecordsProcessed``, ``numberRecordsFailed``) come with ``GET /jobs/ingest/{id}``. A job
    deleted in between keeps what the list said.
    """

    def complete(job: JobInfo) -> JobInfo:
        if job.raw is not None and all(key in job.raw for key in COUNTERS):
            return job
        try:
            full: JobInfo = client.bulk.get_job(job.id, kind=job.kind)
        except ApiError as exc:
            if exc.status != 404:
                raise
            return job
        return full

    if not jobs:
        return jobs
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
        return list(pool.map(complete, jobs))


@jobs_app.command("list", epilog=ORG_EXIT_CODES)
@handle_errors
def list_jobs(
    kind: Annotated[KindChoice, typer.Option(help="ingest, query or all.")] = KindChoice.ALL,
    state: Annotated[str | None, typer.Option(help="Only jobs in this state, e.g. InProgress.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many jobs of each kind.")] = 100,
    org: OrgOption = None,
    json_output: JsonOption = False,
) -> None:
    """List Bulk API 2.0 jobs, with the records each has processed and failed.

    Example:
        $ kinetic jobs list --state InProgress
    """
    kinds = [JobKind.INGEST, JobKind.QUERY] if kind is KindChoice.ALL else [JobKind(kind.value)]
    with connected(org) as client:
        jobs: list[JobInfo] = []
        for k in kinds:
            found = client.bulk.list_jobs(kind=k)
            jobs += [j for j in itertools.islice(found, limit) if state is None or j.state.value == state]
        jobs = with_counters(client, jobs)
    if json_output:
        emit_json([job_dict(j) for j in jobs])
        return
    table = Table("id", "kind", "object", "operation", "state", "processed", "failed", "created")
    for j in jobs:
        table.add_row(
            j.id,
            j.kind.value,
            j.object,
            j.operation.value,
            j.state.value,
            f"{j.records_processed:,}",
            f"{j.records_failed:,}",
            j.created_date or "",
        )
    stdout().print(table)


@jobs_app.command("show", epilog=ORG_EXIT_CODES)
@handle_errors
def show(job_id: JobId, org: OrgOption = None, json_output: JsonOption = False) -> None:
    """Show one job (ingest or query).

    Example:
        $ kinetic jobs show 7508c0000000001AAA
    """
    with connected(org) as client:
        info = client.bulk.get_job(job_id)
    raw = dict(info.raw or job_dict(info))
    if json_output:
        emit_json(raw)
        return
    table = Table("field", "value", title=f"job {info.id}")
    for key, value in raw.items():
        table.add_row(key, "" if value is None else str(value))
    stdout().print(table)


def _results_table(summary: dict[str, Any]) -> Table:
    """A job's results as a two-column table: counts with thousands separators, one file per line."""
    table = Table("", "", show_header=False, title=f"job {summary['job_id']}")
    for key, value in summary.items():
        if key in ("job_id", "job_ids"):
            continue
        if key == "files" and isinstance(value, dict):
            for label, path in value.items():
                table.add_row(f"{label} rows", str(path))
        elif isinstance(value, int):
            table.add_row(key, f"{value:,}")
        else:
            table.add_row(key, str(value))
    return table


@jobs_app.command("results", epilog=exit_codes_help(failed=ROWS_FAILED_HELP, auth=True, api=True))
@handle_errors
def results(
    job_id: JobId,
    results_dir: Annotated[Path, typer.Option("--results-dir", help="Where ingest result files go.")] = Path(
        "."
    ),
    out: Annotated[Path | None, typer.Option("--out", help="CSV file for a query job's records.")] = None,
    org: OrgOption = None,
    json_output: JsonOption = False,
) -> None:
    """Download a finished job's results: the three result files of an ingest job, or a query job's CSV.

    An ingest job's rows go to ID-success-records.csv, ID-failed-records.csv and
    ID-unprocessed-records.csv in --results-dir; a query job's records to --out (default
    RESULTS_DIR/ID.csv).

    Example:
        $ kinetic jobs results 7508c0000000001AAA --results-dir out
    """
    with connected(org) as client:
        info = client.bulk.get_job(job_id)
        if info.kind is JobKind.QUERY:
            target = out or results_dir / f"{job_id}.csv"
            export = export_to_file(client.bulk.api, info, target, None)
            summary: dict[str, Any] = {"job_id": job_id, "rows": export.rows, "path": str(export.path)}
            failed = 0
        else:
            with client.bulk.get_results(job_id, results_dir=results_dir) as result:
                summary = {"job_id": job_id, **result.summary()}
                failed = result.failed + result.unprocessed
    if json_output:
        emit_json(summary)
    else:
        stdout().print(_results_table(summary))
    if failed:
        raise typer.Exit(int(ExitCode.ROWS_FAILED))


@jobs_app.command("abort", epilog=ORG_EXIT_CODES)
@handle_errors
def abort(job_id: JobId, org: OrgOption = None, json_output: JsonOption = False) -> None:
    """Abort a job.

    Example:
        $ kinetic jobs abort 7508c0000000001AAA
    """
    with connected(org) as client:
        kind = client.bulk.get_job(job_id).kind
        info = client.bulk.abort_job(job_id, kind=kind)
    if json_output:
        emit_json(job_dict(info))
    else:
        stderr().print(f"job {info.id}: {info.state.value}", markup=False)


@jobs_app.command(
    "wait",
    epilog=exit_codes_help(failed="the job finished with failed rows", auth=True, api=True, wait=True)
    + " A job that failed or was aborted is exit code 4.",
)
@handle_errors
def wait_job(
    job_id: JobId,
    wait: Annotated[float | None, typer.Option("--wait", "-w", help="Minutes to wait at most.")] = None,
    org: OrgOption = None,
    json_output: JsonOption = False,
) -> None:
    """Wait for a job to finish, with a progress bar.

    This is how a load or an export whose --wait ran out is picked up again; kinetic jobs results
    then fetches what the job produced.

    Example:
        $ kinetic jobs wait 7508c0000000001AAA --wait 30
    """
    with connected(org) as client:
        client.bulk.poll = FAST_POLL
        with LoadProgress(stderr(), f"job {job_id}", enabled=not json_output) as progress:
            info = client.bulk.wait(job_id, timeout=parse_minutes(wait), on_event=progress.on_event)
    if json_output:
        emit_json(job_dict(info))
    else:
        stderr().print(
            f"job {info.id}: {info.state.value}, {info.records_processed:,} processed, "
            f"{info.records_failed:,} failed",
            markup=False,
        )
    if info.state in (JobState.FAILED, JobState.ABORTED):
        raise typer.Exit(int(ExitCode.API))
    if info.records_failed:
        raise typer.Exit(int(ExitCode.ROWS_FAILED))
