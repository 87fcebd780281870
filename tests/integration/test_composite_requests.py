"""Composite requests, batches and trees through the client, against the real emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_client_emulator import connect

from kinetic_core import SalesforceClient
from kinetic_core.composite import SubRequest, SubResponse
from kinetic_core.emulator.server import LocalOrg


@pytest.fixture
def client(local_org: LocalOrg, tmp_path: Path) -> Iterator[SalesforceClient]:
    with connect(local_org, tmp_path) as c:
        yield c


def test_composite_steps_use_earlier_results(client: SalesforceClient) -> None:
    responses = client.composite(
        [
            SubRequest("POST", "sobjects/Account", "acct", {"Name": "Composite Acme"}),
            {
                "method": "POST",
                "url": "sobjects/Contact",
                "reference_id": "boss",
                "body": {"LastName": "Ng", "AccountId": "@{acct.id}"},
            },
            SubRequest("GET", "sobjects/Account/@{acct.id}?fields=Name", "read"),
            SubRequest(
                "GET", f"/services/data/v{client.api_version}/query?q=SELECT+Id+FROM+Contact", "count"
            ),
        ],
        all_or_none=True,
    )
    assert [r.reference_id for r in responses] == ["acct", "boss", "read", "count"]
    assert [r.status for r in responses] == [201, 201, 200, 200]
    assert all(r.ok and r.errors == [] for r in responses)
    account_id = responses[0].body["id"]
    assert responses[2].body["Name"] == "Composite Acme"
    assert client.get("Contact", responses[1].body["id"])["AccountId"] == account_id


def test_composite_all_or_none_rolls_back_and_reports_each_step(client: SalesforceClient) -> None:
    responses = client.composite(
        [
            SubRequest("POST", "sobjects/Account", "good", {"Name": "Rolled Back"}),
            SubRequest("POST", "sobjects/Contact", "bad", {"FirstName": "No last name"}),
        ],
        all_or_none=True,
    )
    assert [r.ok for r in responses] == [False, False]
    assert responses[0].errors[0].code == "PROCESSING_HALTED"
    assert responses[1].errors[0].code == "REQUIRED_FIELD_MISSING"
    assert client.count("SELECT count() FROM Account WHERE Name = 'Rolled Back'") == 0


def test_composite_without_all_or_none_keeps_what_succeeded_and_names_steps(client: SalesforceClient) -> None:
    responses = client.composite(
        [SubRequest("POST", "sobjects/Account", body={"Name": "Kept"}), SubRequest("GET", "sobjects/Nope__c")]
    )
    assert [r.reference_id for r in responses] == ["step0", "step1"]
    assert responses[0].ok
    assert responses[1].status == 404
    assert responses[1].errors[0].code == "NOT_FOUND"
    assert client.count("SELECT count() FROM Account WHERE Name = 'Kept'") == 1


def test_batch_runs_independent_steps_and_can_halt(client: SalesforceClient) -> None:
    rid = client.create("Account", {"Name": "Batch Target"})
    done = client.batch(
        [
            SubRequest("PATCH", f"sobjects/Account/{rid}", body={"Name": "Batch Renamed"}),
            SubRequest("GET", f"sobjects/Account/{rid}"),
            SubRequest("GET", "limits"),
        ]
    )
    assert [r.status for r in done] == [204, 200, 200]
    assert [r.reference_id for r in done] == ["0", "1", "2"]
    assert done[1].body["Name"] == "Batch Renamed"
    assert "DailyApiRequests" in done[2].body

    halted = client.batch(
        [SubRequest("GET", "sobjects/Account/001000000000000AAA"), SubRequest("GET", "limits")],
        halt_on_error=True,
    )
    assert [r.ok for r in halted] == [False, False]
    assert halted[1].errors[0].code == "BATCH_PROCESSING_HALTED"


def test_tree_creates_parents_and_children_with_types_from_describe(client: SalesforceClient) -> None:
    result = client.tree(
        "Account",
        [
            {"Name": "Tree One", "Contacts": [{"LastName": "Ada"}, {"LastName": "Grace"}]},
            {"Name": "Tree Two", "Contacts": {"records": [{"LastName": "Linus"}]}},
        ],
    )
    assert result.ok
    assert result.reference_ids == ["ref1", "ref2", "ref3", "ref4", "ref5"]
    assert set(result.ids) == set(result.reference_ids)
    one, two = result.ids["ref1"], result.ids["ref4"]
    names = client.query_all(f"SELECT LastName, AccountId FROM Contact WHERE AccountId IN ('{one}', '{two}')")
    assert sorted((r["AccountId"] == one, r["LastName"]) for r in names) == [
        (False, "Linus"),
        (True, "Ada"),
        (True, "Grace"),
    ]


def test_a_refused_tree_saves_nothing_and_names_the_record(client: SalesforceClient) -> None:
    result = client.tree(
        "Account",
        [{"Name": "Refused Tree", "Contacts": [{"attributes": {"referenceId": "noName"}, "FirstName": "X"}]}],
    )
    assert not result.ok
    assert result.ids == {}
    assert result.errors["noName"][0].code == "REQUIRED_FIELD_MISSING"
    assert client.count("SELECT count() FROM Account WHERE Name = 'Refused Tree'") == 0


def test_bad_requests_are_refused_before_sending(client: SalesforceClient) -> None:
    with pytest.raises(ValueError, match="1 to 25 steps"):
        client.composite([SubRequest("GET", "limits")] * 26)
    with pytest.raises(ValueError, match="own reference_id"):
        client.composite([SubRequest("GET", "limits", "a"), SubRequest("GET", "limits", "a")])
    with pytest.raises(ValueError, match="unknown key"):
        client.batch([{"method": "GET", "path": "limits"}])
    with pytest.raises(ValueError, match="no child relationship named 'Nopes'"):
        client.tree("Account", [{"Name": "x", "Nopes": [{"LastName": "y"}]}])
    with pytest.raises(ValueError, match="1 to 200 records"):
        client.tree("Account", [{"Name": f"n{i}"} for i in range(201)])


def test_sub_response_errors_parse_save_errors() -> None:
    failed = SubResponse("x", 400, [{"errorCode": "INVALID_FIELD", "message": "bad", "fields": ["Nope"]}])
    assert [(e.code, e.fields) for e in failed.errors] == [("INVALID_FIELD", ["Nope"])]
    assert SubResponse("y", 204, None).errors == []


def test_tree_describes_each_parent_object_once(
    client: SalesforceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    described: list[str] = []
    real = client.http.request

    def request(method: str, url: str, **kwargs: Any) -> Any:
        if url.endswith("/describe"):
            described.append(url)
        return real(method, url, **kwargs)

    monkeypatch.setattr(client.http, "request", request)
    parents = [{"Name": f"Many {i}", "Contacts": [{"LastName": f"C{i}"}]} for i in range(20)]
    result = client.tree("Account", parents)
    assert result.ok
    assert len(result.ids) == 40
    assert described == ["sobjects/Account/describe"]
    client.tree("Account", parents[:1])  # the client's describe cache answers
    assert described == ["sobjects/Account/describe"]
