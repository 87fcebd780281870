"""``kinetic load OBJECT FILE``: a CSV file through the smart router, with result files.

Result files are named as ``sf data ... bulk`` users expect: ``<job id>-success-records.csv``,
``<job id>-failed-records.csv`` and ``<job id>-unprocessed-records.csv`` (``load-<first job id>`` when
the load took several jobs). A REST or Composite load has no job id; its files are named
``<object>-<operation>-<run id>-...``, the run id being the UTC time to the second and a random
suffix. No file is ever overwritten (``<name>-2-...`` if one is there already); the summary lists
the paths. Columns: ``sf__Id``, ``sf__Created`` / ``sf__Error``, the file's columns, then
``kc__RowNumber`` (the 1-based data row of the input).

The results dir is checked before anything is sent (created if missing, a probe file written and
removed). If writing the files fails anyway after the load, the error names the jobs and counts
and how to get the files without loading again; REST/Composite files then go to a temporary
directory that the error names.
"""

from __future__ import annotations

import csv
import heapq
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kinetic_core.bulk.csvfile import iter_row_runs, sniff
from kinetic_core.bulk.models import JobState, Operation
from kinetic_core.bulk.resultfiles import format_sf_error
from kinetic_core.cli.common import (
    ExitCode,
    JsonOption,
    OrgOption,
    connected,
    emit_json,
    fail,
    handle_errors,
    parse_minutes,
    stderr,
    stdout,
)
from kinetic_core.cli.data_cmd import FAST_POLL
from kinetic_core.cli.loadcheck import check_load
from kinetic_core.cli.loadfile import (
    FileOptions,
    field_types,
    needs_rewrite,
    parse_delimiter,
    parse_line_ending,
    prepare,
)
from kinetic_core.cli.progress import LoadProgress
from kinetic_core.cli.retry import find_descriptor, retry_input, write_descriptor
from kinetic_core.errors import ResultsNotSavedError
from kinetic_core.load import LoadResult, RowOutcome, Strategy
from kinetic_core.load import load as load_records
from kinetic_core.load.inputs import read_csv
from kinetic_core.runfiles import create_exclusive, new_run_id

OPERATIONS = ("insert", "update", "upsert", "delete", "hard-delete")
SHOWN_FAILURES = 10


def count_rows(path: Path) -> int:
    """Data rows of a CSV file for the progress display: counted by the block scanner (as the rows a
    Bulk job is split into), or row by row when a quote is never closed."""
    try:
        return sum(run.rows for run in iter_row_runs(sniff(path)))
    except ValueError:
        return sum(1 for _ in read_csv(path)[1])


def write_result_files(result: LoadResult, source: Path, directory: Path, name: str) -> dict[str, Path]:
    """Write the three result files of a REST/Composite load, or of a load whose unreadable rows were
    kept back (a plain Bulk load writes its own). The columns are the file's, as the load read them
    (:mod:`kinetic_core.inputs.normalise`: names trimmed, the columns of earlier result files left out).

    Never overwrites: see :func:`kinetic_core.runfiles.create_exclusive`. Files begun are removed
    when writing fails.
    """
    header, rows = read_csv(source)
    columns = list(header.names)
    directory.mkdir(parents=True, exist_ok=True)
    opened = create_exclusive(directory, name, ("success", "failed", "unprocessed"))
    handles = {label: handle for label, (_path, handle) in opened.items()}
    try:
        writers = {label: csv.writer(h, lineterminator="\n") for label, h in handles.items()}
        writers["success"].writerow(["sf__Id", "sf__Created", *columns, "kc__RowNumber"])
        writers["failed"].writerow(["sf__Id", "sf__Error", *columns, "kc__RowNumber"])
        writers["unprocessed"].writerow([*columns, "kc__RowNumber"])
        outcomes = iter(result)
        pending: RowOutcome | None = next(outcomes, None)
        for row in rows:
            number = row.number
            cells = [row.cells[i] if i < len(row.cells) else "" for i in header.keep]
            while pending is not None and pending.row_number < number:
                pending = next(outcomes, None)
            if pending is None or pending.row_number != number:
                continue
            if pending.status == "success":
                head = [pending.id or "", "true" if pending.created else "false"]
                writers["success"].writerow([*head, *cells[: len(columns)], number])
            elif pending.status == "failed":
                error = format_sf_error(pending.error_code, pending.error_message, pending.error_fields)
                writers["failed"].writerow([pending.id or "", error, *cells[: len(columns)], number])
            else:
                writers["unprocessed"].writerow([*cells[: len(columns)], number])
        for handle in handles.values():
            handle.close()
    except BaseException:
        for path, handle in opened.values():
            handle.close()
            path.unlink(missing_ok=True)
        raise
    return {label: path for label, (path, _handle) in opened.items()}


