"""Store fast paths: column-at-a-time CSV parsing, batch id generation, set-based batch checks.

Each fast path is checked against the straightforward code it replaces, on generated batches.
"""

from __future__ import annotations

import sqlite3
import string
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kinetic_core.emulator.store import Store, build_schema, bulkops, ids
from kinetic_core.emulator.store.cleaninsert import insert_columns, sql_literal
from kinetic_core.emulator.store.columnar import parse_columns
from kinetic_core.emulator.store.database import ensure_tables
from kinetic_core.emulator.store.values import plain_text_limit
from kinetic_core.emulator.store.writer import ObjectPlan, Pending, RowParser

SCHEMA = build_schema()
HEADERS = {
    "Account": [
        "Name",
        "Phone",
        "AnnualRevenue",
        "NumberOfEmployees",
        "Site",
        "LastActivityDate",
        "Id",
        "External_Id__c",
        "Description",
    ],
    "Contact": [
        "LastName",
        "Email",
        "Birthdate",
        "DoNotCall",
        "AccountId",
        "Id",
        "Department",
        "Account.External_Id__c",
        "ReportsTo.Email",
        "Account.Id",
        "Account:Account.External_Id__c",
        "Owner.Username",
    ],
}
CELLS = [
    "",
    "#N/A",
    "Acme",
    "12",
    "1.5",
    "-3e2",
    "x" * 81,
    "2024-02-29",
    "2024-02-30",
    "true",
    "0",
    "a@b.co",
    "not mail",
    "0018c0000000001AAA",
    "0038c0000000001",
]


def _snapshot(p: Pending) -> tuple[Any, ...]:
    err = p.error
    shown = None if err is None else (err.status, err.error_code, err.message, err.fields)
    return (p.index, p.values if err is None else None, shown, p.lookups if err is None else None)


@st.composite
def batches(draw: st.DrawFn) -> tuple[str, list[str], list[list[str]], bool]:
    sobject = draw(st.sampled_from(sorted(HEADERS)))
    header = draw(st.lists(st.sampled_from(HEADERS[sobject]), min_size=1, max_size=6, unique=True))
    width = len(header)
    rows = draw(st.lists(st.lists(st.sampled_from(CELLS), min_size=width, max_size=width), min_size=1))
    return sobject, header, rows, draw(st.booleans())


@settings(max_examples=150, deadline=None)
@given(batches())
def test_columnar_parse_matches_row_by_row(batch: tuple[str, list[str], list[list[str]], bool]) -> None:
    sobject, header, cells, insert = batch
    obj = SCHEMA.get(sobject)
    assert obj is not None
    plan = ObjectPlan(SCHEMA, obj)
    rows = [dict(zip(header, r, strict=True)) for r in cells]
    fast = parse_columns(RowParser(plan, "csv", insert=insert), rows)
    slow = [RowParser(plan, "csv", insert=insert).parse(row, i) for i, row in enumerate(rows)]
    on_account = [h for h in header if h == "AccountId" or h.split(".")[0].endswith("Account")]
    if len(on_account) > 1:  # two columns setting one lookup: declined, the row parser keeps their order
        assert fast is None
        return
    assert fast is not None
    assert [_snapshot(p) for p in fast] == [_snapshot(p) for p in slow]


def test_columnar_parse_declines_what_it_does_not_handle() -> None:
    obj = SCHEMA.get("Contact")
    assert obj is not None
    parser = RowParser(ObjectPlan(SCHEMA, obj), "csv", insert=True)
    assert parse_columns(parser, [{"LastName": "A", "Nothing.External_Id__c": "E1"}]) is None
    assert parse_columns(parser, [{"LastName": "A", "Account.Nothing__c": "E1"}]) is None
    assert parse_columns(parser, [{"LastName": "A", "Account.Name": "E1"}]) is None  # not a key field
    assert parse_columns(parser, [{"LastName": "A", "User:Account.Id": "E1"}]) is None
    assert parse_columns(parser, [{"AccountId": "", "Account.External_Id__c": "E1"}]) is None
    assert parse_columns(parser, [{"Account.External_Id__c": "E1", "Account.Id": ""}]) is None
    assert parse_columns(parser, [{"LastName": "A"}, {"Email": "a@b.co"}]) is None
    assert parse_columns(parser, [{"LastName": "A", "lastname": "B"}]) is None
    assert parse_columns(RowParser(ObjectPlan(SCHEMA, obj), "json", insert=True), [{"LastName": "A"}]) is None
    assert parse_columns(parser, []) is None


