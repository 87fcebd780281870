"""Eight threads load and query through one client at once, against an emulator with latency and short
sessions: no errors, no mixed-up results, and exactly one session renewal per expiry."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import connect, store_keys

from kinetic_core.emulator.server import LocalOrg

THREADS = 8
ROUNDS = 4
# The session lifetime must exceed the slowest single call, or no client can make progress: a session is
# checked when the emulator handles the call, so a call that waits longer than the lifetime in a loaded
# machine's queues is refused even with a session renewed a moment before it was sent. On 2 busy cores
# (load average 8) calls of these 8 threads took up to 0.65 s, so sessions live 2 s; the threads keep
# working past ROUNDS until 2.5 lifetimes have passed, so every run outlives at least two sessions.
TTL = 2.0
MIN_RUN = 2.5 * TTL


@pytest.fixture
def slow_org(tmp_path: Path) -> Iterator[LocalOrg]:
    with LocalOrg(data_dir=tmp_path / "org", shuffle_results=True, query_page_size=50) as org:
        yield org


def test_eight_threads_share_one_client(slow_org: LocalOrg) -> None:
    errors: list[str] = []
    mixups: list[str] = []
    rounds_done = [0] * THREADS
    barrier = threading.Barrier(THREADS)
    with connect(slow_org) as client:
        client.limits()
        slow_org.admin(
            "faults", {"latency_ms": 3, "latency_jitter_ms": 7, "session_ttl_seconds": TTL, "seed": 3}
        )
        started = time.monotonic()

        def worker(t: int) -> None:
            try:
                barrier.wait()
                r = 0
                while r < ROUNDS or time.monotonic() - started < MIN_RUN:
                    tag = f"T{t}R{r}"
                    rows: list[dict[str, Any]] = [
                        {
                            "Name": f"{tag}-{i}",
                            "External_Id__c": f"{tag}-{i}",
                            "NumberOfEmployees": t * 100 + i,
                        }
                        for i in range(60)
                    ]
                    created = client.create_batch("Account", rows[:20])
                    bulk = client.bulk.insert("Account", rows[20:50])
                    with bulk:
                        if bulk.successful != 30:
                            errors.append(f"{tag}: bulk {bulk!r}")
                    routed = client.load("Account", rows[50:], strategy="auto")
                    if routed.successful != 10 or not all(r.success for r in created):
                        errors.append(f"{tag}: composite/router failures")
                    found = list(
                        client.query(
                            f"SELECT External_Id__c, NumberOfEmployees FROM Account WHERE Name LIKE '{tag}-%'"
                        )
                    )
                    keys = sorted(str(x["External_Id__c"]) for x in found)
                    if keys != sorted(str(x["External_Id__c"]) for x in rows):
                        mixups.append(f"{tag}: REST query returned {len(keys)} rows: {keys[:3]}...")
                    if any(int(x["NumberOfEmployees"]) // 100 != t for x in found):
                        mixups.append(f"{tag}: a row of another thread")
                    exported = list(
                        client.bulk.query(f"SELECT External_Id__c FROM Account WHERE Name LIKE '{tag}-%'")
                    )
                    if sorted(str(x["External_Id__c"]) for x in exported) != keys:
                        mixups.append(f"{tag}: bulk query differs")
                    if client.count("Account", "Name LIKE {}", f"{tag}-%") != 60:
                        mixups.append(f"{tag}: count differs")
                    r += 1
                    rounds_done[t] = r
            except Exception as exc:  # every failure is a finding
                errors.append(f"thread {t}: {type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
        elapsed = time.monotonic() - started
        slow_org.admin("faults", {})
        refreshes = client.http.refresh_count
        logins = client.http.auth_count
        stats = slow_org.admin("stats")
    assert not errors, errors[:5]
    assert not mixups, mixups[:5]
    assert min(rounds_done) >= ROUNDS
    assert sum(store_keys(slow_org, "Account", prefix="T").values()) == sum(rounds_done) * 60
    assert max(store_keys(slow_org, "Account", prefix="T").values()) == 1
    # one renewal per expiry: a session lives TTL seconds, so a run of `elapsed` seconds needs at most
    # elapsed / TTL + 1 renewals; concurrent 401s of the 8 threads must share them
    assert refreshes >= 1, f"the run ({elapsed:.1f} s) should have outlived a {TTL} s session"
    assert refreshes <= elapsed / TTL + 1, f"{refreshes} renewals in {elapsed:.1f} s with {TTL} s sessions"
    assert logins == refreshes + 1
    assert stats["requests"].get("oauth", 0) == logins, stats["requests"]
