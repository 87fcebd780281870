"""The many-rows write paths of the store: insert, update, upsert and delete of whole batches.

Mixed into :class:`~kinetic_core.emulator.store.records.Store`. Each call is one transaction; each
row gets a :class:`RowOutcome` in input order; a row's error never aborts the others.

Example:
    >>> # outcomes = store.insert_many("Account", [{"Name": "A"}, {"Name": ""}])
    >>> # [o.error.error_code if o.error else o.id for o in outcomes]
"""

from __future__ import annotations

import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, overload

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store import ids, messages
from kinetic_core.emulator.store.cleaninsert import insert_columns, plan_clean_insert
from kinetic_core.emulator.store.columnar import build_pendings, convert_columns, parse_columns
from kinetic_core.emulator.store.database import quote
from kinetic_core.emulator.store.schema import FieldDef, Schema
from kinetic_core.emulator.store.upserts import parse_upsert_rows, route_upserts, upsert_keys, upsert_targets
from kinetic_core.emulator.store.values import UNCHANGED
from kinetic_core.emulator.store.writer import (
    ObjectPlan,
    Pending,
    RowParser,
    auto_number,
    check_references,
    check_unique,
    chunks,
    complete_inserts,
    complete_update,
    find_by_key,
    normalise_id,
    resolve_lookups,
)


@dataclass(frozen=True)
class UpsertOutcome:
    """Result of a single-record upsert."""

    id: str
    created: bool


@dataclass(frozen=True)
class RowOutcome:
    """Result of one row of a ``*_many`` call: the id (when known), whether it was created, or the error."""

    id: str | None
    created: bool
    error: ApiError | None


class CreatedIds(Sequence[RowOutcome]):
    """The outcomes of a batch of inserts in which every row was created: only the new ids are kept.

    Reads like a list of :class:`RowOutcome` (made on access); :attr:`ids` lets a caller that renders
    results skip one object per row.

    Example:
        >>> done = CreatedIds(["003000000000001AAA"])
        >>> done[0]
        RowOutcome(id='003000000000001AAA', created=True, error=None)
    """

    __slots__ = ("ids",)

    def __init__(self, new_ids: list[str]) -> None:
        self.ids = new_ids

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> RowOutcome: ...

    @overload
    def __getitem__(self, index: slice) -> list[RowOutcome]: ...

    def __getitem__(self, index: int | slice) -> RowOutcome | list[RowOutcome]:
        if isinstance(index, slice):
            return [RowOutcome(i, True, None) for i in self.ids[index]]
        return RowOutcome(self.ids[index], True, None)

    def __iter__(self) -> Iterator[RowOutcome]:
        return (RowOutcome(i, True, None) for i in self.ids)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CreatedIds):
            return self.ids == other.ids
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CreatedIds({self.ids!r})"


def _outcome(p: Pending) -> RowOutcome:
    if p.error is not None:
        return RowOutcome(p.record_id if not p.created else None, False, p.error)
    return RowOutcome(p.record_id, p.created, None)


