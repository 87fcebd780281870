"""Reliability soak: bulk upsert, bulk insert and a bulk export under injected faults; writes a report.

Every phase runs against an in-process emulator (``LocalOrg``, shuffled result files, small query pages)
whose fault API answers 5 % of ``/services`` requests with 503, drops 1 % of connections, expires the
session every ``--session-ttl`` seconds, adds latency jitter, and exhausts the daily API request limit
once per phase. The client must stop with ``RequestLimitExceeded``; the limit is then raised and the
phase resumed:

* upsert by external id: the whole file is upserted again (idempotent by construction);
* bulk insert: every job the stopped load created is awaited (or aborted while still ``Open``), the
  keys already in the org are read back, and only the missing rows are inserted;
* export: the query job is run again.

Afterwards the emulator's store (its SQLite, read through ``Store.read()``) must hold every source row
exactly once with the source values, and the client's counts must equal the store's.

Usage::

    python benchmarks/reliability.py            # reduced sizes (the default test run uses these too)
    python benchmarks/reliability.py --full     # 200,000 rows per load, 500,000 rows exported
    python benchmarks/reliability.py --full --no-write

The report goes to ``docs/reliability.md`` (the soak section is replaced; other sections, such as the
CLI kill/resume figures written by ``--kills``, are kept).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "reliability.md"
SOAK_START, SOAK_END = "<!-- soak:start -->", "<!-- soak:end -->"
RAISED_LIMIT = 50_000_000


@dataclass(frozen=True)
class SoakConfig:
    """Sizes and fault rates of one soak."""

    rows: int = 4_000
    export_rows: int = 8_000
    session_ttl: float = 1.0
    error_rate: float = 0.05
    drop_rate: float = 0.01
    latency_ms: float = 2.0
    jitter_ms: float = 6.0
    limit_headroom: int = 80
    export_limit_headroom: int = 15
    max_records_per_job: int = 100
    query_page_size: int = 200
    bulk_rate: float | None = None
    seed: int = 20240601

    @classmethod
    def full(cls) -> SoakConfig:
        """The sizes of the issue: 200,000 rows per load, 500,000 exported, sessions of 20 s."""
        return cls(
            rows=200_000,
            export_rows=500_000,
            session_ttl=20.0,
            limit_headroom=150,
            export_limit_headroom=25,
            max_records_per_job=5_000,
            query_page_size=10_000,
            bulk_rate=5_000.0,
        )


@dataclass
class PhaseFigures:
    """What one phase did and what the store holds afterwards."""

    name: str
    source_rows: int
    runs: int = 0
    limit_stops: int = 0
    limit_message: str = ""
    other_errors: list[str] = field(default_factory=list)
    client_successful: int = 0
    client_failed: int = 0
    client_unprocessed: int = 0
    in_doubt_rows: int = 0
    store_rows: int = 0
    duplicates: int = 0
    losses: int = 0
    wrong_values: int = 0
    refreshes: int = 0
    seconds: float = 0.0
    faults: dict[str, int] = field(default_factory=dict)

    @property
    def exactly_once(self) -> bool:
        """Every source row present once, with its values, and the client agrees with the store."""
        return (
            self.duplicates == 0
            and self.losses == 0
            and self.wrong_values == 0
            and self.store_rows == self.source_rows
            and self.client_successful == self.store_rows
        )


@dataclass
class SoakReport:
    """The figures of a whole soak."""

    config: SoakConfig
    phases: list[PhaseFigures]
    started: str
    seconds: float

    @property
    def ok(self) -> bool:
        """Exactly-once everywhere, one limit stop per phase, no other unrecovered error."""
        return all(p.exactly_once and p.limit_stops == 1 and not p.other_errors for p in self.phases)


# ------------------------------------------------------------------------------------------- data
def account_row(i: int) -> dict[str, str]:
    """Source row ``i`` of the upsert phase (some values need CSV quoting)."""
    description = f'Row {i}, "quoted", line\nbreak' if i % 97 == 0 else f"plain {i}"
    return {
        "External_Id__c": f"U{i:07d}",
        "Name": f"Account {i}",
        "NumberOfEmployees": str(i % 5000),
        "Description": description,
    }


def contact_row(i: int) -> dict[str, str]:
    """Source row ``i`` of the insert phase."""
    return {
        "External_Id__c": f"C{i:07d}",
        "LastName": f"Last, {i}" if i % 89 == 0 else f"Last{i}",
        "Email": f"c{i}@example.org",
        "Birthdate": f"19{50 + i % 50:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "DoNotCall": "true" if i % 2 else "false",
    }


def write_csv(path: Path, rows: Iterator[Mapping[str, str]], header: list[str]) -> Path:
    """Write rows as a UTF-8, comma, LF CSV file."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


