"""Fault injection and the admin API."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
import pytest

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.faults import FaultConfig, Faults

if TYPE_CHECKING:
    from conftest import EmulatorApi


def _statuses(api: EmulatorApi, n: int) -> list[int]:
    return [api.get("limits").status_code for _ in range(n)]


def test_error_rate_is_deterministic_for_a_seed(emulator_api: EmulatorApi) -> None:
    emulator_api.local.admin("faults", {"seed": 42, "error_rate": 0.5, "error_status": 500})
    first = _statuses(emulator_api, 30)
    emulator_api.local.admin("faults", {"seed": 42, "error_rate": 0.5, "error_status": 500})
    second = _statuses(emulator_api, 30)
    assert first == second
    assert set(first) == {200, 500}
    emulator_api.local.admin("faults", {})
    assert set(_statuses(emulator_api, 5)) == {200}


def test_injected_error_bodies(emulator_api: EmulatorApi) -> None:
    emulator_api.local.admin("faults", {"error_rate": 1.0, "error_status": 503})
    response = emulator_api.get("limits")
    assert response.status_code == 503
    assert response.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    # OAuth is under /services too; the admin API never is faulted
    token = httpx.post(
        f"{emulator_api.local.login_url}/services/oauth2/token", data={"grant_type": "password"}
    )
    assert token.status_code == 503
    stats = emulator_api.local.admin("stats")
    assert stats["faults"]["error"] == 2


def test_faults_config_round_trip_and_validation(emulator_api: EmulatorApi) -> None:
    body = emulator_api.local.admin("faults", {"latency_ms": 5, "api_request_limit": 10})
    assert body["config"]["latency_ms"] == 5
    assert body["config"]["api_request_limit"] == 10
    assert emulator_api.local.admin("faults")["config"]["latency_ms"] == 5
    url = f"{emulator_api.local.instance_url}/_emulator/faults"
    for bad in ({"error_rate": 2}, {"error_status": 404}, {"nope": 1}, {"latency_ms": "x"}, [1]):
        response = httpx.post(url, json=bad, headers=emulator_api.local.admin_headers)
        assert response.status_code == 400, bad
        assert response.json()[0]["errorCode"] in ("INVALID_FIELD", "JSON_PARSER_ERROR")


def test_latency(emulator_api: EmulatorApi) -> None:
    emulator_api.local.admin("faults", {"latency_ms": 60})
    started = time.monotonic()
    assert emulator_api.get("limits").status_code == 200
    assert time.monotonic() - started >= 0.055


def test_drop_connection(emulator_api: EmulatorApi) -> None:
    emulator_api.local.admin("faults", {"drop_connection_rate": 1.0, "seed": 1})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        emulator_api.get("limits")
    emulator_api.local.admin("faults", {})
    assert emulator_api.get("limits").status_code == 200
    assert emulator_api.local.admin("stats")["faults"]["drop_connection"] == 1


def test_drop_response_applies_the_request_and_loses_the_answer(emulator_api: EmulatorApi) -> None:
    emulator_api.local.admin("faults", {"drop_response_rate": 1.0, "methods": ["post"], "seed": 3})
    assert emulator_api.get("limits").status_code == 200  # GETs are not targeted
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        emulator_api.post("sobjects/Account", json={"Name": "Lost answer"})
    emulator_api.local.admin("faults", {})
    found = emulator_api.get("query", params={"q": "SELECT Id FROM Account WHERE Name = 'Lost answer'"})
    assert found.json()["totalSize"] == 1  # the create took effect
    assert emulator_api.local.admin("stats")["faults"]["drop_response"] == 1


def test_faults_can_target_a_path(emulator_api: EmulatorApi) -> None:
    emulator_api.local.admin("faults", {"error_rate": 1.0, "path_contains": "/query"})
    assert emulator_api.get("limits").status_code == 200
    assert emulator_api.get("query", params={"q": "SELECT Id FROM Account"}).status_code == 503
    assert emulator_api.local.admin("faults")["config"]["path_contains"] == "/query"
    emulator_api.local.admin("faults", {})


def test_session_ttl_fault_expires_old_sessions(emulator_api: EmulatorApi) -> None:
    time.sleep(0.05)
    emulator_api.local.admin("faults", {"session_ttl_seconds": 0.01})
    response = emulator_api.get("limits")
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    emulator_api.local.admin("faults", {})
    assert emulator_api.get("limits").status_code == 200


def test_api_request_limit(emulator_api: EmulatorApi) -> None:
    emulator_api.local.admin("faults", {"api_request_limit": 3})
    statuses = _statuses(emulator_api, 5)
    assert statuses[-1] == 403
    response = emulator_api.get("limits")
    assert response.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert response.headers["sforce-limit-info"].endswith("/3")
    assert emulator_api.http.get("/services/data").status_code == 200  # versions list is not counted


def test_reset_and_stats(emulator_api: EmulatorApi) -> None:
    emulator_api.create("Account", Name="x")
    stats = emulator_api.local.admin("stats")
    assert stats["records"]["Account"] == 1
    assert stats["requests"]["sobjects"] >= 1
    assert stats["requests"]["oauth"] >= 1
    emulator_api.local.admin("reset")
    assert emulator_api.local.admin("stats")["records"]["Account"] == 0
    assert emulator_api.local.admin("stats")["records"]["User"] >= 1
    assert emulator_api.get("limits").status_code == 200  # sessions survive a reset


def test_faults_object_unit() -> None:
    faults = Faults()
    assert faults.decide().error_status is None
    faults.configure(FaultConfig(seed=3, drop_connection_rate=1.0))
    assert faults.decide().drop
    faults.configure(FaultConfig.from_json({"latency_ms": 10, "latency_jitter_ms": 5, "seed": 9}))
    delays = [faults.decide().delay_seconds for _ in range(5)]
    assert all(0.010 <= d <= 0.015 for d in delays)
    faults.configure(FaultConfig.from_json({"latency_ms": 10, "latency_jitter_ms": 5, "seed": 9}))
    assert [faults.decide().delay_seconds for _ in range(5)] == delays
    with pytest.raises(ApiError):
        FaultConfig.from_json({"seed": True})