class BulkOps:
    """Batch write operations; the attributes and helpers below are provided by ``Store``."""

    schema: Schema
    _conn: sqlite3.Connection
    _lock: threading.RLock
    admin_user_id: str

    def _plan(self, sobject: str) -> ObjectPlan:
        raise NotImplementedError

    def _now(self) -> str:
        raise NotImplementedError

    def _reserve(self, name: str, count: int) -> int:
        raise NotImplementedError

    def _new_number(self, name: str) -> int:
        raise NotImplementedError

    def _save_sequences(self) -> None:
        raise NotImplementedError

    def _acting(self, user_id: str | None) -> str:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    # ---------------------------------------------------------------------------------------- insert

    def insert_many(
        self,
        sobject: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        source: str = "csv",
        user_id: str | None = None,
    ) -> Sequence[RowOutcome]:
        """Create records; one transaction, one outcome per row (:class:`CreatedIds` when all were created).

        Example:
            >>> # store.insert_many("Account", [{"Name": "Acme", "AnnualRevenue": "1.5E6"}])
        """
        plan = self._plan(sobject)
        if not plan.obj.createable:
            return [RowOutcome(None, False, messages.not_operable(plan.obj.name, "create")) for _ in rows]
        parser = RowParser(plan, source, insert=True)
        batch = convert_columns(parser, rows)
        with self.transaction():
            acting, now = self._acting(user_id), self._now()
            if batch is not None:
                cols = plan_clean_insert(self._conn, plan, batch, len(rows), acting)
                if cols is not None:
                    return self._insert_columns(plan, cols, len(rows), acting, now)
                pendings = build_pendings(batch, len(rows))
            else:
                pendings = [parser.parse(row, i) for i, row in enumerate(rows)]
            self._do_inserts(plan, pendings, acting, now)
        return [_outcome(p) for p in pendings]

    def _insert_columns(
        self, plan: ObjectPlan, cols: dict[str, Any], count: int, user_id: str, now: str
    ) -> CreatedIds:
        """Write a batch that :func:`plan_clean_insert` cleared: no row can fail, no per-row dicts."""
        new_ids = ids.make_ids(plan.obj.key_prefix, self._reserve(plan.obj.key_prefix, count), count)
        cols.update(
            {
                "isdeleted": 0,
                "createddate": now,
                "createdbyid": user_id,
                "lastmodifieddate": now,
                "lastmodifiedbyid": user_id,
                "systemmodstamp": now,
                "id": new_ids,
            }
        )
        insert_columns(self._conn, plan, cols, count)
        self._save_sequences()
        return CreatedIds(new_ids)

    def _do_inserts(self, plan: ObjectPlan, pendings: list[Pending], user_id: str, now: str) -> None:
        conn = self._conn
        resolve_lookups(conn, pendings)
        complete_inserts(plan, pendings, user_id, now)
        ready = [p for p in pendings if p.error is None]
        new_ids = ids.make_ids(
            plan.obj.key_prefix, self._reserve(plan.obj.key_prefix, len(ready)), len(ready)
        )
        for p, new_id in zip(ready, new_ids, strict=True):
            p.record_id = new_id
        check_references(conn, plan, pendings, {user_id})
        check_unique(conn, plan, pendings)
        ok = [p for p in pendings if p.error is None]
        for f in plan.auto_numbers:
            seq = f"{plan.obj.name}.{f.name}"
            for p in ok:
                p.values[f.column] = auto_number(f, self._new_number(seq))
        audit = {
            "isdeleted": 0,
            "createddate": now,
            "createdbyid": user_id,
            "lastmodifieddate": now,
            "lastmodifiedbyid": user_id,
            "systemmodstamp": now,
        }
        used: set[str] = set()
        for p in ok:
            values = p.values
            values.update(audit)
            values["id"] = p.record_id
            used.update(values)
        columns = [c for c in plan.columns if c in used]
        sql = plan.insert_sql(tuple(columns))
        for part in chunks(ok, 10_000):
            conn.executemany(sql, [tuple(map(p.values.get, columns)) for p in part])
        self._save_sequences()

    # ---------------------------------------------------------------------------------------- update

    def update_many(
        self,
        sobject: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        source: str = "csv",
        user_id: str | None = None,
        _single: bool = False,
    ) -> list[RowOutcome]:
        """Update records given by their ``Id`` column; one transaction, one outcome per row.

        Example:
            >>> # store.update_many("Account", [{"Id": "001...", "Phone": "#N/A"}])
        """
        plan = self._plan(sobject)
        parser = RowParser(plan, source, insert=False)
        parsed = parse_columns(parser, rows)
        id_key: str | None = None
        if parsed is None:
            parsed = [parser.parse(row, i) for i, row in enumerate(rows)]
        elif rows:
            id_key = next((k for k in rows[0] if k.lower() == "id"), "")
        pendings = []
        for i, row in enumerate(rows):
            p = parsed[i]
            p.created = False
            if id_key is not None:
                raw_id = row[id_key] if id_key else None
            else:
                raw_id = next((v for k, v in row.items() if k.lower() == "id"), None)
            if raw_id in (None, "", UNCHANGED):
                p.error = messages.missing_id()
            else:
                try:
                    p.record_id = normalise_id(plan, raw_id)
                except ApiError as exc:
                    p.error = exc
            pendings.append(p)
        if not plan.obj.updateable:
            for p in pendings:
                p.fail(messages.not_operable(plan.obj.name, "update"))
        with self.transaction():
            self._do_updates(plan, pendings, self._acting(user_id), self._now(), single=_single)
        return [_outcome(p) for p in pendings]

    def _load_existing(self, plan: ObjectPlan, pendings: list[Pending], *, single: bool) -> None:
        wanted = sorted({p.record_id for p in pendings if p.error is None and p.record_id})
        found: dict[str, dict[str, Any]] = {}
        # Only objects with derived fields need the whole stored record; the others need its state.
        columns = plan.columns if plan.derives else ["id", "isdeleted"]
        select = plan.select_sql if plan.derives else f"SELECT id, isdeleted FROM {quote(plan.obj.table)}"
        for part in chunks(wanted):
            sql = f"{select} WHERE id IN ({', '.join('?' for _ in part)})"
            for row in self._conn.execute(sql, part):
                record = dict(zip(columns, row, strict=True))
                found[record["id"]] = record
        for p in pendings:
            if p.error is not None or p.record_id is None:
                continue
            existing = found.get(p.record_id)
            if existing is None:
                p.fail(messages.not_found() if single else messages.invalid_cross_reference("Id"))
            elif existing["isdeleted"]:
                p.fail(messages.entity_is_deleted())
            else:
                p.existing = existing

    def _do_updates(
        self, plan: ObjectPlan, pendings: list[Pending], user_id: str, now: str, *, single: bool = False
    ) -> None:
        conn = self._conn
        self._load_existing(plan, pendings, single=single)
        resolve_lookups(conn, pendings)
        for p in pendings:
            if p.error is None:
                complete_update(plan, p, now)
        check_references(conn, plan, pendings, {user_id})
        check_unique(conn, plan, pendings)
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
        for p in pendings:
            if p.error is not None:
                continue
            p.values.update({"lastmodifieddate": now, "lastmodifiedbyid": user_id, "systemmodstamp": now})
            cols = tuple(p.values)
            groups[cols].append((*p.values.values(), p.record_id))
        for cols, params in groups.items():
            conn.executemany(plan.update_sql(cols), params)

    # ---------------------------------------------------------------------------------------- upsert

    def _ext_key(self, plan: ObjectPlan, ext_field: str) -> FieldDef:
        key = plan.obj.field(ext_field)
        if key is None or not (key.name == "Id" or key.external_id or key.id_lookup):
            raise messages.ext_field_missing(ext_field)
        return key

    def upsert_many(
        self,
        sobject: str,
        ext_field: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        source: str = "csv",
        user_id: str | None = None,
    ) -> list[RowOutcome]:
        """Insert or update each row by ``ext_field`` (``Id`` allowed: rows without one are inserted).

        Raises:
            ApiError: NOT_FOUND when ``ext_field`` is not an external-id field (a job-level error).

        Example:
            >>> # store.upsert_many("Account", "External_Id__c", [{"External_Id__c": "A1", "Name": "Acme"}])
        """
        plan = self._plan(sobject)
        key = self._ext_key(plan, ext_field)
        keyed, errors = upsert_keys(plan, key, rows, source)
        with self.transaction():
            matches = self._match_keys(plan, key, [v for _, v in keyed if v is not None])
            targets = upsert_targets(key, keyed, matches)
            pendings = parse_upsert_rows(plan, key, source, rows, targets)
            inserts, updates = route_upserts(key, targets, pendings)
            acting, now = self._acting(user_id), self._now()
            if updates:
                self._do_updates(plan, updates, acting, now)
            if inserts:
                self._do_inserts(plan, inserts, acting, now)
        return [
            RowOutcome(None, False, err) if (err := errors.get(i)) is not None else _outcome(pendings[i])
            for i in range(len(rows))
        ]

    def _match_keys(self, plan: ObjectPlan, key: FieldDef, values: list[Any]) -> dict[Any, list[str]]:
        if key.name != "Id":
            return find_by_key(self._conn, plan.obj, key, values)
        out: dict[Any, list[str]] = {}
        for part in chunks(sorted(set(values))):
            sql = f"SELECT id FROM {quote(plan.obj.table)} WHERE id IN ({', '.join('?' for _ in part)})"
            for (rid,) in self._conn.execute(sql, part):
                out[rid] = [rid]
        return out

    # ---------------------------------------------------------------------------------------- delete

    def delete_many(
        self, sobject: str, record_ids: Sequence[str], *, hard: bool = False, _single: bool = False
    ) -> list[RowOutcome]:
        """Soft-delete (or, with ``hard``, remove) records; children with cascade delete go too.

        Example:
            >>> # store.delete_many("Account", ["001..."], hard=True)
        """
        plan = self._plan(sobject)
        pendings: list[Pending] = []
        for i, raw in enumerate(record_ids):
            p = Pending(i, created=False)
            try:
                p.record_id = normalise_id(plan, raw)
                if not plan.obj.deletable:
                    raise messages.not_operable(plan.obj.name, "delete")
            except ApiError as exc:
                p.error = exc
            pendings.append(p)
        with self.transaction():
            self._load_existing_for_delete(plan, pendings, hard=hard, single=_single)
            doomed = [p.record_id for p in pendings if p.error is None and p.record_id]
            self._cascade(plan, doomed, hard=hard, now=self._now(), seen=set())
        return [_outcome(p) for p in pendings]

    def _load_existing_for_delete(
        self, plan: ObjectPlan, pendings: list[Pending], *, hard: bool, single: bool
    ) -> None:
        wanted = sorted({p.record_id for p in pendings if p.error is None and p.record_id})
        state: dict[str, int] = {}
        for part in chunks(wanted):
            marks = ", ".join("?" for _ in part)
            sql = f"SELECT id, isdeleted FROM {quote(plan.obj.table)} WHERE id IN ({marks})"
            state.update((rid, int(d)) for rid, d in self._conn.execute(sql, part))
        seen: set[str] = set()
        for p in pendings:
            if p.error is not None or p.record_id is None:
                continue
            if p.record_id not in state:
                p.fail(messages.not_found() if single else messages.invalid_cross_reference("Id"))
            elif state[p.record_id] and not hard:
                p.fail(messages.entity_is_deleted(404 if single else 400))
            elif p.record_id in seen:
                p.fail(messages.entity_is_deleted())
            seen.add(p.record_id)

    def _cascade(self, plan: ObjectPlan, doomed: list[str], *, hard: bool, now: str, seen: set[str]) -> None:
        doomed = [d for d in doomed if d not in seen]
        if not doomed:
            return
        seen.update(doomed)
        for rel in self.schema.child_relationships(plan.obj.name):
            child = self._plan(rel.child_object)
            column = quote(child.obj.field(rel.field).column)  # type: ignore[union-attr]
            table = quote(child.obj.table)
            for part in chunks(doomed):
                marks = ", ".join("?" for _ in part)
                if rel.cascade_delete:
                    sql = f"SELECT id FROM {table} WHERE {column} IN ({marks})" + (
                        "" if hard else " AND isdeleted = 0"
                    )
                    children = [rid for (rid,) in self._conn.execute(sql, part)]
                    self._cascade(child, children, hard=hard, now=now, seen=seen)
                else:
                    self._conn.execute(
                        f"UPDATE {table} SET {column} = NULL WHERE {column} IN ({marks})", part
                    )
        table = quote(plan.obj.table)
        for part in chunks(doomed):
            marks = ", ".join("?" for _ in part)
            if hard:
                self._conn.execute(f"DELETE FROM {table} WHERE id IN ({marks})", part)
            else:
                self._conn.execute(
                    f"UPDATE {table} SET isdeleted = 1, systemmodstamp = ? WHERE id IN ({marks})",
                    [now, *part],
                )

    def _raw_insert(self, sobject: str, values: Mapping[str, Any], user_id: str | None) -> str:
        """Insert stored values without field-permission checks (seed rows); returns the id."""
        plan = self._plan(sobject)
        p = Pending(0, values={k.lower(): v for k, v in values.items()})
        with self.transaction():
            self._do_inserts(plan, [p], user_id or "", self._now())
            if p.error is not None:
                raise p.error
        assert p.record_id is not None
        return p.record_id
