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
        }
        print(json.dumps(info), flush=True)
        sys.stdin.read()


def connect(info: dict[str, str]) -> Any:
    from kinetic_core.auth.flows import PasswordAuth
    from kinetic_core.http.session import HttpSession
    from kinetic_core.rest.client import SalesforceClient

    auth = PasswordAuth(
        info["login_url"], info["client_id"], info["client_secret"], info["username"], info["password"]
    )
    return SalesforceClient(HttpSession(auth, api_version=info["api_version"]))


def time_load(client: Any, n: int, strategy: str) -> tuple[float, str, str]:
    from kinetic_core.router import load

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
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = [s for s in SIZES if s <= 1_000] if args.quick else list(SIZES)
    rows: list[str] = []
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
                f"{info['instance_url']}/_emulator/faults", json={"latency_ms": args.latency_ms}
            )
            response.raise_for_status()
            client = connect(info)
            for n in sizes:
                cells = [f"{n:,}"]
                chosen = ""
                for strategy in STRATEGIES:
                    if strategy == "rest" and n > REST_MAX:
                        cells.append("skipped")
                        continue
                    elapsed, used, reason = time_load(client, n, strategy)
                    if strategy == "auto":
                        chosen = used
                    cells.append(f"{elapsed:.2f}")
                    print(f"{n:>7} {strategy:9s} {elapsed:8.2f} s  ({used}: {reason})", flush=True)
                cells.append(chosen)
                rows.append("| " + " | ".join(cells) + " |")
            client.close()
        finally:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=60)
    lines = [
        "## Router: total load time by strategy (seconds)",
        "",
        "Contacts inserted through `router.load`; emulator in its own process with"
        f" {args.latency_ms:.0f} ms latency per call, Bulk at 5,000 records/s + 5 s per job; Python"
        f" {platform.python_version()} on {platform.machine()}. One run per cell.",
        "",
        "| records | auto | rest | composite | bulk | auto chose |",
        "|---:|---:|---:|---:|---:|---|",
        *rows,
        "",
        "Default thresholds (`router.Thresholds`): REST up to 3 records, Composite below 10,000,"
        " Bulk from 10,000 records (or 20 MB). Bulk's fixed cost (job delay plus polling from 1 s)"
        " makes it slower than Composite below a few tens of thousands of rows, but Composite spends"
        " one API call per 200 records: 10,000 balances time against the daily API allowance.",
    ]
    if not args.no_write:
        write_doc("\n".join(lines))


if __name__ == "__main__":
    main()