# ------------------------------------------------------------------------------------------- store
def store_rows(
    org: Any, sobject: str, fields: list[str], key: str
) -> tuple[Counter[str], dict[str, dict[str, str]]]:
    """Key counts and values of every live record of ``sobject``, read from the emulator's SQLite."""
    store = org.store
    obj = store.schema.get(sobject)
    cols = ", ".join(f'"{f.lower()}"' for f in [key, *fields])
    counts: Counter[str] = Counter()
    values: dict[str, dict[str, str]] = {}
    with store.read() as conn:
        for row in conn.execute(f'SELECT {cols} FROM "{obj.table}" WHERE isdeleted = 0'):
            k = "" if row[0] is None else str(row[0])
            counts[k] += 1
            values[k] = {f: _text(v) for f, v in zip(fields, row[1:], strict=True)}
    return counts, values


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _same(value: str) -> str:
    return value


def _boolean(value: str) -> str:
    return "true" if value.lower() in ("1", "true") else "false"


def check_store(
    figures: PhaseFigures,
    org: Any,
    sobject: str,
    key: str,
    expected: Callable[[int], Mapping[str, str]],
    normalise: Mapping[str, Callable[[str], str]] | None = None,
) -> None:
    """Fill ``store_rows``, ``duplicates``, ``losses`` and ``wrong_values`` of ``figures``."""
    sample = expected(0)
    fields = [f for f in sample if f != key]
    counts, values = store_rows(org, sobject, fields, key)
    figures.store_rows = sum(counts.values())
    figures.duplicates = sum(n - 1 for n in counts.values() if n > 1)
    norm = normalise or {}
    wanted: set[str] = set()
    for i in range(figures.source_rows):
        row = expected(i)
        wanted.add(row[key])
        got = values.get(row[key])
        if got is None:
            figures.losses += 1
            continue
        for f in fields:
            fix = norm.get(f, _same)
            if fix(got[f]) != fix(row[f]):
                figures.wrong_values += 1
                break
    figures.duplicates += sum(n for k, n in counts.items() if k not in wanted)


# ------------------------------------------------------------------------------------------- client
def connect(org: Any) -> Any:
    """A client on ``org`` whose retries never really sleep."""
    from kinetic_core.auth.flows import PasswordAuth
    from kinetic_core.client import SalesforceClient
    from kinetic_core.http import RetryPolicy
    from kinetic_core.http.session import HttpSession

    auth = PasswordAuth(org.login_url, org.client_id, org.client_secret, org.username, org.password)
    session = HttpSession(
        auth,
        api_version=org.api_version,
        verify=org.verify(),
        sleep=lambda s: None,
        retry=RetryPolicy(max_attempts=12, base_delay=0.0),
    )
    return SalesforceClient(session)


def bulk_of(client: Any) -> Any:
    """A ``BulkClient`` that polls fast (jobs on the emulator finish in milliseconds)."""
    from kinetic_core.bulk import BulkClient, PollPolicy

    return BulkClient(client, poll=PollPolicy(initial=0.01, maximum=0.1, max_status_failures=50))


