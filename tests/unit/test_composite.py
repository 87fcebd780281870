"""Composite collections: chunking, order, concurrency, per-row errors, in-doubt creates never re-sent."""

from __future__ import annotations

import json

import httpx
import pytest
from test_http_fakes import FakeSalesforce, Fault, fake_client, sf_error

from kinetic_core.composite import IN_DOUBT, NOT_SENT, ErrorDetail, RecordResult, chunked
from kinetic_core.composite.results import parse_save_results


@pytest.mark.parametrize(
    ("n", "sizes"), [(0, []), (1, [1]), (200, [200]), (201, [200, 1]), (401, [200, 200, 1])]
)
def test_chunking_keeps_the_last_partial_chunk(n: int, sizes: list[int]) -> None:
    assert [len(c) for _, c in chunked(iter(range(n)))] == sizes
    assert [s for s, _ in chunked(range(n))] == [200 * i for i in range(len(sizes))]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_create_batch_many_records_in_input_order(concurrency: int) -> None:
    fake = FakeSalesforce()
    records = [{"Name": f"A{i}"} if i % 97 else {"Phone": "no name"} for i in range(451)]
    with fake_client(fake) as client:
        results = client.create_batch("Account", iter(records), concurrency=concurrency)
    assert [r.index for r in results] == list(range(451))
    assert fake.count_calls("POST", "composite/sobjects") == 3
    failures = [r for r in results if not r.success]
    assert [r.index for r in failures] == [0, 97, 194, 291, 388]
    assert failures[0].errors == [
        ErrorDetail("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"])
    ]
    assert all(r.created and r.id for r in results if r.success)
    assert fake.count("Account") == 451 - 5


def test_single_record_and_all_or_none_flag_is_sent_per_chunk() -> None:
    fake = FakeSalesforce()
    bodies: list[dict[str, object]] = []
    original = fake.handle

    def spy(request: httpx.Request) -> httpx.Response:
        if "composite" in request.url.path:
            bodies.append(json.loads(request.content))
        return original(request)

    fake.handle = spy  # type: ignore[method-assign]
    with fake_client(fake) as client:
        results = client.create_batch("Account", [{"Name": "only"}], all_or_none=True)
    assert len(results) == 1
    assert results[0].success
    assert bodies[0]["allOrNone"] is True
    assert bodies[0]["records"] == [{"attributes": {"type": "Account"}, "Name": "only"}]


def test_lost_create_answer_marks_rows_in_doubt_and_never_resends() -> None:
    fake = FakeSalesforce()
    fake.faults.append(
        Fault(httpx.ReadTimeout("lost"), when="after", method="POST", path="composite/sobjects")
    )
    with fake_client(fake) as client:
        results = client.create_batch("Account", [{"Name": f"A{i}"} for i in range(250)])
    assert fake.count_calls("POST", "composite/sobjects") == 2
    assert [r.in_doubt for r in results] == [True] * 200 + [False] * 50
    assert results[0].errors[0].code == IN_DOUBT
    assert fake.count("Account") == 250  # the first chunk was saved; nothing was saved twice


def test_create_500_is_in_doubt_and_400_is_a_plain_failure() -> None:
    fake = FakeSalesforce()
    fake.faults.append(Fault(sf_error(500, "UNKNOWN_EXCEPTION", "boom"), method="POST", path="composite"))
    fake.faults.append(Fault(sf_error(400, "JSON_PARSER_ERROR", "bad"), method="POST", path="composite"))
    with fake_client(fake) as client:
        results = client.create_batch("Account", [{"Name": f"A{i}"} for i in range(201)], concurrency=1)
    assert results[0].errors[0].code == IN_DOUBT
    assert results[200].errors[0].code == "JSON_PARSER_ERROR"
    assert not any(r.success for r in results)
    assert fake.count_calls("POST", "composite") == 2


def test_update_upsert_delete_batches_retry_and_report() -> None:
    fake = FakeSalesforce()
    ids = [fake.add("Account", Name=f"A{i}", Ext__c=f"E{i}") for i in range(3)]
    fake.faults.append(
        Fault(httpx.ReadTimeout("lost"), when="after", method="PATCH", path="composite/sobjects$")
    )
    with fake_client(fake) as client:
        updated = client.update_batch(
            "Account", [{"Id": ids[0], "Name": "X"}, {"Name": "no id"}, {"Id": "001BAD", "Name": "Y"}]
        )
        assert [r.success for r in updated] == [True, False, False]
        assert updated[1].errors[0].code == "MISSING_ID"
        assert updated[2].errors[0].code == "MALFORMED_ID"
        assert fake.records["Account"][ids[0]]["Name"] == "X"
        upserted = client.upsert_batch(
            "Account", [{"Ext__c": "E1", "Name": "u"}, {"Ext__c": "NEW", "Name": "n"}], "Ext__c"
        )
        assert [(r.success, r.created) for r in upserted] == [(True, False), (True, True)]
        deleted = client.delete_batch([*ids, "001MISSING"])
        assert [r.success for r in deleted] == [True, True, True, False]
        assert deleted[3].errors[0].code == "ENTITY_IS_DELETED"
    assert fake.count_calls("PATCH", "composite/sobjects$") == 2


def test_request_limit_stops_later_chunks() -> None:
    fake = FakeSalesforce()
    fake.faults.append(
        Fault(
            sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
            path="composite",
            times=1,
        )
    )
    with fake_client(fake) as client:
        results = client.create_batch("Account", [{"Name": f"A{i}"} for i in range(450)])
    assert results[0].errors[0].code == "REQUEST_LIMIT_EXCEEDED"
    assert results[449].errors[0].code == NOT_SENT
    assert fake.count_calls("POST", "composite") == 1
    assert len(results) == 450


def test_parse_save_results_accounts_for_missing_elements() -> None:
    results = parse_save_results(
        [{"id": "001", "success": True, "errors": [], "created": False}], 10, 2, create=False
    )
    assert results[0] == RecordResult(10, "001", True, False, [])
    assert results[1].errors[0].code == "MISSING_RESULT"
