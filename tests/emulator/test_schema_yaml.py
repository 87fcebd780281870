"""custom: YAML schema files (good and bad) and the standard schema's shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store import SchemaError, Store, build_schema, load_schema_file, standard_objects
from kinetic_core.emulator.store.schema import FieldType

GOOD = """
objects:
  Invoice__c:
    label: Invoice
    name_field: {label: Invoice Number, type: autonumber, format: "INV-{0000}"}
    fields:
      Amount__c: {type: currency, precision: 16, scale: 2, required: true}
      Status__c: {type: picklist, values: [Draft, Sent, Paid], restricted: true, default: Draft}
      Tags__c: {type: multipicklist, values: [red, green, blue]}
      Paid__c: {type: checkbox}
      Lines__c: {type: int}
      Ratio__c: {type: number, precision: 10, scale: 4}
      Discount__c: {type: percent}
      Due__c: {type: date}
      Sent_At__c: {type: datetime}
      Cutoff__c: {type: time}
      Contact_Email__c: {type: email}
      Phone__c: {type: phone}
      Link__c: {type: url}
      Notes__c: {type: longtextarea}
      Memo__c: {type: textarea}
      Code__c: {type: text, length: 20, external_id: true, unique: true}
      Account__c: {type: reference, to: account, child: Invoices__r}
  Invoice_Line__c:
    key_prefix: a0Z
    fields:
      Invoice__c: {type: masterdetail, to: Invoice__c, relationship: Invoice__r, child: Lines__r}
      Qty__c: {type: double}
fields:
  Account:
    Tier__c: {type: picklist, values: [Gold, Silver]}
    Legacy_Key__c: {type: text, length: 40, external_id: true}
