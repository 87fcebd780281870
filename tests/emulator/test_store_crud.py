"""Store: single-record CRUD, upsert, validation errors, seeding, persistence, transactions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store import MultipleMatches, Store, UpsertOutcome, build_schema, ids


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    s = Store(tmp_path / "org.db", build_schema(), clock=clock)
    yield s
    s.close()


def err(excinfo: pytest.ExceptionInfo[ApiError]) -> tuple[int, str, str, list[str]]:
    e = excinfo.value
    return e.status, e.error_code, e.message, e.fields


# ------------------------------------------------------------------------------------------- seeding


def test_seed_rows(store: Store) -> None:
    assert store.org_id.startswith("00D")
    assert len(store.org_id) == 18
    org = store.get("Organization", store.org_id)
    assert org["Name"] == "Kinetic Local"
    assert org["IsSandbox"] is False
    assert org["OrganizationType"] == "Developer Edition"
    admin = store.user_by_username("Admin@Kinetic.local")
    assert admin is not None
    assert admin["Id"] == store.admin_user_id
    assert admin["Id"].startswith("005")
    assert admin["IsActive"] is True
    profile = store.get("Profile", admin["ProfileId"])
    assert profile["Name"] == "System Administrator"
    assert all(
        profile[p]
        for p in ("PermissionsApiEnabled", "PermissionsBulkApiHardDelete", "PermissionsModifyAllData")
    )
    standard = store.user_by_username("standard@kinetic.local")
    assert standard is not None
    perms = store.permissions_of(standard["Id"])
    assert perms["PermissionsApiEnabled"] is True
    assert not perms["PermissionsBulkApiHardDelete"]
    assert not perms["PermissionsViewAllData"]
    assert not perms["PermissionsModifyAllData"]
    assert store.permissions_of(store.admin_user_id)["PermissionsViewAllData"] is True
    assert store.user_by_username("nobody@kinetic.local") is None


def test_seed_user_idempotent_and_admin_username(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db", build_schema(), admin_username="boss@example.com", org_name="Acme") as s:
        assert s.get("User", s.admin_user_id)["Username"] == "boss@example.com"
        assert s.get("Organization", s.org_id)["Name"] == "Acme"
        uid = s.seed_user("ops@example.com", profile="Standard User")
        assert s.seed_user("OPS@example.com") == uid
        assert s.get("User", uid)["Email"] == "ops@example.com"
        with pytest.raises(ApiError):
            s.seed_user("x@example.com", profile="No Such Profile")


# ---------------------------------------------------------------------------------------------- CRUD


def test_insert_get_system_fields(store: Store, clock: Clock) -> None:
    rid = store.insert("account", {"name": "Acme", "AnnualRevenue": 1500000, "Industry": "Banking"})
    assert rid.startswith("001")
    assert len(rid) == 18
    assert ids.is_well_formed(rid)
    rec = store.get("Account", rid[:15])
    assert list(rec)[:3] == ["attributes", "Id", "IsDeleted"]
    assert rec["attributes"] == {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{rid}"}
    assert rec["Name"] == "Acme"
    assert rec["AnnualRevenue"] == 1500000.0
    assert rec["Industry"] == "Banking"
    assert rec["OwnerId"] == store.admin_user_id == rec["CreatedById"] == rec["LastModifiedById"]
    assert rec["CreatedDate"] == "2024-05-01T12:00:00.000+0000" == rec["SystemModstamp"]
    assert rec["IsDeleted"] is False
    assert rec["Phone"] is None
    assert store.get("Account", rid, ["name", "Id"], api_version="58.0") == {
        "attributes": {"type": "Account", "url": f"/services/data/v58.0/sobjects/Account/{rid}"},
        "Id": rid,
        "Name": "Acme",
    }
    with pytest.raises(ApiError) as e:
        store.get("Account", rid, ["Bogus__c"])
    assert e.value.error_code == "INVALID_FIELD"


def test_update_sets_audit_and_computed(store: Store, clock: Clock) -> None:
    other = store.user_by_username("standard@kinetic.local")
    assert other is not None
    cid = store.insert("Contact", {"FirstName": "Ada", "LastName": "Byron"})
    assert store.get("Contact", cid)["Name"] == "Ada Byron"
    clock.now += timedelta(minutes=5)
    store.update("contact", cid, {"LastName": "Lovelace", "Email": "ada@example.com"}, user_id=other["Id"])
    rec = store.get("Contact", cid)
    assert rec["Name"] == "Ada Lovelace"
    assert rec["LastModifiedById"] == other["Id"]
    assert rec["CreatedById"] == store.admin_user_id
    assert rec["LastModifiedDate"] == "2024-05-01T12:05:00.000+0000"
    assert rec["CreatedDate"] == "2024-05-01T12:00:00.000+0000"
    store.update("Contact", cid, {"Email": None})
    assert store.get("Contact", cid)["Email"] is None


def test_defaults_and_auto_number(store: Store) -> None:
    lead = store.get("Lead", store.insert("Lead", {"LastName": "Doe", "Company": "Doe Inc"}))
    assert lead["Status"] == "Open - Not Contacted"
    assert lead["IsConverted"] is False
    c1 = store.get("Case", store.insert("Case", {"Subject": "Broken"}))
    c2 = store.get("Case", store.insert("Case", {"Subject": "Still broken", "Status": "Closed"}))
    assert c1["Status"] == "New"
    assert c1["Priority"] == "Medium"
    assert c1["CaseNumber"] == "00000001"
    assert c2["CaseNumber"] == "00000002"
    assert c2["IsClosed"] is True
    assert c2["ClosedDate"] is not None
    opp = store.insert("Opportunity", {"Name": "Deal", "StageName": "Closed Won", "CloseDate": "2024-06-30"})
    rec = store.get("Opportunity", opp)
    assert rec["IsWon"] is True
    assert rec["IsClosed"] is True
    assert rec["CloseDate"] == "2024-06-30"


def test_required_fields(store: Store) -> None:
    with pytest.raises(ApiError) as e:
        store.insert("Account", {"Phone": "1"})
    assert err(e) == (400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"])
    with pytest.raises(ApiError) as e:
        store.insert("Opportunity", {"Name": "x"})
    assert e.value.fields == ["StageName", "CloseDate"]
    with pytest.raises(ApiError) as e:
        store.insert("Lead", {"FirstName": "x"})
    assert e.value.message == "Required fields are missing: [LastName, Company]"
    rid = store.insert("Account", {"Name": "A"})
    with pytest.raises(ApiError) as e:
        store.update("Account", rid, {"Name": None})
    assert e.value.error_code == "REQUIRED_FIELD_MISSING"


def test_field_errors(store: Store) -> None:
    with pytest.raises(ApiError) as e:
        store.insert("Account", {"Name": "A", "Bogus": 1})
    assert err(e) == (400, "INVALID_FIELD", "No such column 'Bogus' on sobject of type Account", ["Bogus"])
    with pytest.raises(ApiError) as e:
        store.insert("Account", {"Name": "A", "CreatedDate": "2020-01-01T00:00:00Z"})
    assert e.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert e.value.fields == ["CreatedDate"]
    with pytest.raises(ApiError) as e:
        store.insert("Account", {"Name": "A", "Id": "001000000000001"})
    assert e.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    cid = store.insert("Contact", {"LastName": "x"})
    with pytest.raises(ApiError) as e:
        store.update("Contact", cid, {"Name": "y"})
    assert e.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    with pytest.raises(ApiError) as e:
        store.insert("Foo", {"Name": "x"})
    assert e.value.error_code == "INVALID_TYPE"
    assert e.value.message.startswith("sObject type 'Foo' is not supported.")
    with pytest.raises(ApiError) as e:
        store.insert("Organization", {"Name": "x"})
    assert e.value.error_code == "INVALID_TYPE_FOR_OPERATION"
    with pytest.raises(ApiError) as e:
        store.insert("Account", {"Name": "x" * 256})
    assert e.value.error_code == "STRING_TOO_LONG"
    assert e.value.message.endswith("(max length=255)")
    assert "Name: data value too large: xxx" in e.value.message


def test_ids_malformed_not_found(store: Store) -> None:
    rid = store.insert("Account", {"Name": "A"})
    cid = store.insert("Contact", {"LastName": "C"})
    with pytest.raises(ApiError) as e:
        store.get("Account", cid)
    assert err(e) == (400, "MALFORMED_ID", f"Account ID: id value of incorrect type: {cid}", ["Id"])
    with pytest.raises(ApiError) as e:
        store.update("Account", "001xyz", {"Name": "B"})
    assert e.value.error_code == "MALFORMED_ID"
    missing = ids.make_id("001", 999_999)
    with pytest.raises(ApiError) as e:
        store.get("Account", missing)
    assert (e.value.status, e.value.error_code) == (404, "NOT_FOUND")
    with pytest.raises(ApiError) as e:
        store.update("Account", missing, {"Name": "B"})
    assert (e.value.status, e.value.error_code) == (404, "NOT_FOUND")
    assert store.get("Account", rid[:15])["Id"] == rid
    found = store.object_for_id(rid)
    assert found is not None
    assert found.name == "Account"
    assert store.object_for_id("zzz000000000000") is None


def test_references(store: Store) -> None:
    acc = store.insert("Account", {"Name": "A", "External_Id__c": "A1"})
    c1 = store.insert("Contact", {"LastName": "C", "AccountId": acc[:15]})
    assert store.get("Contact", c1)["AccountId"] == acc
    c2 = store.insert("Contact", {"LastName": "D", "Account": {"External_Id__c": "a1"}, "ReportsToId": c1})
    assert store.get("Contact", c2)["AccountId"] == acc
    with pytest.raises(ApiError) as e:
        store.insert("Contact", {"LastName": "E", "Account": {"External_Id__c": "nope"}})
    assert err(e) == (
        400,
        "INVALID_FIELD",
        "Foreign key external ID: nope not found for field External_Id__c in entity Account",
        ["AccountId"],
    )
    with pytest.raises(ApiError) as e:
        store.insert("Contact", {"LastName": "E", "AccountId": c1})
    assert e.value.error_code == "INVALID_CROSS_REFERENCE_KEY"
    assert e.value.fields == ["AccountId"]
    with pytest.raises(ApiError) as e:
        store.insert("Contact", {"LastName": "E", "AccountId": ids.make_id("001", 77_777)})
    assert e.value.error_code == "INVALID_CROSS_REFERENCE_KEY"
    with pytest.raises(ApiError) as e:
        store.insert("Contact", {"LastName": "E", "AccountId": "not-an-id"})
    assert e.value.error_code == "MALFORMED_ID"
    with pytest.raises(ApiError) as e:
        store.insert("Contact", {"LastName": "E", "Account": {"Name": "A"}})
    assert e.value.error_code == "INVALID_FIELD"
    owner = store.user_by_username("standard@kinetic.local")
    assert owner is not None
    opp = store.insert(
        "Opportunity",
        {
            "Name": "O",
            "StageName": "Prospecting",
            "CloseDate": "2024-01-01",
            "Owner": {"Username": owner["Username"]},
        },
    )
    assert store.get("Opportunity", opp)["OwnerId"] == owner["Id"]


def test_unique_violation(store: Store) -> None:
    first = store.insert("Account", {"Name": "A", "External_Id__c": "K1"})
    with pytest.raises(ApiError) as e:
        store.insert("Account", {"Name": "B", "External_Id__c": "k1"})
    assert err(e) == (
        400,
        "DUPLICATE_VALUE",
        f"duplicate value found: External_Id__c duplicates value on record with id: {first[:15]}",
        ["External_Id__c"],
    )
    second = store.insert("Account", {"Name": "B", "External_Id__c": "K2"})
    with pytest.raises(ApiError):
        store.update("Account", second, {"External_Id__c": "K1"})
    store.update("Account", first, {"External_Id__c": "K1"})  # same record: fine


def test_upsert(store: Store) -> None:
    out = store.upsert("Account", "External_Id__c", "U1", {"Name": "Created"})
    assert isinstance(out, UpsertOutcome)
    assert out.created
    again = store.upsert("account", "external_id__c", "u1", {"Name": "Updated"})
    assert again == UpsertOutcome(out.id, False)
    assert store.get("Account", out.id)["Name"] == "Updated"
    by_id = store.upsert("Account", "Id", out.id, {"Phone": "123"})
    assert by_id == UpsertOutcome(out.id, False)
    with pytest.raises(ApiError) as e:
        store.upsert("Account", "Name", "x", {})
    assert (e.value.status, e.value.error_code) == (404, "NOT_FOUND")
    assert e.value.message == "Provided external ID field does not exist or is not accessible: Name"
    # two records sharing an idLookup (non-unique) value -> 300
    store.insert("Contact", {"LastName": "A", "Email": "dup@example.com"})
    store.insert("Contact", {"LastName": "B", "Email": "dup@example.com"})
    with pytest.raises(MultipleMatches) as mm:
        store.upsert("Contact", "Email", "dup@example.com", {"LastName": "C"})
    assert mm.value.status == 300
    assert len(mm.value.urls_or_ids) == 2
    assert mm.value.urls_or_ids[0].startswith("/services/data/v62.0/sobjects/Contact/003")
    assert len(store.find_ids("Contact", "Email", "DUP@example.com")) == 2


def test_delete_soft_hard_and_cascade(store: Store) -> None:
    acc = store.insert("Account", {"Name": "A"})
    con = store.insert("Contact", {"LastName": "C", "AccountId": acc})
    case = store.insert("Case", {"Subject": "S", "AccountId": acc})
    store.delete(None, acc[:15])
    with pytest.raises(ApiError) as e:
        store.get("Account", acc)
    assert (e.value.status, e.value.error_code) == (404, "ENTITY_IS_DELETED")
    assert store.get("Account", acc, include_deleted=True)["IsDeleted"] is True
    assert store.get("Contact", con, include_deleted=True)["IsDeleted"] is True  # cascade
    assert store.get("Case", case)["AccountId"] is None  # plain lookup cleared
    with pytest.raises(ApiError) as e:
        store.delete("Account", acc)
    assert e.value.error_code == "ENTITY_IS_DELETED"
    with pytest.raises(ApiError) as e:
        store.update("Account", acc, {"Name": "x"})
    assert e.value.error_code == "ENTITY_IS_DELETED"
    store.undelete(None, acc)
    assert store.get("Account", acc)["IsDeleted"] is False
    store.hard_delete("Account", acc)
    with pytest.raises(ApiError) as e:
        store.get("Account", acc, include_deleted=True)
    assert e.value.error_code == "NOT_FOUND"
    with pytest.raises(ApiError) as e:
        store.delete(None, "zzz000000000000")
    assert e.value.error_code == "MALFORMED_ID"
    with pytest.raises(ApiError) as e:
        store.delete("User", store.admin_user_id)
    assert e.value.error_code == "INVALID_TYPE_FOR_OPERATION"


def test_counts_reset_counters(store: Store, clock: Clock) -> None:
    store.insert("Account", {"Name": "A"})
    gone = store.insert("Account", {"Name": "B"})
    store.delete("Account", gone)
    assert store.record_counts()["Account"] == 1
    assert store.record_counts(include_deleted=True)["Account"] == 2
    store.increment("api")
    store.increment("api", by=4)
    assert store.count_last_24h("api") == 5
    clock.now += timedelta(hours=23)
    store.increment("api")
    assert store.count_last_24h("api") == 6
    clock.now += timedelta(hours=2)
    assert store.count_last_24h("api") == 1
    store.reset()
    counts = store.record_counts(include_deleted=True)
    assert counts["Account"] == 0
    assert counts["User"] == 2
    assert counts["Organization"] == 1


def test_transaction_rollback(store: Store) -> None:
    keep = store.insert("Account", {"Name": "Keep"})

    def failing_outer() -> None:
        with store.transaction():
            store.insert("Account", {"Name": "Gone"})
            with store.transaction():
                store.update("Account", keep, {"Name": "Changed"})
            raise RuntimeError("boom")

    def failing_inner() -> None:
        with store.transaction():
            store.insert("Account", {"Name": "Inner"})
            store.insert("Account", {})

    with pytest.raises(RuntimeError):
        failing_outer()
    assert store.record_counts()["Account"] == 1
    assert store.get("Account", keep)["Name"] == "Keep"
    with store.transaction():
        with pytest.raises(ApiError):
            failing_inner()
        store.insert("Account", {"Name": "Outer"})
    with store.read() as conn:
        names = [r[0] for r in conn.execute('SELECT "name" FROM "sobj_account" ORDER BY rowid')]
    assert names == ["Keep", "Outer"]


def test_reopen_persistence_and_migration(tmp_path: Path) -> None:
    path = tmp_path / "org.db"
    with Store(path, build_schema()) as s:
        org, admin = s.org_id, s.admin_user_id
        a1 = s.insert("Account", {"Name": "A", "External_Id__c": "P1"})
        s.increment("api", 3)
    schema_file = tmp_path / "schema.yaml"
    schema_file.write_text("fields:\n  Account:\n    Tier__c: {type: picklist, values: [Gold, Silver]}\n")
    with Store(path, build_schema(schema_file)) as s:
        assert (s.org_id, s.admin_user_id) == (org, admin)
        assert s.get("Account", a1)["Tier__c"] is None
        s.update("Account", a1, {"Tier__c": "Gold"})
        a2 = s.insert("Account", {"Name": "B"})
        assert a2 != a1
        assert a2 > a1
        assert s.count_last_24h("api") == 3
        assert s.record_counts()["User"] == 2
    with Store(path, build_schema(schema_file)) as s:
        assert s.get("Account", a1)["Tier__c"] == "Gold"
