"""Benchmark the emulator's REST path: single-record creates/s and query rows/s.

Starts ``kinetic emulator start --port 0 --data-dir <tmp>`` as its own process, reads
``emulator.json``, gets a token (password flow), then measures:

* single-record creates per second over keep-alive httpx, sequentially and with 4 threads;
* rows per second reading 100,000 Accounts through ``/query`` + ``nextRecordsUrl`` paging
  (the rows are loaded first with ``/composite/sobjects``, 200 per call).

Prints the figures and writes them between the ``emulator-rest`` markers of docs/benchmarks.md.

Usage: ``python benchmarks/emulator_rest.py [--creates N] [--rows N]``
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- emulator-rest:start -->", "<!-- emulator-rest:end -->"
TARGET_CREATES, TARGET_ROWS = 500.0, 50_000.0


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


def get_token(info: dict[str, Any]) -> str:
    response = httpx.post(
        f"{info['login_url']}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
            "username": info["username"],
            "password": info["password"],
        },
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def client(info: dict[str, Any], token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{info['instance_url']}/services/data/v{info['api_version']}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def creates_per_second(info: dict[str, Any], token: str, n: int, threads: int) -> float:
    per_thread = n // threads

    def work(offset: int) -> None:
        with client(info, token) as http:
            for i in range(per_thread):
                r = http.post("/sobjects/Contact", json={"LastName": f"Bench {offset}-{i}"})
                if r.status_code != 201:
                    raise RuntimeError(r.text)

    started = time.perf_counter()
    if threads == 1:
        work(0)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, range(threads)))
    return per_thread * threads / (time.perf_counter() - started)


def load_rows(info: dict[str, Any], token: str, rows: int) -> float:
    started = time.perf_counter()
    with client(info, token) as http:
        for start in range(0, rows, 200):
            records = [
                {"attributes": {"type": "Account"}, "Name": f"Row {i}", "NumberOfEmployees": i}
                for i in range(start, min(rows, start + 200))
            ]
            r = http.post("/composite/sobjects", json={"allOrNone": False, "records": records})
            r.raise_for_status()
    return rows / (time.perf_counter() - started)


def query_rows_per_second(info: dict[str, Any], token: str) -> tuple[float, int]:
    started = time.perf_counter()
    seen = 0
    with client(info, token) as http:
        page = http.get("/query", params={"q": "SELECT Id, Name, NumberOfEmployees FROM Account"}).json()
        seen += len(page["records"])
        while not page["done"]:
            page = http.get(info["instance_url"] + page["nextRecordsUrl"]).json()
            seen += len(page["records"])
    return seen / (time.perf_counter() - started), seen


def write_docs(text: str) -> None:
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    section = f"{START}\n{text.rstrip()}\n{END}"
    current = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    if START in current and END in current:
        head, rest = current.split(START, 1)
        tail = rest.split(END, 1)[1]
        current = f"{head}{section}{tail}"
    else:
        current = f"{current.rstrip()}\n\n{section}\n"
    DOCS.write_text(current, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--creates", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-docs", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kinetic-bench-") as tmp:
        proc, info = start_emulator(Path(tmp))
        try:
            token = get_token(info)
            sequential = creates_per_second(info, token, args.creates, 1)
            threaded = creates_per_second(info, token, args.creates, 4)
            load_rate = load_rows(info, token, args.rows)
            query_rate, seen = query_rows_per_second(info, token)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()
    lines = [
        "## Emulator REST (`benchmarks/emulator_rest.py`)",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, {platform.system()}; "
        f"emulator over HTTP on 127.0.0.1, httpx keep-alive.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| single-record creates, sequential | {sequential:,.0f} /s | >= {TARGET_CREATES:,.0f} /s |",
        f"| single-record creates, 4 threads | {threaded:,.0f} /s | >= {TARGET_CREATES:,.0f} /s |",
        f"| /composite/sobjects load (200 per call) | {load_rate:,.0f} rows/s | - |",
        f"| query + nextRecordsUrl paging ({seen:,} rows) | {query_rate:,.0f} rows/s "
        f"| >= {TARGET_ROWS:,.0f} rows/s |",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_docs:
        write_docs(text)


if __name__ == "__main__":
    main()
