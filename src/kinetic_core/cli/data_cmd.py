"""``kinetic query | export | describe | limits``."""

from __future__ import annotations

import contextlib
import csv
import enum
import importlib.util
import itertools
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kinetic_core.cli.common import (
    JsonOption,
    OrgOption,
    connected,
    emit_json,
    fail,
    handle_errors,
    parse_minutes,
    say,
    stderr,
    stderr_is_terminal,
    stdout,
)
from kinetic_core.records import cell_text, flatten

# rich (tables, progress bars) and the Parquet conversion are imported by the code that uses them:
# an export to CSV whose stderr is not a terminal needs neither.
if TYPE_CHECKING:
    from kinetic_core.bulk.frames import ColumnKind
    from kinetic_core.bulk.poller import PollPolicy

    FAST_POLL: PollPolicy


def fast_poll() -> PollPolicy:
    """Bulk polling for interactive commands: quick first checks, then backing off (``FAST_POLL``)."""
    from kinetic_core.bulk.poller import PollPolicy  # the Bulk client: not for a command's --help

    return PollPolicy(initial=0.25, maximum=5.0)


def __getattr__(name: str) -> Any:
    if name == "FAST_POLL":
        value = globals()["FAST_POLL"] = fast_poll()
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class QueryFormat(enum.StrEnum):
    """Output formats of ``kinetic query``."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def _strip(record: Any) -> Any:
    if isinstance(record, Mapping):
        return {k: _strip(v) for k, v in record.items() if k != "attributes"}
    if isinstance(record, list):
        return [_strip(v) for v in record]
    return record


def _columns(records: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records:
        for key in record:
            seen.setdefault(key, None)
    names = list(seen)
    # a parent that is null in some rows ("Account": None) and set in others ("Account.Name")
    return [n for n in names if not any(o.startswith(n + ".") for o in names)]


def _write_csv(records: Iterator[dict[str, Any]]) -> int:
    head = [flatten(r) for r in itertools.islice(records, 2000)]
    columns = _columns(head)
    known = set(columns)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    warned = False
    for flat in itertools.chain(head, (flatten(r) for r in records)):
        extra = [k for k in flat if k not in known and not any(c.startswith(k + ".") for c in columns)]
        if extra and not warned:
            stderr().print(f"warning: columns first seen after row 2000 are left out: {extra}", markup=False)
            warned = True
        writer.writerow([cell_text(flat.get(c)) for c in columns])
        count += 1
    return count


_COUNT_QUERY = re.compile(r"^\s*SELECT\s+COUNT\s*\(\s*\)\s+FROM\s", re.IGNORECASE)
"""``SELECT COUNT() FROM ...``: the answer is ``totalSize`` alone, with no records."""


def is_count_query(soql: str) -> bool:
    """Whether ``soql`` selects ``COUNT()`` alone, whose only result is the total size.

    Example:
        >>> is_count_query("select count() from Contact"), is_count_query("SELECT COUNT(Id) FROM Contact")
        (True, False)
    """
    return bool(_COUNT_QUERY.match(soql))


def retrieved_line(count: int) -> str:
    """The closing line of ``kinetic query``, worded as ``sf data query`` words it."""
    return f"Total number of records retrieved: {count:,}."


def _print_count(total: int, output_format: QueryFormat, json_output: bool) -> None:
    if json_output or output_format is QueryFormat.JSON:
        emit_json({"totalSize": total, "done": True, "records": []})
        return
    if output_format is QueryFormat.CSV:
        sys.stdout.write(f"totalSize\n{total}\n")
        stderr().print(retrieved_line(total), markup=False)
        return
    stdout().print(retrieved_line(total), markup=False)


@handle_errors
def query(
    soql: Annotated[str, typer.Argument(help="The SOQL query.")],
    include_deleted: Annotated[
        bool, typer.Option("--all", help="Include deleted and archived records.")
    ] = False,
    output_format: Annotated[
        QueryFormat, typer.Option("--format", "-f", help="Output format.")
    ] = QueryFormat.TABLE,
    org: OrgOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run a SOQL query (REST, every page) and print the records.

    A COUNT() query prints its count: a line in the table format, a totalSize column in CSV, and
    {"totalSize": N, "done": true, "records": []} in JSON.

    Example:
        $ kinetic query "SELECT Id, Name FROM Account LIMIT 5" --format csv
    """
    with connected(org) as client:
        result = client.query(soql, include_deleted=include_deleted)
        if is_count_query(soql):
            _print_count(result.total_size, output_format, json_output)
            return
        records = (dict(r) for r in result)
        if json_output or output_format is QueryFormat.JSON:
            sys.stdout.write("[")
            for n, record in enumerate(records):
                sys.stdout.write(("," if n else "") + "\n  " + json.dumps(_strip(record), default=str))
            sys.stdout.write("\n]\n")
            return
        if output_format is QueryFormat.CSV:
            count = _write_csv(records)
            stderr().print(retrieved_line(count), markup=False)
            return
        from rich.table import Table

        flat = [flatten(r) for r in records]
        table = Table(*_columns(flat)) if flat else Table("(no records)")
        for record in flat:
            table.add_row(*(cell_text(record.get(c)) for c in _columns(flat)))
        stdout().print(table)
        stdout().print(retrieved_line(len(flat)), markup=False)


class ExportFormat(enum.StrEnum):
    """File formats of ``kinetic export``."""

    CSV = "csv"
    PARQUET = "parquet"