def save_result_files(result: LoadResult, source: Path, directory: Path, name: str) -> dict[str, Path]:
    """:func:`write_result_files`, and when ``directory`` fails, a temporary directory named in the error.

    Raises:
        ResultsNotSavedError: ``directory`` could not take the files (the rows were loaded).
    """
    try:
        return write_result_files(result, source, directory, name)
    except OSError as exc:
        error = exc
    try:
        fallback = Path(tempfile.mkdtemp(prefix="kinetic-results-"))
        saved = write_result_files(result, source, fallback, name)
        names = ", ".join(p.name for p in saved.values())
        where = f"the result files were written to {fallback} instead ({names})"
    except OSError as again:
        where = f"the result files could not be written anywhere ({again.strerror or again})"
    counts = {k: getattr(result, k) for k in ("total", "successful", "failed", "unprocessed")}
    raise ResultsNotSavedError(
        f"the {result.strategy.value} load ran, but its result files could not be written to {directory} "
        f"({error.strerror or error}); do not load the rows again",
        path=directory,
        counts=counts,
        next_step=where,
    ) from error


def failed_jobs(result: LoadResult) -> list[dict[str, str]]:
    """The Bulk jobs of a load that failed (or were aborted) as a whole: the command then exits 4."""
    jobs = result.bulk.jobs if result.bulk is not None else ()
    return [
        {"id": job.id, "state": job.state.value, "error": job.error_message or ""}
        for job in jobs
        if job.state in (JobState.FAILED, JobState.ABORTED)
    ]


Failure = tuple[int | None, str, str | None, str | None]
"""A failed or unprocessed row: (row number, status, error code, message)."""


def _failures(result: LoadResult) -> Iterator[Failure]:
    """The failed and unprocessed rows in row order; for a Bulk load, without reading a success row."""
    if result.bulk is not None and not result.renumbered:
        bulk = result.bulk
        rows = heapq.merge(bulk.failed_rows(), bulk.unprocessed_rows(), key=lambda r: r.row_number or 0)
        return ((r.row_number, r.status.value, r.error_code, r.error_message) for r in rows)
    return ((o.row_number, o.status, o.error_code, o.error_message) for o in result if not o.success)


def failure_digest(result: LoadResult) -> tuple[list[Failure], dict[str, int]]:
    """The first failed or unprocessed rows (up to ``SHOWN_FAILURES``) and the count of such rows by
    error code, most frequent first (``UNPROCESSED`` for a row never processed that has no code), in
    one pass over the failures; nothing is read when every row succeeded."""
    first: list[Failure] = []
    counts: Counter[str] = Counter()
    if not (result.failed or result.unprocessed):
        return first, {}
    for failure in _failures(result):
        counts[failure[2] or failure[1].upper()] += 1
        if len(first) < SHOWN_FAILURES:
            first.append(failure)
    return first, dict(counts.most_common())


def _failures_table(first: list[Failure]) -> Table:
    table = Table("row", "status", "error", "message", title="first failures")
    for number, status, code, message in first:
        table.add_row("" if number is None else f"{number:,}", status, code or "", message or "")
    return table


def _codes_table(counts: dict[str, int]) -> Table:
    table = Table("error", "rows", title="rows by error")
    for code, count in counts.items():
        table.add_row(code, f"{count:,}")
    return table


def _retry(results: Path, json_output: bool) -> tuple[str, Path, str, str | None, Path] | None:
    """What ``--retry RESULTS`` loads again: object, file of rows, operation, external id and the
    earlier results dir; None (said on stderr) when the earlier load left nothing to retry."""
    run = find_descriptor(results)
    file, count = retry_input(run)
    stderr().print(
        f"retrying {count:,} row(s) of {run.path.name}: {run.operation} {run.object} from {file}",
        markup=False,
    )
    if count == 0:
        stderr().print("nothing to retry: that load has no failed or unprocessed rows", markup=False)
        if json_output:
            emit_json(
                {"object": run.object, "operation": run.operation, "total": 0, "retry_of": str(run.path)}
            )
        return None
    return run.object, file, run.operation, run.external_id, run.path.parent


def _show(
    result: LoadResult,
    sobject: str,
    op: Operation,
    files: dict[str, Any],
    first: list[Failure],
    by_code: dict[str, int],
) -> None:
    """The human-readable outcome of a load: counts on stdout, why and where on stderr, first failures."""
    table = Table("object", "operation", "strategy", "total", "successful", "failed", "unprocessed")
    table.add_row(
        sobject,
        op.value,
        result.strategy.value,
        f"{result.total:,}",
        f"{result.successful:,}",
        f"{result.failed:,}",
        f"{result.unprocessed:,}",
    )
    stdout().print(table)
    console = stderr()
    console.print(f"why {result.strategy.value}: {result.reason}", markup=False)
    if result.job_ids:
        console.print(f"jobs: {', '.join(result.job_ids)}", markup=False)
    for label, path in files.items():
        console.print(f"{label} rows: {path}", markup=False)
    if first:
        stdout().print(_failures_table(first))
        stdout().print(_codes_table(by_code))


