"""Memory and time the client spends against each hostile answer, at the default ``ResponseBounds``.

``python tests/security/hostile_measure.py`` runs every scenario: the hostile server in this
process, the client in a fresh subprocess that reports its peak RSS (``VmHWM``), the time to
the error and the error itself, one JSON line each. A scenario may override a bound when its
default would take minutes (named in the output). The slow security test runs it too.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from hostile_server import HostileServer, MiB, gzip_bomb

TOKEN = "00DHOSTILE!measure"


@dataclass(frozen=True)
class Scenario:
    name: str
    mode: str
    call: str
    """``rest`` (client.query, read whole), ``records`` (bulk query records), ``export`` (bulk to a file)."""
    server: dict[str, Any] = field(default_factory=dict)
    bounds: dict[str, Any] = field(default_factory=dict)


SCENARIOS = (
    Scenario("REST answer of 1.5 GB", "huge", "rest", {"size": 1536 * MiB}),
    Scenario(
        "REST answer of 1.5 GB, no Content-Length",
        "huge",
        "rest",
        {"size": 1536 * MiB, "declare_length": False},
    ),
    Scenario("REST gzip bomb (1 GiB in 1 MB)", "bomb", "rest"),
    Scenario("Bulk page gzip bomb, records", "bulk_bomb", "records"),
    Scenario("Bulk page gzip bomb, export", "bulk_bomb", "export"),
    Scenario(
        "Bulk page of 1 GiB, records",
        "bulk_huge",
        "records",
        {"size": 1024 * MiB},
        {"max_download_bytes": 256 * MiB},
    ),
    Scenario(
        "Bulk page of 1 GiB, records, no Content-Length",
        "bulk_huge",
        "records",
        {"size": 1024 * MiB, "declare_length": False},
        {"max_download_bytes": 256 * MiB},
    ),
    Scenario(
        "Bulk page of 1 GiB, export, no Content-Length",
        "bulk_huge",
        "export",
        {"size": 1024 * MiB, "declare_length": False},
        {"max_download_bytes": 256 * MiB},
    ),
    Scenario("Bulk endless unique locators", "endless_locators", "records", {"declared": 200}),
    Scenario("Bulk empty pages with locators", "empty_locators", "export"),
    Scenario("REST done:false pages without records", "empty_pages", "rest"),
    Scenario("REST repeated nextRecordsUrl", "repeat", "rest"),
    Scenario("REST more records than totalSize", "over_total", "rest", {"declared": 200}),
    Scenario(
        "REST trickle, 1 byte / 1.5 s", "trickle", "rest", {"trickle_delay": 1.5}, {"request_deadline": 10.0}
    ),
    Scenario("Bulk trickle, 1 byte / 1.5 s", "bulk_trickle", "export", {"trickle_delay": 1.5}),
    Scenario(
        "Bulk trickle, 1 byte / 1.5 s, progress rule off",
        "bulk_trickle",
        "export",
        {"trickle_delay": 1.5},
        {"download_deadline": 10.0, "min_download_rate": 0},
    ),
    Scenario(
        "REST headers trickled, 1 byte / 1.5 s",
        "head_trickle",
        "rest",
        {"trickle_delay": 1.5},
        {"request_deadline": 10.0},
    ),
    Scenario(
        "Bulk page headers trickled, 1 byte / 1.5 s",
        "bulk_head_trickle",
        "export",
        {"trickle_delay": 1.5},
        {"request_deadline": 10.0},
    ),
)


def client_side(url: str, call: str, bounds: dict[str, Any]) -> dict[str, Any]:
    """Run one call against ``url``; return the error, the seconds and the peak RSS of this process."""
    from kinetic_core import SalesforceClient
    from kinetic_core.auth import StaticTokenAuth
    from kinetic_core.bulk import BulkClient
    from kinetic_core.bulk.poller import PollPolicy
    from kinetic_core.http import HttpSession, ResponseBounds

    session = HttpSession(StaticTokenAuth(url, TOKEN), bounds=ResponseBounds(**bounds), sleep=lambda _s: None)
    started = time.monotonic()
    error = "none"
    with SalesforceClient(session) as client, tempfile.TemporaryDirectory() as tmp:
        bulk = BulkClient(client, poll=PollPolicy(initial=0.01, maximum=0.01), state_dir=False)
        try:
            if call == "rest":
                list(client.query("SELECT Id FROM Account"))
            elif call == "records":
                for _ in bulk.query("SELECT Id FROM Account"):
                    pass
            else:
                bulk.query("SELECT Id FROM Account", out=Path(tmp) / "out.csv")
        except Exception as exc:  # the measurement reports whatever ended the call
            error = f"{type(exc).__name__}: {str(exc)[:400]}"
    seconds = time.monotonic() - started
    return {"error": error, "seconds": round(seconds, 2), "peak_rss_mb": round(peak_rss_kib() / 1024, 1)}


def peak_rss_kib() -> int:
    """This process's own peak resident size in KiB.

    ``ru_maxrss`` survives ``execve``: a child started by a large parent (a long pytest run)
    reports the parent's peak. ``VmHWM`` belongs to the new address space, so it is read first.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(scenario: Scenario, bomb: bytes) -> dict[str, Any]:
    """Serve ``scenario`` and run the client in a subprocess; its figures plus the request count."""
    with HostileServer() as server:
        server.mode = scenario.mode
        server.bomb = bomb
        for key, value in scenario.server.items():
            setattr(server, key, value)
        command = [
            sys.executable,
            __file__,
            "--client",
            server.url,
            scenario.call,
            json.dumps(scenario.bounds),
        ]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{scenario.name}: client process failed: {done.stderr[-2000:]}")
        figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        figures["requests"] = len(server.seen)
    return {"scenario": scenario.name, "bounds": scenario.bounds or "defaults", **figures}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        print(json.dumps(client_side(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))))
        return
    bomb = gzip_bomb(1024)
    for scenario in SCENARIOS:
        print(json.dumps(measure(scenario, bomb)), flush=True)


if __name__ == "__main__":
    main()
