"""REST query routes: /query, /queryAll, locator paging, batch size, columns."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import EmulatorApi


def _load(api: EmulatorApi, n: int) -> None:
    for start in range(0, n, 200):
        records = [
            {"attributes": {"type": "Account"}, "Name": f"Q{i:05d}"}
            for i in range(start, min(n, start + 200))
        ]
        assert api.post("composite/sobjects", json={"records": records}).status_code == 200


def test_query_paging_with_batch_size(emulator_api: EmulatorApi) -> None:
    _load(emulator_api, 450)
    first = emulator_api.get(
        "query/",
        params={"q": "SELECT Id, Name FROM Account"},
        headers={"Sforce-Query-Options": "batchSize=200"},
    ).json()
    assert first["totalSize"] == 450
    assert first["done"] is False
    assert list(first) == ["totalSize", "done", "nextRecordsUrl", "records"]
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    names = [r["Name"] for r in first["records"]]
    page = first
    while not page["done"]:
        locator = page["nextRecordsUrl"].rsplit("/", 1)[1]
        # jsforce rebuilds the URL under its own version; queryAll paths must work too
        page = emulator_api.http.get(
            f"/services/data/v58.0/queryAll/{locator}", headers=emulator_api.auth
        ).json()
        names.extend(r["Name"] for r in page["records"])
    assert "nextRecordsUrl" not in page
    assert names == [f"Q{i:05d}" for i in range(450)]


def test_query_all_sees_deleted_rows(emulator_api: EmulatorApi) -> None:
    rid = emulator_api.create("Account", Name="Gone")
    emulator_api.delete(f"sobjects/Account/{rid}")
    soql = "SELECT Id, IsDeleted FROM Account"
    assert emulator_api.get("query", params={"q": soql}).json()["totalSize"] == 0
    rows = emulator_api.get("queryAll", params={"q": soql}).json()["records"]
    assert rows[0]["IsDeleted"] is True


def test_query_errors(emulator_api: EmulatorApi) -> None:
    bad = emulator_api.get("query", params={"q": "SELECT Bacon__c FROM Account"})
    assert bad.status_code == 400
    assert bad.json()[0]["errorCode"] == "INVALID_FIELD"
    missing = emulator_api.get("query")
    assert missing.status_code == 400
    assert missing.json()[0]["errorCode"] == "MALFORMED_QUERY"
    locator = emulator_api.get("query/01gXXXXXXXXXXXXXXX-2000")
    assert locator.status_code == 400
    assert locator.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_columns(emulator_api: EmulatorApi) -> None:
    response = emulator_api.get("query", params={"q": "SELECT Id, Name FROM Account", "columns": "true"})
    assert response.status_code == 200
    assert isinstance(response.json(), dict)