@handle_errors
def load(
    sobject: Annotated[
        str | None, typer.Argument(help="Object API name, e.g. Contact.", show_default=False)
    ] = None,
    file: Annotated[
        Path | None,
        typer.Argument(
            help="CSV file (any encoding, Bulk delimiter and line ending; see the file options).",
            show_default=False,
        ),
    ] = None,
    operation: Annotated[
        str, typer.Option("--operation", "-p", help=f"One of {', '.join(OPERATIONS)}.")
    ] = "insert",
    external_id: Annotated[str | None, typer.Option("--external-id", "-i", help="Upsert key field.")] = None,
    strategy: Annotated[
        Strategy, typer.Option("--strategy", help="API to use (auto lets the router decide).")
    ] = Strategy.AUTO,
    results_dir: Annotated[
        Path | None, typer.Option("--results-dir", help="Where result files go (default: .).")
    ] = None,
    wait: Annotated[
        float | None,
        typer.Option("--wait", "-w", help="Minutes to wait for Bulk jobs (then print their ids)."),
    ] = None,
    retry: Annotated[
        Path | None,
        typer.Option(
            "--retry",
            help="Load again the failed and unprocessed rows of the last load whose results are in this"
            " directory (same object, operation and external id).",
            show_default=False,
        ),
    ] = None,
    no_check: Annotated[
        bool,
        typer.Option(
            "--no-check",
            help="Send without first checking the object, columns, operation and external id against"
            " describe.",
        ),
    ] = False,
    encoding: Annotated[
        str, typer.Option("--encoding", help="The file's encoding (auto: detected, e.g. cp1252 from Excel).")
    ] = "auto",
    delimiter: Annotated[
        str,
        typer.Option(
            "--delimiter",
            "--column-delimiter",
            help="COMMA, SEMICOLON, TAB, PIPE, CARET, BACKQUOTE or the character (auto: detected).",
        ),
    ] = "auto",
    line_ending: Annotated[
        str | None,
        typer.Option(
            "--line-ending",
            help="LF or CRLF: checked against the file (default: either).",
            show_default=False,
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="Column to field mapping: a Data Loader .sdl file (Source=Target lines) or FieldMapper"
            " YAML.",
            show_default=False,
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format",
            help="How date and datetime cells are written, as a Java pattern, e.g. dd/MM/yyyy or"
            " dd/MM/yyyy HH:mm (times without a zone are UTC).",
            show_default=False,
        ),
    ] = None,
    insert_nulls: Annotated[
        bool,
        typer.Option(
            "--insert-nulls",
            help="Empty cells clear their fields (sent as #N/A); by default an empty cell leaves the field"
            " unchanged on update and upsert.",
        ),
    ] = False,
    org: OrgOption = None,
    json_output: JsonOption = False,
) -> None:
    """Load a CSV file: insert, update, upsert, delete or hard-delete, through REST, Composite or Bulk.

    Files as spreadsheets and Data Loader leave them are read as they are: any encoding (detected, or
    --encoding), any Bulk delimiter, LF or CRLF, a mapping file, dates in a pattern of your own.

    Example:
        $ kinetic load Contact contacts.csv --operation upsert --external-id External_Id__c
        $ kinetic load Contact export.csv --encoding cp1252 --delimiter SEMICOLON --date-format dd/MM/yyyy
        $ kinetic load Contact export.csv --mapping contact.sdl --operation update --insert-nulls
        $ kinetic load --retry results
    """
    file_options = FileOptions(
        encoding=encoding,
        delimiter=parse_delimiter(delimiter),
        line_ending=parse_line_ending(line_ending),
        mapping=mapping,
        date_format=date_format,
        insert_nulls=insert_nulls,
    )
    target = _target(sobject, file, operation, external_id, results_dir, retry, file_options, json_output)
    if target is None:
        return
    sobject, file, op, external_id, results_dir = target
    timeout = parse_minutes(wait)
    with tempfile.TemporaryDirectory(prefix="kinetic-load-") as work:
        with connected(org) as client:
            source, read_as = _readable(client, sobject, file, file_options, Path(work))
            if not no_check:
                header, _rows = read_csv(source)
                sobject = check_load(
                    client.describe, client.list_objects, sobject, header.names, op, external_id
                )
            console = stderr()
            # the row count is only for the live display (a terminal): a script does not pay for it
            total = count_rows(source) if not json_output and console.is_terminal else None
            client.bulk.poll = FAST_POLL
            with LoadProgress(
                console, f"{op.value} {sobject}", total=total, enabled=not json_output
            ) as progress:
                if total is not None:
                    progress.rows_read(total)
                result = load_records(
                    client,
                    sobject,
                    source,
                    operation=op.value,
                    strategy=strategy,
                    external_id_field=external_id,
                    results_dir=results_dir,
                    timeout=timeout,
                    on_event=progress.on_event,
                )
        _report(result, sobject, op, file, source, external_id, results_dir, read_as, json_output)


