"""The job poller on a fake clock: simulated server jobs, the lateness of the check that sees them end."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from test_bulk_fakes import FakeClock

from kinetic_core.bulk.models import JobInfo, JobKind, JobState, Operation
from kinetic_core.bulk.poller import JobWaitTimeout, PollPolicy, wait_for_job
from kinetic_core.errors import ApiError

Progress = Callable[[float], int]
"""Rows processed ``t`` seconds after the job was closed (before it ends)."""


@dataclass
class SimJob:
    """A job on the server side of the fake clock: it ends ``duration`` s after ``clock`` starts it."""

    clock: FakeClock
    duration: float
    total: int
    progress: Progress
    kind: JobKind = JobKind.INGEST
    checks: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def get_job(self, job_id: str) -> JobInfo:
        t = self.clock() - self.started
        self.checks.append(t)
        done = t >= self.duration
        processed = self.total if done else min(self.total, self.progress(t))
        state = JobState.JOB_COMPLETE if done else JobState.IN_PROGRESS
        operation = Operation.QUERY if self.kind is JobKind.QUERY else Operation.INSERT
        return JobInfo(job_id, operation, "Account", state, kind=self.kind, records_processed=processed)


def run(job: SimJob, total: int | None, policy: PollPolicy | None = None) -> float:
    """Wait for ``job``; return how late (seconds) the check that saw it end came."""
    clock = job.clock
    info = wait_for_job(
        "750x", job.get_job, policy=policy or PollPolicy(), clock=clock, sleep=clock.sleep, total=total
    )
    assert info.state is JobState.JOB_COMPLETE
    return job.checks[-1] - job.duration


def allowed(duration: float) -> float:
    """The target: seen ended at most 1 s or 10 % of the job's time late, whichever is larger."""
    return max(1.0, 0.1 * duration) + 1e-9


def steady(total: int, duration: float, batch: int = 1) -> Progress:
    return lambda t: int(total * t / duration) // batch * batch


@pytest.mark.parametrize("duration", [2.0, 16.0, 60.0, 300.0, 3600.0])
@pytest.mark.parametrize("batch", [1, 1000])
def test_a_steady_job_is_seen_ended_within_the_target(duration: float, batch: int) -> None:
    total = int(1000 * duration)
    job = SimJob(FakeClock(), duration, total, steady(total, duration, batch))
    late = run(job, total)
    assert 0 <= late <= allowed(duration)
    # the progress prediction keeps the checks few: far fewer than one per second of the job
    assert len(job.checks) <= 6 + 2 * math.log2(max(2.0, duration)) + duration / PollPolicy().maximum


def test_a_16_second_job_is_not_seen_at_31_seconds_as_the_doubling_schedule_did() -> None:
    job = SimJob(FakeClock(), 16.0, 16_000, steady(16_000, 16.0))
    assert run(job, 16_000) <= 1.6
    assert job.checks[-1] < 17.6


@pytest.mark.parametrize("duration", [16.0, 60.0])
def test_a_slow_start_is_seen_ended_within_the_target(duration: float) -> None:
    """Nothing for the first quarter of the job, a ramp over the second, then a steady rate."""
    total = 100_000
    quarter = duration / 4

    def ramp(t: float) -> int:
        if t < quarter:
            return 0
        # the rate grows linearly over the second quarter, then stays: work = area under it
        full = total / (duration - quarter - quarter / 2)
        if t < 2 * quarter:
            return int(full * (t - quarter) ** 2 / (2 * quarter))
        return int(full * (quarter / 2 + t - 2 * quarter))

    job = SimJob(FakeClock(), duration, total, ramp)
    assert 0 <= run(job, total) <= allowed(duration)


@pytest.mark.parametrize("duration", [2.0, 16.0, 60.0, 600.0])
@pytest.mark.parametrize("stuck_at", [0, 500])
def test_a_count_that_never_moves_falls_back_to_the_tolerance(duration: float, stuck_at: int) -> None:
    job = SimJob(FakeClock(), duration, 1000, lambda t: stuck_at)
    assert 0 <= run(job, 1000) <= allowed(duration)


@pytest.mark.parametrize("duration", [2.0, 16.0, 60.0, 900.0])
def test_a_query_job_counting_nothing_until_done_is_seen_within_the_target(duration: float) -> None:
    job = SimJob(FakeClock(), duration, 50_000, lambda t: 0, kind=JobKind.QUERY)
    assert 0 <= run(job, None) <= allowed(duration)


def test_a_count_that_stalls_after_progress_does_not_trust_the_old_rate() -> None:
    """Half the rows in 2 s, then nothing until 40 s: no leap to the stale prediction."""
    job = SimJob(FakeClock(), 40.0, 10_000, lambda t: min(5000, int(2500 * t)))
    assert 0 <= run(job, 10_000) <= allowed(40.0)


def test_waits_stay_between_the_floor_and_the_ceiling() -> None:
    clock = FakeClock()
    policy = PollPolicy(initial=0.5, maximum=4.0, minimum=0.25)
    job = SimJob(clock, 200.0, 1000, lambda t: 0)
    run(job, 1000, policy)
    assert clock.sleeps
    assert all(0.25 <= s <= 4.0 for s in clock.sleeps)
    assert clock.sleeps[0] == 0.5
    assert max(clock.sleeps) == 4.0


def test_a_server_hint_is_a_lower_bound() -> None:
    clock = FakeClock()
    calls = {"n": 0}

    def get_job(job_id: str) -> JobInfo:
        calls["n"] += 1
        if calls["n"] == 2:
            refused = ApiError(503, "SERVER_UNAVAILABLE", "busy")
            refused.retry_after = 7.0  # type: ignore[attr-defined]
            raise refused
        state = JobState.JOB_COMPLETE if calls["n"] >= 3 else JobState.IN_PROGRESS
        return JobInfo(job_id, Operation.INSERT, "Account", state)

    wait_for_job("750x", get_job, policy=PollPolicy(), clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [1.0, 7.0]


def test_progress_events_are_the_changed_infos() -> None:
    clock = FakeClock()
    total = 4000
    job = SimJob(clock, 4.0, total, steady(total, 4.0, 1000))
    seen: list[tuple[JobState, int]] = []
    wait_for_job(
        "750x",
        job.get_job,
        policy=PollPolicy(),
        clock=clock,
        sleep=clock.sleep,
        total=total,
        on_change=lambda i: seen.append((i.state, i.records_processed)),
    )
    assert seen[-1] == (JobState.JOB_COMPLETE, total)
    assert len(seen) == len(set(seen))  # only changes are reported
    assert [p for _, p in seen] == sorted(p for _, p in seen)


def test_the_deadline_still_takes_one_last_look() -> None:
    clock = FakeClock()
    job = SimJob(clock, 10.0, 1000, lambda t: 0)
    info = wait_for_job(
        "750x", job.get_job, policy=PollPolicy(), clock=clock, sleep=clock.sleep, deadline=clock() + 10.0
    )
    assert info.state is JobState.JOB_COMPLETE
    job = SimJob(clock, 100.0, 1000, lambda t: 0)
    with pytest.raises(JobWaitTimeout):
        wait_for_job(
            "750y", job.get_job, policy=PollPolicy(), clock=clock, sleep=clock.sleep, deadline=clock() + 10.0
        )
