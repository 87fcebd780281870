"""Access and refresh tokens of the emulated org, persisted so they survive restarts.

Tokens live in their own SQLite file (``auth.sqlite`` in the data dir), apart from
the record store. Valid access tokens are also cached in memory, since every API
request looks one up.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kinetic_core.emulator.private import private_file

_DDL = """
CREATE TABLE IF NOT EXISTS access_tokens (
    token TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    scope TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    refresh_token TEXT
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    issued_at REAL NOT NULL
);
"""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Session:
    """An authenticated caller: who, with which scope, since when (epoch seconds)."""

    token: str
    user_id: str
    username: str
    scope: str
    issued_at: float
    expires_at: float


@dataclass(frozen=True)
class RefreshGrant:
    """What a refresh token stands for."""

    user_id: str
    username: str
    client_id: str
    scope: str


class TokenStore:
    """Issues, checks and revokes tokens.

    Example:
        >>> tokens = TokenStore(tmp_path / "auth.sqlite", org_id15="00D8c0000000001")  # doctest: +SKIP
        >>> s = tokens.issue_access("005...", "admin@kinetic.local", "api", ttl_seconds=60)  # doctest: +SKIP
        >>> tokens.lookup(s.token).username  # doctest: +SKIP
        'admin@kinetic.local'
    """

    def __init__(
        self,
        path: Path,
        *,
        org_id15: str,
        clock: Callable[[], datetime] = _utc_now,
        token_bytes: Callable[[int], str] = secrets.token_urlsafe,
    ) -> None:
        self._org_id15 = org_id15
        self._clock = clock
        self._token_bytes = token_bytes
        self._lock = threading.RLock()
        self._cache: dict[str, Session] = {}
        private_file(path)  # live tokens: 0600, and SQLite gives -wal/-shm the same mode
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_DDL)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(access_tokens)")}
        if "refresh_token" not in columns:  # a store written before revocation cascaded
            self._conn.execute("ALTER TABLE access_tokens ADD COLUMN refresh_token TEXT")
        self._conn.execute(
            "CREATE INDEX IF NOT EXISTS access_by_refresh ON access_tokens (refresh_token)"
            " WHERE refresh_token IS NOT NULL"
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._cache.clear()

    def _now(self) -> float:
        return self._clock().timestamp()

    def _new_token(self) -> str:
        # Salesforce shape: "<15-char org id>!<opaque>"
        return f"{self._org_id15}!{self._token_bytes(48).replace('-', 'A').replace('_', 'z')}"

    def issue_access(
        self,
        user_id: str,
        username: str,
        scope: str,
        *,
        ttl_seconds: float,
        refresh_token: str | None = None,
    ) -> Session:
        """A new access token valid for ``ttl_seconds``; revoked with ``refresh_token`` when given."""
        now = self._now()
        session = Session(self._new_token(), user_id, username, scope, now, now + ttl_seconds)
        with self._lock:
            self._conn.execute(
                "INSERT INTO access_tokens (token, user_id, username, scope, issued_at, expires_at,"
                " refresh_token) VALUES (?,?,?,?,?,?,?)",
                (session.token, user_id, username, scope, now, session.expires_at, refresh_token),
            )
            self._cache[session.token] = session
        return session

    def lookup(self, token: str, *, max_age_seconds: float | None = None) -> Session | None:
        """The live session for ``token``; None when unknown, revoked, expired or older than max_age."""
        with self._lock:
            session = self._cache.get(token)
            if session is None:
                row = self._conn.execute(
                    "SELECT token, user_id, username, scope, issued_at, expires_at FROM access_tokens"
                    " WHERE token = ?",
                    (token,),
                ).fetchone()
                if row is None:
                    return None
                session = Session(*row)
                self._cache[token] = session
        now = self._now()
        if now >= session.expires_at:
            return None
        if max_age_seconds is not None and now - session.issued_at > max_age_seconds:
            return None
        return session

    def issue_refresh(self, user_id: str, username: str, client_id: str, scope: str) -> str:
        """A new refresh token (no expiry; revocable)."""
        token = f"5Aep8{self._token_bytes(60).replace('-', 'A').replace('_', 'z')}"
        with self._lock:
            self._conn.execute(
                "INSERT INTO refresh_tokens VALUES (?,?,?,?,?,?)",
                (token, user_id, username, client_id, scope, self._now()),
            )
        return token

    def refresh_grant(self, token: str) -> RefreshGrant | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT user_id, username, client_id, scope FROM refresh_tokens WHERE token = ?", (token,)
            ).fetchone()
        return RefreshGrant(*row) if row else None

    def revoke(self, token: str) -> bool:
        """Revoke an access or refresh token; a refresh token takes with it every access token minted
        with or from it.

        Returns:
            True when the token was known.
        """
        with self._lock:
            self._cache.pop(token, None)
            cur = self._conn.execute("DELETE FROM access_tokens WHERE token = ?", (token,))
            found = cur.rowcount > 0
            cur = self._conn.execute("DELETE FROM refresh_tokens WHERE token = ?", (token,))
            if cur.rowcount == 0:
                return found
            minted = self._conn.execute(
                "SELECT token FROM access_tokens WHERE refresh_token = ?", (token,)
            ).fetchall()
            for (access,) in minted:
                self._cache.pop(access, None)
            self._conn.execute("DELETE FROM access_tokens WHERE refresh_token = ?", (token,))
            return True