def _target(
    sobject: str | None,
    file: Path | None,
    operation: str,
    external_id: str | None,
    results_dir: Path | None,
    retry: Path | None,
    file_options: FileOptions,
    json_output: bool,
) -> tuple[str, Path, Operation, str | None, Path] | None:
    """What ``load`` loads (OBJECT and FILE, or those of the ``--retry`` run), checked; None: nothing."""
    if retry is not None:
        if file_options.given():
            raise fail(
                "--retry takes no file options: the result files hold the rows as they were sent",
                json_output=json_output,
            )
        if sobject is not None or file is not None:
            raise fail(
                "--retry takes no OBJECT or FILE: they come from the earlier run", json_output=json_output
            )
        again = _retry(retry, json_output)
        if again is None:
            return None
        sobject, file, operation, external_id, earlier_dir = again
        results_dir = results_dir or earlier_dir
    if sobject is None or file is None:
        raise fail("give OBJECT and FILE (or --retry RESULTS_DIR)", json_output=json_output)
    if operation.lower() not in OPERATIONS and operation not in ("hard_delete", "hardDelete"):
        raise fail(f"--operation must be one of {', '.join(OPERATIONS)}", json_output=json_output)
    op = Operation.parse(operation)
    if op is Operation.UPSERT and not external_id:
        raise fail("--operation upsert needs --external-id FIELD", json_output=json_output)
    if not file.is_file():
        raise fail(f"file not found: {file}", json_output=json_output)
    return sobject, file, op, external_id, results_dir or Path(".")


def _readable(
    client: Any, sobject: str, file: Path, file_options: FileOptions, work: Path
) -> tuple[Path, dict[str, Any] | None]:
    """The file to send (``file``, or its rewrite in ``work``) and how it was read (None: as it is)."""
    if not needs_rewrite(file, file_options):
        return file, None
    prepared = prepare(file, file_options, work / f"{file.stem}.csv", lambda: field_types(client, sobject))
    stderr().print(prepared.said(file), markup=False)
    return prepared.path, prepared.describe()


def _report(
    result: LoadResult,
    sobject: str,
    op: Operation,
    file: Path,
    source: Path,
    external_id: str | None,
    results_dir: Path,
    read_as: dict[str, Any] | None,
    json_output: bool,
) -> None:
    """Save the result files and the run descriptor, show the summary; exit with the load's code."""
    broken = failed_jobs(result)
    try:
        files: dict[str, Any]
        if result.bulk is not None and not result.renumbered:
            files = dict(result.bulk.files)
        else:
            files = save_result_files(result, source, results_dir, f"{sobject}-{op.value}-{new_run_id()}")
        summary: dict[str, Any] = {
            "object": sobject,
            "operation": op.value,
            "strategy": result.strategy.value,
            "reason": result.reason,
            "total": result.total,
            "successful": result.successful,
            "failed": result.failed,
            "unprocessed": result.unprocessed,
            "job_ids": list(result.job_ids),
            "failed_jobs": broken,
            "files": {k: str(v) for k, v in files.items()},
        }
        first, by_code = failure_digest(result)
        summary["errors_by_code"] = by_code
        if read_as is not None:
            summary["read_as"] = read_as
        try:
            descriptor = write_descriptor(summary, file, external_id)
        except OSError as exc:  # the rows were loaded: say so, do not fail the command for it
            stderr().print(f"warning: no run descriptor for --retry: {exc}", markup=False)
            descriptor = None
        if descriptor is not None:
            summary["run"] = str(descriptor)
        if json_output:
            emit_json(summary)
        else:
            _show(result, sobject, op, files, first, by_code)
    finally:
        result.close()
    for job in broken:
        stderr().print(f"error: bulk job {job['id']} {job['state']}: {job['error']}", markup=False)
    if broken:
        raise typer.Exit(int(ExitCode.API))
    if result.failed or result.unprocessed:
        raise typer.Exit(int(ExitCode.ROWS_FAILED))
