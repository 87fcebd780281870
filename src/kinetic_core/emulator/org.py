"""One emulated org: its settings, store, query engine, bulk engine, tokens and faults.

An :class:`Org` is plain state with no HTTP in it; :func:`kinetic_core.emulator.app.create_app`
wraps one in an ASGI app. Several orgs can live in one process (no globals).
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kinetic_core.emulator.bulk import BulkEngine
from kinetic_core.emulator.bulk.v1 import BulkV1
from kinetic_core.emulator.faults import FaultConfig, Faults
from kinetic_core.emulator.grants import GrantStore
from kinetic_core.emulator.private import private_dir
from kinetic_core.emulator.soql import QueryEngine
from kinetic_core.emulator.store.custom import build_schema
from kinetic_core.emulator.store.records import Store
from kinetic_core.emulator.tls import JwtCredentials, ensure_jwt_credentials, load_certificate_public_key
from kinetic_core.emulator.tokens import TokenStore

# [I] Versions this emulator lists and accepts; contiguous so that string-max picks the newest.
MIN_API_VERSION = 31
MAX_API_VERSION = 66
RETIRED_BELOW = 31


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OrgSettings:
    """Everything configurable about one emulated org.

    Example:
        >>> OrgSettings(data_dir=Path("/tmp/org")).username
        'admin@kinetic.local'
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False
    schema_file: Path | None = None
    username: str = "admin@kinetic.local"
    password: str = "kinetic"
    security_token: str = "kineticToken"
    client_id: str = "kinetic-local-client"
    client_secret: str = "kinetic-local-secret"
    api_version: str = "62.0"
    token_ttl_seconds: float = 7200.0
    api_request_limit: int = 100_000
    bulk_rate: float | None = None
    bulk_job_delay_seconds: float = 0.0
    shuffle_results: bool = False
    query_page_size: int = 50_000
    org_name: str = "Kinetic Local"
    # The connected app's callback URLs: /services/oauth2/authorize redirects to these only (exact match).
    # [I] The default is the Salesforce CLI's web-login callback.
    callback_urls: tuple[str, ...] = ("http://localhost:1717/OauthRedirect",)
    # [I] Device flow: seconds a device must wait between polls, and how long its code lives.
    device_poll_interval_seconds: int = 5
    device_code_ttl_seconds: float = 600.0
    # The secret every /_emulator request must carry (X-Kinetic-Admin-Token); None: a random one per start.
    admin_token: str | None = None


@dataclass
class Stats:
    """Request counters by route kind (thread-safe enough: guarded by the org's lock)."""

    requests: Counter[str] = field(default_factory=Counter)


class ApiCounter:
    """Rolling-24h API request count, persisted in the store, cached between refreshes."""

    def __init__(self, store: Store, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._base = store.count_last_24h("api_requests")
        self._pending = 0
        self._refreshed = monotonic()

    def used(self) -> int:
        with self._lock:
            if self._monotonic() - self._refreshed > 5.0:
                self._base = self._store.count_last_24h("api_requests")
                self._pending = 0
                self._refreshed = self._monotonic()
            return self._base + self._pending

    def add(self) -> int:
        """Count one request; return the new total."""
        self._store.increment("api_requests")
        with self._lock:
            self._pending += 1
            return self._base + self._pending

    def reload(self) -> None:
        with self._lock:
            self._base = self._store.count_last_24h("api_requests")
            self._pending = 0
            self._refreshed = self._monotonic()


class Org:
    """The state of one emulated org.

    Args:
        settings: the org's settings; ``settings.data_dir`` is created if needed.
        clock: current time (UTC).
        sleep: blocking sleep used by the bulk engine.
        rng: randomness for query locators and shuffling.
        token_bytes: the source of the admin token when the settings name none.

    Example:
        >>> org = Org(OrgSettings(data_dir=tmp_path))  # doctest: +SKIP
        >>> org.store.user_by_username("admin@kinetic.local")["Id"][:3]  # doctest: +SKIP
        '005'
        >>> org.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        settings: OrgSettings,
        *,
        clock: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        token_bytes: Callable[[int], str] = secrets.token_urlsafe,
    ) -> None:
        self.settings = settings
        self.admin_token = settings.admin_token or token_bytes(32)
        self.clock = clock
        self.rng = rng or random.Random()
        self.base_url = f"{'https' if settings.tls else 'http'}://{settings.host}:{settings.port}"
        private_dir(settings.data_dir)
        self.jwt: JwtCredentials = ensure_jwt_credentials(settings.data_dir)
        self._trusted: list[Any] = [load_certificate_public_key(self.jwt.certificate.read_bytes())]
        schema = build_schema(settings.schema_file)
        # When the schema was built: describe's Last-Modified (the schema never changes while running).
        self.schema_modified: datetime = clock().replace(microsecond=0)
        self.store = Store(
            settings.data_dir / "org.sqlite",
            schema,
            clock=clock,
            org_name=settings.org_name,
            admin_username=settings.username,
        )
        self.admin_user_id = self.store.admin_user_id
        self.tokens = TokenStore(
            settings.data_dir / "auth.sqlite", org_id15=self.store.org_id[:15], clock=clock
        )
        self.faults = Faults()
        self.api_counter = ApiCounter(self.store)
        self.stats = Stats()
        self._stats_lock = threading.Lock()
        self.query_engine = QueryEngine(self.store, clock=clock, rng=self.rng)
        self.bulk = BulkEngine(
            self.store,
            self.query_engine,
            rate=settings.bulk_rate,
            job_delay=settings.bulk_job_delay_seconds,
            shuffle_results=settings.shuffle_results,
            query_page_size=settings.query_page_size,
            clock=clock,
            sleep=sleep,
            rng=self.rng,
        )
        self.bulk_v1 = BulkV1(self.bulk)
        self.grants = GrantStore()
        self._started = False
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start background workers (the bulk engine); idempotent."""
        if not self._started:
            self.bulk.start()
        self._started = True

    def close(self) -> None:
        """Stop workers and close the SQLite files; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._started:
            self.bulk.stop()
        self.tokens.close()
        self.store.close()

    # -- helpers used by routes --------------------------------------------------------------------

    @property
    def trusted_jwt_keys(self) -> list[Any]:
        """Public keys JWT bearer assertions may be signed with."""
        return list(self._trusted)

    def trust_certificate(self, pem: bytes) -> None:
        """Also accept JWT assertions signed by the key of this PEM certificate."""
        self._trusted.append(load_certificate_public_key(pem))

    def api_request_limit(self) -> int:
        override = self.faults.config.api_request_limit
        return override if override is not None else self.settings.api_request_limit

    def count_request(self, kind: str) -> None:
        with self._stats_lock:
            self.stats.requests[kind] += 1

    def request_counts(self) -> dict[str, int]:
        with self._stats_lock:
            return dict(self.stats.requests)

    def reset(self) -> None:
        """Delete all records (seed rows stay), clear faults and request statistics; sessions stay valid."""
        self.store.reset()
        self.store.seed_user(self.settings.username)
        self.faults.configure(FaultConfig())
        self.faults.reset_counts()
        with self._stats_lock:
            self.stats.requests.clear()
        self.api_counter.reload()

    def identity_url(self, user_id: str) -> str:
        return f"{self.base_url}/id/{self.store.org_id}/{user_id}"
