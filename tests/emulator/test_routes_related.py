"""REST details: sObject Relationships URLs, conditional requests on describe and rows, and
the 404 an unserved endpoint answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import EmulatorApi


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def test_child_to_parent_url_returns_the_parent_record(emulator_api: EmulatorApi) -> None:
    account_id = emulator_api.create("Account", Name="Parent Co", Industry="Banking")
    contact_id = emulator_api.create("Contact", LastName="Child", AccountId=account_id)
    parent = emulator_api.get(f"sobjects/Contact/{contact_id}/Account")
    assert parent.status_code == 200, parent.text
    assert parent.json() == emulator_api.get(f"sobjects/Account/{account_id}").json()
    some = emulator_api.get(f"sobjects/Contact/{contact_id[:15]}/account", params={"fields": "Name"})
    assert some.json() == {
        "attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{account_id}"},
        "Name": "Parent Co",
    }
    owner = emulator_api.get(f"sobjects/Contact/{contact_id}/Owner", params={"fields": "Username"})
    assert owner.json()["attributes"]["type"] == "User"
    assert owner.json()["Username"] == emulator_api.local.username


def test_empty_lookup_answers_404(emulator_api: EmulatorApi) -> None:
    orphan = emulator_api.create("Contact", LastName="Orphan")
    response = emulator_api.get(f"sobjects/Contact/{orphan}/Account")
    assert response.status_code == 404
    assert response.json() == [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


def test_parent_to_child_url_returns_a_query_result(emulator_api: EmulatorApi) -> None:
    account_id = emulator_api.create("Account", Name="Family")
    kids = {emulator_api.create("Contact", LastName=f"Kid {i}", AccountId=account_id) for i in range(3)}
    emulator_api.create("Contact", LastName="Someone else")
    response = emulator_api.get(f"sobjects/Account/{account_id}/Contacts")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["totalSize"], body["done"]) == (3, True)
    assert list(body) == ["totalSize", "done", "records"]
    assert {r["Id"] for r in body["records"]} == kids
    assert all(r["attributes"]["type"] == "Contact" and r["AccountId"] == account_id for r in body["records"])
    assert "LastName" in body["records"][0]
    narrow = emulator_api.get(f"sobjects/Account/{account_id}/Contacts", params={"fields": "LastName"}).json()
    assert {tuple(sorted(r)) for r in narrow["records"]} == {("LastName", "attributes")}
    lonely = emulator_api.create("Account", Name="No children")
    empty = emulator_api.get(f"sobjects/Account/{lonely}/Contacts")
    assert empty.status_code == 200
    assert empty.json() == {"totalSize": 0, "done": True, "records": []}
    bad = emulator_api.get(f"sobjects/Account/{account_id}/Contacts", params={"fields": "Nope"})
    assert (bad.status_code, bad.json()[0]["errorCode"]) == (400, "INVALID_FIELD")


def test_parent_can_be_updated_and_deleted_through_the_relationship(emulator_api: EmulatorApi) -> None:
    account_id = emulator_api.create("Account", Name="Before")
    contact_id = emulator_api.create("Contact", LastName="Link", AccountId=account_id)
    patched = emulator_api.patch(f"sobjects/Contact/{contact_id}/Account", json={"Name": "After"})
    assert patched.status_code == 204
    assert emulator_api.get(f"sobjects/Account/{account_id}").json()["Name"] == "After"
    refused = emulator_api.patch(f"sobjects/Account/{account_id}/Contacts", json={"LastName": "x"})
    assert refused.status_code == 405
    assert refused.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    deleted = emulator_api.delete(f"sobjects/Contact/{contact_id}/Account")
    assert deleted.status_code == 204
    assert emulator_api.get(f"sobjects/Account/{account_id}").status_code == 404


def test_unknown_relationship_and_missing_record(emulator_api: EmulatorApi) -> None:
    account_id = emulator_api.create("Account", Name="Plain")
    unknown = emulator_api.get(f"sobjects/Account/{account_id}/Bogus")
    assert unknown.status_code == 404
    message = unknown.json()[0]["message"]
    assert "external ID" not in message
    assert "Bogus" in message
    missing = emulator_api.get("sobjects/Account/001000000000999AAA/Contacts")
    assert missing.status_code == 404
    assert missing.json()[0]["errorCode"] == "NOT_FOUND"
    # the same URL shape still reaches a record by external id
    emulator_api.patch("sobjects/Account/External_Id__c/EXT-9", json={"Name": "By key"})
    by_key = emulator_api.get("sobjects/Account/External_Id__c/EXT-9")
    assert by_key.status_code == 200
    assert by_key.json()["Name"] == "By key"


def test_relationship_urls_inside_composite(emulator_api: EmulatorApi) -> None:
    account_id = emulator_api.create("Account", Name="Composite parent")
    contact_id = emulator_api.create("Contact", LastName="Composite child", AccountId=account_id)
    body = {
        "compositeRequest": [
            {
                "method": "GET",
                "url": f"/services/data/v62.0/sobjects/Contact/{contact_id}/Account",
                "referenceId": "parent",
            },
            {
                "method": "GET",
                "url": f"/services/data/v62.0/sobjects/Account/{account_id}/Contacts",
                "referenceId": "children",
            },
        ]
    }
    out = emulator_api.post("composite", json=body).json()["compositeResponse"]
    assert out[0]["httpStatusCode"] == 200
    assert out[0]["body"]["Id"] == account_id
    assert out[1]["body"]["totalSize"] == 1


def test_describe_carries_last_modified_and_answers_304(emulator_api: EmulatorApi) -> None:
    for suffix in ("sobjects/Account/describe", "sobjects"):
        first = emulator_api.get(suffix)
        assert first.status_code == 200
        modified = parsedate_to_datetime(first.headers["Last-Modified"])
        assert modified <= datetime.now(UTC)
        same = emulator_api.get(suffix, headers={"If-Modified-Since": first.headers["Last-Modified"]})
        assert same.status_code == 304
        assert same.content == b""
        tomorrow = _http_date(modified + timedelta(days=1))
        later = emulator_api.get(suffix, headers={"If-Modified-Since": tomorrow})
        assert later.status_code == 304
        earlier = emulator_api.get(
            suffix, headers={"If-Modified-Since": _http_date(modified - timedelta(seconds=1))}
        )
        assert earlier.status_code == 200
        assert earlier.json() == first.json()
        nonsense = emulator_api.get(suffix, headers={"If-Modified-Since": "yesterday"})
        assert nonsense.status_code == 200


def test_rows_answer_304_when_not_modified_and_accounts_carry_an_etag(emulator_api: EmulatorApi) -> None:
    account_id = emulator_api.create("Account", Name="Cached")
    first = emulator_api.get(f"sobjects/Account/{account_id}")
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('--gzip"')
    modified = datetime.strptime(first.json()["LastModifiedDate"], "%Y-%m-%dT%H:%M:%S.%f%z")
    url = f"sobjects/Account/{account_id}"
    assert emulator_api.get(url, headers={"If-None-Match": etag}).status_code == 304
    next_second = _http_date(modified + timedelta(seconds=1))
    not_since = emulator_api.get(url, headers={"If-Modified-Since": next_second})
    assert not_since.status_code == 304
    emulator_api.patch(f"sobjects/Account/{account_id}", json={"Name": "Changed"})
    again = emulator_api.get(f"sobjects/Account/{account_id}", headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert again.headers["ETag"] != etag
    contact_id = emulator_api.create("Contact", LastName="No etag")
    assert "ETag" not in emulator_api.get(f"sobjects/Contact/{contact_id}").headers


def test_unserved_endpoints_say_the_emulator_does_not_support_them(emulator_api: EmulatorApi) -> None:
    for suffix in ("tooling/query", "sobjects/Account/listviews/recent/results", "no/such/thing"):
        response = emulator_api.get(suffix)
        assert response.status_code == 404
        [error] = response.json()
        assert error["errorCode"] == "NOT_FOUND"
        assert "not supported by this emulator" in error["message"]
    sub = {"method": "GET", "url": "/services/data/v62.0/tooling/query", "referenceId": "tooling"}
    composite = emulator_api.post("composite", json={"compositeRequest": [sub]}).json()["compositeResponse"]
    assert composite[0]["httpStatusCode"] == 404
    assert "not supported by this emulator" in composite[0]["body"][0]["message"]
    missing_record = emulator_api.get("sobjects/Account/001000000000999AAA")
    assert missing_record.json()[0]["message"] == "The requested resource does not exist"


def test_conditional_sub_requests_answer_304_with_the_validators(emulator_api: EmulatorApi) -> None:
    """As recorded from Salesforce: ``httpStatusCode`` 304, ``body`` null, validators in httpHeaders."""
    modified = emulator_api.get("sobjects").headers["Last-Modified"]
    since = parsedate_to_datetime(modified)
    account_id = emulator_api.create("Account", Name="Sub-request cache")
    etag = emulator_api.get(f"sobjects/Account/{account_id}").headers["ETag"]
    base = "/services/data/v62.0"

    def sub(ref: str, url: str, **headers: str) -> dict[str, Any]:
        return {"referenceId": ref, "method": "GET", "url": base + url, "httpHeaders": headers}

    body = {
        "compositeRequest": [
            sub("global", "/sobjects", **{"If-Modified-Since": modified}),
            sub("describe", "/sobjects/Contact/describe", **{"If-Modified-Since": _http_date(since)}),
            sub("stale", "/sobjects", **{"If-Modified-Since": _http_date(since - timedelta(days=1))}),
            sub("row", f"/sobjects/Account/{account_id}", **{"If-None-Match": etag}),
            sub("nobody", "/sobjects/Nobody__c/describe", **{"If-Modified-Since": modified}),
        ]
    }
    out = {r["referenceId"]: r for r in emulator_api.post("composite", json=body).json()["compositeResponse"]}
    for ref in ("global", "describe"):
        assert out[ref] == {
            "body": None,
            "httpHeaders": {"Last-Modified": modified},
            "httpStatusCode": 304,
            "referenceId": ref,
        }
    assert out["stale"]["httpStatusCode"] == 200
    assert out["stale"]["httpHeaders"] == {"Last-Modified": modified}
    assert out["stale"]["body"]["sobjects"]
    assert out["row"] == {
        "body": None,
        "httpHeaders": {"ETag": etag},
        "httpStatusCode": 304,
        "referenceId": "row",
    }
    assert out["nobody"]["httpStatusCode"] == 404