def set_faults(org: Any, cfg: SoakConfig, *, limit: int | None) -> None:
    """Configure the emulator's faults (the admin API, as any user of the emulator would)."""
    body: dict[str, Any] = {
        "seed": cfg.seed,
        "error_rate": cfg.error_rate,
        "error_status": 503,
        "drop_connection_rate": cfg.drop_rate,
        "latency_ms": cfg.latency_ms,
        "latency_jitter_ms": cfg.jitter_ms,
        "session_ttl_seconds": cfg.session_ttl,
    }
    if limit is not None:
        body["api_request_limit"] = limit
    org.admin("faults", body)


def exhaust_soon(org: Any, cfg: SoakConfig, headroom: int | None = None) -> None:
    """Faults on, with the API request limit only ``headroom`` calls away."""
    room = cfg.limit_headroom if headroom is None else headroom
    set_faults(org, cfg, limit=org.org.api_counter.used() + room)


def raise_limit(org: Any, cfg: SoakConfig) -> None:
    """Faults on, with a limit that will not be reached again."""
    set_faults(org, cfg, limit=RAISED_LIMIT)


def injected(org: Any) -> dict[str, int]:
    """Faults injected so far, by kind."""
    return dict(org.admin("faults")["injected"])


# ------------------------------------------------------------------------------------------- phases
def phase_upsert(org: Any, cfg: SoakConfig, workdir: Path, log: Callable[[str], None]) -> PhaseFigures:
    """Bulk upsert by external id; the stop at the limit is resumed by upserting the file again."""
    from kinetic_core.errors import KineticError, RequestLimitExceeded

    fig = PhaseFigures("bulk upsert by external id (Account)", cfg.rows)
    header = list(account_row(0))
    path = write_csv(workdir / "accounts.csv", (account_row(i) for i in range(cfg.rows)), header)
    started = time.monotonic()
    with connect(org) as client:
        bulk = bulk_of(client)
        client.limits()  # log in before the faults start
        exhaust_soon(org, cfg)
        for _ in range(6):
            fig.runs += 1
            try:
                result = bulk.upsert(
                    "Account",
                    path,
                    external_id_field="External_Id__c",
                    max_records_per_job=cfg.max_records_per_job,
                )
            except RequestLimitExceeded as exc:
                fig.limit_stops += 1
                fig.limit_message = str(exc)
                log(f"  upsert stopped: {exc}")
                raise_limit(org, cfg)
                continue
            except KineticError as exc:
                fig.other_errors.append(f"{type(exc).__name__}: {exc}")
                log(f"  upsert failed, resuming: {type(exc).__name__}: {exc}")
                raise_limit(org, cfg)
                continue
            with result:
                fig.client_successful = result.successful
                fig.client_failed = result.failed
                fig.client_unprocessed = result.unprocessed
            break
        fig.refreshes = client.http.refresh_count
    fig.seconds = time.monotonic() - started
    fig.faults = injected(org)
    org.admin("faults", {})
    check_store(fig, org.org, "Account", "External_Id__c", account_row)
    return fig


def _settle_jobs(bulk: Any, job_ids: list[str]) -> tuple[int, int, int]:
    """Wait for (or abort) the jobs of a stopped load; return (successful, failed, unprocessed)."""
    from kinetic_core.bulk import JobState

    totals = [0, 0, 0]
    for job_id in job_ids:
        info = bulk.get_job(job_id, kind="ingest")
        if info.state is JobState.OPEN:
            bulk.abort_job(job_id)
            continue
        if info.state in (JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS):
            info = bulk.wait(job_id)
        if info.state is JobState.JOB_COMPLETE:
            with bulk.get_results(job_id) as res:
                totals[0] += res.successful
                totals[1] += res.failed
                totals[2] += res.unprocessed
    return totals[0], totals[1], totals[2]


