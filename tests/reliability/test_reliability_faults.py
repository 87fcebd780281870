"""Faults: the soak (reduced by default, full sizes with ``-m slow``) and targeted lost-answer cases.

The soak itself lives in ``benchmarks/reliability.py`` (which also writes ``docs/reliability.md``);
these tests run it and require exactly-once outcomes. The lost-answer tests wrap the client's transport
so that a request reaches the emulator and is processed, and only its answer is lost: the case the
emulator's ``drop_connection_rate`` fault does not produce (it drops before processing).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from reliability_helpers import connect, soak_module, store_keys

from kinetic_core.composite import IN_DOUBT
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import RequestLimitExceeded


def _assert_soak(report: Any) -> None:
    lines = []
    for p in report.phases:
        lines.append(
            f"{p.name}: runs={p.runs} limit_stops={p.limit_stops} other={p.other_errors} "
            f"ok={p.client_successful} store={p.store_rows}/{p.source_rows} dup={p.duplicates} "
            f"lost={p.losses} wrong={p.wrong_values}"
        )
    summary = "\n".join(lines)
    for p in report.phases:
        assert p.duplicates == 0, summary
        assert p.losses == 0, summary
        assert p.wrong_values == 0, summary
        assert p.store_rows == p.source_rows, summary
        assert p.client_successful == p.store_rows, summary
        assert p.limit_stops == 1, f"the API limit should stop the client once per phase\n{summary}"
        assert "REQUEST_LIMIT_EXCEEDED" in p.limit_message, summary
    for p in report.phases:
        assert not p.other_errors, f"a transient fault stopped the client (not survived)\n{summary}"
    injected = {k: sum(p.faults.get(k, 0) for p in report.phases) for k in ("error", "drop_connection")}
    assert injected["error"] > 0, summary
    assert sum(p.refreshes for p in report.phases) > 0, "no session expired during the soak"


def test_soak_reduced(tmp_path: Path) -> None:
    bench = soak_module()
    cfg = bench.SoakConfig(rows=5_000, export_rows=10_000)
    report = bench.run_soak(cfg, tmp_path, log=lambda s: None)
    _assert_soak(report)


@pytest.mark.slow
def test_soak_full_sizes() -> None:
    bench = soak_module()
    with tempfile.TemporaryDirectory(prefix="kinetic-soak-") as workdir:
        report = bench.run_soak(bench.SoakConfig.full(), Path(workdir), log=lambda s: None)
    _assert_soak(report)


class LoseAnswer(httpx.BaseTransport):
    """Forwards every request; for the first ``times`` matching ones, processes it and loses the answer."""

    def __init__(self, method: str, path_suffix: str, times: int = 1) -> None:
        self.inner = httpx.HTTPTransport()
        self.method = method
        self.suffix = path_suffix
        self.left = times
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.left and request.method == self.method and request.url.path.endswith(self.suffix):
            self.left -= 1
            self.lost += 1
            response.read()
            response.close()
            raise httpx.RemoteProtocolError("server disconnected without sending a response", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def org(tmp_path: Path) -> Iterator[LocalOrg]:
    with LocalOrg(data_dir=tmp_path / "org", shuffle_results=True) as running:
        yield running


def _rows(prefix: str, n: int) -> list[dict[str, Any]]:
    return [{"Name": f"{prefix}{i}", "External_Id__c": f"{prefix}{i}"} for i in range(n)]


def test_lost_answer_to_bulk_job_creation_does_not_stop_the_load(org: LocalOrg) -> None:
    lose = LoseAnswer("POST", "/jobs/ingest")
    with connect(org, transport=lose) as client:
        result = client.bulk.insert("Account", _rows("J", 50))
        with result:
            assert (result.total, result.successful) == (50, 50)
    assert lose.lost == 1
    assert store_keys(org, "Account", prefix="J") == {f"J{i}": 1 for i in range(50)}


@pytest.mark.parametrize(
    ("method", "suffix"), [("PUT", "/batches"), ("PATCH", ""), ("GET", "/successfulResults")]
)
def test_lost_answer_mid_bulk_job_keeps_exactly_once(org: LocalOrg, method: str, suffix: str) -> None:
    lose = LoseAnswer(method, suffix)
    with connect(org, transport=lose) as client:
        result = client.bulk.insert("Account", _rows("B", 40))
        with result:
            assert (result.total, result.successful, result.failed) == (40, 40, 0)
    assert lose.lost == 1
    assert store_keys(org, "Account", prefix="B") == {f"B{i}": 1 for i in range(40)}


def test_lost_answer_to_composite_create_is_in_doubt_never_resent(org: LocalOrg) -> None:
    lose = LoseAnswer("POST", "/composite/sobjects")
    with connect(org, transport=lose) as client:
        results = client.create_batch("Account", _rows("C", 250))
    doubt = [r.index for r in results if r.in_doubt]
    assert doubt == list(range(200)), "the first chunk's answer was lost: its rows are in doubt"
    assert all(r.errors[0].code == IN_DOUBT for r in results if not r.success)
    assert all(r.success for r in results[200:])
    assert store_keys(org, "Account", prefix="C") == {
        f"C{i}": 1 for i in range(250)
    }  # created once, not twice


def test_lost_answer_to_upsert_is_retried_idempotently(org: LocalOrg) -> None:
    lose = LoseAnswer("PATCH", "/External_Id__c")
    with connect(org, transport=lose) as client:
        results = client.upsert_batch("Account", _rows("U", 30), "External_Id__c")
        one = client.upsert("Account", "External_Id__c", "U-single", {"Name": "single"})
    assert all(r.success for r in results)
    assert one.id
    assert store_keys(org, "Account", prefix="U") == {**{f"U{i}": 1 for i in range(30)}, "U-single": 1}


def test_request_limit_stops_a_rest_load_instead_of_hammering(org: LocalOrg) -> None:
    with connect(org) as client:
        client.limits()
        org.admin("faults", {"api_request_limit": org.org.api_counter.used() + 3})
        try:
            result = client.load("Account", _rows("L", 12), strategy="rest")
        except RequestLimitExceeded:
            result = None
        refused = org.admin("faults")["injected"].get("request_limit", 0)
        org.admin("faults", {})
    if result is not None:
        statuses = [o.status for o in result]
        assert statuses.count("success") == 3, statuses
        assert statuses[3:] == ["unprocessed"] * 9, (
            f"rows after the limit must be reported unprocessed: {statuses}"
        )
    assert refused <= 1, f"the client kept calling after REQUEST_LIMIT_EXCEEDED: {refused} refused calls"
    assert set(store_keys(org, "Account", prefix="L")) == {"L0", "L1", "L2"}
