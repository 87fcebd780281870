"""The router: the pure decision table and dispatch with one result shape."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from test_bulk_fakes import FakeBulkHttp, FakeClock

from kinetic_core.bulk import BulkClient
from kinetic_core.composite.results import ErrorDetail, RecordResult
from kinetic_core.errors import ApiError
from kinetic_core.load import Decision, Strategy, Thresholds, decide, load

T = Thresholds(rest_max_records=3, bulk_min_records=2_000, bulk_min_bytes=20_000_000, api_reserve=500)


@pytest.mark.parametrize(
    ("count", "size", "api", "batches", "expected"),
    [
        (0, 0, None, None, Strategy.REST),
        (1, 50, None, None, Strategy.REST),
        (3, 150, 100_000, None, Strategy.REST),
        (4, 200, None, None, Strategy.COMPOSITE),
        (1_999, 100_000, 100_000, 15_000, Strategy.COMPOSITE),
        (2_000, 100_000, None, None, Strategy.BULK),
        (1_000_000, 90_000_000, 100_000, 15_000, Strategy.BULK),
        (50, 25_000_000, None, None, Strategy.BULK),  # big payload, few rows
        (1_500, 0, 505, None, Strategy.BULK),  # 8 composite calls would cut into the reserve
        (1_500, 0, 5, None, Strategy.COMPOSITE),  # not even enough for Bulk: try anyway
        (50_000, 0, None, 12, Strategy.COMPOSITE),  # Bulk batch allowance too low
        (50_000, 0, None, 20, Strategy.BULK),
    ],
)
def test_decide_table(
    count: int, size: int, api: int | None, batches: int | None, expected: Strategy
) -> None:
    decision = decide(count, size, api, batches, T)
    assert isinstance(decision, Decision)
    assert decision.strategy is expected
    assert decision.reason


def test_default_reserve() -> None:
    # with no switch point set the cost model decides; a synchronous load that would eat into the
    # API reserve still goes Bulk whatever the count
    assert decide(1_000, 0, None, None).strategy is Strategy.COMPOSITE
    assert decide(1_000, 0, 504, None).strategy is Strategy.BULK


def test_decide_reason_mentions_the_numbers() -> None:
    assert decide(2_000, 0, None, None, T).reason == "2,000 records: Bulk API 2.0, used from 2,000 records"
    assert decide(500, 0, None, None, T).reason == (
        "500 records: Composite, 3 calls of up to 200 records (Bulk from 2,000 records)"
    )
    assert decide(1, 0, None, None, T).reason == "1 record: one REST call per record (up to 3 records)"
    assert "Bulk batches" in decide(50_000, 0, None, 12, T).reason


class FakeClient:
    """The SalesforceClient surface the router uses."""

    def __init__(self, bulk_http: FakeBulkHttp | None = None) -> None:
        self.calls: list[str] = []
        self.api_usage = None
        self.bulk_http = bulk_http or FakeBulkHttp()
        clock = FakeClock()
        self.bulk = BulkClient(self.bulk_http, clock=clock, sleep=clock.sleep)
        self.n = 0

    def _id(self) -> str:
        self.n += 1
        return f"003{self.n:015d}"

    def create(self, sobject: str, data: Mapping[str, Any]) -> str:
        self.calls.append("create")
        if not data.get("LastName"):
            raise ApiError(
                400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"]
            )
        return self._id()

    def delete(self, sobject: str, record_id: str) -> None:
        self.calls.append("delete")

    def create_batch(self, sobject: str, records: Iterable[Mapping[str, Any]]) -> list[RecordResult]:
        self.calls.append("create_batch")
        out = []
        for i, rec in enumerate(records):
            if rec.get("LastName"):
                out.append(RecordResult(i, self._id(), True, True))
            else:
                out.append(
                    RecordResult(
                        i, None, False, False, [ErrorDetail("REQUIRED_FIELD_MISSING", "m", ["LastName"])]
                    )
                )
        return out

    def delete_batch(self, ids: Iterable[str]) -> list[RecordResult]:
        self.calls.append("delete_batch")
        return [RecordResult(i, rid, True) for i, rid in enumerate(ids)]


def test_rest_for_a_handful() -> None:
    client = FakeClient()
    result = load(client, "Contact", [{"LastName": "A"}, {"FirstName": "x"}], thresholds=T)
    assert result.strategy is Strategy.REST
    assert client.calls == ["create", "create"]
    assert (result.total, result.successful, result.failed) == (2, 1, 1)
    assert [o.row_number for o in result] == [1, 2]
    assert result.outcomes[1].error_code == "REQUIRED_FIELD_MISSING"


def test_composite_for_small_loads_from_a_generator() -> None:
    client = FakeClient()

    def gen() -> Iterator[dict[str, Any]]:
        for i in range(50):
            yield {"LastName": f"L{i}"} if i % 10 else {"FirstName": "no last name"}

    result = load(client, "Contact", gen(), thresholds=T)
    assert result.strategy is Strategy.COMPOSITE
    assert client.calls == ["create_batch"]
    assert (result.total, result.successful, result.failed) == (50, 45, 5)
    assert [o.row_number for o in result.failures()] == [1, 11, 21, 31, 41]


def test_bulk_for_large_loads_streams_the_rest_of_a_generator() -> None:
    client = FakeClient()
    small = Thresholds(bulk_min_records=20)

    def gen() -> Iterator[dict[str, Any]]:
        for i in range(75):
            yield {"LastName": f"L{i}"}

    result = load(client, "Contact", gen(), thresholds=small)
    assert result.strategy is Strategy.BULK
    assert result.reason.startswith("at least 20 records")  # counting stopped at the threshold
    assert (result.total, result.successful) == (75, 75)
    assert [o.row_number for o in result] == list(range(1, 76))
    assert all(o.success and o.created for o in result)
    assert len(result.job_ids) == 1
    result.close()


def test_bulk_unavailable_falls_back_to_composite(tmp_path: Path) -> None:
    http = FakeBulkHttp()
    http.fail_create = ApiError(403, "API_DISABLED_FOR_ORG", "API is not enabled for this Organization")
    client = FakeClient(http)
    path = tmp_path / "c.csv"
    path.write_text("LastName,Email\n" + "".join(f"L{i},\n" for i in range(30)), encoding="utf-8")
    result = load(client, "Contact", path, thresholds=Thresholds(bulk_min_records=10))
    assert result.strategy is Strategy.COMPOSITE
    assert "API_DISABLED_FOR_ORG" in result.reason
    assert "Composite instead" in result.reason
    assert result.successful == 30


def test_one_shot_input_probes_bulk_before_consuming_it() -> None:
    http = FakeBulkHttp()
    http.fail_create = ApiError(400, "FEATURENOTENABLED", "Bulk API not enabled")
    client = FakeClient(http)
    result = load(
        client,
        "Contact",
        ({"LastName": str(i)} for i in range(40)),
        thresholds=Thresholds(bulk_min_records=10),
    )
    assert result.strategy is Strategy.COMPOSITE
    assert result.successful == 40


def test_explicit_strategy_and_deletes() -> None:
    client = FakeClient()
    result = load(client, "Contact", ["003000000000000001", "003000000000000002"], "delete", "composite")
    assert result.strategy is Strategy.COMPOSITE
    assert result.reason == "strategy=composite requested"
    assert client.calls == ["delete_batch"]
    assert result.successful == 2
    bulk = load(client, "Contact", [{"Id": "003000000000000001"}], "delete", "bulk")
    assert bulk.strategy is Strategy.BULK
    assert bulk.successful == 1
    bulk.close()


def test_upsert_needs_a_key_and_hard_delete_goes_bulk() -> None:
    client = FakeClient()
    with pytest.raises(ValueError, match="external_id_field"):
        load(client, "Contact", [{"LastName": "x"}], "upsert")
    result = load(client, "Contact", ["003000000000000001"], "hard_delete")
    assert result.strategy is Strategy.BULK
    assert "hard delete" in result.reason
    result.close()


def test_explicit_bulk_strategy_never_falls_back(tmp_path: Path) -> None:
    http = FakeBulkHttp()
    http.fail_create = ApiError(403, "API_DISABLED_FOR_ORG", "API is not enabled for this Organization")
    client = FakeClient(http)
    path = tmp_path / "c.csv"
    path.write_text("LastName\n" + "".join(f"L{i}\n" for i in range(5)), encoding="utf-8")
    with pytest.raises(ApiError) as info:
        load(client, "Contact", path, strategy="bulk")
    assert info.value.error_code == "API_DISABLED_FOR_ORG"
    assert "create_batch" not in client.calls


def test_csv_relationship_columns_are_nested_for_rest_and_composite(tmp_path: Path) -> None:
    seen: list[Mapping[str, Any]] = []
    client = FakeClient()
    original = client.create_batch

    def spy(sobject: str, records: Iterable[Mapping[str, Any]]) -> list[RecordResult]:
        rows = list(records)
        seen.extend(rows)
        return original(sobject, rows)

    client.create_batch = spy  # type: ignore[method-assign]
    path = tmp_path / "c.csv"
    path.write_text(
        "LastName,Account.External_Id__c,Email\n" + "".join(f"L{i},A{i},#N/A\n" for i in range(8)),
        encoding="utf-8",
    )
    result = load(client, "Contact", path, strategy="composite")
    assert result.successful == 8
    assert seen[0] == {"LastName": "L0", "Account": {"External_Id__c": "A0"}, "Email": None}


def test_rest_rows_end_with_an_outcome_whatever_goes_wrong() -> None:
    from kinetic_core.errors import RequestLimitExceeded, TransportError

    client = FakeClient()
    answers: list[Any] = [
        "003000000000000001",
        TransportError("connection dropped"),
        RequestLimitExceeded(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    ]

    def create(sobject: str, data: Mapping[str, Any]) -> str:
        client.calls.append("create")
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    client.create = create  # type: ignore[method-assign]
    rows = [{"LastName": f"L{i}"} for i in range(3)]
    result = load(client, "Contact", rows, strategy="rest")
    assert [o.status for o in result] == ["success", "failed", "unprocessed"]
    assert result.outcomes[1].error_code == "IN_DOUBT"
    assert result.outcomes[2].error_code == "REQUEST_LIMIT_EXCEEDED"
    assert client.calls == ["create"] * 3
    assert result.successful + result.failed + result.unprocessed == result.total == 3


def test_rest_upsert_and_update_refuse_blank_keys_per_row() -> None:
    client = FakeClient()
    result = load(
        client, "Contact", [{"External_Id__c": " ", "LastName": "x"}], "upsert", "rest", "External_Id__c"
    )
    assert result.outcomes[0].status == "failed"
    assert result.outcomes[0].error_code == "MISSING_ARGUMENT"
    assert result.outcomes[0].error_fields == ("External_Id__c",)
    result = load(client, "Contact", [{"LastName": "no id"}], "update", "rest")
    assert result.outcomes[0].error_fields == ("Id",)
