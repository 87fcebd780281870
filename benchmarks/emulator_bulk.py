"""Benchmark: the emulator's Bulk API 2.0 ingest and query throughput, over HTTP, emulator in its own process.

Starts ``kinetic emulator start`` as a subprocess on a temporary data dir, ingests N Account rows
(one job: streamed PUT, close, poll until ``JobComplete``), then exports them with a Bulk query job
(every locator page read). Prints rows/s and rewrites its own section of ``docs/benchmarks.md``.

Usage:
    .venv/bin/python benchmarks/emulator_bulk.py [--rows 200000] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

START, END = "<!-- emulator-bulk:start -->", "<!-- emulator-bulk:end -->"
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
TARGET = 50_000


def start_emulator(data_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kinetic_core.cli",
            "emulator",
            "start",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    info_file = data_dir / "emulator.json"
    deadline = time.monotonic() + 60
    while not info_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the emulator did not start")
        time.sleep(0.1)
    time.sleep(0.2)
    return proc, json.loads(info_file.read_text())


def token(client: httpx.Client, info: dict[str, str]) -> str:
    resp = client.post(
        f"{info['login_url']}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
            "username": info["username"],
            "password": info["password"],
        },
    )
    resp.raise_for_status()
    return str(resp.json()["access_token"])


def csv_rows(n: int) -> Iterator[bytes]:
    yield b"Name,Phone,Industry,AnnualRevenue,NumberOfEmployees,Description\n"
    chunk: list[bytes] = []
    for i in range(n):
        chunk.append(
            b'Bench Account %d,+1 555 %07d,Technology,%d,%d,"row %d, quoted"\n' % (i, i, i * 10, i % 5000, i)
        )
        if len(chunk) == 5000:
            yield b"".join(chunk)
            chunk.clear()
    if chunk:
        yield b"".join(chunk)


def wait(client: httpx.Client, url: str) -> dict[str, object]:
    while True:
        info: dict[str, object] = client.get(url).json()
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
        time.sleep(0.05)


def run(rows: int) -> dict[str, float]:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    with tempfile.TemporaryDirectory() as tmp:
        proc, info = start_emulator(Path(tmp) / "org")
        try:
            base = f"{info['instance_url']}/services/data/v{info['api_version']}"
            with httpx.Client(timeout=600) as client:
                client.headers["Authorization"] = f"Bearer {token(client, info)}"
                t0 = time.perf_counter()
                job = client.post(
                    f"{base}/jobs/ingest", json={"object": "Account", "operation": "insert"}
                ).json()
                put = client.put(f"{base}/jobs/ingest/{job['id']}/batches", content=csv_rows(rows))
                assert put.status_code == 201, put.text
                t_upload = time.perf_counter()
                client.patch(f"{base}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
                done = wait(client, f"{base}/jobs/ingest/{job['id']}")
                t_ingest = time.perf_counter()
                assert done["state"] == "JobComplete", done
                assert done["numberRecordsProcessed"] == rows, done
                assert done["numberRecordsFailed"] == 0, done
                ok = client.get(f"{base}/jobs/ingest/{job['id']}/successfulResults")
                assert ok.text.count("\n") == rows + 1
                t_results = time.perf_counter()

                q0 = time.perf_counter()
                soql = "SELECT Id, Name, Phone, Industry, AnnualRevenue, NumberOfEmployees FROM Account"
                qjob = client.post(f"{base}/jobs/query", json={"operation": "query", "query": soql}).json()
                qdone = wait(client, f"{base}/jobs/query/{qjob['id']}")
                assert qdone["numberRecordsProcessed"] == rows, qdone
                q_ready = time.perf_counter()
                got, locator, pages = 0, "", 0
                while locator != "null":
                    params = {"locator": locator} if locator else {}
                    with client.stream(
                        "GET", f"{base}/jobs/query/{qjob['id']}/results", params=params
                    ) as page:
                        for _ in page.iter_bytes():
                            pass
                        got += int(page.headers["Sforce-NumberOfRecords"])
                        locator = page.headers["Sforce-Locator"]
                    pages += 1
                q_end = time.perf_counter()
                assert got == rows
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {
        "rows": rows,
        "upload_s": t_upload - t0,
        "ingest_s": t_ingest - t0,
        "results_s": t_results - t_ingest,
        "query_job_s": q_ready - q0,
        "query_total_s": q_end - q0,
        "pages": pages,
        "load": load,
    }


def render(r: dict[str, float]) -> str:
    rows = int(r["rows"])
    ingest_rate = rows / r["ingest_s"]
    query_rate = rows / r["query_total_s"]
    verdict = lambda rate: "meets" if rate >= TARGET else "below"  # noqa: E731
    return "\n".join(
        [
            START,
            "## Emulator Bulk API 2.0 throughput",
            "",
            f"`benchmarks/emulator_bulk.py`: emulator in its own process (`kinetic emulator start`), HTTP on "
            f"127.0.0.1, {rows:,} Account rows (6 columns), one ingest job then one query job reading every "
            f"locator page. Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
            f"1-minute load average {r['load']:.1f} at the start (other work on the machine slows every "
            "figure).",
            "",
            "| Step | Time (s) | Rows/s |",
            "|---|---:|---:|",
            f"| Ingest: create + streamed upload + close + processing to `JobComplete` | {r['ingest_s']:.2f} "
            f"| {ingest_rate:,.0f} |",
            f"| (of which the upload) | {r['upload_s']:.2f} | {rows / r['upload_s']:,.0f} |",
            f"| Download `successfulResults` | {r['results_s']:.2f} | {rows / r['results_s']:,.0f} |",
            f"| Query: create + run to `JobComplete` | {r['query_job_s']:.2f} "
            f"| {rows / r['query_job_s']:,.0f} |",
            f"| Query: create + run + read {int(r['pages'])} result pages | {r['query_total_s']:.2f} "
            f"| {query_rate:,.0f} |",
            "",
            f"Target >= {TARGET:,} rows/s each: ingest {verdict(ingest_rate)} it, "
            f"query {verdict(query_rate)} it.",
            END,
        ]
    )


def write_section(section: str) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    text = (
        pattern.sub(lambda _m: section, text)
        if pattern.search(text)
        else text.rstrip("\n") + "\n\n" + section
    )
    DOC.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    result = run(args.rows)
    section = render(result)
    print(section)
    if not args.no_write:
        write_section(section)


if __name__ == "__main__":
    main()
