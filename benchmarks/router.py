"""Router vs each fixed API, whole loads, on a dense grid of sizes and two org models.

For every size N of the grid (1 to 100,000, dense around the switch points: 2, 3, 199-201,
15,000-75,000) and each org model, Contacts are inserted through ``kinetic_core.load.load`` with
``strategy="rest"``, ``"composite"``, ``"bulk"`` and ``"auto"`` (the router), timing the whole
operation (measuring the input, the decision with any ``limits`` call, sending, results). The table
gives the router's time against the best fixed API's.

Org models (each an emulator in its own process, configured through its settings and fault injection):

* ``local``: the emulator on this machine, 5 ms injected on every call, Bulk jobs queued 0.5 s and
  processed at 20,000 records/s;
* ``production``: 50 ms (+0-10 ms jitter) on every call, Bulk jobs queued 5 s and processed at
  5,000 records/s, roughly what a production org shows.

The router observes the latency itself; it is told each org's Bulk figures through
``CostModel(bulk_job_seconds=..., bulk_records_per_second=...)``, as a user sets them for an org.
REST runs only up to ``REST_MAX`` records (one call per record); above, it is left out of the best.

Each load is timed alone; the strategies of a size run interleaved, in rounds, until each one's runs
add up to a second (at least five runs, three over 2 s, two over 10 s), and each cell is judged on
the medians: the router's median time over the best fixed API's. The emulators keep their SQLite
files in ``/dev/shm`` when there is one (``--data-dir`` to choose).

Usage: ``python benchmarks/router.py [--quick] [--no-write] [--org local|production]``. The full grid
takes about 35 minutes on 2 cores; ``--quick`` a few. Results go to ``docs/benchmarks.md`` between
``<!-- router:start -->`` and ``<!-- router:end -->``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "benchmarks.md"
START, END = "<!-- router:start -->", "<!-- router:end -->"
GRID = (1, 2, 3, 5, 10, 50, 100, 199, 200, 201, 500, 1_000, 2_000, 3_000, 5_000, 7_500, 10_000,
        15_000, 20_000, 25_000, 30_000, 35_000, 40_000, 45_000, 50_000, 60_000, 75_000, 100_000)  # fmt: skip
QUICK = (1, 2, 3, 10, 199, 200, 201, 1_000, 5_000, 15_000)
FIXED = ("rest", "composite", "bulk")
REST_MAX = 201
TARGET = 1.10
SHM = "/dev/shm"
"""Memory-backed storage: the emulators' SQLite files there, a shared disk's write stalls (+30 ms on
a third of the 200-record inserts on the benchmark machine) do not add to the timings."""
SETTLE = 0.2
"""Seconds between two timed loads (not timed): the org finishes what the last one left."""


@dataclass(frozen=True)
class OrgModel:
    name: str
    latency_ms: float
    jitter_ms: float
    bulk_rate: float
    job_delay: float

    def describe(self) -> str:
        latency = (
            f"{self.latency_ms:.0f} ms (+0-{self.jitter_ms:.0f} ms)" if self.latency_ms else "no injected"
        )
        return (
            f"{latency} latency per call, Bulk jobs queued {self.job_delay:g} s and processed at"
            f" {self.bulk_rate:,.0f} records/s"
        )


ORGS = {
    "local": OrgModel("local", 5.0, 0.0, 20_000.0, 0.5),
    "production": OrgModel("production", 50.0, 10.0, 5_000.0, 5.0),
}


def serve(data_dir: str, rate: float, delay: float) -> None:
    """Child mode: run the emulator until stdin closes; print its connection details."""
    from kinetic_core.emulator.server import LocalOrg

    with LocalOrg(data_dir=Path(data_dir), bulk_rate=rate, bulk_job_delay_seconds=delay) as org:
        info = {
            "instance_url": org.instance_url,
            "login_url": org.login_url,
            "username": org.username,
            "password": org.password,
            "client_id": org.client_id,
            "client_secret": org.client_secret,
            "api_version": org.api_version,
            "admin_token": org.admin_token,
        }
        print(json.dumps(info), flush=True)
        sys.stdin.read()


@contextmanager
def running_org(model: OrgModel, data_dir: str | None) -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench-router-", dir=data_dir) as tmp:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", tmp, str(model.bulk_rate), str(model.job_delay)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())
            inject(info, model)
            yield info
        finally:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=120)


def connect(info: dict[str, str]) -> Any:
    from kinetic_core.auth.flows import PasswordAuth
    from kinetic_core.client import SalesforceClient
    from kinetic_core.http.session import HttpSession

    auth = PasswordAuth(
        info["login_url"], info["client_id"], info["client_secret"], info["username"], info["password"]
    )
    return SalesforceClient(HttpSession(auth, api_version=info["api_version"]))


def time_load(client: Any, n: int, strategy: str, model: OrgModel) -> tuple[float, str, str]:
    from kinetic_core.load import CostModel, load

    cost = replace(
        CostModel.emulator(), bulk_job_seconds=model.job_delay, bulk_records_per_second=model.bulk_rate
    )
    records = ({"LastName": f"Bench {strategy} {i}", "Email": f"b{i}@example.com"} for i in range(n))
    started = time.perf_counter()
    result = load(client, "Contact", records, strategy=strategy, model=cost)
    elapsed = time.perf_counter() - started
    assert result.successful == n, (strategy, n, result.reason)
    used = result.strategy.value
    result.close()
    return elapsed, used, result.reason


def admin(info: dict[str, str], path: str, body: dict[str, Any] | None = None) -> None:
    headers = {"X-Kinetic-Admin-Token": info["admin_token"]}
    httpx.post(f"{info['instance_url']}/_emulator/{path}", json=body, headers=headers).raise_for_status()


def inject(info: dict[str, str], model: OrgModel) -> None:
    """The org model's latency on every call (fault injection)."""
    admin(info, "faults", {"latency_ms": model.latency_ms, "latency_jitter_ms": model.jitter_ms, "seed": 7})


