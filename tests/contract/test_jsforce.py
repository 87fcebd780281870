"""jsforce 3 (unchanged, from npm, pinned in js/package-lock.json) against the emulator over HTTP.

Each test runs one Node script from ``tests/contract/js`` and asserts on the JSON it prints. Without
Node.js or without ``npm ci`` in that folder these tests fail with a message saying so; they never skip.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from contract_helpers import JS_DIR, OrgHandle, node_ok, password_token, require_node

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def token(http_org: OrgHandle) -> Iterator[dict[str, Any]]:
    with requests.Session() as session:
        yield password_token(session, http_org)


@pytest.fixture(scope="module")
def js_env(token: dict[str, Any]) -> dict[str, str]:
    return {"SF_ACCESS_TOKEN": token["access_token"]}


def test_jsforce_version_is_pinned_to_3x() -> None:
    lock = json.loads((JS_DIR / "package-lock.json").read_text(encoding="utf-8"))
    version = lock["packages"]["node_modules/jsforce"]["version"]
    assert version.split(".")[0] == "3"
    require_node()
    installed = json.loads((JS_DIR / "node_modules" / "jsforce" / "package.json").read_text(encoding="utf-8"))
    assert installed["version"] == version, "node_modules is stale: run `npm ci` in tests/contract/js"


def test_missing_node_fails_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("contract_helpers.shutil.which", lambda _name: None)
    with pytest.raises(pytest.fail.Exception, match="node is not on PATH"):
        require_node()


def test_crud_upsert_and_relationship_query(http_org: OrgHandle, js_env: dict[str, str]) -> None:
    out = node_ok("crud.mjs", http_org, env=js_env)
    created = out["created"]
    assert created["success"] is True
    assert created["errors"] == []
    assert created["id"].startswith("001")
    assert out["fetched"]["Id"] == created["id"]
    assert out["fetched"]["Phone"] == "555-0100"
    assert out["fetched"]["AnnualRevenue"] == 12345678  # sent by the org as 1.2345678E7
    assert out["fetched"]["type"] == "Account"
    assert out["updateResult"] == {"id": created["id"], "success": True, "errors": []}
    assert out["refetchedName"].endswith(" v2")

    assert out["contact"]["success"] is True
    joined = out["joined"]
    assert joined["totalSize"] == 1
    assert joined["records"][0]["Account"]["Name"] == out["refetchedName"]

    assert out["upsertCreated"]["created"] is True
    assert out["upsertCreated"]["success"] is True
    assert out["upsertUpdated"]["created"] is False
    assert out["upsertUpdated"]["id"] == out["upsertCreated"]["id"]
    assert out["upserted"]["totalSize"] == 1
    assert out["upserted"]["records"][0]["Name"].endswith(" v2")

    assert out["contactDeleted"]["success"] is True
    assert out["accountDeleted"] == {"id": created["id"], "success": True, "errors": []}
    assert out["retrieveDeleted"] is not None
    assert out["retrieveDeleted"]["errorCode"] in ("NOT_FOUND", "ENTITY_IS_DELETED")
    assert out["deletedVisible"]["records"][0]["IsDeleted"] is True


def test_collections_with_allow_recursive(http_org: OrgHandle, js_env: dict[str, str]) -> None:
    out = node_ok("collections.mjs", http_org, "450", env=js_env)
    assert out["createdCount"] == 450
    assert out["createdAllSuccess"] is True
    assert out["createRequests"] == 3  # 200 + 200 + 50 records
    assert out["updatedCount"] == 450
    assert out["updatedAllSuccess"] is True
    assert out["updatedIdsInOrder"] is True
    assert [r["Id"] for r in out["retrieved"]] == out["expectedRetrievedIds"]
    assert all(r["Name"].endswith(" upd") for r in out["retrieved"])
    assert [r["created"] for r in out["upserted"]] == [True, True, True]
    assert [r["created"] for r in out["upsertedAgain"]] == [False, False, False]
    assert [r["id"] for r in out["upsertedAgain"]] == [r["id"] for r in out["upserted"]]

    good, bad = out["mixed"]
    assert good["success"] is True
    assert bad["success"] is False
    assert bad["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert out["tooMany"]["errorCode"] == "EXCEEDED_ID_LIMIT"

    assert out["countAfterUpdate"] == 450
    assert out["destroyedCount"] == 450
    assert out["destroyedAllSuccess"] is True
    assert out["remaining"] == 0


def test_query_paging_and_autofetch(http_org: OrgHandle, js_env: dict[str, str]) -> None:
    out = node_ok("query.mjs", http_org, "4100", env=js_env)
    assert out["failures"] == 0
    first = out["first"]
    assert first["totalSize"] == 4100
    assert first["done"] is False
    assert 200 <= first["count"] <= 2000
    # jsforce keeps only the locator and rebuilds an absolute URL from it (C.1)
    assert first["nextRecordsUrl"].startswith(
        f"{http_org.instance_url}/services/data/v{http_org.api_version}/query/"
    )
    second = out["second"]
    assert second["totalSize"] == 4100
    assert second["count"] > 0

    assert out["all"] == {"totalSize": 4100, "done": True, "count": 4100, "distinct": 4100, "sorted": True}
    assert len(out["autoFetchRequests"]) >= 3
    assert out["liveAfterDelete"] == 4097
    assert out["withDeleted"] == {"count": 4100, "deleted": 3}


def test_bulk2_load_and_query(http_org: OrgHandle, js_env: dict[str, str]) -> None:
    out = node_ok("bulk2.mjs", http_org, "2500", env=js_env)
    assert out["inserted"] == {"successful": 2500, "failed": 1, "unprocessed": 0}
    assert out["allCreatedTrue"] is True
    failed = out["failedRow"]
    assert failed["sf__Id"] == ""
    assert failed["sf__Error"] == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"

    assert out["single"] == {"count": 100, "allMatch": True}  # conn.bulk2.query, one page

    queried = out["queried"]
    assert queried["count"] == 2500
    assert queried["distinct"] == 2500
    assert queried["keys"] == ["Id", "Name"]
    assert queried["allMatch"] is True
    assert out["pageSizes"] == [250] * 10  # the http_org serves 250-row pages
    assert out["locators"][-1] == "null"
    assert len(set(out["locators"][:-1])) == 9
    assert out["pageKeys"] == [["Id", "Name"]] * 10  # every page starts with its header row (F.4)

    empty = {"successful": 0, "failed": 0, "unprocessed": 0}
    assert out["emptyInsert"] == empty
    assert out["emptyDelete"] == empty
    assert out["deleted"] == {"successful": 2500, "failed": 0, "unprocessed": 0}
    assert out["deletedCreatedFalse"] is True
    assert out["afterDelete"] == 0


def test_sosl_search(http_org: OrgHandle, js_env: dict[str, str]) -> None:
    out = node_ok("search.mjs", http_org, env=js_env)
    kinds = sorted((r["type"], r["Name"] or r["LastName"]) for r in out["found"])
    assert [k for k, _ in kinds] == ["Account", "Contact"]
    assert kinds[0][1].endswith(" Industries")
    assert kinds[1][1].endswith("son")
    assert out["accountId"] in out["byPhone"]
    assert out["refused"]["errorCode"] == "MALFORMED_SEARCH"
    assert "enclosed in braces" in out["refused"]["message"]


def test_error_names(http_org: OrgHandle, js_env: dict[str, str]) -> None:
    out = node_ok("errors.mjs", http_org, env=js_env)
    assert out["notFound"]["errorCode"] == "NOT_FOUND"
    assert out["notFound"]["name"] == "NOT_FOUND"
    assert out["unknownObject"]["errorCode"] == "NOT_FOUND"
    assert out["malformedQuery"]["errorCode"] == "MALFORMED_QUERY"
    assert out["invalidField"]["errorCode"] == "INVALID_FIELD"
    assert out["requiredField"]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert out["multipleChoices"]["name"] == "MULTIPLE_CHOICES"
    assert len(out["multipleChoices"]["data"]) == 2
    assert out["restSession"]["errorCode"] == "INVALID_SESSION_ID"
    assert out["restSession"]["message"] == "Session expired or invalid"
    assert out["bulkSession"]["name"] == "INVALID_SESSION_ID"


def test_login_paths(http_org: OrgHandle) -> None:
    out = node_ok("login.mjs", http_org)
    user_id = out["userInfo"]["id"]
    assert user_id.startswith("005")
    assert out["userInfo"]["organizationId"].startswith("00D")
    assert out["loginInstanceUrl"].rstrip("/") == http_org.instance_url
    assert out["whoami"] == [{"Id": user_id, "Username": http_org.username}]
    org_id = out["userInfo"]["organizationId"]
    assert out["identity"] == {
        "ok": {"user_id": user_id, "organization_id": org_id, "username": http_org.username}
    }

    token = out["token"]
    expected_keys = {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"}
    assert expected_keys <= set(token["keys"])
    assert token["token_type"] == "Bearer"
    assert token["id"].rstrip("/").endswith(f"/{out['userInfo']['organizationId']}/{user_id}")

    assert out["wrongPassword"]["name"] == "invalid_grant"
    assert out["wrongPassword"]["message"] == "authentication failure"

    assert out["jwt"] is None, out["jwt"]
    assert isinstance(out["jwtQueryTotal"], int)

    assert out["afterLogout"]["errorCode"] == "INVALID_SESSION_ID"


def test_soap_login_and_logout(http_org: OrgHandle) -> None:
    out = node_ok("soap_login.mjs", http_org)
    org = http_org.local_org.org
    assert out["userInfo"]["id"] == org.admin_user_id
    assert out["userInfo"]["organizationId"] == org.store.org_id
    assert out["instanceUrl"] == http_org.instance_url
    assert out["usernames"] == [http_org.username]
    assert out["afterLogout"]["errorCode"] == "INVALID_SESSION_ID"
    assert out["wrongPassword"]["message"] == (
        "INVALID_LOGIN: Invalid username, password, security token; or user locked out."
    )


def test_bulk_v1_load_update_query_destroy(http_org: OrgHandle, js_env: dict[str, str]) -> None:
    """jsforce's Bulk API 1.0: conn.bulk.load and find().update()/destroy() above 200 rows."""
    out = node_ok("bulk_v1.mjs", http_org, "300", env=js_env)
    assert out["loaded"]["count"] == 301
    assert out["loaded"]["ok"] == 300
    assert out["loaded"]["distinct"] == 300
    assert out["allCreated"] is True
    assert out["loaded"]["last"] == {
        "id": None,
        "success": False,
        "created": False,
        "errors": ["INVALID_EMAIL_ADDRESS:Email: invalid email address: not-an-email:Email --"],
    }
    assert out["updated"] == {"count": 300, "ok": 300, "jobs": 1}  # one Bulk API 1.0 job, not REST
    assert out["titled"] == 300
    assert out["queried"] == {"count": 300, "keys": ["Id", "LastName", "Title"], "allTitled": True}
    assert out["destroyed"] == {"count": 300, "ok": 300, "jobs": 1}
    assert out["left"] == 0
