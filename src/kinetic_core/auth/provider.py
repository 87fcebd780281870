"""``TokenProvider``: the current session of one org, its login and its single-flight renewal.

The provider is separate from any HTTP session so that several sessions can share one login: a
``kinetic_core.http.HttpSession`` (threads) and a ``kinetic_core.http.AsyncHttpSession``
(asyncio tasks) built on the same provider renew the token once for all of their callers.

It does no I/O of its own. Whoever asks for a token passes the function that sends a
``TokenRequest`` (``fetch``); the HTTP sessions pass their own send path, so token requests are
retried by the same rules as every other call.

Single flight:

* threads: a renewal holds a lock; a caller that saw generation ``g`` and finds a newer one once
  it gets the lock uses that one instead of asking again;
* asyncio tasks: the same check under an ``asyncio.Lock`` of the task's event loop, so waiting
  tasks never block the loop;
* the token itself is swapped under a short lock that is never held during a request, so a
  thread and a task renewing at the very same moment can at worst both ask (each is correct).

Example:
    >>> from kinetic_core.auth import StaticTokenAuth
    >>> provider = TokenProvider(StaticTokenAuth("https://x.my.salesforce.com", "00D!t"))
    >>> provider.get(fetch=lambda request: None).token.instance_url
    'https://x.my.salesforce.com'
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kinetic_core.auth.base import Authenticator, Token, TokenRequest

if TYPE_CHECKING:  # asyncio is imported when an event loop first asks for a token
    import asyncio

logger = logging.getLogger(__name__)

Fetch = Callable[[TokenRequest], Token]
"""Sends a token request and parses its answer (synchronously)."""
AsyncFetch = Callable[[TokenRequest], Awaitable[Token]]
"""Sends a token request and parses its answer (in an event loop)."""


@dataclass(frozen=True)
class Held:
    """The session in use: its token, its generation (1 = first) and when it was obtained (epoch s)."""

    token: Token
    generation: int
    obtained_at: float


class TokenProvider:
    """Owns the token of one org: first login, current token, renewal shared by concurrent callers.

    Args:
        auth: the OAuth flow (``kinetic_core.auth``) that builds token requests.
        clock: epoch seconds (JWT ``exp``, the age of a session).

    Attributes:
        auth_count: tokens obtained from the token endpoint (first login included).
        refresh_count: renewals after a 401 ``INVALID_SESSION_ID`` (concurrent 401s share one).

    Example:
        >>> from kinetic_core.auth import StaticTokenAuth
        >>> TokenProvider(StaticTokenAuth("https://x", "t")).current is None
        True
    """

    def __init__(self, auth: Authenticator, *, clock: Callable[[], float] = time.time) -> None:
        self.auth = auth
        self._clock = clock
        self._renew_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._state: Held | None = None
        self.auth_count = 0
        self.refresh_count = 0

    @property
    def current(self) -> Held | None:
        """The session in use, None before the first login."""
        return self._state

    # ------------------------------------------------------------------ shared steps (no I/O)
    def _seeded(self) -> Held | None:
        """The flow's initial token (static sessions), installed as generation 1; None if it has none."""
        initial = self.auth.initial_token()
        if initial is None:
            return None
        return self._install(initial, counted=False, renewal=False)

    def _settled(self, seen_generation: int | None) -> Held | None:
        """A session that makes a renewal needless: someone renewed since ``seen_generation``."""
        state = self._state
        if seen_generation is None:
            return state
        if state is not None and state.generation != seen_generation:
            logger.debug("session %d already renewed to %d", seen_generation, state.generation)
            return state
        return None

    def _install(self, token: Token, *, counted: bool, renewal: bool) -> Held:
        with self._state_lock:
            generation = self._state.generation + 1 if self._state is not None else 1
            held = Held(token, generation, self._clock())
            self._state = held
            if counted:
                self.auth_count += 1
            if renewal:
                self.refresh_count += 1
        if counted:
            self.auth.accept(token)
            logger.info("obtained a session by the %s flow for %s", self.auth.flow, token.instance_url)
        return held

    def _request(self) -> TokenRequest:
        return self.auth.token_request(self._clock())

    # ------------------------------------------------------------------ threads
    def get(self, fetch: Fetch) -> Held:
        """The current session, logging in first (once, for all threads) when there is none.

        Raises:
            AuthenticationError: the token endpoint refused.
        """
        state = self._state
        if state is not None:
            return state
        with self._renew_lock:
            state = self._state or self._seeded()
            if state is not None:
                return state
            return self._install(fetch(self._request()), counted=True, renewal=False)

    def renew(self, seen_generation: int | None, fetch: Fetch) -> Held:
        """Renew the token, unless another caller already renewed the session ``seen_generation``.

        Raises:
            SessionExpiredError: the flow cannot renew (a static token).
            AuthenticationError: the token endpoint refused.
        """
        with self._renew_lock:
            settled = self._settled(seen_generation)
            if settled is not None:
                return settled
            return self._install(fetch(self._request()), counted=True, renewal=True)

    # ------------------------------------------------------------------ asyncio
    def _loop_lock(self) -> asyncio.Lock:
        import asyncio

        loop = asyncio.get_running_loop()
        with self._state_lock:
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks[loop] = asyncio.Lock()
            return lock

    async def aget(self, fetch: AsyncFetch) -> Held:
        """``get`` for asyncio tasks: concurrent first calls share one login."""
        state = self._state
        if state is not None:
            return state
        async with self._loop_lock():
            state = self._state or self._seeded()
            if state is not None:
                return state
            return self._install(await fetch(self._request()), counted=True, renewal=False)

    async def arenew(self, seen_generation: int | None, fetch: AsyncFetch) -> Held:
        """``renew`` for asyncio tasks: tasks that saw the same expired session share one renewal."""
        async with self._loop_lock():
            settled = self._settled(seen_generation)
            if settled is not None:
                return settled
            return self._install(await fetch(self._request()), counted=True, renewal=True)

    def __repr__(self) -> str:
        state = self._state
        where = state.token.instance_url if state else "(not logged in)"
        return f"TokenProvider({self.auth.flow}, {where})"