def reset(info: dict[str, str], model: OrgModel) -> None:
    """Empty the org between sizes (the SQLite file would otherwise grow through the run); a reset
    clears the faults too, so the latency is injected again."""
    admin(info, "reset")
    inject(info, model)


def _secs(value: float) -> str:
    """Seconds with three decimals under one second (a loopback call takes a few ms), else two."""
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


MIN_SECONDS = 1.0
"""Each strategy of a cell runs until its runs add up to this many seconds (and at least
:func:`min_runs` times): a 7 ms load runs about 140 times, a 30 s load twice."""
LONG_RUN = 2.0
"""Loads this long vary little from run to run: three runs of them suffice (two from 10 s)."""
MAX_RUNS = 200
CONTENDER = 1.5
"""A fixed API whose fastest run, of three at least, is slower than this factor times another API's
median is no longer run in the cell (it cannot be the best); the router always runs."""
FAR_OFF = 5.0
"""A fixed API whose one run is slower than this factor times another API's median stops at once
(a 5 s Bulk job against a 60 ms Composite call)."""


def min_runs(seconds: float) -> int:
    """Runs a strategy needs at least, given its median so far: 5 up to :data:`LONG_RUN`, 3 up to
    10 s, 2 above (the longer the load, the less it varies from run to run)."""
    if seconds >= 10.0:
        return 2
    return 3 if seconds >= LONG_RUN else 5


def out_of_the_running(runs: list[float], fastest: float) -> bool:
    """Whether a fixed API's runs show it cannot be the best of the cell: three runs, or one of
    :data:`LONG_RUN` or more (long loads vary by a few percent), all slower than :data:`CONTENDER`
    times another API's median; or one run :data:`FAR_OFF` times slower."""
    slowest_case = min(runs)
    if slowest_case > FAR_OFF * fastest:
        return True
    return (len(runs) >= 3 or slowest_case >= LONG_RUN) and slowest_case > CONTENDER * fastest


def needs_more(runs: list[float]) -> bool:
    """Whether a strategy's runs fall short of :data:`MIN_SECONDS` or of :func:`min_runs`."""
    if len(runs) >= MAX_RUNS:
        return False
    return not runs or sum(runs) < MIN_SECONDS or len(runs) < min_runs(statistics.median(runs))


def spread(runs: list[float]) -> float:
    """Interquartile range over the median: the run-to-run noise of a strategy in a cell."""
    if len(runs) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(runs, n=4, method="inclusive")
    return (q3 - q1) / statistics.median(runs)


