"""The record store: one SQLite file per org, Salesforce validation, REST and Bulk write paths.

Single-record methods (``insert``, ``update``, ``upsert``, ``delete``, ``get``) take REST JSON values and
raise :class:`ApiError`; the ``*_many`` methods take Bulk rows (CSV text unless ``source="json"``), run
in one transaction and answer a :class:`RowOutcome` per row, never raising for a row's error. Both
paths share the same batch pipeline (``writer``), which validates in Python and writes with
``executemany``.

Example:
    >>> import tempfile, pathlib
    >>> from kinetic_core.emulator.store.custom import build_schema
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "org.db", build_schema())
    >>> new_id = store.insert("Account", {"Name": "Acme"})
    >>> store.get("account", new_id[:15])["Name"]
    'Acme'
    >>> store.close()
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kinetic_core.emulator.store import database, ids, messages, migrate, seed
from kinetic_core.emulator.store.bulkops import BulkOps, UpsertOutcome
from kinetic_core.emulator.store.compound import component_keys, compound_value
from kinetic_core.emulator.store.schema import ObjectDef, Schema
from kinetic_core.emulator.store.standard import SEED_OBJECTS
from kinetic_core.emulator.store.values import format_datetime, json_converter, to_json
from kinetic_core.emulator.store.writer import ObjectPlan, find_by_key, normalise_id

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The default clock: the current time in UTC."""
    return datetime.now(UTC)


