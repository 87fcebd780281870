"""Rows every emulated org starts with: the Organization, two profiles, their permission sets, users.

Profiles: "System Administrator" (every permission) and "Standard User" (API enabled, reports; no
hard delete, View All Data or Modify All Data). Each profile owns a permission set
(``IsOwnedByProfile``) and every seeded user is assigned the one of its profile, as in a real org.

Example:
    >>> # seed_user(store, "ops@kinetic.local", "Standard User", None) -> "005..."
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store import database
from kinetic_core.emulator.store.standard import PERMISSIONS

STANDARD_USER_PERMISSIONS = ("PermissionsApiEnabled", "PermissionsRunReports", "PermissionsExportReport")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SEED_TABLES = ("organization", "profile", "permissionset", "permissionsetassignment", "user")


class SeedTarget(Protocol):
    """What seeding needs of the record store (``Store`` is one; this module never imports it).

    The acting user of a seeded row is the store's ``admin_user_id`` once it has one; before the first
    user exists the rows are written without a creator and credited to that user afterwards.
    """

    def read(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def find_ids(self, sobject: str, field: str, value: Any) -> list[str]: ...

    def _raw_insert(self, sobject: str, values: Mapping[str, Any], user_id: str | None) -> str: ...


def seed_org(store: SeedTarget, org_name: str) -> str:
    """Seed the Organization and the profiles on first open; answer the org id."""
    with store.read() as conn:
        existing = database.get_meta(conn, "org_id")
    if existing:
        return existing
    for name, granted in (
        ("System Administrator", PERMISSIONS),
        ("Standard User", STANDARD_USER_PERMISSIONS),
    ):
        perms = {p: int(p in granted) for p in PERMISSIONS}
        profile_id = store._raw_insert("Profile", {"Name": name, "UserType": "Standard", **perms}, None)
        ps_name = "X" + profile_id[:15]
        store._raw_insert(
            "PermissionSet",
            {"Name": ps_name, "Label": ps_name, "IsOwnedByProfile": 1, "ProfileId": profile_id, **perms},
            None,
        )
    org_id = store._raw_insert(
        "Organization",
        {
            "Name": org_name,
            "Country": "US",
            "DefaultLocaleSidKey": "en_US",
            "TimeZoneSidKey": "America/Los_Angeles",
            "LanguageLocaleKey": "en_US",
            "FiscalYearStartMonth": 1,
            "InstanceName": "KIN1",
            "IsSandbox": 0,
            "OrganizationType": "Developer Edition",
            "IsReadOnly": 0,
        },
        None,
    )
    with store.read() as conn:
        database.set_meta(conn, "org_id", org_id)
    return org_id


def seed_user(store: SeedTarget, username: str, profile: str, email: str | None) -> str:
    """Create a user on a profile unless the username exists; answer the user's id."""
    with store.transaction():
        hits = store.find_ids("User", "Username", username)
        if hits:
            return hits[0]
        profile_ids = store.find_ids("Profile", "Name", profile)
        if not profile_ids:
            raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", f"No such profile: {profile}", ["ProfileId"])
        local = username.split("@", 1)[0] or "user"
        acting = getattr(store, "admin_user_id", None)
        user_id = store._raw_insert(
            "User",
            {
                "Username": username,
                "LastName": local.replace(".", " ").title(),
                "FirstName": "Kinetic",
                "Email": email or (username if _EMAIL.match(username) else f"{local}@kinetic.local"),
                "Alias": local[:8],
                "CommunityNickname": local[:40],
                "IsActive": 1,
                "TimeZoneSidKey": "America/Los_Angeles",
                "LocaleSidKey": "en_US",
                "EmailEncodingKey": "UTF-8",
                "LanguageLocaleKey": "en_US",
                "ProfileId": profile_ids[0],
            },
            acting,
        )
        owned = store.find_ids("PermissionSet", "ProfileId", profile_ids[0])
        if owned:
            store._raw_insert(
                "PermissionSetAssignment",
                {"AssigneeId": user_id, "PermissionSetId": owned[0]},
                acting or user_id,
            )
        if acting is None:
            _fix_creators(store, user_id)
        return user_id


def _fix_creators(store: SeedTarget, admin_id: str) -> None:
    """Seed rows written before any user existed are credited to the first (admin) user."""
    with store.read() as conn:
        for table in _SEED_TABLES:
            conn.execute(
                f'UPDATE "sobj_{table}" SET createdbyid = ?, lastmodifiedbyid = ? WHERE createdbyid = ?',
                (admin_id, admin_id, ""),
            )


def permissions_of(store: SeedTarget, user_id: str) -> dict[str, bool]:
    """Effective permissions: the user's profile OR any permission set assigned to the user."""
    cols = ", ".join(f'"{p.lower()}"' for p in PERMISSIONS)
    with store.read() as conn:
        rows = conn.execute(
            f'SELECT {cols} FROM "sobj_profile" WHERE id = (SELECT profileid FROM "sobj_user" WHERE id = ?)',
            (user_id,),
        ).fetchall()
        rows += conn.execute(
            f'SELECT {", ".join("ps." + c for c in cols.split(", "))} FROM "sobj_permissionsetassignment" a '
            'JOIN "sobj_permissionset" ps ON ps.id = a.permissionsetid '
            "WHERE a.assigneeid = ? AND a.isdeleted = 0 AND ps.isdeleted = 0",
            (user_id,),
        ).fetchall()
    return {p: any(bool(r[i]) for r in rows) for i, p in enumerate(PERMISSIONS)}
