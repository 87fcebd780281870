"""Cost of resuming ``kinetic sync`` after a SIGKILL, and whether any row is lost or loaded twice.

For each strategy (``bulk`` and ``composite``, forced in the pipeline; every other setting at its
default: ``batch.size`` 10,000, ``max_records_per_job`` 10,000, ``concurrency`` 4, Composite calls of
200 rows) the same pipeline inserts the same ``--rows`` source rows into a fresh emulator twice:

* **uninterrupted**: one ``kinetic sync`` process runs to the end;
* **killed + resumed**: ``kinetic sync`` is killed with SIGKILL right after the ``batch_sent`` journal
  step of a batch in the middle of the run (the CLI's ``KINETIC_TEST_CRASH_AT`` hook, the one the kill
  tests use: the batch's rows reached the org, the journal does not know their outcome yet), then
  ``kinetic sync --resume`` settles that batch and loads the rest.

CPU is user + system time of each ``kinetic sync`` child process (``os.wait4``); the emulator runs in
this process and is not counted. Afterwards the org's store is read directly: every source key must be
stored exactly once (duplicates, losses) with its source Name and Description (wrong values).

The source is realistic rather than tidy: names with quotes, commas and non-ASCII letters, multi-line
descriptions (quoted line breaks), empty cells (phone, employees, revenue) and a row width of about
200 bytes.

Usage::

    python benchmarks/resume.py                 # 100,000 rows, writes docs/benchmarks.md
    python benchmarks/resume.py --rows 20000 --no-write

The figures go to ``docs/benchmarks.md`` between ``<!-- resume:start -->`` and ``<!-- resume:end -->``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "benchmarks.md"
START, END = "<!-- resume:start -->", "<!-- resume:end -->"
STRATEGIES = ("bulk", "composite")
TARGET = 1.5
PIPELINE = """\
name: resume-bench
object: Account
operation: insert
strategy: {strategy}
source: {{path: accounts.csv}}
mapping:
  fields:
    External_Id__c: ref
    Name: name
    Description: description
    Phone: phone
    NumberOfEmployees: employees
    AnnualRevenue: revenue
    BillingCity: city
failures: {{dir: failures}}
"""
CITIES = ("Zürich", "São Paulo", "Kraków", "Łódź", "Malmö", "Reykjavík", "Dublin", "Osaka 大阪")


def source_row(i: int) -> dict[str, str]:
    """Source row ``i``: quotes, commas, non-ASCII, quoted line breaks and empty cells mixed in."""
    if i % 5 == 0:
        name = f'Müller & Söhne "No. {i}", GmbH'
    elif i % 7 == 0:
        name = f"Ørsted, Æble — {i}"
    else:
        name = f"Account {i}"
    if i % 3 == 0:
        description = f'First line of {i}\nsecond line, with "quotes"\r\nthird: naïve café ✓'
    else:
        description = f"Customer since {1990 + i % 30}; segment {i % 17}"
    return {
        "ref": f"R{i:07d}",
        "name": name,
        "description": description,
        "phone": "" if i % 4 == 0 else f"+41 44 {i % 1000:03d} {i % 100:02d} {i % 97:02d}",
        "employees": "" if i % 6 == 0 else str(i % 5000),
        "revenue": "" if i % 9 == 0 else f"{(i % 1000) * 1234.5:.2f}",
        "city": CITIES[i % len(CITIES)],
    }


def write_source(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(source_row(0)), lineterminator="\n")
        writer.writeheader()
        for i in range(rows):
            writer.writerow(source_row(i))


@dataclass
class Run:
    """One ``kinetic sync`` process: exit code, CPU seconds, wall seconds, its JSON report."""

    code: int
    cpu: float
    wall: float
    report: dict[str, Any]


def run_sync(work: Path, env: dict[str, str], *args: str, crash: str | None = None) -> Run:
    """Run ``kinetic sync pipe.yaml --json`` in ``work``; CPU from the child's rusage."""
    child_env = dict(env)
    child_env.pop("KINETIC_TEST_CRASH_AT", None)
    if crash:
        child_env["KINETIC_TEST_CRASH_AT"] = crash
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kinetic_core.cli", "sync", "pipe.yaml", "--json", *args],
            cwd=work,
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        errors.seek(0)
        err = errors.read().decode("utf-8", "replace")
    report: dict[str, Any] = {}
    if out.strip():
        report = json.loads(out)
    elif code >= 0:
        raise RuntimeError(f"kinetic sync exited {code} without a report: {err[-2000:]}")
    return Run(code, usage.ru_utime + usage.ru_stime, wall, report)