def test_plain_text_limit() -> None:
    account = SCHEMA.get("Account")
    contact = SCHEMA.get("Contact")
    assert account is not None
    assert contact is not None
    assert plain_text_limit(account.field("Site")) == 80  # type: ignore[arg-type]
    assert plain_text_limit(account.field("Description")) == 32000  # type: ignore[arg-type]
    assert plain_text_limit(account.field("AnnualRevenue")) is None  # type: ignore[arg-type]
    assert plain_text_limit(contact.field("Email")) is None  # type: ignore[arg-type]
    assert plain_text_limit(contact.field("AccountId")) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("first", "count"),
    [(0, 5), (1, 4000), (3840, 10), (3844 * 3844 - 3, 10), (123_456_789, 9000), (62**9 - 100, 100)],
)
def test_make_ids_matches_make_id(first: int, count: int) -> None:
    assert ids.make_ids("001", first, count) == [ids.make_id("001", n) for n in range(first, first + count)]


def _slow_checksum(id15: str) -> str:
    out = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        out += (string.ascii_uppercase + "012345")[bits]
    return out


@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=15, max_size=15))
def test_checksum_matches_definition(id15: str) -> None:
    assert ids.checksum(id15) == _slow_checksum(id15)
    assert ids.to18(id15) == id15 + _slow_checksum(id15)
    assert ids.to18(id15 + _slow_checksum(id15).lower()) == id15 + _slow_checksum(id15)


def test_checksum_of_odd_text_takes_the_general_path() -> None:
    for text in ("", "abc", "ÄÖÜ000000000000", "001D000000IqhS-"):
        assert ids.checksum(text) == _slow_checksum(text)
    with pytest.raises(ValueError, match="malformed"):
        ids.to18("001D000000IqhSLXXX")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "org.db", build_schema())
    yield s
    s.close()


def test_parent_delete_uses_an_index_on_sparse_lookups(store: Store) -> None:
    with store.read() as conn:
        plan = conn.execute(
            'EXPLAIN QUERY PLAN UPDATE "sobj_account" SET "masterrecordid" = NULL '
            'WHERE "masterrecordid" IN (?)',
            ("x",),
        ).fetchall()
    assert "USING INDEX" in " ".join(str(row[-1]) for row in plan)


def test_batch_checks_report_bad_references_and_duplicates(store: Store) -> None:
    parent = store.insert_many("Account", [{"Name": "P", "External_Id__c": "K1"}])[0].id
    assert parent is not None
    gone = store.insert_many("Account", [{"Name": "G"}])[0].id
    assert gone is not None
    store.delete_many("Account", [gone])
    rows = [
        {"Name": "ok", "ParentId": parent, "External_Id__c": "K2"},
        {"Name": "wrong type", "ParentId": "0038c0000000001AAA", "External_Id__c": "K3"},
        {"Name": "missing", "ParentId": "0018c000000ZZZZ", "External_Id__c": "K4"},
        {"Name": "deleted", "ParentId": gone, "External_Id__c": "K5"},
        {"Name": "dup stored", "External_Id__c": "k1"},
        {"Name": "dup in batch", "External_Id__c": "K2"},
    ]
    out = store.insert_many("Account", rows)
    got = [o.error.error_code if o.error else None for o in out]
    assert got == [
        None,
        "INVALID_CROSS_REFERENCE_KEY",
        "INVALID_CROSS_REFERENCE_KEY",
        "ENTITY_IS_DELETED",
        "DUPLICATE_VALUE",
        "DUPLICATE_VALUE",
    ]


