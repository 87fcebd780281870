"""Store files made by earlier versions: REAL number columns rebuilt once, without affinity, on open."""

from __future__ import annotations

import logging
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from kinetic_core.emulator.org import Org, OrgSettings
from kinetic_core.emulator.store import numbers

CENTS = "1222333444555666.88"


def _org(path: Path) -> Org:
    return Org(OrgSettings(data_dir=path), sleep=lambda _s: None)


def _make_real(path: Path, table: str, column: str, extra: str = "") -> None:
    """Declare ``column`` REAL, as earlier versions did, and put doubles in it as they did."""
    conn = sqlite3.connect(path / "org.sqlite")
    conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" REAL{extra}')
    conn.close()


def _column_type(path: Path, table: str, column: str) -> str:
    conn = sqlite3.connect(path / "org.sqlite")
    try:
        return next(str(r[2]) for r in conn.execute(f"PRAGMA table_info({table})") if r[1] == column)
    finally:
        conn.close()


def test_real_number_columns_are_rebuilt_and_keep_every_row(tmp_path: Path) -> None:
    org = _org(tmp_path)
    try:
        for i, amount in enumerate(("2.5", "7", "1234.56", CENTS, "123456789.0")):
            org.store.insert(
                "Opportunity",
                {"Name": f"Old {i}", "StageName": "Prospecting", "CloseDate": "2026-01-31", "Amount": amount},
            )
    finally:
        org.close()
    conn = sqlite3.connect(tmp_path / "org.sqlite")
    indexes_before = sorted(
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'sobj_opportunity'"
        )
    )
    conn.close()
    _make_real(tmp_path, "sobj_opportunity", "amount")  # the column as an earlier version made it
    conn = sqlite3.connect(tmp_path / "org.sqlite")
    for i, amount in enumerate((2.5, 7.0, 1234.56, float(CENTS), 123456789.0)):
        conn.execute("UPDATE sobj_opportunity SET amount = ? WHERE name = ?", (amount, f"Old {i}"))
    conn.commit()
    before = conn.execute("SELECT rowid, id, name, amount FROM sobj_opportunity ORDER BY rowid").fetchall()
    conn.close()
    assert _column_type(tmp_path, "sobj_opportunity", "amount") == "REAL"

    org = _org(tmp_path)
    try:
        rid = org.store.insert(
            "Opportunity",
            {"Name": "New", "StageName": "Prospecting", "CloseDate": "2026-01-31", "Amount": CENTS},
        )
        assert org.store.get("Opportunity", rid, ["Amount"])["Amount"] == Decimal(CENTS)  # every digit kept
    finally:
        org.close()
    assert _column_type(tmp_path, "sobj_opportunity", "amount") == "BLOB"
    conn = sqlite3.connect(tmp_path / "org.sqlite")
    after = conn.execute(
        "SELECT rowid, id, name, amount, typeof(amount) FROM sobj_opportunity "
        "WHERE name LIKE 'Old %' ORDER BY rowid"
    ).fetchall()
    indexes_after = sorted(
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'sobj_opportunity'"
        )
    )
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert [row[:4] for row in after] == before  # same rows, same rowids, same values
    assert [row[4] for row in after] == ["real", "integer", "real", "integer", "integer"]
    assert [numbers.java_text(row[3]) for row in after] == [
        "2.5",
        "7.0",
        "1234.56",
        numbers.java_text(float(CENTS)),  # the double an earlier version kept: its lost digits stay lost
        "1.23456789E8",
    ]
    assert indexes_after == indexes_before


def test_a_table_with_more_than_the_store_writes_is_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    org = _org(tmp_path)
    org.close()
    _make_real(tmp_path, "sobj_opportunity", "amount", " CHECK (amount >= 0)")
    with caplog.at_level(logging.WARNING, logger="kinetic_core.emulator.store.migrate"):
        org = _org(tmp_path)
        try:
            org.store.insert(
                "Opportunity",
                {"Name": "A", "StageName": "Prospecting", "CloseDate": "2026-01-31", "Amount": "2.5"},
            )
        finally:
            org.close()
    assert _column_type(tmp_path, "sobj_opportunity", "amount") == "REAL"
    assert "sobj_opportunity keeps its REAL number columns (amount)" in caplog.text


def test_a_rebuild_that_fails_leaves_the_table_as_it_was(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    org = _org(tmp_path)
    org.close()
    _make_real(tmp_path, "sobj_opportunity", "amount")
    conn = sqlite3.connect(tmp_path / "org.sqlite")
    conn.execute("INSERT INTO sobj_opportunity (id, name, amount) VALUES ('006x', 'Kept', 2.5)")
    conn.execute("CREATE TABLE sobj_opportunity__kc_rebuild (x)")  # the rebuild's CREATE TABLE fails
    conn.commit()
    conn.close()
    with caplog.at_level(logging.WARNING, logger="kinetic_core.emulator.store.migrate"):
        _org(tmp_path).close()
    assert "sobj_opportunity keeps its REAL number columns: rebuilding it failed" in caplog.text
    assert _column_type(tmp_path, "sobj_opportunity", "amount") == "REAL"
    conn = sqlite3.connect(tmp_path / "org.sqlite")
    assert conn.execute("SELECT name, amount FROM sobj_opportunity WHERE id = '006x'").fetchall() == [
        ("Kept", 2.5)
    ]
    conn.close()