@dataclass
class Cell:
    """The runs of one size under one org model."""

    n: int
    times: dict[str, list[float]]
    choices: dict[str, None]
    reason: str

    @property
    def median(self) -> dict[str, float]:
        return {s: statistics.median(v) for s, v in self.times.items() if v}

    @property
    def best(self) -> str:
        median = self.median
        return min((s for s in median if s != "auto"), key=lambda s: median[s])

    @property
    def ratio(self) -> float:
        return self.median["auto"] / self.median[self.best]


def run_cell(client: Any, n: int, model: OrgModel) -> Cell:
    """Time one size: every strategy interleaved in a new seeded random order each round, each load
    timed alone, until each has its :data:`MIN_SECONDS`; the fixed APIs that cannot be the best
    dropped as soon as that is plain."""
    strategies = [s for s in (*FIXED, "auto") if not (s == "rest" and n > REST_MAX)]
    cell = Cell(n, {s: [] for s in strategies}, {}, "")
    order = random.Random(f"{model.name} {n}")
    active = list(strategies)
    while active:
        order.shuffle(active)
        for strategy in active:
            elapsed, used, why = time_load(client, n, strategy, model)
            if strategy == "auto":
                cell.choices[used] = None
                cell.reason = why
            cell.times[strategy].append(elapsed)
            print(f"{model.name:10s} {n:>7} {strategy:9s} {elapsed:8.3f} s  ({used})", flush=True)
            # the org finishes what the load left (a Bulk job's aftermath) before the next one
            time.sleep(min(SETTLE, elapsed))
        fastest = min(statistics.median(cell.times[s]) for s in strategies if s != "auto")
        active = [
            s
            for s in active
            if needs_more(cell.times[s]) and (s == "auto" or not out_of_the_running(cell.times[s], fastest))
        ]
    return cell


def run_org(model: OrgModel, sizes: tuple[int, ...], data_dir: str | None) -> list[Cell]:
    cells: list[Cell] = []
    with running_org(model, data_dir) as info:
        client = connect(info)
        for strategy in FIXED:  # warm up: login, connections and first calls are part of no cell
            time_load(client, 1, strategy, model)
        for n in sizes:
            for strategy in ("rest", "composite"):  # the emptied org's first calls are in no cell
                time_load(client, 1, strategy, model)
            cells.append(run_cell(client, n, model))
            reset(info, model)
        client.close()
    return cells


def rows_of(cells: list[Cell]) -> list[str]:
    rows = []
    for cell in cells:
        median, best = cell.median, cell.best
        shown = [_secs(median[s]) if s in median else "-" for s in (*FIXED, "auto")]
        ok = "yes" if cell.ratio <= TARGET else "**no**"
        runs = f"{len(cell.times[best])}/{len(cell.times['auto'])}"
        noise = f"{spread(cell.times[best]):.0%} / {spread(cell.times['auto']):.0%}"
        chosen = "/".join(cell.choices)
        rows.append(
            "| "
            + " | ".join([f"{cell.n:,}", *shown, chosen, best, f"{cell.ratio:.2f}", ok, runs, noise])
            + " |"
        )
    return rows


def losses_of(name: str, cells: list[Cell]) -> list[str]:
    losses = []
    for cell in cells:
        if cell.ratio <= TARGET:
            continue
        median, best, chosen = cell.median, cell.best, "/".join(cell.choices)
        same = "the same API as the best" if chosen == best else f"not the best ({best})"
        losses.append(
            f"{name}, {cell.n:,} records: the router took {_secs(median['auto'])} s with {chosen} ({same}),"
            f" {best} took {_secs(median[best])} s ({cell.ratio:.2f}x; interquartile spread {best}"
            f" {spread(cell.times[best]):.0%}, router {spread(cell.times['auto']):.0%}); its reason:"
            f" {cell.reason}"
        )
    return losses


def summary(ratios: dict[str, dict[int, float]]) -> list[str]:
    """One row per size: the router's time over the best fixed API's under each org model, and the worst."""
    names = list(ratios)
    lines = [
        "### Worst ratio per size (router / best fixed API)",
        "",
        "| records | " + " | ".join(names) + " | worst |",
        "|---:|" + "---:|" * (len(names) + 1),
    ]
    for n in sorted({n for by_size in ratios.values() for n in by_size}):
        cells = [by_size[n] for by_size in ratios.values() if n in by_size]
        worst = max(cells)
        shown = [f"{ratios[name][n]:.2f}" if n in ratios[name] else "-" for name in names]
        mark = f"**{worst:.2f}**" if worst > TARGET else f"{worst:.2f}"
        lines.append(f"| {n:,} | " + " | ".join(shown) + f" | {mark} |")
    overall = max(r for by_size in ratios.values() for r in by_size.values())
    return [*lines, "", f"Worst over the grid: {overall:.2f}.", ""]


