"""``kinetic demo``: everything on the embedded org in under a minute."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kinetic_core.cli.common import JsonOption, OrgOption, emit_json, fail, handle_errors, stderr, stdout
from kinetic_core.cli.progress import LoadProgress
from kinetic_core.client import SalesforceClient
from kinetic_core.config import kinetic_home
from kinetic_core.demo import DemoSummary, run_demo


class _Steps:
    """One progress display per demo step."""

    def __init__(self, records: int, enabled: bool) -> None:
        accounts = max(1, records // 5)
        self.totals = {"load Account": accounts, "load Contact": max(0, records - accounts)}
        self.enabled = enabled
        self.current: LoadProgress | None = None

    def on_step(self, step: str) -> None:
        self.close()
        if self.enabled and not stderr().is_terminal:
            stderr().print(f"{step}...", markup=False)
        total = self.totals.get(step)
        self.current = LoadProgress(stderr(), step, total=total, enabled=self.enabled).__enter__()
        if total:
            self.current.rows_read(total)

    def on_event(self, step: str) -> Any:
        return self.current.on_event if self.current is not None else None

    def close(self) -> None:
        if self.current is not None:
            self.current.__exit__(None, None, None)
            self.current = None


def _render(summary: DemoSummary, kept: bool) -> None:
    out = stdout()
    steps = Table("step", "API", "rows", "ok", "failed", "time", "rows/s", "notes", title="Kinetic demo")
    for s in summary.steps:
        steps.add_row(
            s.step,
            s.api,
            f"{s.rows:,}",
            f"{s.successful:,}",
            f"{s.failed:,}",
            f"{s.seconds:.1f}s",
            f"{s.rate:,.0f}",
            s.detail,
        )
    out.print(steps)
    if summary.failures:
        failures = Table(
            "object", "row", "error", "reason", title="rows the org refused (deliberately invalid)"
        )
        for f in summary.failures:
            message = f.message if len(f.message) <= 90 else f.message[:60] + "..." + f.message[-25:]
            failures.add_row(f.object, str(f.row_number), f.error_code, message)
        out.print(failures)
    counts = ", ".join(f"{code} x{n:,}" for code, n in summary.failure_counts.items())
    console = stderr()
    console.print(f"failures by error: {counts or 'none'}", markup=False)
    where = summary.export_file if kept else f"{summary.export_file} (temporary; use --data-dir to keep it)"
    console.print(f"exported {summary.export_rows:,} contacts with a Bulk query to {where}", markup=False)
    console.print(f"loaded {summary.loaded:,} records in {summary.seconds:.1f}s total", markup=False)


@handle_errors
def demo(
    records: Annotated[
        int, typer.Option("--records", "-n", help="Records to load (Accounts + Contacts).")
    ] = 100_000,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Keep the demo org and its files here (default: a temp dir)."),
    ] = None,
    org: OrgOption = None,
    json_output: JsonOption = False,
) -> None:
    """Generate Accounts and Contacts, load them through the router, show failures, export them back.

    Runs on a fresh embedded org in a temporary directory (or --data-dir); --org local uses the
    local org under KINETIC_HOME/local instead. It never touches a real org.

    Example:
        $ kinetic demo
        $ kinetic demo --records 10000 --data-dir ./demo-org
    """
    if org not in (None, "local"):
        raise fail(
            "the demo runs only on the embedded emulator (omit --org, or --org local)",
            json_output=json_output,
        )
    if records < 2:
        raise fail("--records must be at least 2", json_output=json_output)
    steps = _Steps(records, enabled=not json_output)
    with ExitStack() as stack:
        if org == "local":
            client = stack.enter_context(SalesforceClient.connect("local"))
            workdir = kinetic_home() / "demo"
            place = "the local org"
        else:
            from kinetic_core.emulator.server import LocalOrg

            base = (
                data_dir.expanduser()
                if data_dir
                else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kinetic-demo-")))
            )
            stack.enter_context(LocalOrg(data_dir=base / "local"))
            client = stack.enter_context(SalesforceClient.connect("local", home=base))
            workdir = base / "demo"
            place = f"fresh demo emulator, data in {base / 'local'}"
        stderr().print(f"org: local ({place}; {client.instance_url})", markup=False)
        stack.callback(steps.close)
        summary = run_demo(client, workdir, records, on_step=steps.on_step, on_event=steps.on_event)
        steps.close()
        if json_output:
            emit_json(summary.to_dict())
        else:
            _render(summary, kept=data_dir is not None or org == "local")