def test_update_and_upsert_keep_row_errors_in_place(store: Store) -> None:
    made = store.insert_many("Account", [{"Name": f"A{i}", "External_Id__c": f"E{i}"} for i in range(3)])
    first = made[0].id
    assert first is not None
    upd = store.update_many(
        "Account",
        [
            {"Id": first[:15], "Name": "renamed", "NumberOfEmployees": "7"},
            {"Id": "", "Name": "x", "NumberOfEmployees": ""},
            {"Id": "001bad", "Name": "x", "NumberOfEmployees": ""},
            {"Id": first, "Name": "#N/A", "NumberOfEmployees": ""},
        ],
    )
    assert [o.error.error_code if o.error else None for o in upd] == [
        None,
        "MISSING_ARGUMENT",
        "MALFORMED_ID",
        "REQUIRED_FIELD_MISSING",
    ]
    ups = store.upsert_many(
        "Account",
        "External_Id__c",
        [
            {"External_Id__c": "E1", "Name": "updated", "AnnualRevenue": "5"},
            {"External_Id__c": "E9", "Name": "new", "AnnualRevenue": "lots"},
            {"External_Id__c": "E10", "Name": "new", "AnnualRevenue": ""},
        ],
    )
    assert [(o.created, o.error.error_code if o.error else None) for o in ups] == [
        (False, None),
        (False, "INVALID_FIELD"),
        (True, None),
    ]
    assert store.get("Account", made[1].id or "")["Name"] == "updated"
    assert store.get("Account", first)["NumberOfEmployees"] == 7


def test_sqlite_settings_suit_a_local_emulator(store: Store) -> None:
    with store.read() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 16_384
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] * 16_384 == 64 << 20


def test_a_store_file_made_with_other_pages_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "org.db"
    older = sqlite3.connect(path)
    older.execute("PRAGMA page_size=4096")
    older.execute("CREATE TABLE earlier (x)")
    older.close()
    with Store(path, build_schema()) as s, s.read() as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] * 4096 == 64 << 20
        assert conn.execute("SELECT count(*) FROM sobj_account").fetchone()[0] == 0


INSERT_HEADERS = ["Name", "Phone", "AnnualRevenue", "Site", "External_Id__c", "ParentId", "OwnerId", "Rating"]
INSERT_CELLS = ["", "#N/A", "Acme", "12", "1.5", "x" * 81, "E1", "e1", "E2", "Hot"]


def _table(store: Store) -> list[tuple[Any, ...]]:
    with store.read() as conn:
        return conn.execute("SELECT * FROM sobj_account ORDER BY id").fetchall()


@settings(max_examples=40, deadline=None)
@given(
    header=st.lists(st.sampled_from(INSERT_HEADERS), min_size=1, max_size=5, unique=True),
    cells=st.lists(st.lists(st.sampled_from(INSERT_CELLS), min_size=8, max_size=8), min_size=1, max_size=6),
    parent=st.sampled_from(["live", "deleted", "none"]),
)
def test_clean_insert_fast_path_matches_row_pipeline(
    tmp_path_factory: pytest.TempPathFactory, header: list[str], cells: list[list[str]], parent: str
) -> None:
    results = []
    for fast in (True, False):
        root = tmp_path_factory.mktemp("fast" if fast else "slow")
        with Store(root / "org.db", build_schema(), clock=lambda: datetime(2024, 1, 2, tzinfo=UTC)) as s:
            taken = s.insert_many("Account", [{"Name": "Existing", "External_Id__c": "E2"}])[0].id
            assert taken is not None
            if parent == "deleted":
                s.delete_many("Account", [taken])
            ref = {"live": taken, "deleted": taken, "none": ""}[parent]
            rows = [
                {
                    h: (ref if h == "ParentId" and c == "12" else s.admin_user_id if h == "OwnerId" else c)
                    for h, c in zip(header, r, strict=False)
                }
                for r in cells
            ]
            if fast:
                out = s.insert_many("Account", rows)
            else:
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(bulkops, "plan_clean_insert", lambda *a, **k: None)
                    out = s.insert_many("Account", rows)
            shown = [(o.id, o.created, o.error.error_code if o.error else None) for o in out]
            results.append((shown, _table(s)))
    assert results[0] == results[1]


