"""The client against the real emulator (in-process thread): every REST and Composite method, every flow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinetic_core import SalesforceClient, flatten, soql
from kinetic_core.auth import AuthFlow
from kinetic_core.config import resolve_org
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import (
    AuthenticationError,
    ConfigError,
    InvalidFieldError,
    InvalidTypeError,
    MalformedQueryError,
    NotFoundError,
    RequiredFieldMissingError,
    SessionExpiredError,
)
from kinetic_core.localorg import local_config
from kinetic_core.lockfile import LockFile


def connect(org: LocalOrg, tmp_path: Path, **overrides: Any) -> SalesforceClient:
    settings: dict[str, Any] = {
        "login_url": org.login_url,
        "client_id": org.client_id,
        "client_secret": org.client_secret,
        "username": org.username,
        "password": org.password,
    }
    settings.update(overrides)
    return SalesforceClient.connect(
        environ={},
        cwd=tmp_path,
        home=tmp_path / "home",
        sleep=lambda s: None,
        **{k: v for k, v in settings.items() if v is not None},
    )


@pytest.fixture
def client(local_org: LocalOrg, tmp_path: Path) -> Iterator[SalesforceClient]:
    with connect(local_org, tmp_path) as c:
        yield c


def test_crud_upsert_and_errors(client: SalesforceClient, local_org: LocalOrg) -> None:
    rid = client.create("Account", {"Name": "Acme", "AnnualRevenue": 1000})
    assert len(rid) == 18
    record = client.get("Account", rid, fields=["Name", "AnnualRevenue"])
    assert (record["Name"], record["AnnualRevenue"]) == ("Acme", 1000)
    client.update("Account", rid, {"Name": "Acme 2"})
    assert client.get("Account", rid)["Name"] == "Acme 2"
    created = client.upsert("Account", "External_Id__c", "EXT 1 & 2?", {"Name": "Ext"})
    assert created.created
    updated = client.upsert("Account", "External_Id__c", "EXT 1 & 2?", {"Name": "Ext 2"})
    assert (updated.id, updated.created) == (created.id, False)
    assert client.get("Account", created.id)["Name"] == "Ext 2"
    client.delete("Account", rid)
    with pytest.raises((NotFoundError, Exception)) as info:
        client.get("Account", rid)
    assert getattr(info.value, "status", 0) in (404, 400)
    with pytest.raises(RequiredFieldMissingError):
        client.create("Account", {"Phone": "1"})
    with pytest.raises(InvalidFieldError):
        client.create("Account", {"Name": "x", "Bogus__c": 1})
    with pytest.raises(NotFoundError):
        client.create("Nope__c", {"Name": "x"})
    counts = local_org.org.store.record_counts()
    assert counts["Account"] == 1


def test_metadata_and_limits(client: SalesforceClient) -> None:
    describe = client.describe("Account")
    assert client.describe("Account") is describe
    assert any(f["name"] == "Name" for f in describe["fields"])
    assert "Account" in {o["name"] for o in client.list_objects()}
    assert client.limits()["DailyApiRequests"]["Max"] > 0
    assert client.api_usage is not None
    assert client.api_usage.used > 0
    assert client.http.token.org_id is not None


def test_query_paging_is_lazy_and_complete(client: SalesforceClient, local_org: LocalOrg) -> None:
    results = client.create_batch(
        "Account", [{"Name": f"Q{i:03d}", "External_Id__c": f"Q{i}"} for i in range(450)]
    )
    assert all(r.success for r in results)
    query = client.query("SELECT Id, Name FROM Account ORDER BY Name", batch_size=200)
    assert query.total_size == 450
    assert query.pages_fetched == 1
    names = [r["Name"] for r in query]
    assert names == [f"Q{i:03d}" for i in range(450)]
    assert query.pages_fetched == 3
    client.delete("Account", results[0].id or "")
    assert client.count("Account") == 449
    assert len(list(client.query_all("SELECT Id FROM Account"))) == 450
    one = client.query_one(soql("SELECT Id, Name FROM Account WHERE Name = {}", "Q001"))
    assert one is not None
    assert one["Name"] == "Q001"
    assert client.query_one(soql("SELECT Id FROM Account WHERE Name = {}", "x' OR Name != '")) is None
    assert (
        client.count(
            "Account",
            "Name IN {} AND CreatedDate < {}",
            ["Q002", "Q003"],
            dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
        )
        == 2
    )


def test_relationship_query_flattens(client: SalesforceClient) -> None:
    acc = client.create("Account", {"Name": "Parent", "External_Id__c": "P1"})
    client.create("Contact", {"LastName": "Kid", "Account": {"External_Id__c": "P1"}})
    row = client.query_one("SELECT Id, LastName, Account.Name FROM Contact")
    assert row is not None
    flat = flatten(row)
    assert flat["Account.Name"] == "Parent"
    assert flat["LastName"] == "Kid"
    assert acc


def test_query_errors(client: SalesforceClient) -> None:
    with pytest.raises(MalformedQueryError):
        client.query("SELECT Id FRM Account")
    with pytest.raises(InvalidFieldError):
        client.query("SELECT Bacon__c FROM Account")
    with pytest.raises(InvalidTypeError):
        client.query("SELECT Id FROM Foo__x")


def test_search(client: SalesforceClient) -> None:
    acme = client.create("Account", {"Name": "Acme Rockets", "BillingCity": "Phoenix"})
    client.create("Contact", {"LastName": "Coyote", "Email": "wile@acme.example"})
    found = client.search("FIND {acme*} RETURNING Account(Name, BillingAddress), Contact(Email)")
    assert [(r["attributes"]["type"], r.get("Name") or r.get("Email")) for r in found] == [
        ("Account", "Acme Rockets"),
        ("Contact", "wile@acme.example"),
    ]
    assert found[0]["BillingAddress"]["city"] == "Phoenix"
    assert client.search("FIND {nothing-here}") == []
    assert [r["Id"] for r in client.search("FIND {rockets} RETURNING Account")] == [acme]
    with pytest.raises(MalformedQueryError) as exc:
        client.search("FIND acme")
    assert exc.value.error_code == "MALFORMED_SEARCH"


@pytest.mark.parametrize("concurrency", [1, 3])
def test_composite_batches(client: SalesforceClient, local_org: LocalOrg, concurrency: int) -> None:
    rows = [{"Name": f"C{i}", "External_Id__c": f"C{i}"} for i in range(401)]
    rows[200] = {"Phone": "no name"}
    created = client.create_batch("Account", rows, concurrency=concurrency)
    assert [r.index for r in created] == list(range(401))
    assert [r.index for r in created if not r.success] == [200]
    assert created[200].errors[0].code == "REQUIRED_FIELD_MISSING"
    ids = [r.id for r in created if r.success and r.id]
    updated = client.update_batch(
        "Account", [{"Id": i, "Phone": "555"} for i in ids], concurrency=concurrency
    )
    assert all(r.success for r in updated)
    upserted = client.upsert_batch(
        "Account",
        [{"External_Id__c": "C1", "Name": "C1b"}, {"External_Id__c": "NEW", "Name": "new"}],
        "External_Id__c",
    )
    assert [(r.success, r.created) for r in upserted] == [(True, False), (True, True)]
    deleted = client.delete_batch(ids, concurrency=concurrency)
    assert all(r.success for r in deleted)
    assert local_org.org.store.record_counts()["Account"] == 1


def test_all_or_none_rolls_back_the_chunk(client: SalesforceClient, local_org: LocalOrg) -> None:
    results = client.create_batch("Account", [{"Name": "ok"}, {"Phone": "bad"}], all_or_none=True)
    assert not any(r.success for r in results)
    assert local_org.org.store.record_counts().get("Account", 0) == 0


def test_jwt_flow(local_org: LocalOrg, tmp_path: Path) -> None:
    with connect(
        local_org,
        tmp_path,
        password=None,
        client_secret=None,
        private_key_path=str(local_org.jwt_private_key),
    ) as c:
        assert c.http.auth.flow is AuthFlow.JWT
        assert c.count("Account") == 0


def test_client_credentials_flow(local_org: LocalOrg, tmp_path: Path) -> None:
    with connect(local_org, tmp_path, username=None, password=None) as c:
        assert c.http.auth.flow is AuthFlow.CLIENT_CREDENTIALS
        assert c.count("Account") == 0


def test_bad_password_is_authentication_error(local_org: LocalOrg, tmp_path: Path) -> None:
    with connect(local_org, tmp_path, password="wrong") as c, pytest.raises(AuthenticationError) as info:
        c.count("Account")
    assert info.value.error == "invalid_grant"


def test_static_token_session(local_org: LocalOrg, tmp_path: Path) -> None:
    token = local_org.token()
    with connect(
        local_org,
        tmp_path,
        username=None,
        password=None,
        client_id=None,
        client_secret=None,
        instance_url=local_org.instance_url,
        access_token=token,
    ) as c:
        assert c.http.auth.flow is AuthFlow.STATIC
        assert c.count("Account") == 0
        local_org.admin("faults", {"session_ttl_seconds": 0})
        with pytest.raises(SessionExpiredError):
            c.count("Account")


def test_tls_with_ca_bundle(local_org_tls: LocalOrg, tmp_path: Path) -> None:
    assert local_org_tls.ca_cert is not None
    with connect(local_org_tls, tmp_path, ca_bundle=str(local_org_tls.ca_cert)) as c:
        assert c.instance_url.startswith("https://")
        assert c.create("Account", {"Name": "tls"})


def test_builtin_local_org_reuses_a_running_emulator(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with LocalOrg(data_dir=home / "local") as running:
        with SalesforceClient.connect("local", environ={}, cwd=tmp_path, home=home) as c:
            assert c.instance_url == running.instance_url
            c.create("Account", {"Name": "shared"})
        assert running.org.store.record_counts()["Account"] == 1


def test_builtin_local_org_starts_and_stops_in_process(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with SalesforceClient.connect(environ={"KINETIC_HOME": str(home)}, cwd=tmp_path) as c:
        assert c.org_name == "local"
        url = c.instance_url
        assert url.startswith("http://127.0.0.1:")
        assert c.create("Account", {"Name": "embedded"})
        assert (home / "local" / "emulator.json").exists()
    assert not (home / "local" / "emulator.json").exists()


def test_builtin_local_org_waits_for_an_emulator_another_process_is_starting(tmp_path: Path) -> None:
    """The data dir is taken but emulator.json is not there yet: wait for it, never start a second server."""
    home = tmp_path / "home"
    announced = home / "local" / "emulator.json"
    with LocalOrg(data_dir=home / "local") as running:
        hidden = announced.rename(tmp_path / "emulator.json")  # as if the other server were still starting
        naps: list[float] = []

        def sleep(seconds: float) -> None:
            naps.append(seconds)
            hidden.rename(announced)  # ...and now it has announced itself

        config, stop = local_config(
            resolve_org("local", home=home, environ={}, cwd=tmp_path), home, sleep=sleep
        )
        assert stop is None  # nothing started here
        assert config.login_url == running.instance_url
        assert len(naps) == 1
        assert running.org.store.record_counts().get("Account", 0) == 0


def test_builtin_local_org_held_by_a_process_that_never_answers_is_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ticks = iter(range(100))
    unavailable = "the local org is unavailable: an emulator is already running"
    with (
        LockFile(home / "local" / "emulator.lock", "kinetic emulator"),
        pytest.raises(ConfigError, match=unavailable),
    ):
        local_config(
            resolve_org("local", home=home, environ={}, cwd=tmp_path),
            home,
            wait=3,
            clock=lambda: float(next(ticks)),
            sleep=lambda _s: None,
        )