def _export_format(chosen: ExportFormat | None, out: Path) -> ExportFormat:
    if chosen is not None:
        return chosen
    return ExportFormat.PARQUET if out.suffix.lower() == ".parquet" else ExportFormat.CSV


def _to_parquet(client: Any, soql: str, csv_path: Path, out: Path) -> int:
    from kinetic_core.bulk.frames import column_kinds, csv_to_parquet, query_object

    def kinds_for(header: Sequence[str]) -> Mapping[str, ColumnKind]:
        return column_kinds(query_object(soql), header, client.describe)

    return csv_to_parquet(csv_path, out, kinds_for)


@contextlib.contextmanager
def _export_progress(json_output: bool) -> Iterator[Any]:
    """The bulk events' callback: a progress bar when stderr is a terminal (and no --json), else None."""
    if json_output or not stderr_is_terminal():
        yield None
        return
    from kinetic_core.cli.progress import LoadProgress

    with LoadProgress(stderr(), "export") as progress:
        yield progress.on_event


@handle_errors
def export(
    soql: Annotated[str, typer.Argument(help="The SOQL query (Bulk API 2.0 query).")],
    out: Annotated[
        Path, typer.Option("--out", help="File to write (CSV, or Parquet with --format parquet).")
    ],
    include_deleted: Annotated[
        bool, typer.Option("--all", help="Include deleted and archived records.")
    ] = False,
    output_format: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="csv (as Salesforce sends it) or parquet (columns typed from describe; needs pyarrow). "
            "Default: parquet when --out ends in .parquet, else csv.",
            show_default=False,
        ),
    ] = None,
    wait: Annotated[float | None, typer.Option("--wait", help="Minutes to wait for the job.")] = None,
    org: OrgOption = None,
    json_output: JsonOption = False,
) -> None:
    """Export query results to a file with a Bulk API 2.0 query, streamed to disk.

    CSV is written as Salesforce sends it. Parquet columns get their types from describe: numbers,
    booleans, dates and UTC timestamps (the CSV is streamed to a temporary file first).

    Example:
        $ kinetic export "SELECT Id, Email FROM Contact" --out contacts.csv
        $ kinetic export "SELECT Id, Birthdate, CreatedDate FROM Contact" --out contacts.parquet
    """
    timeout = parse_minutes(wait)
    fmt = _export_format(output_format, out)
    if fmt is ExportFormat.PARQUET and importlib.util.find_spec("pyarrow") is None:
        raise fail(
            "--format parquet needs pyarrow: pip install 'kinetic-core[arrow]'", json_output=json_output
        )
    with connected(org) as client, contextlib.ExitStack() as scratch:
        bulk = client.bulk
        bulk.poll = fast_poll()
        target = out
        if fmt is ExportFormat.PARQUET:  # the CSV goes to a temporary directory first
            import tempfile

            target = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="kinetic-export-")))
            target /= "export.csv"
        method = bulk.query_all if include_deleted else bulk.query
        with _export_progress(json_output) as on_event:
            export_info = method(soql, out=target, timeout=timeout, on_event=on_event)
        if fmt is ExportFormat.PARQUET:
            _to_parquet(client, soql, target, out)
    size = out.stat().st_size
    summary = {
        "job_id": export_info.job_id,
        "rows": export_info.rows,
        "bytes": size,
        "pages": export_info.pages,
        "path": str(out),
        "format": fmt.value,
    }
    if json_output:
        emit_json(summary)
    else:
        job = export_info.job_id
        say(f"wrote {export_info.rows:,} row(s), {size:,} bytes to {out} ({fmt.value}, job {job})")


@handle_errors
def describe(
    sobject: Annotated[str, typer.Argument(help="Object API name, e.g. Account.")],
    org: OrgOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show an object's fields.

    Example:
        $ kinetic describe Contact
    """
    from rich.table import Table

    with connected(org) as client:
        info = client.describe(sobject)
    if json_output:
        emit_json(info)
        return
    table = Table(
        "field",
        "label",
        "type",
        "length",
        "required",
        "create",
        "update",
        "ext id",
        "references",
        title=f"{info.get('name')} ({info.get('label')}), key prefix {info.get('keyPrefix')}",
    )
    for f in info.get("fields", []):
        required = f.get("createable") and not f.get("nillable") and not f.get("defaultedOnCreate")
        table.add_row(
            str(f.get("name")),
            str(f.get("label")),
            str(f.get("type")),
            str(f.get("length") or ""),
            "yes" if required else "",
            "yes" if f.get("createable") else "",
            "yes" if f.get("updateable") else "",
            "yes" if f.get("externalId") else "",
            ", ".join(f.get("referenceTo") or []),
        )
    stdout().print(table)


@handle_errors
def limits(org: OrgOption = None, json_output: JsonOption = False) -> None:
    """Show the org's limits (maximum and remaining).

    Example:
        $ kinetic limits --json
    """
    from rich.table import Table

    with connected(org) as client:
        values = client.limits()
    if json_output:
        emit_json(values)
        return
    table = Table("limit", "max", "remaining", "used")
    for name, entry in sorted(values.items()):
        if not isinstance(entry, Mapping):
            continue
        top, left = entry.get("Max"), entry.get("Remaining")
        used = f"{(top - left) / top:.0%}" if isinstance(top, int) and isinstance(left, int) and top else ""
        table.add_row(
            name,
            f"{top:,}" if isinstance(top, int) else "",
            f"{left:,}" if isinstance(left, int) else "",
            used,
        )
    stdout().print(table)
