"""Benchmark: single-record creates through ``AsyncSalesforceClient`` (20 in flight) against
``SalesforceClient`` one after the other, on an emulator answering every API call 50 ms late.

Starts ``kinetic emulator start --port 0 --data-dir <tmp>`` as its own process (so the server does not
share the interpreter with the clients), injects 50 ms of latency on every ``/services`` call through
the admin API, then times N creates (default 1,000):

* sync: ``SalesforceClient.create`` in a loop (one call in flight);
* async: ``AsyncSalesforceClient.create`` under ``asyncio.gather``, a semaphore keeping 20 in
  flight, on a pool of 20 connections.

Both clients log in before the clock starts. Prints the figures and writes them between the
``async-vs-sync`` markers of docs/benchmarks.md.

Usage: ``python benchmarks/async_vs_sync.py [--creates N] [--in-flight N] [--latency-ms MS]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from kinetic_core import AsyncSalesforceClient, SalesforceClient

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- async-vs-sync:start -->", "<!-- async-vs-sync:end -->"
TARGET_SPEEDUP = 10.0


def start_emulator(data_dir: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    exe = shutil.which("kinetic")
    cmd = [exe] if exe else [sys.executable, "-m", "kinetic_core.cli"]
    proc = subprocess.Popen(
        [*cmd, "emulator", "start", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # the URL, printed once emulator.json is written
    info = json.loads((data_dir / "emulator.json").read_text())
    return proc, info


def admin(info: dict[str, Any], path: str, body: dict[str, Any] | None = None) -> Any:
    url = f"{info['instance_url']}/_emulator/{path}"
    headers = {"X-Kinetic-Admin-Token": info["admin_token"]}
    with httpx.Client(timeout=30, headers=headers) as client:
        response = client.get(url) if body is None else client.post(url, json=body)
    response.raise_for_status()
    return response.json()


def settings(info: dict[str, Any], home: Path) -> dict[str, Any]:
    return {
        "login_url": info["login_url"],
        "client_id": info["client_id"],
        "client_secret": info["client_secret"],
        "username": info["username"],
        "password": info["password"],
        "environ": {},
        "cwd": home,
        "home": home,
    }


def run_sync(info: dict[str, Any], home: Path, n: int) -> float:
    with SalesforceClient.connect(**settings(info, home)) as client:
        client.count("Account")  # log in before the clock starts
        start = time.perf_counter()
        for i in range(n):
            client.create("Account", {"Name": f"sync {i}"})
        return time.perf_counter() - start


async def run_async(info: dict[str, Any], home: Path, n: int, in_flight: int) -> float:
    async with AsyncSalesforceClient.connect(max_connections=in_flight, **settings(info, home)) as client:
        await client.count("Account")  # log in before the clock starts
        gate = asyncio.Semaphore(in_flight)

        async def create(i: int) -> str:
            async with gate:
                return await client.create("Account", {"Name": f"async {i}"})

        start = time.perf_counter()
        ids = await asyncio.gather(*(create(i) for i in range(n)))
        elapsed = time.perf_counter() - start
    assert len(set(ids)) == n
    return elapsed


def write_docs(text: str) -> None:
    section = f"{START}\n{text.rstrip()}\n{END}"
    current = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    if START in current and END in current:
        head, rest = current.split(START, 1)
        current = head + section + rest.split(END, 1)[1]
    else:
        current = current.rstrip() + "\n\n" + section + "\n"
    DOCS.write_text(current, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, info = start_emulator(Path(tmp) / "org")
        try:
            admin(info, "faults", {"latency_ms": args.latency_ms})
            home = Path(tmp) / "home"
            home.mkdir()
            async_s = asyncio.run(run_async(info, home, args.creates, args.in_flight))
            sync_s = run_sync(info, home, args.creates)
            injected = admin(info, "faults")["injected"].get("latency", 0)
            records = admin(info, "stats")["records"].get("Account", 0)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    speedup = sync_s / async_s
    n = args.creates
    text = f"""## Async client against sync (`benchmarks/async_vs_sync.py`)

Run on {time.strftime("%Y-%m-%d")} with `python benchmarks/async_vs_sync.py`. Machine: {platform.machine()},
{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}; emulator in its own process
over HTTP on 127.0.0.1 with {args.latency_ms:g} ms of injected latency on every API call;
{n:,} single-record creates (`create("Account", ...)`) each way, after login.

| client | calls in flight | wall s | creates/s |
|---|---:|---:|---:|
| `SalesforceClient`, sequential | 1 | {sync_s:.2f} | {n / sync_s:,.0f} |
| `AsyncSalesforceClient`, `asyncio.gather` | {args.in_flight} | {async_s:.2f} | {n / async_s:,.0f} |

Async is **{speedup:.1f}x** faster (target >= {TARGET_SPEEDUP:g}x). Latency injected on {injected:,} calls;
{records:,} Accounts created in all.
"""
    print(text)
    if not args.no_docs:
        write_docs(text)
    if speedup < TARGET_SPEEDUP:
        sys.exit(f"async is {speedup:.1f}x faster, below the {TARGET_SPEEDUP:g}x target")


if __name__ == "__main__":
    main()
