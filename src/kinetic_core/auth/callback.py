"""The loopback HTTP server that receives the web server flow's redirect (``/OauthRedirect``).

It listens on ``127.0.0.1`` only, answers the browser with a short page, and hands back the first
callback whose ``state`` matches this login. Redirects with another state are refused (400) and
ignored, so a page that knows the port cannot inject its own code.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

from kinetic_core.auth.interactive import CALLBACK_PATH, callback_url, check_callback
from kinetic_core.errors import AuthenticationError, ConfigError

logger = logging.getLogger(__name__)

_DONE_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Kinetic Core</title></head><body>"
    "<p>{message}</p><p>You can close this window and return to the terminal.</p></body></html>"
)


@dataclass
class _Outcome:
    code: str | None = None
    error: AuthenticationError | None = None


class _Server(HTTPServer):
    expected_state: str
    outcome: _Outcome


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path.rstrip("/").lower() != CALLBACK_PATH.lower():
            self._answer(404, "Not found.")
            return
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            code = check_callback(params, self.server.expected_state)
        except AuthenticationError as exc:
            if exc.error == "state_mismatch":
                logger.warning("ignored a callback whose state does not match this login")
                self._answer(400, "This callback does not belong to the login in progress.")
                return
            self.server.outcome.error = exc
            self._answer(400, f"Login failed: {exc.error}: {exc.description}")
            return
        self.server.outcome.code = code
        self._answer(200, "Login complete.")

    def _answer(self, status: int, message: str) -> None:
        body = _DONE_PAGE.format(message=message.replace("<", "&lt;")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("callback server: " + format, *args)


class CallbackServer:
    """Listen for one authorization redirect on ``http://localhost:{port}/OauthRedirect``.

    Args:
        port: the port (0: any free one).
        state: the ``state`` sent with the authorize URL; other redirects are ignored.
        any_port: when ``port`` is busy, take a free one instead of failing. The callback URL then
            changes, and the connected app must list it.

    Example:
        >>> with CallbackServer(0, "s1") as server:  # doctest: +SKIP
        ...     print(server.redirect_uri)
        ...     code = server.wait(timeout=300)
    """

    def __init__(self, port: int, state: str, *, any_port: bool = False) -> None:
        try:
            self._server = _Server(("127.0.0.1", port), _Handler)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            if not any_port:
                raise ConfigError(
                    f"port {port} is in use, so the login callback {callback_url(port)} cannot be received: "
                    "free it, pass --port N (a callback URL your connected app lists), or --any-port"
                ) from None
            logger.warning("port %d is in use; listening on a free port instead", port)
            self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.expected_state = state
        self._server.outcome = _Outcome()
        self.port: int = self._server.server_address[1]

    @property
    def redirect_uri(self) -> str:
        """The callback URL to send as ``redirect_uri``."""
        return callback_url(self.port)

    def wait(self, timeout: float, *, monotonic: Callable[[], float] = time.monotonic) -> str:
        """Serve until the matching redirect arrives; its authorization code.

        Raises:
            AuthenticationError: the org or the user refused (``access_denied``...), or ``timeout``
                seconds passed without a matching redirect.
        """
        deadline = monotonic() + timeout
        outcome = self._server.outcome
        while outcome.code is None and outcome.error is None:
            left = deadline - monotonic()
            if left <= 0:
                raise AuthenticationError(
                    "timeout", f"no login arrived at {self.redirect_uri} within {timeout:.0f} s", status=0
                )
            self._server.timeout = min(left, 1.0)
            self._server.handle_request()
        if outcome.error is not None:
            raise outcome.error
        assert outcome.code is not None
        return outcome.code

    def close(self) -> None:
        """Stop listening."""
        self._server.server_close()

    def __enter__(self) -> CallbackServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
