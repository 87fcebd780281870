"""Total time of a load by strategy: auto vs rest / composite / bulk, against a realistic emulator.

The emulator runs in its own process (``LocalOrg``) with ~50 ms latency on every API call
(fault injection) and Bulk processing at 5,000 records/s plus 5 s per job, roughly what a
production org shows. For each size (1, 10, 100, 1,000, 10,000, 100,000 Contacts) each strategy
inserts the records through ``kinetic_core.router.load`` with its default thresholds; the table
gives the wall time. REST above 1,000 records is skipped (one call per record: its time is
``n x latency`` and nobody should wait for it). ``--quick`` stops at 1,000 records.

Usage: ``python benchmarks/router.py [--quick] [--no-write]``. Results go to ``docs/benchmarks.md``
between ``<!-- router:start -->`` and ``<!-- router:end -->``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "benchmarks.md"
START, END = "<!-- router:start -->", "<!-- router:end -->"
SIZES = (1, 10, 100, 1_000, 10_000, 100_000)
STRATEGIES = ("auto", "rest", "composite", "bulk")
REST_MAX = 1_000


def serve(data_dir: str) -> None:
    """Child mode: run the emulator until stdin closes; print its connection details."""
    from kinetic_core.emulator.server import LocalOrg

    with LocalOrg(data_dir=Path(data_dir), bulk_rate=5_000.0, bulk_job_delay_seconds=5.0) as org:
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


def connect(info: dict[str, str]) -> Any:
    from kinetic_core.auth.flows import PasswordAuth
    from kinetic_core.client import SalesforceClient
    from kinetic_core.http.session import HttpSession

    auth = PasswordAuth(
        info["login_url"], info["client_id"], info["client_secret"], info["username"], info["password"]
    )
    return SalesforceClient(HttpSession(auth, api_version=info["api_version"]))


def time_load(client: Any, n: int, strategy: str) -> tuple[float, str, str]:
    from kinetic_core.load import load

    records = ({"LastName": f"Bench {strategy} {i}"} for i in range(n))
    started = time.perf_counter()
    result = load(client, "Contact", records, strategy=strategy)
    elapsed = time.perf_counter() - started
    assert result.successful == n, (strategy, n, result.reason)
    used = result.strategy.value
    result.close()
    return elapsed, used, result.reason


def write_doc(table: str) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    block = f"{START}\n{table}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="sizes up to 1,000 only")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell up to 10,000 records")
    parser.add_argument("--repeat-large", type=int, default=1, help="runs per cell at 100,000 records")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = [s for s in SIZES if s <= 1_000] if args.quick else list(SIZES)
    rows: list[str] = []
    verdicts: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="bench-router-") as tmp:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", tmp],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())
            response = httpx.post(
                f"{info['instance_url']}/_emulator/faults",
                json={"latency_ms": args.latency_ms},
                headers={"X-Kinetic-Admin-Token": info["admin_token"]},
            )
            response.raise_for_status()
            client = connect(info)
            time_load(client, 1, "rest")  # warm up: login and connection are not part of any cell
            for n in sizes:
                runs = args.repeat_large if n >= 100_000 else args.repeat
                strategies = [s for s in STRATEGIES if not (s == "rest" and n > REST_MAX)]
                times: dict[str, list[float]] = {s: [] for s in strategies}
                chosen = ""
                for run in range(runs):
                    # rotate the order so no strategy always follows another one's aftermath
                    for strategy in strategies[run % len(strategies) :] + strategies[: run % len(strategies)]:
                        elapsed, used, reason = time_load(client, n, strategy)
                        if strategy == "auto":
                            chosen = used
                        times[strategy].append(elapsed)
                        print(f"{n:>7} {strategy:9s} {elapsed:8.2f} s  ({used}: {reason})", flush=True)
                median = {s: statistics.median(v) for s, v in times.items()}
                best = min(v for s, v in median.items() if s != "auto")
                ratio = median["auto"] / best
                # within 10 %, or within one call's latency where the whole load is a call or two
                ok = ratio <= 1.10 or median["auto"] - best <= args.latency_ms / 1000.0
                verdicts.append(ok)
                cells = [f"{n:,}"]
                cells += [f"{median[s]:.2f}" if s in median else "skipped" for s in STRATEGIES]
                cells += [chosen, f"{ratio:.2f}", "yes" if ok else "no"]
                rows.append("| " + " | ".join(cells) + " |")
            client.close()
        finally:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=60)
    from kinetic_core.load import Thresholds

    t = Thresholds()
    lines = [
        "## Router: total load time by strategy (seconds)",
        "",
        f"`python benchmarks/router.py` on {time.strftime('%Y-%m-%d')}. Contacts inserted through"
        " `router.load`; emulator in its own process with"
        f" {args.latency_ms:.0f} ms latency per call, Bulk at 5,000 records/s + 5 s per job; Python"
        f" {platform.python_version()} on {platform.machine()}. Median of {args.repeat} runs per cell"
        f" ({args.repeat_large} at 100,000), strategies in rotating order, after a warm-up call.",
        "",
        "| records | auto | rest | composite | bulk | auto chose | auto / best fixed | within 10 % |",
        "|---:|---:|---:|---:|---:|---|---:|---|",
        *rows,
        "",
        f"Default thresholds (`router.Thresholds`): REST up to {t.rest_max_records} records, Composite"
        f" below {t.bulk_min_records:,}, Bulk from {t.bulk_min_records:,} records (or"
        f" {t.bulk_min_bytes // 1_000_000} MB), and Bulk whenever Composite would eat into the last"
        f' {t.api_reserve} API calls of the day. "Within 10 %" also accepts a gap under one call\'s'
        " latency, for loads of a call or two.",
        "",
        f"Target met at every size: {'yes' if all(verdicts) else 'no'}.",
    ]
    if not args.no_write:
        write_doc("\n".join(lines))


if __name__ == "__main__":
    main()