def test_clean_insert_takes_the_fast_path(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = bulkops.BulkOps._do_inserts

    def spy(self: Any, plan: Any, pendings: list[Pending], user_id: str, now: str) -> None:
        calls.append(len(pendings))
        real(self, plan, pendings, user_id, now)

    monkeypatch.setattr(bulkops.BulkOps, "_do_inserts", spy)
    out = store.insert_many("Account", [{"Name": f"A{i}", "Rating": ""} for i in range(5)])
    assert all(o.created and o.error is None for o in out)
    assert calls == []
    out = store.insert_many("Account", [{"Name": "B", "Rating": ""}, {"Name": "", "Rating": "Hot"}])
    assert [o.error.error_code if o.error else None for o in out] == [None, "REQUIRED_FIELD_MISSING"]
    assert calls == [2]
    assert store.record_counts()["Account"] == 6


CONTACT_HEADERS = ["FirstName", "LastName", "Email", "Account.External_Id__c", "Account.Id", "Description"]
CONTACT_CELLS = ["", "#N/A", "Zoë", "Ødegaard 7", "a@b.co", "E1", "e1", "E2", "E9", "GONE", "line\nbreak"]


def _contact_table(store: Store) -> list[tuple[Any, ...]]:
    with store.read() as conn:
        return conn.execute("SELECT * FROM sobj_contact ORDER BY id").fetchall()


@settings(max_examples=40, deadline=None)
@given(
    header=st.lists(st.sampled_from(CONTACT_HEADERS), min_size=1, max_size=5, unique=True),
    cells=st.lists(st.lists(st.sampled_from(CONTACT_CELLS), min_size=6, max_size=6), min_size=1, max_size=6),
)
def test_contact_fast_path_with_lookups_matches_row_parser(
    tmp_path_factory: pytest.TempPathFactory, header: list[str], cells: list[list[str]]
) -> None:
    """Lookups by external id and derived names: column path, row pipeline and row parser agree."""
    results = []
    for mode in ("fast", "pipeline", "rows"):
        root = tmp_path_factory.mktemp(mode)
        with Store(root / "org.db", build_schema(), clock=lambda: datetime(2024, 1, 2, tzinfo=UTC)) as s:
            made = s.insert_many(
                "Account",
                [
                    {"Name": "One", "External_Id__c": "E1"},
                    {"Name": "Two", "External_Id__c": "E2"},
                    {"Name": "Gone", "External_Id__c": "GONE"},
                ],
            )
            s.delete_many("Account", [made[2].id or ""])
            rows = [
                {
                    h: (made[0].id or "" if h == "Account.Id" and c == "E1" else c)
                    for h, c in zip(header, r, strict=False)
                }
                for r in cells
            ]
            with pytest.MonkeyPatch.context() as mp:
                if mode != "fast":
                    mp.setattr(bulkops, "plan_clean_insert", lambda *a, **k: None)
                if mode == "rows":
                    mp.setattr(bulkops, "convert_columns", lambda *a, **k: None)
                out = s.insert_many("Contact", rows)
            shown = [(o.id, o.created, o.error.error_code if o.error else None, o.error and o.error.message)
                     for o in out]  # fmt: skip
            results.append((shown, _contact_table(s)))
    assert results[0] == results[1] == results[2]


def test_contact_batch_with_lookups_takes_the_fast_path(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = bulkops.BulkOps._do_inserts

    def spy(self: Any, plan: Any, pendings: list[Pending], user_id: str, now: str) -> None:
        calls.append(len(pendings))
        real(self, plan, pendings, user_id, now)

    store.insert_many("Account", [{"Name": "P", "External_Id__c": "P1"}])
    monkeypatch.setattr(bulkops.BulkOps, "_do_inserts", spy)
    rows = [{"FirstName": "Zoë", "LastName": f"L{i}", "Account.External_Id__c": "p1"} for i in range(3)]
    rows.append({"FirstName": "", "LastName": "Solo", "Account.External_Id__c": ""})
    out = store.insert_many("Contact", rows)
    assert all(o.created and o.error is None for o in out)
    assert calls == []
    got = [store.get("Contact", o.id or "", ["Name", "AccountId"]) for o in out]
    parent = store.find_ids("Account", "External_Id__c", "P1")
    assert [(g["Name"], g["AccountId"]) for g in got] == [
        ("Zoë L0", parent[0]), ("Zoë L1", parent[0]), ("Zoë L2", parent[0]), ("Solo", None)
    ]  # fmt: skip
    rows[1]["Account.External_Id__c"] = "missing"
    out = store.insert_many("Contact", rows)
    assert [o.error.error_code if o.error else None for o in out] == [None, "INVALID_FIELD", None, None]
    assert calls == [4]


ODD_VALUES = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.sampled_from(["O'Brien", "''", "a\x00b", "\x00", "Zoë", "NULL", "1e3", " 7 "]),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False),
    st.booleans(),
    st.binary(max_size=4),
)
"""Values of every type a store column may receive, some of them awkward as SQL literals."""


