"""What the router observes of a real org: per-call latency through the session, per-record costs from
its own loads, the allowances, and the defaults it starts from (emulator with injected latency)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from kinetic_core.auth.flows import PasswordAuth
from kinetic_core.client import SalesforceClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.http.session import HttpSession
from kinetic_core.load import CostModel, Strategy, count_limit, load
from kinetic_core.load.observe import CallTimer, default_model, org_view

LATENCY_MS = 40.0


@pytest.fixture
def org(tmp_path: Path) -> Iterator[LocalOrg]:
    with LocalOrg(data_dir=tmp_path / "org") as running:
        running.admin("faults", {"latency_ms": LATENCY_MS})
        yield running


@pytest.fixture
def client(org: LocalOrg) -> Iterator[SalesforceClient]:
    auth = PasswordAuth(org.login_url, org.client_id, org.client_secret, org.username, org.password)
    sf = SalesforceClient(HttpSession(auth, api_version=org.api_version, sleep=lambda s: None))
    try:
        yield sf
    finally:
        sf.close()


def test_the_timer_is_installed_once_and_sees_the_injected_latency(client: SalesforceClient) -> None:
    timer = CallTimer.install(client)
    assert timer is not None
    assert CallTimer.install(client) is timer  # one timer per connection pool
    assert timer.call_seconds() is None
    for n in range(3):
        client.create("Contact", {"LastName": f"T{n}"})
    latency = timer.call_seconds()
    assert latency is not None
    assert latency >= LATENCY_MS / 1000
    assert latency < 1.0


def test_a_first_load_measures_the_latency_only_when_the_choice_depends_on_it(
    org: LocalOrg, client: SalesforceClient
) -> None:
    before = org.org.request_counts().get("limits", 0)
    one = load(client, "Contact", [{"LastName": "One"}])
    # one record: REST whatever the latency (a Composite call costs the server more), so no limits call
    assert one.strategy is Strategy.REST
    assert org.org.request_counts().get("limits", 0) == before
    assert "(assumed 2 ms per call" in one.reason  # the login is not a measure of the latency
    view = org_view(client, 30_000, 0, CostModel.salesforce())
    assert view.observed
    assert view.model.call_seconds >= LATENCY_MS / 1000
    # 30,000 records: Bulk is likely, so the Bulk batches left are read
    assert view.bulk_batches_remaining is not None
    assert view.bulk_batches_remaining > 0
    assert view.api_remaining is not None


def test_unknown_latency_is_measured_with_one_limits_call(org: LocalOrg, client: SalesforceClient) -> None:
    before = org.org.request_counts().get("limits", 0)
    # with Salesforce's figures, 3,000 records go Composite on a fast org and Bulk on a slow one
    view = org_view(client, 3_000, 0, CostModel.salesforce())
    assert org.org.request_counts().get("limits", 0) == before + 1
    assert view.observed
    assert view.model.call_seconds >= LATENCY_MS / 1000


def test_per_record_costs_are_refined_from_the_routers_own_loads(client: SalesforceClient) -> None:
    timer = CallTimer.install(client)
    assert timer is not None
    assert timer.refine(CostModel.salesforce()) == (CostModel.salesforce(), False)  # nothing seen yet
    client.create("Contact", {"LastName": "Plain"})  # one plain call: the latency
    for _ in range(3):  # a cost is learnt from three loads on
        result = load(client, "Contact", [{"LastName": f"C{n}"} for n in range(400)], strategy="composite")
        assert result.successful == 400
    refined, observed = timer.refine(CostModel.salesforce())
    assert observed
    # the 3 ms per record of the Salesforce defaults gave way to what this org showed
    assert refined.composite_record_seconds != CostModel.salesforce().composite_record_seconds
    assert refined.composite_record_seconds < 0.05


def test_defaults_follow_the_org(client: SalesforceClient) -> None:
    assert default_model(client) == CostModel.emulator()  # a loopback instance URL

    class Remote:
        instance_url = "https://acme.my.salesforce.com"

    class Local:
        org_local = True
        instance_url = "https://not-loopback.example.com"

    assert default_model(Remote()) == CostModel.salesforce()
    assert default_model(Local()) == CostModel.emulator()


def test_a_client_without_an_httpx_pool_gets_no_timer() -> None:
    class Bare:
        http = None

    assert CallTimer.install(Bare()) is None
    view = org_view(Bare(), 10, 0, CostModel.salesforce())
    assert not view.observed
    assert view.model == CostModel.salesforce()


def test_calls_carrying_records_logins_and_result_files_are_not_latency() -> None:
    import httpx

    now = [0.0]
    timer = CallTimer(clock=lambda: now[0])
    base = "https://acme.my.salesforce.com/services"
    for path, took in [
        ("/data/v62.0/sobjects/Contact", 0.05),
        ("/data/v62.0/composite/sobjects", 2.0),
        ("/oauth2/token", 1.5),
        ("/data/v62.0/jobs/ingest/750x/batches", 3.0),
        ("/data/v62.0/jobs/ingest/750x/successfulResults/", 4.0),
        ("/data/v62.0/jobs/ingest/750x", 0.07),
    ]:
        request = httpx.Request("GET", base + path)
        timer.on_request(request)
        now[0] += took
        timer.on_response(httpx.Response(200, request=request))
    assert timer.call_seconds() == pytest.approx(0.06)  # the median of 0.05 and 0.07


def test_a_one_shot_input_is_counted_up_to_where_the_observed_figures_switch_to_bulk(
    client: SalesforceClient,
) -> None:
    timer = CallTimer.install(client)
    assert timer is not None
    client.create("Contact", {"LastName": "Plain"})  # the latency
    # defaults that put the switch at the 2,000-record floor; the loads seen say Composite is cheap
    model = replace(CostModel.emulator(), composite_record_seconds=0.002, bulk_job_seconds=0.3)
    assert count_limit(None, model) == 2_000
    latency = timer.call_seconds()
    assert latency is not None
    for _ in range(3):
        timer.note_load(Strategy.COMPOSITE, 10 * latency + 2_000 * 0.00002, 2_000)
    refined, _ = timer.refine(model)
    limit = count_limit(None, refined)
    assert limit > 2_000
    records = ({"LastName": f"G{n}"} for n in range(limit + 500))
    result = load(client, "Contact", records, model=model)
    try:
        assert result.strategy is Strategy.BULK
        assert result.reason.startswith(f"at least {limit:,} records: Bulk API 2.0, predicted")
        assert result.successful == limit + 500
    finally:
        result.close()
    # the whole load is noted, with its true size: the Bulk per-record cost is now observed
    assert timer.refine(model)[0].bulk_record_seconds != model.bulk_record_seconds
