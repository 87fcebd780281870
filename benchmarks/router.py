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

Usage: ``python benchmarks/router.py [--quick] [--no-write] [--org local|production]``. The full grid
takes about 25 minutes on 2 cores; ``--quick`` a few. Results go to ``docs/benchmarks.md`` between
``<!-- router:start -->`` and ``<!-- router:end -->``.
"""

from __future__ import annotations

import argparse
import json
import math
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
def running_org(model: OrgModel) -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench-router-") as tmp:
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


SAMPLE_SECONDS = 0.25
"""A timed sample lasts at least this long: loads shorter than this are timed several in a row."""
MAX_BATCH = 40
BATCH_MAX_RECORDS = 1_000
"""Sizes up to which a load can be shorter than a sample (above, a load takes longer)."""
CONTENDER = 1.5
"""A strategy within this factor of the fastest in the first round is a contender for the best."""


def runs_at(n: int, repeat: int) -> int:
    """Rounds per cell: more where a run is short and noise (jitter, a busy core) weighs most."""
    if n <= 1_000:
        return repeat + 2
    return repeat if n <= 10_000 else 1


def extra_rounds_at(n: int) -> int:
    """Rounds run again for the contenders (the router and the fixed APIs that can be the best)."""
    return 1 if n > 10_000 else 0


def batch_size(probe_seconds: float) -> int:
    """Loads per timed sample: as many as last :data:`SAMPLE_SECONDS` (one for a long load)."""
    return max(1, min(MAX_BATCH, math.ceil(SAMPLE_SECONDS / max(probe_seconds, 1e-4))))


def time_sample(client: Any, n: int, strategy: str, model: OrgModel, batch: int) -> tuple[float, str, str]:
    """Seconds per load over ``batch`` loads in a row (the strategy used and the reason of the last)."""
    total = 0.0
    used = why = ""
    for _ in range(batch):
        elapsed, used, why = time_load(client, n, strategy, model)
        total += elapsed
    return total / batch, used, why


def run_org(
    model: OrgModel, sizes: tuple[int, ...], repeat: int
) -> tuple[list[str], list[str], dict[int, float]]:
    rows: list[str] = []
    losses: list[str] = []
    ratios: dict[int, float] = {}
    with running_org(model) as info:
        client = connect(info)
        time_load(client, 1, "rest", model)  # warm up: login and connection are not part of any cell
        for n in sizes:
            strategies = [s for s in (*FIXED, "auto") if not (s == "rest" and n > REST_MAX)]
            times: dict[str, list[float]] = {s: [] for s in strategies}
            choices: dict[str, None] = {}
            reason = ""
            order = random.Random(f"{model.name} {n}")
            # up to 1,000 records, one untimed load per strategy: how many loads make a timed sample
            # (above, every load lasts longer than a sample)
            batch = {s: batch_size(time_load(client, n, s, model)[0]) if n <= BATCH_MAX_RECORDS else 1
                     for s in strategies}  # fmt: skip
            rounds = [strategies] * runs_at(n, repeat)
            for number in range(len(rounds) + extra_rounds_at(n)):
                if number == len(rounds):  # the contenders, once more
                    first = {s: v[0] for s, v in times.items()}
                    fastest = min(first[s] for s in first if s != "auto")
                    rounds.append([s for s in strategies if s == "auto" or first[s] <= CONTENDER * fastest])
                # a new order each run, so no strategy always follows another one's aftermath (a
                # rotation would keep the router behind Bulk every time); a pause lets the org settle
                run_order = list(rounds[number])
                order.shuffle(run_order)
                for strategy in run_order:
                    time.sleep(SETTLE)
                    elapsed, used, why = time_sample(client, n, strategy, model, batch[strategy])
                    if strategy == "auto":
                        choices[used] = None
                        reason = why
                    times[strategy].append(elapsed)
                    label = f"{model.name:10s} {n:>7} {strategy:9s}"
                    print(f"{label} {elapsed:8.3f} s  ({used}, x{batch[strategy]})", flush=True)
            chosen = "/".join(choices)
            reset(info, model)
            median = {s: statistics.median(v) for s, v in times.items()}
            best_api = min((s for s in median if s != "auto"), key=lambda s: median[s])
            # per round, the router's time over the best API's in the same round (both ran in it,
            # close in time), then the median: the machine's load drifts less within a round
            ratio = statistics.median(a / b for a, b in zip(times["auto"], times[best_api], strict=False))
            ratios[n] = ratio
            ok = ratio <= TARGET
            cells = [f"{n:,}"] + [_secs(median[s]) if s in median else "-" for s in (*FIXED, "auto")]
            runs_of_best = times[best_api]
            spread = max(runs_of_best) / min(runs_of_best)
            cells += [chosen, best_api, f"{ratio:.2f}", "yes" if ok else "**no**", f"{spread:.2f}"]
            rows.append("| " + " | ".join(cells) + " |")
            if not ok:
                losses.append(
                    f"{model.name}, {n:,} records: the router took {median['auto']:.2f} s with {chosen},"
                    f" {best_api} took {median[best_api]:.2f} s ({ratio:.2f}x; {best_api}'s own runs spread"
                    f" {spread:.2f}x); its reason: {reason}"
                )
        client.close()
    return rows, losses, ratios


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
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell up to 10,000 records (1 above)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = QUICK if args.quick else GRID
    sections: list[str] = []
    all_losses: list[str] = []
    all_ratios: dict[str, dict[int, float]] = {}
    started = time.perf_counter()
    for name in args.org or ("local", "production"):
        model = ORGS[name]
        rows, losses, ratios = run_org(model, sizes, args.repeat)
        all_losses += losses
        all_ratios[name] = ratios
        sections += [
            f"### Org model `{name}`: {model.describe()}",
            "",
            "| records | rest | composite | bulk | router | router chose | best fixed | router / best | ok"
            " | best's spread |",
            "|---:|---:|---:|---:|---:|---|---|---:|---|---:|",
            *rows,
            "",
        ]
    minutes = (time.perf_counter() - started) / 60
    lines = [
        "## Router: whole load time by strategy (seconds)",
        "",
        f"`python benchmarks/router.py{' --quick' if args.quick else ''}` on {time.strftime('%Y-%m-%d')}"
        f" ({minutes:.0f} min). Contacts inserted through `kinetic_core.load.load`; each emulator in its own"
        f" process; Python {platform.python_version()} on {platform.machine()}, 2 cores shared with other"
        f" work. Median of {args.repeat + 2} runs per cell up to 1,000 records, {args.repeat} up to"
        " 10,000, 1 above and then a second run of the contenders (the router, and each fixed API"
        f" within {CONTENDER:g}x of the fastest in the first run); strategies in a new seeded random"
        " order each run, 0.2 s apart, after a warm-up call. Up to 1,000 records a run of a strategy"
        f" is as many loads in a row as last {SAMPLE_SECONDS:g} s (found with one untimed load; at"
        f" most {MAX_BATCH}), and its figure is the time per load: a 10 ms load timed alone is"
        " mostly timer and scheduling noise on a shared machine. The best fixed API is the one of"
        ' least median time; "router / best" is the median over the runs of the router\'s time over'
        " that API's time in the same run (the two ran close in time, so a change in the machine's"
        " load weighs on both). The router column may name two APIs: the router chose differently"
        " across runs."
        f" REST runs up to {REST_MAX:,} records only (`-` above: one"
        " call per record, never the best there). The router observes the per-call latency itself and is"
        " given each org's Bulk queue time and rate (`CostModel`); its per-record costs start at the"
        " emulator defaults and are refined from the loads it has run in the session (the fixed-API runs"
        ' of earlier cells included), as in any long-lived client. "best\'s spread" is the slowest over the'
        " fastest run of the best fixed API in that cell: the run-to-run noise a ratio is read against"
        " (1.00 where there was one run).",
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