def _env(org: Any, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.update(
        {
            "SF_LOGIN_URL": org.login_url,
            "SF_CLIENT_ID": org.client_id,
            "SF_CLIENT_SECRET": org.client_secret,
            "SF_USERNAME": org.username,
            "SF_PASSWORD": org.password,
            "KINETIC_HOME": str(home),
        }
    )
    return env


@dataclass
class Check:
    """What the org holds after a run, compared with the source."""

    stored: int
    duplicates: int
    losses: int
    wrong_values: int


def check_store(org: Any, rows: int) -> Check:
    """Read the emulator's store: every source key once, with its Name and Description."""
    store = org.org.store
    table = store.schema.get("Account").table
    seen: Counter[str] = Counter()
    wrong = 0
    with store.read() as conn:
        query = f'SELECT external_id__c, name, description FROM "{table}" WHERE isdeleted = 0'
        for key, name, description in conn.execute(query):
            seen[str(key)] += 1
            expected = source_row(int(str(key)[1:]))
            text = expected["description"].replace("\r\n", "\n")
            if name != expected["name"] or (description or "").replace("\r\n", "\n") != text:
                wrong += 1
    keys = {f"R{i:07d}" for i in range(rows)}
    return Check(
        stored=sum(seen.values()),
        duplicates=sum(n - 1 for n in seen.values() if n > 1),
        losses=len(keys - set(seen)),
        wrong_values=wrong,
    )


@dataclass
class Scenario:
    """The figures of one strategy."""

    strategy: str
    crash: str
    plain: Run
    killed: Run
    resumed: Run
    plain_check: Check
    resumed_check: Check

    @property
    def ratio(self) -> float:
        """CPU of the killed run plus the resumed run, over the uninterrupted run's."""
        return (self.killed.cpu + self.resumed.cpu) / self.plain.cpu


def crash_point(strategy: str, rows: int) -> str:
    """``batch_sent:N`` for a batch in the middle of the run."""
    per_batch = 10_000 if strategy == "bulk" else 200
    batches = max(1, -(-rows // per_batch))
    return f"batch_sent:{max(1, batches // 2)}"


def one_run(work: Path, strategy: str, rows: int, crash: str | None) -> tuple[Run, Run | None, Check]:
    """A fresh org and workspace; the run (killed first when ``crash``), then the store check."""
    from kinetic_core.emulator.server import LocalOrg

    work.mkdir(parents=True)
    (work / "pipe.yaml").write_text(PIPELINE.format(strategy=strategy), encoding="utf-8")
    os.link(work.parent / "accounts.csv", work / "accounts.csv")
    with LocalOrg(data_dir=work / "org") as org:
        env = _env(org, work / "home")
        first = run_sync(work, env, crash=crash)
        resumed = None
        if crash:
            if first.code != -9:
                raise RuntimeError(f"the run was not killed at {crash} (exit {first.code})")
            resumed = run_sync(work, env, "--resume")
        last = resumed or first
        doubtful = last.report.get("in_doubt", 0) and not last.report.get("failed")
        if last.code != 0 and not (last.code == 1 and doubtful):
            raise RuntimeError(f"{strategy}: kinetic sync exited {last.code}: {last.report}")
        return first, resumed, check_store(org, rows)


def measure(tmp: Path, strategy: str, rows: int) -> Scenario:
    crash = crash_point(strategy, rows)
    plain, _, plain_check = one_run(tmp / f"{strategy}-plain", strategy, rows, None)
    print(f"{strategy:9s} uninterrupted: cpu {plain.cpu:6.2f} s wall {plain.wall:6.2f} s", flush=True)
    killed, resumed, check = one_run(tmp / f"{strategy}-killed", strategy, rows, crash)
    assert resumed is not None
    scenario = Scenario(strategy, crash, plain, killed, resumed, plain_check, check)
    print(
        f"{strategy:9s} killed at {crash}: cpu {killed.cpu:6.2f} s, resumed cpu {resumed.cpu:6.2f} s"
        f" (wall {resumed.wall:6.2f} s), ratio {scenario.ratio:.2f}; stored {check.stored},"
        f" duplicates {check.duplicates}, losses {check.losses}, wrong values {check.wrong_values},"
        f" in doubt {resumed.report.get('in_doubt')}",
        flush=True,
    )
    return scenario


def write_doc(block_lines: list[str]) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    block = f"{START}\n" + "\n".join(block_lines) + f"\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def render(scenarios: list[Scenario], rows: int, size: int, command: str) -> list[str]:
    lines = [
        "## Resume after a kill: CPU and exactly-once at 100k rows",
        "",
        f"Run on {dt.date.today().isoformat()} with `{command}`: {rows:,} Account rows"
        f" ({size / 1e6:.1f} MB of CSV with quoted line breaks, quotes, non-ASCII text and empty cells),"
        " `kinetic sync` inserting them at the default batch settings with the strategy forced, each"
        " run against a fresh in-process emulator, Python"
        f" {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs. The killed run"
        " gets SIGKILL right after the `batch_sent` journal step of the batch named (the batch's rows"
        " reached the org, its outcome was not yet journalled); `kinetic sync --resume` then settles"
        " that batch and loads the rest. CPU = user + system of the `kinetic sync` process.",
        "",
        "| strategy | killed at | uninterrupted CPU s | killed run CPU s | resumed run CPU s |"
        " killed + resumed / uninterrupted | stored | duplicates | losses | wrong values | in doubt |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scenarios:
        c = s.resumed_check
        lines.append(
            f"| {s.strategy} | `{s.crash}` | {s.plain.cpu:.2f} | {s.killed.cpu:.2f} | {s.resumed.cpu:.2f}"
            f" | {s.ratio:.2f} | {c.stored:,} | {c.duplicates} | {c.losses} | {c.wrong_values}"
            f" | {s.resumed.report.get('in_doubt', '?')} |"
        )
    ok = all(
        s.ratio <= TARGET
        and s.resumed_check.duplicates == s.resumed_check.losses == s.resumed_check.wrong_values == 0
        and s.plain_check.duplicates == s.plain_check.losses == 0
        for s in scenarios
    )
    lines += [
        "",
        f"Target: killed + resumed CPU at most {TARGET}x the uninterrupted run's, 0 duplicates,"
        f" 0 losses: {'met' if ok else 'NOT met'}. The uninterrupted runs stored every row once too.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    scenarios: list[Scenario] = []
    with tempfile.TemporaryDirectory(prefix="bench-resume-") as name:
        tmp = Path(name)
        source = tmp / "accounts.csv"
        write_source(source, args.rows)
        size = source.stat().st_size
        for strategy in args.strategies.split(","):
            scenarios.append(measure(tmp, strategy, args.rows))
    command = ("python benchmarks/resume.py " + " ".join(sys.argv[1:])).strip()
    lines = render(scenarios, args.rows, size, command)
    print("\n".join(lines))
    if not args.no_write:
        write_doc(lines)


if __name__ == "__main__":
    main()