class Store(BulkOps):
    """The records of one emulated org in one SQLite file (see the module docstring).

    Thread-safe: one connection guarded by an RLock; ``read()`` and ``transaction()`` hold it.
    """

    def __init__(
        self,
        path: Path,
        schema: Schema,
        *,
        clock: Callable[[], datetime] = utc_now,
        org_name: str = "Kinetic Local",
        admin_username: str = "admin@kinetic.local",
    ) -> None:
        self.path = Path(path)
        self.schema = schema
        self._clock = clock
        self._lock = threading.RLock()
        self._depth = 0
        self._conn: sqlite3.Connection = database.connect(self.path)
        self._plans = {obj.name.lower(): ObjectPlan(schema, obj) for obj in schema}
        try:
            with self.transaction():
                database.ensure_tables(self._conn, schema)
                migrate.rebuild_real_number_columns(self._conn, schema)
                self._seq = database.load_sequences(self._conn)
                self._dirty_seq: set[str] = set()
                self.org_id: str = seed.seed_org(self, org_name)
                self.admin_user_id: str = self.seed_user(admin_username, profile="System Administrator")
                seed.seed_user(self, "standard@kinetic.local", "Standard User", None)
        except Exception:
            self._conn.close()
            raise

    # ------------------------------------------------------------------------------------ plumbing

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection, with the store's lock held (for read-only SQL such as the SOQL engine's).

        Example:
            >>> # with store.read() as conn: conn.execute('SELECT count(*) FROM "sobj_account"')
        """
        with self._lock:
            yield self._conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A nestable transaction (SAVEPOINT based) rolled back when the block raises.

        Example:
            >>> # with store.transaction(): store.insert(...); store.update(...)
        """
        with self._lock:
            name = f"kc_sp{self._depth}"
            self._conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                self._conn.execute(f"ROLLBACK TO {name}")
                self._conn.execute(f"RELEASE {name}")
                raise
            self._depth -= 1
            self._conn.execute(f"RELEASE {name}")

    def _now(self) -> str:
        return format_datetime(self._clock())

    def _plan(self, sobject: str) -> ObjectPlan:
        plan = self._plans.get(sobject.lower())
        if plan is None:
            raise messages.invalid_type(sobject)
        return plan

    def _reserve(self, name: str, count: int) -> int:
        """Hand out ``count`` consecutive numbers of sequence ``name``; answer the first."""
        first = self._seq.get(name, 1)
        self._seq[name] = first + count
        self._dirty_seq.add(name)
        return first

    def _new_number(self, name: str) -> int:
        return self._reserve(name, 1)

    def _save_sequences(self) -> None:
        if self._dirty_seq:
            database.save_sequences(self._conn, self._seq, self._dirty_seq)
            self._dirty_seq.clear()

    def _acting(self, user_id: str | None) -> str:
        return ids.to18(user_id) if user_id else self.admin_user_id

    # ------------------------------------------------------------------------------- single record

    def insert(self, sobject: str, values: Mapping[str, Any], *, user_id: str | None = None) -> str:
        """Create one record from REST JSON values; returns its 18-char id.

        Example:
            >>> # store.insert("Contact", {"LastName": "Lovelace", "Account": {"External_Id__c": "A1"}})
        """
        plan = self._plan(sobject)
        if not plan.obj.createable:
            raise messages.not_operable(plan.obj.name, "create")
        outcome = self.insert_many(plan.obj.name, [values], source="json", user_id=user_id)[0]
        if outcome.error is not None:
            raise outcome.error
        assert outcome.id is not None
        return outcome.id

    def update(
        self, sobject: str, record_id: str, values: Mapping[str, Any], *, user_id: str | None = None
    ) -> None:
        """Update one record from REST JSON values (absent keys are unchanged, null clears).

        Example:
            >>> # store.update("Account", "001...", {"Phone": None})
        """
        plan = self._plan(sobject)
        rid = normalise_id(plan, record_id)
        row = {k: v for k, v in values.items() if k.lower() != "id"}
        row["Id"] = rid
        outcome = self.update_many(plan.obj.name, [row], source="json", user_id=user_id, _single=True)[0]
        if outcome.error is not None:
            raise outcome.error

    def upsert(
        self,
        sobject: str,
        ext_field: str,
        ext_value: str,
        values: Mapping[str, Any],
        *,
        user_id: str | None = None,
        api_version: str = "62.0",
    ) -> UpsertOutcome:
        """Create or update the record whose ``ext_field`` equals ``ext_value`` (``ext_field`` may be ``Id``).

        Raises:
            MultipleMatches: several records match (HTTP 300 with their URLs).

        Example:
            >>> # store.upsert("Account", "External_Id__c", "A1", {"Name": "Acme"}).created
        """
        plan = self._plan(sobject)
        key = self._ext_key(plan, ext_field)
        row = {k: v for k, v in values.items() if k.lower() not in ("attributes", key.name.lower())}
        if key.name == "Id":
            if not ext_value:
                return UpsertOutcome(self.insert(plan.obj.name, row, user_id=user_id), True)
            self.update(plan.obj.name, ext_value, row, user_id=user_id)
            return UpsertOutcome(ids.to18(ext_value), False)
        with self._lock:
            stored = json_converter(key)(ext_value)
            hits = find_by_key(self._conn, plan.obj, key, [stored]).get(
                stored.lower()
                if isinstance(stored, str) and key.is_text and not key.case_sensitive
                else stored,
                [],
            )
            if len(hits) > 1:
                raise messages.MultipleMatches(
                    [f"/services/data/v{api_version}/sobjects/{plan.obj.name}/{h}" for h in hits]
                )
            if hits:
                self.update(plan.obj.name, hits[0], row, user_id=user_id)
                return UpsertOutcome(hits[0], False)
            row[key.name] = ext_value
            return UpsertOutcome(self.insert(plan.obj.name, row, user_id=user_id), True)

    def delete(self, sobject: str | None, record_id: str) -> None:
        """Soft-delete one record (``IsDeleted`` = true); ``sobject`` None infers it from the id's prefix.

        Example:
            >>> # store.delete(None, "001...")
        """
        self._delete_one(sobject, record_id, hard=False)

    def hard_delete(self, sobject: str | None, record_id: str) -> None:
        """Remove one record for good (no recycle bin)."""
        self._delete_one(sobject, record_id, hard=True)

    def _delete_one(self, sobject: str | None, record_id: str, *, hard: bool) -> None:
        if sobject is None:
            obj = self.object_for_id(record_id) if ids.is_well_formed(record_id) else None
            if obj is None:
                raise messages.malformed_any_id(record_id)
            sobject = obj.name
        plan = self._plan(sobject)
        rid = normalise_id(plan, record_id)
        outcome = self.delete_many(plan.obj.name, [rid], hard=hard, _single=True)[0]
        if outcome.error is not None:
            raise outcome.error

    def undelete(self, sobject: str | None, record_id: str) -> None:
        """Restore a soft-deleted record (cascaded children are not restored)."""
        obj = self.object_for_id(record_id) if sobject is None else self._plan(sobject).obj
        if obj is None:
            raise messages.malformed_any_id(record_id)
        rid = normalise_id(self._plan(obj.name), record_id)
        with self.transaction():
            row = self._conn.execute(f'SELECT isdeleted FROM "{obj.table}" WHERE id = ?', (rid,)).fetchone()
            if row is None:
                raise messages.not_found()
            now = self._now()
            self._conn.execute(
                f'UPDATE "{obj.table}" SET isdeleted = 0, systemmodstamp = ? WHERE id = ?', (now, rid)
            )

    def get(
        self,
        sobject: str,
        record_id: str,
        fields: Sequence[str] | None = None,
        *,
        include_deleted: bool = False,
        api_version: str = "62.0",
    ) -> dict[str, Any]:
        """One record as REST JSON: ``attributes`` first, then fields in describe order.

        Example:
            >>> # store.get("Account", "001...", ["Name", "Industry"])["attributes"]["type"]
        """
        plan = self._plan(sobject)
        rid = normalise_id(plan, record_id)
        obj = plan.obj
        chosen = list(obj.fields)
        if fields:
            wanted = []
            for name in fields:
                f = obj.field(name.strip())
                if f is None:
                    raise messages.no_such_column_on_entity(name.strip(), obj.name)
                wanted.append(f.column)
            chosen = [f for f in obj.fields if f.column in wanted]
        compounds = {f.name: component_keys(obj, f) for f in chosen if f.is_compound}
        needed = [f.column for f in chosen if not f.is_compound]
        needed.extend(p.column for parts in compounds.values() for _, p in parts if p.column not in needed)
        with self._lock:
            cols = ", ".join(database.quote(c) for c in needed)
            row = self._conn.execute(
                f"SELECT isdeleted, {cols} FROM {database.quote(plan.obj.table)} WHERE id = ?", (rid,)
            ).fetchone()
        if row is None:
            raise messages.not_found()
        if row[0] and not include_deleted:
            raise messages.entity_is_deleted(404)
        out: dict[str, Any] = {
            "attributes": {
                "type": plan.obj.name,
                "url": f"/services/data/v{api_version}/sobjects/{plan.obj.name}/{rid}",
            }
        }
        stored = dict(zip(needed, row[1:], strict=True))
        for f in chosen:
            if f.is_compound:
                out[f.name] = compound_value(compounds[f.name], stored)
            else:
                out[f.name] = to_json(f, stored[f.column])
        return out

    def find_ids(self, sobject: str, field: str, value: Any) -> list[str]:
        """Ids of the undeleted records whose ``field`` equals ``value`` (case-insensitive for text).

        Example:
            >>> # store.find_ids("Account", "External_Id__c", "A1")
        """
        plan = self._plan(sobject)
        f = plan.obj.field(field)
        if f is None:
            raise messages.no_such_column(field, plan.obj.name)
        stored = json_converter(f)(value)
        with self._lock:
            found = find_by_key(self._conn, plan.obj, f, [stored])
        key = stored.lower() if isinstance(stored, str) and database.is_nocase(f) else stored
        return found.get(key, [])

    def changed_between(self, sobject: str, start: str, end: str, *, deleted: bool) -> list[tuple[str, str]]:
        """``(id, SystemModstamp)`` of the records changed (or soft-deleted) from ``start`` to ``end``.

        Both bounds are stored datetimes and inclusive; at most 600,001 rows are read (the caller
        refuses more than 600,000). Hard-deleted records leave no trace, so they are never listed.

        Example:
            >>> # store.changed_between("Account", "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z",
            >>> #                       deleted=True)
        """
        plan = self._plan(sobject)
        stamp = plan.obj.field("SystemModstamp")
        if stamp is None:
            return []
        where = f"{database.quote(stamp.column)} BETWEEN ? AND ?"
        if plan.obj.field("IsDeleted") is not None:
            where += " AND isdeleted = 1" if deleted else " AND isdeleted = 0"
        elif deleted:
            return []
        sql = (
            f"SELECT id, {database.quote(stamp.column)} FROM {database.quote(plan.obj.table)}"
            f" WHERE {where} ORDER BY 2, 1 LIMIT 600001"
        )
        with self._lock:
            return [(str(rid), str(moment)) for rid, moment in self._conn.execute(sql, (start, end))]

    def object_for_id(self, record_id: str) -> ObjectDef | None:
        """The object whose key prefix starts ``record_id``, if any."""
        if not isinstance(record_id, str) or len(record_id) < 3:
            return None
        return self.schema.by_prefix(record_id[:3])

    # ------------------------------------------------------------------------------------ users, org

    def user_by_username(self, username: str) -> dict[str, Any] | None:
        """The User record (REST JSON) with this username, case-insensitively, or None."""
        hits = self.find_ids("User", "Username", username)
        return self.get("User", hits[0]) if hits else None

    def seed_user(
        self, username: str, *, profile: str = "System Administrator", email: str | None = None
    ) -> str:
        """Create a user (idempotent: answers the existing user's id) on the named profile.

        Example:
            >>> # store.seed_user("ops@kinetic.local", profile="Standard User")
        """
        return seed.seed_user(self, username, profile, email)

    def permissions_of(self, user_id: str) -> dict[str, bool]:
        """The user's effective ``Permissions*`` flags: profile plus assigned permission sets."""
        return seed.permissions_of(self, user_id)

    # ----------------------------------------------------------------------------- housekeeping

    def record_counts(self, include_deleted: bool = False) -> dict[str, int]:
        """Number of records per object (every object, zero counts included)."""
        out = {}
        where = "" if include_deleted else " WHERE isdeleted = 0"
        with self._lock:
            for obj in self.schema:
                (count,) = self._conn.execute(
                    f"SELECT count(*) FROM {database.quote(obj.table)}{where}"
                ).fetchone()
                out[obj.name] = int(count)
        return out

    def reset(self) -> None:
        """Delete every record except the seed rows (Organization, users, profiles, permission sets)."""
        with self.transaction():
            for obj in self.schema:
                if obj.name.lower() not in SEED_OBJECTS:
                    self._conn.execute(f"DELETE FROM {database.quote(obj.table)}")

    def increment(self, name: str, by: int = 1) -> None:
        """Add to a rolling 24-hour counter persisted in the file (e.g. API requests)."""
        with self.transaction():
            database.bump_counter(self._conn, name, self._minute(), by)

    def count_last_24h(self, name: str) -> int:
        """Sum of a rolling counter over the last 24 hours."""
        with self._lock:
            return database.sum_counter(self._conn, name, self._minute())

    def _minute(self) -> int:
        return int(self._clock().timestamp() // 60)