def phase_insert(org: Any, cfg: SoakConfig, workdir: Path, log: Callable[[str], None]) -> PhaseFigures:
    """Bulk insert; after the stop, settle the load's jobs, read back the keys, insert only the rest."""
    from kinetic_core.bulk import JobCreated
    from kinetic_core.errors import KineticError, RequestLimitExceeded

    fig = PhaseFigures("bulk insert (Contact)", cfg.rows)
    header = list(contact_row(0))
    path = write_csv(workdir / "contacts.csv", (contact_row(i) for i in range(cfg.rows)), header)
    created: list[str] = []

    def on_event(event: Any) -> None:
        if isinstance(event, JobCreated):
            created.append(event.job_id)

    started = time.monotonic()
    with connect(org) as client:
        bulk = bulk_of(client)
        client.limits()
        exhaust_soon(org, cfg)
        todo = path
        for attempt in range(6):
            fig.runs += 1
            try:
                result = bulk.insert(
                    "Contact", todo, max_records_per_job=cfg.max_records_per_job, on_event=on_event
                )
            except (RequestLimitExceeded, KineticError) as exc:
                if isinstance(exc, RequestLimitExceeded):
                    fig.limit_stops += 1
                    fig.limit_message = str(exc)
                else:
                    fig.other_errors.append(f"{type(exc).__name__}: {exc}")
                log(f"  insert stopped: {type(exc).__name__}: {exc}")
                raise_limit(org, cfg)
                ok, failed, _unprocessed = _settle_jobs(bulk, list(created))
                created.clear()
                fig.client_successful += ok
                fig.client_failed += failed
                present = {
                    str(r["External_Id__c"])
                    for r in bulk.query("SELECT External_Id__c FROM Contact WHERE External_Id__c != null")
                }
                missing = (
                    contact_row(i) for i in range(cfg.rows) if contact_row(i)["External_Id__c"] not in present
                )
                todo = write_csv(workdir / f"contacts-resume-{attempt}.csv", missing, header)
                fig.in_doubt_rows += cfg.rows - len(present) if attempt == 0 else 0
                continue
            with result:
                fig.client_successful += result.successful
                fig.client_failed += result.failed
                fig.client_unprocessed += result.unprocessed
            break
        fig.refreshes = client.http.refresh_count
    fig.seconds = time.monotonic() - started
    fig.faults = injected(org)
    org.admin("faults", {})
    check_store(fig, org.org, "Contact", "External_Id__c", contact_row, {"DoNotCall": _boolean})
    return fig


def phase_export(org: Any, cfg: SoakConfig, workdir: Path, log: Callable[[str], None]) -> PhaseFigures:
    """Bulk query of every Account to a file; a stop at the limit is resumed by running it again."""
    from kinetic_core.errors import KineticError, RequestLimitExceeded

    store = org.org.store
    extra = max(0, cfg.export_rows - store.record_counts().get("Account", 0))
    base = store.record_counts().get("Account", 0)
    for start in range(0, extra, 10_000):
        batch = [
            {"Name": f"Export {base + i}", "External_Id__c": f"X{base + i:07d}"}
            for i in range(start, min(extra, start + 10_000))
        ]
        store.insert_many("Account", batch, source="json")
    with store.read() as conn:
        table = store.schema.get("Account").table
        ids = [str(r[0]) for r in conn.execute(f'SELECT id FROM "{table}" WHERE isdeleted = 0')]
    fig = PhaseFigures("bulk export (Account)", len(ids))
    out = workdir / "export.csv"
    started = time.monotonic()
    with connect(org) as client:
        bulk = bulk_of(client)
        client.limits()
        exhaust_soon(org, cfg, cfg.export_limit_headroom)
        for _ in range(6):
            fig.runs += 1
            try:
                export = bulk.query("SELECT Id, Name FROM Account", out=out)
            except RequestLimitExceeded as exc:
                fig.limit_stops += 1
                fig.limit_message = str(exc)
                log(f"  export stopped: {exc}")
                raise_limit(org, cfg)
                continue
            except KineticError as exc:
                fig.other_errors.append(f"{type(exc).__name__}: {exc}")
                log(f"  export failed, resuming: {type(exc).__name__}: {exc}")
                raise_limit(org, cfg)
                continue
            fig.client_successful = export.rows
            break
        fig.refreshes = client.http.refresh_count
    fig.seconds = time.monotonic() - started
    fig.faults = injected(org)
    org.admin("faults", {})
    counts: Counter[str] = Counter()
    if out.exists():
        with out.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            for row in reader:
                counts[row[0]] += 1
    wanted = set(ids)
    fig.store_rows = len(ids)
    fig.duplicates = sum(n - 1 for n in counts.values() if n > 1) + sum(
        n for k, n in counts.items() if k not in wanted
    )
    fig.losses = len(wanted - set(counts))
    return fig


