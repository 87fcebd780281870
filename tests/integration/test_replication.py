"""Replication windows (``/sobjects/X/deleted`` and ``/updated``) through the client, against the emulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_client_emulator import connect

from kinetic_core import SalesforceClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import ApiError, NotFoundError


@pytest.fixture
def client(local_org: LocalOrg, tmp_path: Path) -> Iterator[SalesforceClient]:
    with connect(local_org, tmp_path) as c:
        yield c


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_deleted_and_updated_records_in_a_window(client: SalesforceClient) -> None:
    start = now() - dt.timedelta(minutes=5)
    keep, change, drop = (client.create("Account", {"Name": n}) for n in ("Keep", "Change", "Drop"))
    client.update("Account", change, {"Name": "Changed"})
    client.delete("Account", drop)
    end = now() + dt.timedelta(minutes=2)

    updated = client.get_updated("Account", start, end)
    assert {keep, change} <= set(updated.ids)
    assert drop not in updated.ids
    assert updated.latest_date_covered is not None
    assert updated.latest_date_covered <= end

    deleted = client.get_deleted("Account", start, end)
    assert deleted.ids == [drop]
    moment = deleted.records[0].deleted_date
    assert moment is not None
    assert start <= moment <= end
    assert moment.tzinfo is not None
    assert deleted.earliest_date_available is not None
    assert deleted.earliest_date_available < start
    assert deleted.latest_date_covered is not None


def test_a_window_after_the_changes_is_empty(client: SalesforceClient) -> None:
    gone = client.create("Account", {"Name": "Earlier"})
    client.delete("Account", gone)
    start = now() + dt.timedelta(minutes=2)
    end = start + dt.timedelta(minutes=5)
    assert client.get_updated("Account", start, end).ids == []
    assert client.get_deleted("Account", start, end).records == []


def test_bad_windows_and_objects(client: SalesforceClient) -> None:
    moment = now().replace(second=10)
    with pytest.raises(ValueError, match="must come after start"):
        client.get_updated("Account", moment, moment)
    with pytest.raises(ApiError) as info:
        client.get_deleted("Account", moment, moment + dt.timedelta(seconds=30))  # the same minute
    assert info.value.error_code == "INVALID_REPLICATION_DATE"
    with pytest.raises(NotFoundError):
        client.get_deleted("Nope__c", moment, moment + dt.timedelta(minutes=5))


def test_wire_shapes(client: SalesforceClient) -> None:
    rid = client.create("Account", {"Name": "Shape"})
    client.delete("Account", rid)
    params = {"start": "2020-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}
    body = client.http.request("GET", "sobjects/Account/deleted/", params=params).json()
    assert set(body) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    assert set(body["deletedRecords"][0]) == {"id", "deletedDate"}
    assert body["deletedRecords"][0]["deletedDate"].endswith("+0000")
    body = client.http.request("GET", "sobjects/Account/updated", params=params).json()
    assert set(body) == {"ids", "latestDateCovered"}
    with pytest.raises(ApiError) as info:
        client.http.request("GET", "sobjects/Account/updated/", params={"end": params["end"]})
    assert info.value.error_code == "MISSING_ARGUMENT"