def _inserted(conn: sqlite3.Connection, fast: bool, cols: dict[str, Any], count: int) -> object:
    """What a table holds after inserting ``cols`` (values and their SQL types, in row order), or the
    error the insert raised."""
    obj = SCHEMA.get("Account")
    assert obj is not None
    plan = ObjectPlan(SCHEMA, obj)
    try:
        if fast:
            insert_columns(conn, plan, cols, count)
        else:
            names = [c for c in plan.columns if c in cols]
            series = [cols[c] if isinstance(cols[c], list) else [cols[c]] * count for c in names]
            conn.executemany(plan.insert_sql(tuple(names)), zip(*series, strict=True))
    except (sqlite3.Error, OverflowError) as exc:
        return type(exc), str(exc)
    shown = ", ".join(f"{c}, typeof({c})" for c in ["rowid", *cols])
    return conn.execute(f"SELECT {shown} FROM sobj_account ORDER BY rowid").fetchall()


ACCOUNT_COLUMNS = ["name", "annualrevenue", "numberofemployees", "site", "isdeleted"]


@settings(max_examples=150, deadline=None)
@given(columns=st.lists(st.sampled_from(ACCOUNT_COLUMNS), min_size=1, unique=True), data=st.data())
def test_insert_columns_stores_what_binding_each_row_stores(columns: list[str], data: st.DataObject) -> None:
    """Constants as literals and rows through the temporary table: the same stored values (types
    included), the same row order and the same errors as one bound ``INSERT`` per row."""
    count = data.draw(st.integers(min_value=1, max_value=4))
    cols: dict[str, Any] = {
        c: data.draw(st.lists(ODD_VALUES, min_size=count, max_size=count) | ODD_VALUES) for c in columns
    }
    cols["id"] = [f"001000000000{i:03d}AAA" for i in range(count)]
    outcomes = []
    for fast in (True, False):
        conn = sqlite3.connect(":memory:", isolation_level=None)
        ensure_tables(conn, SCHEMA)
        outcomes.append(_inserted(conn, fast, cols, count))
        conn.close()
    assert outcomes[0] == outcomes[1]


def test_sql_literal_leaves_awkward_values_to_binding() -> None:
    assert sql_literal("O'Brien") == "'O''Brien'"
    assert sql_literal(None) == "NULL"
    assert sql_literal(-(2**63)) == str(-(2**63))
    for value in ("a\x00b", 2**63, 1.5, True, b"x"):
        assert sql_literal(value) is None
