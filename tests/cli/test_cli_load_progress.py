"""What ``kinetic load`` and ``kinetic jobs list`` tell about a load: progress bars that count (drawn on a
real terminal), counts with thousands separators, the rows by error code, the jobs' real counters."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

from kinetic_core import SalesforceClient

KINETIC = Path(sys.executable).parent / "kinetic"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "KINETIC_HOME": str(home)}


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KINETIC), *args],
        cwd=home.parent,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _on_a_terminal(home: Path, *args: str) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal (so the bars are drawn); returns the exit code and what
    the terminal showed, colour codes removed."""
    master, slave = pty.openpty()
    env = {**_env(home), "COLUMNS": "160", "TERM": "xterm"}
    proc = subprocess.Popen(
        [str(KINETIC), *args], cwd=home.parent, env=env, stdout=subprocess.DEVNULL, stderr=slave
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the process closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = proc.wait(timeout=60)
    return code, ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))


def _contacts(path: Path, rows: int, bad_every: int = 0) -> Path:
    lines = ["LastName,Email"]
    for n in range(1, rows + 1):
        name = "" if bad_every and n % bad_every == 0 else f"Ng {n}"
        lines.append(f"{name},c{n}@example.com")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_bulk_load_on_a_terminal_counts_processed_records_then_result_rows(home: Path) -> None:
    source = _contacts(home.parent / "c.csv", 3_000)
    code, screen = _on_a_terminal(
        home, "load", "Contact", str(source), "--strategy", "bulk", "--results-dir", "r"
    )
    assert code == 0, screen
    final = screen.replace("\r", "\n").splitlines()
    jobs = [line for line in final if "jobs: 1 JobComplete" in line]
    assert jobs, screen
    assert "3,000/3,000" in jobs[-1]  # the jobs bar counts processed records
    written = [line for line in final if "results: rows written" in line]
    assert written, screen
    assert "3,000/3,000" in written[-1]
    assert not any(re.search(r"\b0/\?", line) for line in final)
    assert "3000" not in screen.replace("3,000", "")  # every count with its separator


def test_jobs_list_shows_each_jobs_processed_and_failed_records(home: Path) -> None:
    source = _contacts(home.parent / "c.csv", 1_200, bad_every=100)
    loaded = _run(home, "load", "Contact", str(source), "--strategy", "bulk", "--json")
    assert loaded.returncode == 1, loaded.stderr
    job_id = json.loads(loaded.stdout)["job_ids"][0]
    listed = _run(home, "jobs", "list", "--kind", "ingest", "--json")
    assert listed.returncode == 0, listed.stderr
    (job,) = [j for j in json.loads(listed.stdout) if j["id"] == job_id]
    assert (job["records_processed"], job["records_failed"]) == (1_200, 12)
    table = _run(home, "jobs", "list", "--kind", "ingest")
    (row,) = [line for line in table.stdout.splitlines() if job_id in line]
    assert "1,200" in row
    assert re.search(r"\b12\b", row)


def test_the_load_summary_counts_rows_by_error_code(home: Path) -> None:
    with SalesforceClient.connect("local", home=home) as client:
        client.create("Contact", {"LastName": "Taken", "External_Id__c": "dup"})
    source = home.parent / "c.csv"
    rows = ["LastName,Email,Birthdate"] + [f"Ng {n},c{n}@example.com," for n in range(1, 21)]
    rows += [f",x{n}@example.com," for n in range(3)]  # REQUIRED_FIELD_MISSING
    rows += [f"Bad {n},b{n}@example.com,not-a-date" for n in range(2)]
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = _run(home, "load", "Contact", str(source), "--results-dir", "r", "--json")
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    assert summary["errors_by_code"]["REQUIRED_FIELD_MISSING"] == 3
    assert sum(summary["errors_by_code"].values()) == summary["failed"] + summary["unprocessed"] == 5
    assert list(summary["errors_by_code"].values()) == sorted(
        summary["errors_by_code"].values(), reverse=True
    )
    text = _run(home, "load", "Contact", str(source), "--results-dir", "r")
    assert "rows by error" in text.stdout
    (line,) = [x for x in text.stdout.splitlines() if "REQUIRED_FIELD_MISSING" in x and "│ 3" in x]
    assert line
    paths = [x.split(": ", 1)[1] for x in text.stderr.splitlines() if " rows: " in x]
    assert len(paths) == 3
    assert all(Path(home.parent / p).is_file() or Path(p).is_file() for p in paths)