"""


@pytest.fixture
def schema_file(tmp_path: Path) -> Path:
    path = tmp_path / "schema.yaml"
    path.write_text(GOOD, encoding="utf-8")
    return path


def test_standard_objects() -> None:
    objs = {o.name: o for o in standard_objects()}
    assert objs["Account"].field("Name").required  # type: ignore[union-attr]
    assert objs["Contact"].field("LastName").required  # type: ignore[union-attr]
    assert not objs["Contact"].field("Name").createable  # type: ignore[union-attr]
    assert [f.name for f in objs["Opportunity"].fields if f.required] == ["Name", "StageName", "CloseDate"]
    assert [f.name for f in objs["Lead"].fields if f.required] == ["LastName", "Company"]
    for name in ("Account", "Contact", "Opportunity", "Lead"):
        ext = objs[name].field("External_Id__c")
        assert ext is not None
        assert ext.external_id
        assert ext.unique
        assert ext.id_lookup
        assert ext.custom
    for name in ("Account", "Contact", "Opportunity", "Lead", "Case"):
        owner = objs[name].field("OwnerId")
        assert owner is not None
        assert owner.reference_to == ("User",)
        assert owner.relationship_name == "Owner"
    for obj in objs.values():
        for sys_field in ("Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",  # noqa: E501
                          "SystemModstamp"):  # fmt: skip
            f = obj.field(sys_field)
            assert f is not None, (obj.name, sys_field)
            assert not f.createable, (obj.name, sys_field)
            assert not f.updateable, (obj.name, sys_field)
    user = objs["User"]
    for name in ("Username", "Email", "FirstName", "LastName", "Name", "Alias", "IsActive", "ProfileId",
                 "TimeZoneSidKey", "LocaleSidKey", "EmailEncodingKey", "LanguageLocaleKey", "UserType"):  # fmt: skip  # noqa: E501
        assert user.field(name) is not None, name
    for name in (
        "Name",
        "InstanceName",
        "IsSandbox",
        "TrialExpirationDate",
        "NamespacePrefix",
        "OrganizationType",
    ):
        assert objs["Organization"].field(name) is not None


def test_load_good_file(schema_file: Path) -> None:
    schema = build_schema(schema_file)
    invoice = schema.get("invoice__c")
    assert invoice is not None
    assert invoice.custom
    assert invoice.key_prefix == "a00"
    line = schema.get("Invoice_Line__c")
    assert line is not None
    assert line.key_prefix == "a0Z"
    assert [f.name for f in invoice.fields[:4]] == ["Id", "OwnerId", "IsDeleted", "Name"]
    types = {f.name: f.type for f in invoice.fields if f.custom}
    assert types == {
        "Amount__c": FieldType.CURRENCY, "Status__c": FieldType.PICKLIST, "Tags__c": FieldType.MULTIPICKLIST,
        "Paid__c": FieldType.BOOLEAN, "Lines__c": FieldType.INT, "Ratio__c": FieldType.DOUBLE,
        "Discount__c": FieldType.PERCENT, "Due__c": FieldType.DATE, "Sent_At__c": FieldType.DATETIME,
        "Cutoff__c": FieldType.TIME, "Contact_Email__c": FieldType.EMAIL, "Phone__c": FieldType.PHONE,
        "Link__c": FieldType.URL, "Notes__c": FieldType.TEXTAREA, "Memo__c": FieldType.TEXTAREA,
        "Code__c": FieldType.STRING, "Account__c": FieldType.REFERENCE,
    }  # fmt: skip
    acc_ref = invoice.field("Account__c")
    assert acc_ref is not None
    assert acc_ref.relationship_name == "Account__r"
    assert acc_ref.reference_to == ("Account",)
    assert schema.child_relationship("Account", "Invoices__r") is not None
    master = line.field("Invoice__c")
    assert master is not None
    assert master.cascade_delete
    assert not master.nillable
    account = schema.get("Account")
    assert account is not None
    assert account.field("tier__c") is not None
    assert account.key_prefix == "001"
    assert [o.name for o in load_schema_file(schema_file)] == ["Invoice__c", "Invoice_Line__c", "Account"]


def test_custom_objects_in_store(tmp_path: Path, schema_file: Path) -> None:
    with Store(tmp_path / "org.db", build_schema(schema_file)) as store:
        acc = store.insert("Account", {"Name": "A", "Legacy_Key__c": "L1", "Tier__c": "Gold"})
        inv = store.insert(
            "Invoice__c", {"Amount__c": 10.555, "Account__r": {"Legacy_Key__c": "L1"}, "Code__c": "C1"}
        )
        rec = store.get("Invoice__c", inv)
        assert inv.startswith("a00")
        assert rec["Name"] == "INV-0001"
        assert rec["Status__c"] == "Draft"
        assert rec["Amount__c"] == 10.555  # kept at the precision sent, as Salesforce does
        assert rec["Account__c"] == acc
        assert rec["Paid__c"] is False
        assert rec["OwnerId"] == store.admin_user_id
        with pytest.raises(ApiError) as e:
            store.insert("Invoice__c", {"Amount__c": 1, "Status__c": "Lost"})
        assert e.value.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        with pytest.raises(ApiError) as e:
            store.insert("Invoice__c", {"Status__c": "Sent"})
        assert e.value.fields == ["Amount__c"]
        with pytest.raises(ApiError) as e:
            store.insert("Invoice__c", {"Amount__c": 1, "Code__c": "c1"})
        assert e.value.error_code == "DUPLICATE_VALUE"
        out = store.insert_many("Invoice_Line__c", [{"Invoice__r.Code__c": "C1", "Qty__c": "2"}])
        assert out[0].error is None
        store.delete("Invoice__c", inv)
        assert store.record_counts()["Invoice_Line__c"] == 0
        up = store.upsert_many(
            "Invoice__c", "Code__c", [{"Code__c": "C9", "Amount__c": "5", "Tags__c": "red;blue"}]
        )
        assert up[0].created
        assert store.get("Invoice__c", up[0].id or "")["Tags__c"] == "red;blue"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("objects:\n  Bad:\n    fields: {}\n", "object 'Bad': custom object names must"),
        ("objects:\n  X__c:\n    fields:\n      F__c: {type: money}\n", "object 'X__c' field 'F__c': unknown type 'money'"),  # noqa: E501
        ("objects:\n  X__c:\n    fields:\n      F: {type: text}\n", "field 'F': custom field names"),
        ("objects:\n  X__c:\n    fields:\n      F__c: {type: picklist}\n", "field 'F__c': a picklist needs"),
        ("objects:\n  X__c:\n    fields:\n      F__c: {type: reference}\n", "field 'F__c': a reference needs"),  # noqa: E501
        ("objects:\n  X__c:\n    fields:\n      F__c: {type: lookup, to: Nope__c}\n",
         "field 'F__c': reference to unknown object 'Nope__c'"),
        ("objects:\n  X__c:\n    fields:\n      F__c: {type: text, colour: red}\n", "unknown option(s) colour"),  # noqa: E501
        ("objects:\n  X__c:\n    fields:\n      F__c: {type: currency, precision: 2, scale: 5}\n", "scale"),
        ("objects:\n  X__c:\n    fields:\n      F__c: {type: text, length: many}\n", "field 'F__c'"),
        ("objects:\n  X__c:\n    key_prefix: '001'\n", "key_prefix"),
        ("fields:\n  Nope:\n    F__c: {type: text}\n", "fields for unknown object 'Nope'"),
        ("fields:\n  Account:\n    External_Id__c: {type: text}\n", "field 'External_Id__c': field already exists"),  # noqa: E501
        ("objects: [1, 2]\n", "`objects` must be a mapping"),
        ("tables: {}\n", "top level must be a mapping"),
        ("objects:\n  X__c: {fields: {F__c: {type: picklist, values: [a], default: b}}}\n", "default 'b'"),
        ("objects: {X__c: {\n", "not valid YAML"),
    ],
)  # fmt: skip
def test_bad_files(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemaError) as e:
        build_schema(path)
    assert fragment in str(e.value)
    assert str(path) in str(e.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="cannot read schema file"):
        load_schema_file(tmp_path / "absent.yaml")