def write_doc(table: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    block = f"{START}\n{table}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    if len(sys.argv) > 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help=f"sizes {', '.join(f'{n:,}' for n in QUICK)}")
    parser.add_argument(
        "--org", choices=sorted(ORGS), action="append", help="org model(s) to run (default: both)"
    )
    parser.add_argument(
        "--data-dir",
        default=SHM if Path(SHM).is_dir() else None,
        help=f"where the emulators keep their SQLite files (default: {SHM} when there is one, else the"
        " system's temporary directory)",
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = QUICK if args.quick else GRID
    sections: list[str] = []
    all_losses: list[str] = []
    all_ratios: dict[str, dict[int, float]] = {}
    started = time.perf_counter()
    load_before = os.getloadavg()
    for name in args.org or ("local", "production"):
        model = ORGS[name]
        cells = run_org(model, sizes, args.data_dir)
        all_losses += losses_of(name, cells)
        all_ratios[name] = {cell.n: cell.ratio for cell in cells}
        sections += [
            f"### Org model `{name}`: {model.describe()}",
            "",
            "| records | rest | composite | bulk | router | router chose | best fixed | router / best | ok"
            " | runs (best/router) | spread (best / router) |",
            "|---:|---:|---:|---:|---:|---|---|---:|---|---:|---:|",
            *rows_of(cells),
            "",
        ]
    minutes = (time.perf_counter() - started) / 60
    load_after = os.getloadavg()
    lines = [
        "## Router: whole load time by strategy (seconds)",
        "",
        f"`python benchmarks/router.py{' --quick' if args.quick else ''}` on"
        f" {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} ({minutes:.0f} min; load average"
        f" {load_before[0]:.1f} / {load_before[1]:.1f} / {load_before[2]:.1f} at the start,"
        f" {load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f} at the end). Contacts"
        " inserted through `kinetic_core.load.load`; each emulator in its own process, its SQLite file"
        f" {'in memory (' + args.data_dir + ')' if args.data_dir == SHM else 'on disk'}; Python"
        f" {platform.python_version()} on {platform.machine()}, 2 cores shared with other work."
        " Each load is timed alone. In each cell the strategies run in rounds, in a new seeded random"
        " order each round (the router interleaved with the fixed APIs), each load followed by a pause"
        f" as long as itself (at most {SETTLE:g} s), until each strategy's runs add up to"
        f" {MIN_SECONDS:g} s and number at least 5 (3 for loads over {LONG_RUN:g} s, 2 over 10 s; at"
        f" most {MAX_RUNS}): a 7 ms load runs about 140 times. A fixed API whose fastest run of three"
        f" (or one run of {LONG_RUN:g} s or more) is over {CONTENDER:g}x another API's median, or whose"
        f" one run is over {FAR_OFF:g}x, stops running in that cell: it cannot be the best. Before the"
        " first cell, one load of each API (login, connections, first calls); before each cell, one"
        " record by REST and one by Composite, untimed (the org is emptied between cells)."
        " Every figure is a median; the best fixed API is the one of least median, and the verdict is"
        " the router's median over the best's. \"runs\" counts the runs behind the two medians;"
        ' "spread" is each one\'s interquartile range over its median, the run-to-run noise a'
        " ratio is read against. The router column may name two APIs: it chose differently across"
        f" runs. REST runs up to {REST_MAX:,} records only (`-` above: one call per record, never the"
        " best there). The router observes the per-call latency itself and is given each org's Bulk"
        " queue time and rate (`CostModel`); its REST, Composite (per call and per record) and Bulk"
        " costs start at the emulator defaults and are refined from the loads it has run in the"
        " session (the fixed-API runs of earlier cells included), as in any long-lived client.",
        "",
        *summary(all_ratios),
        *sections,
        f"Target (router within 10 % of the best fixed API at every size, both org models): "
        f"{'met' if not all_losses else 'not met'}.",
    ]
    if all_losses:
        lines += ["", "Where the router loses:", "", *[f"- {loss}" for loss in all_losses]]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_doc(table)


if __name__ == "__main__":
    main()