def run_soak(cfg: SoakConfig, workdir: Path, log: Callable[[str], None] = print) -> SoakReport:
    """Run the three phases on one fresh emulator under ``workdir``."""
    from kinetic_core.emulator.server import LocalOrg

    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    began = time.monotonic()
    phases: list[PhaseFigures] = []
    with LocalOrg(
        data_dir=workdir / "org",
        shuffle_results=True,
        query_page_size=cfg.query_page_size,
        bulk_rate=cfg.bulk_rate,
    ) as org:
        for phase in (phase_upsert, phase_insert, phase_export):
            log(f"{phase.__name__} ...")
            fig = phase(org, cfg, workdir, log)
            log(
                f"  {fig.name}: {fig.store_rows} rows in the store, {fig.duplicates} duplicates, "
                f"{fig.losses} lost, {fig.wrong_values} wrong, {fig.seconds:.1f} s"
            )
            phases.append(fig)
            _reset_fault_counts(org)
    return SoakReport(cfg, phases, started_at, time.monotonic() - began)


def _reset_fault_counts(org: Any) -> None:
    org.org.faults.reset_counts()


# ------------------------------------------------------------------------------------------- report
def render(report: SoakReport, command: str) -> str:
    """The soak section of ``docs/reliability.md``."""
    cfg = report.config
    lines = [
        SOAK_START,
        "## Faults soak",
        "",
        f"Run on {report.started} ({platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}), {report.seconds:.0f} s in all. Command:",
        "",
        "```",
        command,
        "```",
        "",
        f"Faults on every `/services` request: {cfg.error_rate:.0%} answered 503, {cfg.drop_rate:.0%} "
        f"connections dropped, latency {cfg.latency_ms:g} ms + jitter up to {cfg.jitter_ms:g} ms, the "
        f"session expired every {cfg.session_ttl:g} s, and the daily API request limit exhausted once per "
        f"phase ({cfg.limit_headroom} calls after the start), then raised and the phase resumed. "
        f"Result files shuffled, query pages of {cfg.query_page_size:,} rows, jobs of at most "
        f"{cfg.max_records_per_job:,} records; bulk processing "
        + (
            f"modelled at {cfg.bulk_rate:,.0f} records/s."
            if cfg.bulk_rate
            else "as fast as the emulator goes."
        ),
        "",
        "| phase | source rows | runs | limit stops | other errors | client ok | store rows | "
        "duplicates | losses | wrong values | session renewals | 503s | drops | expired-session hits | s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in report.phases:
        f = p.faults
        lines.append(
            f"| {p.name} | {p.source_rows:,} | {p.runs} | {p.limit_stops} | {len(p.other_errors)} | "
            f"{p.client_successful:,} | {p.store_rows:,} | {p.duplicates} | {p.losses} | {p.wrong_values} | "
            f"{p.refreshes} | {f.get('error', 0)} | {f.get('drop_connection', 0)} | "
            f"{f.get('session_expired', 0)} | {p.seconds:.1f} |"
        )
    lines += ["", f"Verdict: {'exactly once, nothing lost' if report.ok else 'FAILED (see below)'}.", ""]
    for p in report.phases:
        if p.limit_message:
            lines.append(f"- {p.name}: the client stopped with `{p.limit_message}`")
        for err in p.other_errors:
            lines.append(f"- {p.name}: unrecovered error (resumed): `{err[:300]}`")
    lines += ["", SOAK_END]
    return "\n".join(lines)


def write_doc(section: str, path: Path = DOC, start: str = SOAK_START, end: str = SOAK_END) -> None:
    """Replace (or add) one marked section of ``docs/reliability.md``."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Reliability\n\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


SUITES_START, SUITES_END = "<!-- suites:start -->", "<!-- suites:end -->"
SUITE_PATHS = ("tests/reliability", "tests/security")


def _pytest(args: list[str]) -> tuple[list[str], float]:
    import subprocess

    command = [sys.executable, "-m", "pytest", *args, "-q", "-s", "-p", "no:cacheprovider", "-rfE"]
    began = time.monotonic()
    proc = subprocess.run(command, cwd=HERE.parent, capture_output=True, text=True, check=False)
    return proc.stdout.strip().splitlines(), time.monotonic() - began


def run_suites(kills: bool) -> str:
    """Run the reliability and security suites (and, with ``kills``, the 10-kill crash tests)."""
    import re

    marker = "not slow"
    out, seconds = _pytest([*SUITE_PATHS, "-m", marker])
    summary = out[-1] if out else "(no output)"
    failed = [line for line in out if line.startswith(("FAILED ", "ERROR tests"))]
    found = re.compile(r"(sync insert|load upsert): [^\n]*SIGKILLs[^\n]*")
    figures = [m.group(0) for line in out if (m := found.search(line))]
    kill_command = "python -m pytest tests/reliability/test_reliability_kill.py -q -s -m slow"
    if kills:
        more, extra = _pytest(["tests/reliability/test_reliability_kill.py", "-m", "slow"])
        seconds += extra
        failed += [line for line in more if line.startswith(("FAILED ", "ERROR tests"))]
        figures += [m.group(0) + " (slow run)" for line in more if (m := found.search(line))]
        figures.append(f"slow crash tests: {(more or ['(no output)'])[-1].strip('= ')}")
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", summary)}
    lines = [
        SUITES_START,
        "## Bad-input, security, load and crash suites",
        "",
        f"Run on {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} in {seconds:.0f} s. Command:",
        "",
        "```",
        "python -m pytest " + " ".join(SUITE_PATHS) + f" -q -m '{marker}'",
        "```",
        "",
        f"Result: {summary.strip('= ')}.",
        "",
        *(["With `--full` the 10-kill crash tests run too: `" + kill_command + "`.", ""] if kills else []),
        "Crash figures (SIGKILL of the CLI at random points, then resume):",
        "",
        *[f"- {f}" for f in figures],
        "",
        f"Passed {counts.get('passed', 0)}, failed {counts.get('failed', 0)}, "
        f"skipped {counts.get('skipped', 0)}.",
        "Each failing test below shows a defect that is still open (the test is kept as its proof):",
        "",
    ]
    lines += [f"- `{line[:240]}`" for line in failed] or ["- none"]
    lines += ["", SUITES_END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="200,000 rows per load, 500,000 exported")
    parser.add_argument("--rows", type=int, help="rows per load (overrides --full)")
    parser.add_argument("--export-rows", type=int, help="rows exported (overrides --full)")
    parser.add_argument("--no-write", action="store_true", help="print the report, do not write it")
    parser.add_argument("--suites", action="store_true", help="also run the test suites and record them")
    parser.add_argument(
        "--suites-only", action="store_true", help="only run the suites (keep the soak section)"
    )
    args = parser.parse_args(argv)
    cfg = SoakConfig.full() if args.full else SoakConfig()
    if args.rows:
        cfg = SoakConfig(**{**asdict(cfg), "rows": args.rows})
    if args.export_rows:
        cfg = SoakConfig(**{**asdict(cfg), "export_rows": args.export_rows})
    command = "python benchmarks/reliability.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.suites_only:
        section = run_suites(args.full)
        if args.no_write:
            print(section)
        else:
            write_doc(section, start=SUITES_START, end=SUITES_END)
            print(f"wrote {DOC}")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="kinetic-soak-"))
    try:
        report = run_soak(cfg, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    section = render(report, command.strip())
    suites = run_suites(args.full) if args.suites else None
    if args.no_write:
        print(section)
        if suites:
            print(suites)
    else:
        write_doc(section)
        if suites:
            write_doc(suites, start=SUITES_START, end=SUITES_END)
        print(f"wrote {DOC}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
