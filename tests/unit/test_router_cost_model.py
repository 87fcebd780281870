"""The router's cost model: predictions, choices at the boundaries under two org models, reasons.

``decide`` is pure, so every case gives the figures in and checks the choice and the text out.
The two org models are those of ``benchmarks/router.py``: the local emulator (a few ms per call,
Bulk queued 0.5 s and run at 20,000 records/s) and a production-like org (50 ms per call, Bulk
queued 5 s and run at 5,000 records/s).
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.load import CostModel, Strategy, Thresholds, count_limit, decide, predict
from kinetic_core.load.decide import poll_wait

LOCAL = replace(
    CostModel.emulator(), call_seconds=0.003, bulk_job_seconds=0.5, bulk_records_per_second=20_000.0
)
PRODUCTION = replace(
    CostModel.emulator(), call_seconds=0.05, bulk_job_seconds=5.0, bulk_records_per_second=5_000.0
)
MODELS = {"local": LOCAL, "production": PRODUCTION}


def crossover(model: CostModel) -> int:
    """The first count from which the model picks Bulk (searched, not assumed)."""
    low, high = 1, 1_000_000
    while low < high:
        mid = (low + high) // 2
        if decide(mid, 0, None, None, model=model).strategy is Strategy.BULK:
            high = mid
        else:
            low = mid + 1
    return low


def test_predictions_follow_the_formulas() -> None:
    m = CostModel(
        call_seconds=0.1,
        rest_record_seconds=0.0,
        composite_call_seconds=0.02,
        composite_record_seconds=0.001,
        bulk_calls_per_job=6,
        bulk_job_seconds=5.0,
        bulk_records_per_second=1_000.0,
        bulk_record_seconds=0.0,
        poll_delays=(1.0, 2.0, 4.0, 8.0),
    )
    times = predict(1_000, 0, m)
    assert times[Strategy.REST] == pytest.approx(100.0)  # 1,000 calls
    # 5 calls, each its round trip and its own server time, + 1,000 records
    assert times[Strategy.COMPOSITE] == pytest.approx(5 * (0.1 + 0.02) + 1.0)
    # 6 s of server time is seen at the poll after 1 + 2 + 4 = 7 s, plus six calls
    assert times[Strategy.BULK] == pytest.approx(0.6 + 7.0)


def test_a_big_upload_is_several_jobs() -> None:
    one = predict(100_000, 90_000_000, PRODUCTION)[Strategy.BULK]
    two = predict(100_000, 190_000_000, PRODUCTION)[Strategy.BULK]
    assert two > one  # a second job's queue time and calls


def test_poll_schedule_past_its_end_repeats_the_last_delay() -> None:
    m = CostModel(poll_delays=(1.0, 2.0))
    assert poll_wait(m, 0.5) == 1.0
    assert poll_wait(m, 2.5) == 3.0
    assert poll_wait(m, 6.5) == 7.0  # 3 + 2 + 2
    assert poll_wait(CostModel(), 20.0) == pytest.approx(21.0)  # no schedule: half the overshoot
    # a job that ends before the router's first poll is seen at that poll
    assert poll_wait(CostModel(), 0.02) == pytest.approx(0.1)
    assert poll_wait(CostModel(), 0.5) == pytest.approx(0.55)


def test_poll_schedule_from_a_policy() -> None:
    m = CostModel().with_poll_schedule(PollPolicy(initial=1, maximum=30).delays(), horizon=100)
    # a job without progress figures is polled every second, then every tenth of the time waited
    assert m.poll_delays[:10] == (1.0,) * 10
    assert m.poll_delays[10] == pytest.approx(1.0)
    assert m.poll_delays[11] == pytest.approx(1.1)
    assert sum(m.poll_delays) >= 100
    assert poll_wait(m, 16.0) - 16.0 <= 1.0 + 1.6  # seen at most one wait late


@pytest.mark.parametrize("name", sorted(MODELS))
def test_composite_from_two_records(name: str) -> None:
    model = MODELS[name]
    assert decide(2, 0, None, None, model=model).strategy is Strategy.COMPOSITE
    assert decide(3, 0, None, None, model=model).strategy is Strategy.COMPOSITE
    for n in (199, 200, 201):
        assert decide(n, 0, None, None, model=model).strategy is Strategy.COMPOSITE


@pytest.mark.parametrize("name", sorted(MODELS))
def test_bulk_exactly_where_its_prediction_is_lower(name: str) -> None:
    model = MODELS[name]
    switch = crossover(model)
    below, at = predict(switch - 1, 0, model), predict(switch, 0, model)
    assert below[Strategy.COMPOSITE] <= below[Strategy.BULK]
    assert at[Strategy.BULK] < at[Strategy.COMPOSITE]
    assert decide(switch - 1, 0, None, None, model=model).strategy is Strategy.COMPOSITE
    assert decide(switch, 0, None, None, model=model).strategy is Strategy.BULK


def test_the_org_model_moves_the_switch_point() -> None:
    # a slow call makes Composite's 500 calls dear, a long Bulk queue makes Bulk dear
    assert crossover(PRODUCTION) < crossover(replace(PRODUCTION, bulk_job_seconds=20.0))
    assert crossover(replace(PRODUCTION, call_seconds=0.2)) < crossover(PRODUCTION)
    # a slower Composite record (a busier org) brings Bulk closer
    assert crossover(replace(LOCAL, composite_record_seconds=0.002)) < crossover(LOCAL)


def test_salesforce_defaults_follow_the_documented_advice() -> None:
    # Salesforce: "more than 2,000 records" suits Bulk API 2.0, fewer suit Composite
    assert 1_000 <= crossover(CostModel.salesforce()) <= 4_000
    # the local emulator queues no job and limits no rate: Bulk pays off early
    assert crossover(CostModel.emulator()) < crossover(CostModel.salesforce())


def test_reason_gives_the_predicted_figures_with_thousands_separators() -> None:
    decision = decide(100_000, 0, 80_000, None, model=PRODUCTION, observed=True)
    times = decision.predicted
    assert decision.strategy is Strategy.BULK
    assert decision.reason == (
        f"100,000 records: Bulk API 2.0, predicted {times[Strategy.BULK]:,.1f} s vs Composite "
        f"{times[Strategy.COMPOSITE]:,.1f} s and REST {times[Strategy.REST]:,.1f} s "
        "(observed 50 ms per call, REST +0.02 ms and Composite +0.15 ms per call, 0.10 ms per Composite"
        " record, Bulk 5,000 records/s + 5.0 s per job)"
    )
    small = decide(20, 0, None, None, model=PRODUCTION)
    assert small.reason.startswith(
        "20 records: Composite, predicted 52.1 ms vs Bulk API 2.0 5.6 s and REST 1.0 s"
    )
    assert "; 1 call of up to 200 records (assumed 50 ms per call" in small.reason


def test_allowances_rule_out_an_api_and_the_reason_says_so() -> None:
    # Bulk is faster but 12 batches left, 10 kept back, 10 needed: Composite, and why
    decision = decide(100_000, 0, None, 12, model=PRODUCTION)
    assert decision.strategy is Strategy.COMPOSITE
    assert "Bulk API 2.0" in decision.reason
    assert "(ruled out)" in decision.reason
    assert "only 12 Bulk batches are left today (10 needed, 10 kept in reserve)" in decision.reason
    # Composite is faster but its 50 calls would cut into the 500-call reserve: Bulk
    decision = decide(10_000, 0, 540, None, model=PRODUCTION)
    assert decision.strategy is Strategy.BULK
    assert decision.reason == (
        "10,000 records: Composite would take 50 calls and cut into the 500-call reserve "
        "(540 calls left today): Bulk API 2.0"
    )


def test_set_thresholds_override_the_model() -> None:
    assert decide(10, 0, None, None, Thresholds(rest_max_records=10), PRODUCTION).strategy is Strategy.REST
    assert (
        decide(11, 0, None, None, Thresholds(rest_max_records=10), PRODUCTION).strategy is Strategy.COMPOSITE
    )
    forced = decide(500, 0, None, None, Thresholds(bulk_min_records=500), PRODUCTION)
    assert forced.strategy is Strategy.BULK
    assert forced.reason == "500 records: Bulk API 2.0, used from 500 records"
    # below a set Bulk switch point the model is not asked to go Bulk
    assert decide(90_000, 0, None, None, Thresholds(bulk_min_records=95_000), PRODUCTION).strategy is (
        Strategy.COMPOSITE
    )


def test_count_limit_is_where_bulk_starts() -> None:
    assert count_limit(Thresholds(bulk_min_records=1_234)) == 1_234
    limit = count_limit(None, PRODUCTION)
    # past the limit a one-shot input is streamed to Bulk: the model must pick Bulk there
    assert decide(limit, 0, None, None, model=PRODUCTION).strategy is Strategy.BULK
    assert decide(int(limit * 0.9), 0, None, None, model=PRODUCTION).strategy is Strategy.COMPOSITE
    assert count_limit(None, replace(PRODUCTION, bulk_job_seconds=1_000.0)) == 100_000


def test_nothing_to_load() -> None:
    assert decide(0, 0, None, None).reason == "no records: nothing to send"
    assert math.isclose(predict(0, 0, PRODUCTION)[Strategy.COMPOSITE], 0.0)


def test_router_polls_its_bulk_jobs_every_tenth_of_their_predicted_time() -> None:
    from kinetic_core.load.run import bulk_poll_policy

    assert bulk_poll_policy(PRODUCTION, 50_000, 0).initial == pytest.approx(1.5)  # 5 s + 10 s
    assert bulk_poll_policy(LOCAL, 10, 0).initial == pytest.approx(0.1)  # the floor
    assert bulk_poll_policy(replace(PRODUCTION, bulk_job_seconds=600.0), 10, 0).initial == 5.0  # the ceiling
    policy = bulk_poll_policy(PRODUCTION, 50_000, 0)
    assert (policy.maximum, policy.factor) == (policy.initial, 1.0)
