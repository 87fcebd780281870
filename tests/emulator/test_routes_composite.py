"""Composite family: sObject Collections, /composite, /composite/tree, /composite/batch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import EmulatorApi


def _accounts(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"attributes": {"type": "Account"}, "Name": f"Account {i}", **extra} for i in range(n)]


def _count(api: EmulatorApi, sobject: str = "Account") -> int:
    return int(api.local.admin("stats")["records"][sobject])


def test_collection_create_update_retrieve_delete(emulator_api: EmulatorApi) -> None:
    created = emulator_api.post("composite/sobjects", json={"allOrNone": False, "records": _accounts(3)})
    assert created.status_code == 200
    results = created.json()
    assert [list(r) for r in results] == [["id", "success", "errors"]] * 3
    ids = [r["id"] for r in results]

    updates = [{"attributes": {"type": "Account"}, "id": i, "Name": f"U{n}"} for n, i in enumerate(ids)]
    updated = emulator_api.patch("composite/sobjects", json={"records": updates})
    assert all(r["success"] for r in updated.json())

    got = emulator_api.get(
        "composite/sobjects/Account",
        params={"ids": ",".join([*ids, "001000000000999AAA"]), "fields": "Id,Name"},
    )
    assert [r["Name"] if r else None for r in got.json()] == ["U0", "U1", "U2", None]
    posted = emulator_api.post("composite/sobjects/Account", json={"ids": ids[:1], "fields": ["Name"]})
    assert posted.json()[0]["Name"] == "U0"

    deleted = emulator_api.delete(
        "composite/sobjects", params={"ids": f"{ids[0]},{ids[1]},001RM000003oLrB000"}
    )
    body = deleted.json()
    assert body[0] == {"id": ids[0], "success": True, "errors": []}
    assert body[2]["success"] is False
    assert body[2]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert _count(emulator_api) == 1


def test_collection_partial_failure_and_all_or_none(emulator_api: EmulatorApi) -> None:
    records = [*_accounts(2), {"attributes": {"type": "Account"}, "Industry": "Energy"}]
    partial = emulator_api.post("composite/sobjects", json={"allOrNone": False, "records": records}).json()
    assert [r["success"] for r in partial] == [True, True, False]
    assert "id" not in partial[2]
    assert partial[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert _count(emulator_api) == 2

    rolled = emulator_api.post("composite/sobjects", json={"allOrNone": True, "records": records}).json()
    assert all(r["success"] is False for r in rolled)
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert "id" in rolled[0]
    assert rolled[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert _count(emulator_api) == 2  # nothing from the second call was kept


def test_collection_limits_and_errors(emulator_api: EmulatorApi) -> None:
    too_many = emulator_api.post("composite/sobjects", json={"records": _accounts(201)})
    assert too_many.status_code == 400
    assert too_many.json() == [
        {
            "message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
        }
    ]
    no_ids = emulator_api.delete("composite/sobjects")
    assert no_ids.status_code == 400
    assert no_ids.json() == [{"message": "At least 1 Id is required.", "errorCode": "REQUIRED_FIELD_MISSING"}]
    garbage = emulator_api.post("composite/sobjects", json={"records": "nope"})
    assert garbage.status_code == 400
    assert emulator_api.post("composite/sobjects", json={"records": _accounts(200)}).status_code == 200


def test_collection_upsert(emulator_api: EmulatorApi) -> None:
    first = [{"attributes": {"type": "Account"}, "Name": "A", "External_Id__c": "E1"}]
    created = emulator_api.patch("composite/sobjects/Account/External_Id__c", json={"records": first}).json()
    assert created[0]["created"] is True
    assert list(created[0]) == ["id", "success", "errors", "created"]
    both = [*first, {"attributes": {"type": "Account"}, "Name": "B", "External_Id__c": "E2"}]
    again = emulator_api.patch("composite/sobjects/Account/External_Id__c", json={"records": both}).json()
    assert [r["created"] for r in again] == [False, True]
    assert again[0]["id"] == created[0]["id"]
    by_id = [
        {"attributes": {"type": "Account"}, "Id": created[0]["id"], "Name": "A2"},
        {"attributes": {"type": "Account"}, "Id": None, "Name": "C"},
    ]
    on_id = emulator_api.patch("composite/sobjects/Account/Id", json={"records": by_id}).json()
    assert [r["created"] for r in on_id] == [False, True]
    bad = emulator_api.patch("composite/sobjects/Account/Name", json={"records": first})
    assert bad.status_code == 404


def test_composite_references_and_results(emulator_api: EmulatorApi) -> None:
    body = {
        "compositeRequest": [
            {
                "method": "POST",
                "url": "/services/data/v62.0/sobjects/Account",
                "referenceId": "refAcc",
                "body": {"Name": "Parent"},
            },
            {
                "method": "POST",
                "url": "/services/data/v62.0/sobjects/Contact",
                "referenceId": "refCon",
                "body": {"LastName": "Child", "AccountId": "@{refAcc.id}"},
            },
            {
                "method": "GET",
                "url": "/services/data/v62.0/sobjects/Account/@{refAcc.id}?fields=Name",
                "referenceId": "get",
            },
            {
                "method": "GET",
                "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+Contact+WHERE+AccountId='@{refAcc.id}'",
                "referenceId": "q",
            },
            {
                "method": "PATCH",
                "url": "/services/data/v62.0/sobjects/Contact/@{q.records[0].Id}",
                "referenceId": "upd",
                "body": {"FirstName": "F"},
            },
            {"method": "GET", "url": "/services/data/v62.0/sobjects/Foo", "referenceId": "missing"},
        ]
    }
    response = emulator_api.post("composite", json=body)
    assert response.status_code == 200
    subs = {s["referenceId"]: s for s in response.json()["compositeResponse"]}
    assert subs["refAcc"]["httpStatusCode"] == 201
    assert subs["refAcc"]["httpHeaders"]["Location"].endswith(subs["refAcc"]["body"]["id"])
    assert subs["get"]["body"]["Name"] == "Parent"
    assert subs["q"]["body"]["totalSize"] == 1
    assert subs["upd"]["httpStatusCode"] == 204
    assert subs["upd"]["body"] is None
    assert subs["missing"] == {
        "body": [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}],
        "httpHeaders": {},
        "httpStatusCode": 404,
        "referenceId": "missing",
    }


def test_composite_all_or_none_halts_and_rolls_back(emulator_api: EmulatorApi) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": "/services/data/v62.0/sobjects/Account",
                "referenceId": "ok",
                "body": {"Name": "x"},
            },
            {
                "method": "POST",
                "url": "/services/data/v62.0/sobjects/Account",
                "referenceId": "bad",
                "body": {},
            },
            {
                "method": "POST",
                "url": "/services/data/v62.0/sobjects/Account",
                "referenceId": "later",
                "body": {"Name": "y"},
            },
        ],
    }
    subs = emulator_api.post("composite", json=body).json()["compositeResponse"]
    assert [s["httpStatusCode"] for s in subs] == [400, 400, 400]
    assert subs[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert subs[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert subs[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert _count(emulator_api) == 0


def test_composite_envelope_validation(emulator_api: EmulatorApi) -> None:
    sub = {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "a"}
    for bad in (
        {"compositeRequest": [sub] * 26},
        {"compositeRequest": [sub, sub]},
        {"compositeRequest": [{**sub, "referenceId": "_x"}]},
        {"compositeRequest": [{**sub, "httpHeaders": {"Authorization": "x"}}]},
        {"compositeRequest": [{**sub, "method": "get"}]},
    ):
        assert emulator_api.post("composite", json=bad).status_code == 400
    unresolved = {
        "compositeRequest": [
            {"method": "GET", "url": "/services/data/v62.0/sobjects/Account/@{nope.id}", "referenceId": "a"}
        ]
    }
    sub_result = emulator_api.post("composite", json=unresolved).json()["compositeResponse"][0]
    assert sub_result["httpStatusCode"] == 400
    assert sub_result["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert set(emulator_api.get("composite").json()) == {"tree", "batch", "sobjects", "graph"}


def test_tree(emulator_api: EmulatorApi) -> None:
    body = {
        "records": [
            {
                "attributes": {"type": "Account", "referenceId": "ref1"},
                "Name": "Tree Co",
                "Contacts": {
                    "records": [
                        {"attributes": {"type": "Contact", "referenceId": "ref2"}, "LastName": "One"},
                        {"attributes": {"type": "Contact", "referenceId": "ref3"}, "LastName": "Two"},
                    ]
                },
            }
        ]
    }
    response = emulator_api.post("composite/tree/Account", json=body)
    assert response.status_code == 201
    results = response.json()
    assert results["hasErrors"] is False
    assert [r["referenceId"] for r in results["results"]] == ["ref1", "ref2", "ref3"]
    contact = emulator_api.get(f"sobjects/Contact/{results['results'][1]['id']}").json()
    assert contact["AccountId"] == results["results"][0]["id"]

    bad = {"records": [{"attributes": {"type": "Account", "referenceId": "r1"}, "Name": "ok"},
                       {"attributes": {"type": "Account", "referenceId": "r2"}}]}  # fmt: skip
    failed = emulator_api.post("composite/tree/Account", json=bad)
    assert failed.status_code == 400
    assert failed.json()["hasErrors"] is True
    assert failed.json()["results"][0]["referenceId"] == "r2"
    assert _count(emulator_api) == 1
    assert _count(emulator_api, "Contact") == 2


def test_batch(emulator_api: EmulatorApi) -> None:
    rid = emulator_api.create("Account", Name="Batch")
    body = {
        "haltOnError": True,
        "batchRequests": [
            {"method": "PATCH", "url": f"v62.0/sobjects/account/{rid}", "richInput": {"Name": "Renamed"}},
            {"method": "GET", "url": f"v62.0/sobjects/Account/{rid}?fields=Name"},
            {"method": "GET", "url": "v62.0/sobjects/Account/001000000000999AAA"},
            {"method": "GET", "url": f"v62.0/sobjects/Account/{rid}"},
        ],
    }
    result = emulator_api.post("composite/batch", json=body).json()
    assert result["hasErrors"] is True
    assert [r["statusCode"] for r in result["results"]] == [204, 200, 404, 412]
    assert result["results"][1]["result"]["Name"] == "Renamed"
    assert result["results"][3]["result"][0]["errorCode"] == "BATCH_PROCESSING_HALTED"


def test_batch_serves_limits(emulator_api: EmulatorApi) -> None:
    """Limits is among the resources a batch may call (API 34.0+)."""
    body = {
        "batchRequests": [{"method": "GET", "url": "v62.0/limits"}, {"method": "GET", "url": "v62.0/limits/"}]
    }
    result = emulator_api.post("composite/batch", json=body).json()
    assert [r["statusCode"] for r in result["results"]] == [200, 200]
    assert result["results"][0]["result"]["DailyApiRequests"]["Max"] > 0
