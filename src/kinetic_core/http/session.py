"""``HttpSession``: the one send path of a client (auth, retries, 401 renewal, limits, errors)."""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kinetic_core._httpx import httpx
from kinetic_core.auth.base import Authenticator, Token, TokenRequest, parse_token_response
from kinetic_core.errors import ResponseLimitError, SessionExpiredError, TransportError
from kinetic_core.http.bounds import ResponseBounds, check_encoding, read_whole
from kinetic_core.http.limits import ApiUsage, parse_limit_info
from kinetic_core.http.parse import (
    build_headers,
    encode_json,
    error_code_of,
    error_from_response,
    is_invalid_session,
    redact_url,
)
from kinetic_core.http.paths import check_url, on_instance
from kinetic_core.http.retry import (
    Failure,
    RetryPolicy,
    classify_exception,
    decide,
    parse_retry_after,
    resolve_policy,
)

logger = logging.getLogger(__name__)

Content = bytes | Iterable[bytes]


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection, between bytes read/written, and for a pooled connection."""

    connect: float = 10.0
    read: float = 120.0
    write: float = 120.0
    pool: float = 60.0

    def to_httpx(self) -> httpx.Timeout:
        """The httpx equivalent."""
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


def tls_verify(verify: bool | str | Path | ssl.SSLContext = True) -> bool | ssl.SSLContext:
    """An httpx ``verify`` value: True/False, or an SSL context trusting a CA bundle file."""
    if isinstance(verify, str | Path):
        return ssl.create_default_context(cafile=str(verify))
    if verify is False:
        logger.warning(
            "TLS certificate verification is OFF: the org's identity is not checked and traffic "
            "can be intercepted. Use a CA bundle (SF_CA_BUNDLE) instead where you can."
        )
    return verify


def build_http_client(
    *,
    verify: bool | str | Path | ssl.SSLContext = True,
    timeouts: Timeouts | None = None,
    transport: httpx.BaseTransport | None = None,
    max_connections: int = 20,
) -> httpx.Client:
    """The pooled ``httpx.Client`` one ``SalesforceClient`` uses for all its calls.

    Example:
        >>> with build_http_client(timeouts=Timeouts(connect=5)) as c:
        ...     c.timeout.connect
        5
    """
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    checked = tls_verify(verify)
    return httpx.Client(
        timeout=(timeouts or Timeouts()).to_httpx(),
        verify=checked,  # used by httpx only for proxies named in the environment
        limits=limits,
        transport=transport if transport is not None else SchemeTransports(checked, limits),
        follow_redirects=False,
    )


class SchemeTransports(httpx.BaseTransport):
    """The default transport: one ``httpx.HTTPTransport`` per URL scheme, each built at first use.

    httpx builds a TLS context (loading the CA bundle, about 20 ms of CPU) whenever it builds a
    transport. Here the https transport, with ``verify``, is built at the first https request,
    so a process that only talks plain http (the local emulator) never pays for it. The http
    transport gets a TLS context that trusts no certificate at all: it never does TLS, and if it
    were ever asked to, verification would fail rather than pass.
    """

    def __init__(self, verify: bool | ssl.SSLContext, limits: httpx.Limits) -> None:
        self._verify = verify
        self._limits = limits
        self._transports: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def _for(self, scheme: str) -> httpx.HTTPTransport:
        transport = self._transports.get(scheme)
        if transport is None:
            with self._lock:
                transport = self._transports.get(scheme)
                if transport is None:
                    verify = self._verify if scheme == "https" else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    transport = httpx.HTTPTransport(verify=verify, limits=self._limits)
                    self._transports[scheme] = transport
        return transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._for(request.url.scheme).handle_request(request)

    def close(self) -> None:
        with self._lock:
            transports = list(self._transports.values())
            self._transports.clear()
        for transport in transports:
            transport.close()


@dataclass(frozen=True)
class _Held:
    """The session in use: its token, its generation (1 = first login) and when it was obtained."""

    token: Token
    generation: int
    obtained_at: float


def _one_shot(content: Content | None) -> bool:
    """True for bodies that cannot be sent twice (iterators/generators)."""
    if content is None or isinstance(content, bytes | bytearray | str):
        return False
    return isinstance(content, Iterator)


def _refused_after_renewal(method: str, url: str, age: float, took: float) -> str:
    """The error for a call refused again with a renewed session, with the timings that explain it."""
    return (
        f"session invalid after renewal ({method} {url}): the org refused a session obtained "
        f"{age:.3f} s before this call was sent (its answer took {took:.3f} s). A renewed session "
        "that is refused at once means the org's session lifetime is shorter than one call, or that "
        "the new session is not valid for this API (IP or API restrictions on the user or app)"
    )


class HttpSession:
    """Sends every request of one client: adds the token, renews it on 401, retries safely, parses errors.

    Args:
        auth: the OAuth flow (see ``kinetic_core.auth``).
        api_version: REST API version, e.g. ``"62.0"``.
        http_client: the ``httpx.Client`` to use (built with ``build_http_client`` when omitted).
        transport: an httpx transport for the built client (tests pass ``httpx.MockTransport``).
        verify: TLS verification: bool, CA bundle path or SSL context.
        timeouts: connect/read/write/pool timeouts.
        retry: the base retry policy; each call decides idempotency (see ``kinetic_core.http.retry``).
        bounds: limits on every answer (size, compression ratio, deadline; see ``ResponseBounds``).
        clock: epoch seconds (JWT ``exp``, timings). sleep: waits between tries. rng: backoff jitter.
        monotonic: seconds for deadlines and download progress.

    Example:
        >>> from kinetic_core.auth import StaticTokenAuth
        >>> s = HttpSession(StaticTokenAuth("https://x.my.salesforce.com", "00D!t"))
        >>> s.data_url("limits")
        'https://x.my.salesforce.com/services/data/v62.0/limits'
        >>> s.close()
    """

    def __init__(
        self,
        auth: Authenticator,
        *,
        api_version: str = "62.0",
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str | Path | ssl.SSLContext = True,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        bounds: ResponseBounds | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.auth = auth
        self.api_version = api_version.lstrip("vV")
        self._owns_client = http_client is None
        self._client = http_client or build_http_client(verify=verify, timeouts=timeouts, transport=transport)
        self.retry_policy = retry or RetryPolicy()
        self.bounds = bounds or ResponseBounds()
        self.monotonic = monotonic
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._auth_lock = threading.Lock()
        self._usage_lock = threading.Lock()
        self._state: _Held | None = None
        self._api_usage: ApiUsage | None = None
        self.auth_count = 0
        """Tokens obtained from the token endpoint (first login included)."""
        self.refresh_count = 0
        """Renewals after a 401 INVALID_SESSION_ID (concurrent 401s share one)."""

    # ------------------------------------------------------------------ properties
    @property
    def http_client(self) -> httpx.Client:
        """The pooled httpx client (shared by every call of this session)."""
        return self._client

    @property
    def token(self) -> Token:
        """The current token, logging in first if needed."""
        return self._ensure_token().token

    @property
    def instance_url(self) -> str:
        """Base URL of the org's API (logs in first if needed)."""
        return self.token.instance_url

    @property
    def api_usage(self) -> ApiUsage | None:
        """The last ``Sforce-Limit-Info`` reading (``used``/``max``), None before any API answer."""
        with self._usage_lock:
            return self._api_usage

    def data_url(self, suffix: str) -> str:
        """Absolute ``{instance}/services/data/v{ver}/{suffix}``.

        Example:
            >>> from kinetic_core.auth import StaticTokenAuth
            >>> HttpSession(StaticTokenAuth("https://x", "t"), api_version="60.0").data_url("/query")
            'https://x/services/data/v60.0/query'
        """
        return f"{self.instance_url}/services/data/v{self.api_version}/{suffix.lstrip('/')}"

    def absolute_url(self, url: str) -> str:
        """``url`` if absolute; instance-relative for ``/...``; else relative to the data URL."""
        if url.startswith(("http://", "https://")):
            return url
        if url.startswith("/"):
            return self.instance_url + url
        return self.data_url(url)

    def answer_url(self, url: str) -> str:
        """A URL taken from an answer (``nextRecordsUrl``...), resolved against the instance URL.

        Raises:
            UnsafeUrlError: it leads off the instance's scheme, host and port, or out of ``/services/``.

        Example:
            >>> from kinetic_core.auth import StaticTokenAuth
            >>> HttpSession(StaticTokenAuth("https://x", "t")).answer_url("/services/data/v62.0/query/01g-2")
            'https://x/services/data/v62.0/query/01g-2'
        """
        return on_instance(self.instance_url, url)

    def _timeout(self) -> httpx.Timeout:
        """The client's timeouts, each read waiting at most the request deadline."""
        base = self._client.timeout
        cap = self.bounds.request_deadline
        return httpx.Timeout(
            connect=base.connect,
            read=min(base.read, cap) if base.read is not None else cap,
            write=base.write,
            pool=base.pool,
        )

    # ------------------------------------------------------------------ tokens
    def _ensure_token(self) -> _Held:
        state = self._state
        if state is not None:
            return state
        with self._auth_lock:
            if self._state is None:
                self._obtain_token()
            assert self._state is not None
            return self._state

    def _obtain_token(self) -> None:
        """Get a token (caller holds ``_auth_lock``)."""
        generation = self._state.generation if self._state else 0
        if self._state is None:
            initial = self.auth.initial_token()
            if initial is not None:
                self._state = _Held(initial, 1, self._clock())
                return
        token = self._post_token(self.auth.token_request(self._clock()))
        self.auth.accept(token)
        self.auth_count += 1
        self._state = _Held(token, generation + 1, self._clock())
        logger.info("obtained a session by the %s flow for %s", self.auth.flow, token.instance_url)

    def refresh(self, seen_generation: int | None = None) -> None:
        """Renew the token. Concurrent callers that saw the same expired token share one renewal.

        Raises:
            SessionExpiredError: the session cannot be renewed (static token).
            AuthenticationError: the token endpoint refused.
        """
        with self._auth_lock:
            state = self._state
            if seen_generation is not None and state is not None and state.generation != seen_generation:
                logger.debug("session %d already renewed to %d", seen_generation, state.generation)
                return
            self._obtain_token()
            self.refresh_count += 1

    def _post_token(self, request: TokenRequest) -> Token:
        # Asking for a token twice is harmless (it issues or re-issues a session), so it is idempotent.
        policy = RetryPolicy(
            max_attempts=self.retry_policy.max_attempts,
            base_delay=self.retry_policy.base_delay,
            max_delay=self.retry_policy.max_delay,
        )
        attempt = 0
        headers = {"Accept": "application/json", **request.headers}
        while True:
            attempt += 1
            try:
                resp = self._client.post(request.url, data=dict(request.form), headers=headers)
            except httpx.TransportError as exc:
                decision = decide(policy, attempt, failure=classify_exception(exc), rng_value=self._random())
                if decision.retry:
                    self._sleep(decision.delay)
                    continue
                raise TransportError(
                    f"token request failed: {type(exc).__name__}", method="POST", url=request.url
                ) from None
            if resp.status_code >= 500 or resp.status_code == 429:
                decision = decide(policy, attempt, status=resp.status_code, rng_value=self._random())
                if decision.retry:
                    self._sleep(decision.delay)
                    continue
            return parse_token_response(resp.status_code, resp.content, request.url)

    def _random(self) -> float:
        with self._rng_lock:
            return self._rng.random()

    def _note_usage(self, headers: httpx.Headers) -> None:
        usage = parse_limit_info(headers.get("sforce-limit-info"))
        if usage is not None:
            with self._usage_lock:
                self._api_usage = usage

    # ------------------------------------------------------------------ sending
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: Content | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | bool | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send one API call and return its 2xx response.

        Args:
            method: HTTP method.
            url: absolute URL, instance-relative ``/services/...`` path, or a suffix of ``data_url``.
            params: query parameters.
            json: a JSON body (dates/datetimes/decimals in Salesforce formats).
            content: a raw body: bytes, or an iterable of bytes (an iterator is sent once, never repeated).
            headers: extra headers.
            retry: ``True`` = safe to repeat, ``False`` = repeat only if provably unprocessed, ``None`` =
                by method (GET/HEAD/DELETE/PUT safe; POST/PATCH not), or an explicit ``RetryPolicy``.
            stream: return the response unread (the caller must close it).

        Raises:
            ApiError: (and subclasses) for non-2xx answers. TransportError: no answer after the allowed tries.
            SessionExpiredError: 401 after a renewal, or a static session.

        Example:
            >>> resp = session.request("GET", "limits")  # doctest: +SKIP
        """
        method = method.upper()
        policy = resolve_policy(method, retry, self.retry_policy)
        body: Content | None = encode_json(json) if json is not None else content
        one_shot = _one_shot(body)
        if one_shot:
            policy = RetryPolicy.never()
        attempt = 0
        renewed = False
        bounds = self.bounds
        while True:
            attempt += 1
            held = self._ensure_token()
            generation = held.generation
            full_url = self.absolute_url(url)
            # The one check every call passes: the token goes to the instance, under /services/.
            check_url(held.token.instance_url, full_url)
            # An upload's deadline starts once its body is sent (a large file may rightly take long).
            sent = [self.monotonic()]
            extensions: dict[str, Any] = {}
            if isinstance(body, Iterable) and not isinstance(body, bytes | bytearray | str):
                extensions["trace"] = self._body_sent_hook(sent)
            req = self._client.build_request(
                method,
                full_url,
                params=params,
                content=body,
                headers=build_headers(held.token.access_token, headers, json_body=json is not None),
                timeout=self._timeout(),
                extensions=extensions or None,
            )
            started = self._clock()
            try:
                resp = self._client.send(req, stream=True)
            except httpx.TransportError as exc:
                failure = classify_exception(exc)
                decision = decide(policy, attempt, failure=failure, rng_value=self._random())
                logger.debug(
                    "%s %s failed (%s): %s", method, redact_url(full_url), type(exc).__name__, decision.reason
                )
                if decision.retry:
                    self._sleep(decision.delay)
                    continue
                raise TransportError(
                    f"{type(exc).__name__}: no answer"
                    + (" (the request may have been processed)" if failure is Failure.IN_DOUBT else ""),
                    method=method,
                    url=redact_url(full_url),
                    in_doubt=failure is Failure.IN_DOUBT,
                ) from None
            self._note_usage(resp.headers)
            status = resp.status_code
            logger.debug(
                "%s %s -> %s (%.0f ms)",
                method,
                redact_url(full_url),
                status,
                (self._clock() - started) * 1000,
            )
            deadline = sent[0] + bounds.request_deadline
            if 200 <= status < 300:
                if stream:
                    check_encoding(resp, method, redact_url(full_url))
                    return resp
                try:
                    self._read(resp, deadline, method, full_url)
                except httpx.TransportError as exc:
                    resp.close()
                    failure = classify_exception(exc)
                    decision = decide(policy, attempt, failure=Failure.IN_DOUBT, rng_value=self._random())
                    if decision.retry:
                        self._sleep(decision.delay)
                        continue
                    raise TransportError(
                        f"{type(exc).__name__} while reading the answer",
                        method=method,
                        url=redact_url(full_url),
                        in_doubt=True,
                    ) from None
                return resp
            try:
                self._read(resp, deadline, method, full_url)
            except httpx.TransportError:
                pass
            finally:
                resp.close()
            try:
                content_bytes = resp.content
            except httpx.ResponseNotRead:  # cut off while reading the error body
                content_bytes = b""
            if is_invalid_session(status, content_bytes):
                age = started - held.obtained_at
                logger.debug(
                    "%s %s -> 401 with session %d (obtained %.3f s before sending)",
                    method,
                    redact_url(full_url),
                    generation,
                    age,
                )
                if renewed or one_shot:
                    if not renewed:
                        self.refresh(generation)
                    raise SessionExpiredError(
                        _refused_after_renewal(method, redact_url(full_url), age, self._clock() - started)
                        if renewed
                        else f"session renewed, but a streamed body cannot be re-sent ({method} "
                        f"{redact_url(full_url)}): send it again"
                    )
                # The server refused the call before doing anything: renew once and re-send.
                self.refresh(generation)
                renewed = True
                attempt -= 1
                continue
            code = error_code_of(content_bytes)
            decision = decide(
                policy,
                attempt,
                status=status,
                error_code=code,
                rng_value=self._random(),
                retry_after=parse_retry_after(resp.headers),
            )
            if decision.retry:
                logger.debug(
                    "retrying %s %s in %.2fs: %s",
                    method,
                    redact_url(full_url),
                    decision.delay,
                    decision.reason,
                )
                self._sleep(decision.delay)
                continue
            raise error_from_response(
                status, content_bytes, resp.headers.get("content-type", ""), method, full_url, self.api_usage
            )

    def _body_sent_hook(self, sent: list[float]) -> Callable[[str, Mapping[str, Any]], None]:
        monotonic = self.monotonic

        def hook(event: str, info: Mapping[str, Any]) -> None:
            if event == "http11.send_request_body.complete":
                sent[0] = monotonic()

        return hook

    def _read(self, resp: httpx.Response, deadline: float, method: str, url: str) -> None:
        """Read an answer whole within the bounds (``resp.content`` is then set, as ``read()`` does)."""
        if self.monotonic() > deadline:
            resp.close()
            raise ResponseLimitError(
                "request_deadline",
                self.bounds.request_deadline,
                f"no answer within {self.bounds.request_deadline:g} s",
                method=method,
                url=redact_url(url),
            )
        resp._content = read_whole(
            resp, self.bounds, deadline=deadline, clock=self.monotonic, method=method, url=redact_url(url)
        )

    def get_json(self, url: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode JSON (safe to repeat)."""
        resp = self.request("GET", url, params=params)
        return resp.json() if resp.content else None

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the pooled connections (if this session built its client)."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HttpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = self._state
        where = state.token.instance_url if state else "(not logged in)"
        return f"HttpSession({self.auth.flow}, {where}, v{self.api_version})"
