"""``kinetic sync PIPELINE.yaml [--dry-run] [--resume]``."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from kinetic_core.cli.common import (
    ExitCode,
    JsonOption,
    OrgOption,
    connected,
    emit_json,
    handle_errors,
    stderr,
    stdout,
)
from kinetic_core.cli.data_cmd import FAST_POLL
from kinetic_core.cli.progress import LoadProgress

if TYPE_CHECKING:
    from kinetic_core.pipeline import RunReport
    from kinetic_core.pipeline.sources import Source

CRASH_ENV = "KINETIC_TEST_CRASH_AT"
"""Test hook: ``STEP:N`` kills this process with SIGKILL right after the N-th journal step STEP
(``batch_started``, ``job_created``, ``rows_uploaded``, ``job_state``, ``batch_sent``, ``batch_done``)."""


def crash_hook(spec: str | None) -> Callable[[str], None] | None:
    """The checkpoint function for ``KINETIC_TEST_CRASH_AT`` (None when unset)."""
    if not spec:
        return None
    step, _, count = spec.partition(":")
    target = int(count or "1")
    seen = {"n": 0}

    def checkpoint(name: str) -> None:
        if name == step:
            seen["n"] += 1
            if seen["n"] >= target:
                os.kill(os.getpid(), signal.SIGKILL)

    return checkpoint


def _count(source: Source) -> int | None:
    from kinetic_core.pipeline import CsvSource, JsonLinesSource

    if isinstance(source, CsvSource | JsonLinesSource):
        return sum(1 for _ in source.rows())
    return None


def _print_report(report: RunReport) -> None:
    table = Table(
        "rows",
        "successful",
        "failed",
        "unprocessed",
        "in doubt",
        "rows/s",
        "time",
        title=f"{report.name}: {report.operation} {report.object}" + (" (resumed)" if report.resumed else ""),
    )
    table.add_row(
        f"{report.rows:,}",
        f"{report.successful:,}",
        f"{report.failed:,}",
        f"{report.unprocessed:,}",
        f"{report.in_doubt:,}",
        f"{report.rows_per_second:,.0f}",
        f"{report.elapsed_seconds:.1f}s",
    )
    stdout().print(table)
    if report.error_counts:
        errors = Table("error", "rows", title="errors")
        for code, count in report.error_counts.items():
            errors.add_row(code, f"{count:,}")
        stdout().print(errors)
    console = stderr()
    if report.strategies:
        console.print(
            "by API: " + ", ".join(f"{k} {v:,}" for k, v in report.strategies.items()), markup=False
        )
    if report.reason:
        console.print(f"why: {report.reason}", markup=False)
    if report.job_ids:
        console.print(f"bulk jobs: {', '.join(report.job_ids)}", markup=False)
    if report.failure_file:
        console.print(f"failed rows: {report.failure_file}", markup=False)
    console.print(f"journal: {report.journal_path}", markup=False)


@handle_errors
def sync(
    pipeline_file: Annotated[str, typer.Argument(metavar="PIPELINE.yaml", help="The pipeline file.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and show what would happen; write nothing.")
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a run that stopped (crash, kill).")
    ] = False,
    org: OrgOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run a sync pipeline: source -> mapping -> router, with failure files and a resumable journal.

    Example:
        $ kinetic sync contacts.yaml --dry-run
        $ kinetic sync contacts.yaml --resume
    """
    # the pipeline package is imported by this command only: the others start without it
    from kinetic_core.pipeline import SyncPipeline, load_config

    config = load_config(pipeline_file)
    with connected(org) as client:
        client.bulk.poll = FAST_POLL
        if dry_run:
            pipeline = SyncPipeline.from_config(config, client)
            plan = pipeline.dry_run()
            if json_output:
                emit_json(plan.to_dict())
            else:
                stdout().print(plan.render(), markup=False)
            if not plan.ok:
                raise typer.Exit(int(ExitCode.ROWS_FAILED))
            return
        source = config.source
        total = None
        if source is not None and not json_output and stderr().is_terminal:
            from kinetic_core.pipeline import open_source

            total = _count(open_source(source))
        with LoadProgress(stderr(), config.name, total=total, enabled=not json_output) as progress:
            kwargs: dict[str, Any] = {"on_event": progress.on_event, "poll": FAST_POLL}
            hook = crash_hook(os.environ.get(CRASH_ENV))
            if hook is not None:
                kwargs["checkpoint"] = hook
            pipeline = SyncPipeline.from_config(config, client, **kwargs)
            report = pipeline.run(resume=resume)
    if json_output:
        emit_json(report.to_dict())
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(int(ExitCode.ROWS_FAILED))
