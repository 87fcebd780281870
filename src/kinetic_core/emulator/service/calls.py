"""One operation's input (:class:`Call`) and answer (:class:`Reply`), the same for HTTP and sub-requests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kinetic_core.emulator.errors import ApiError

if TYPE_CHECKING:
    from kinetic_core.emulator.org import Org


@dataclass
class Reply:
    """A transport-free answer, shared by direct routes and composite sub-requests."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, err: ApiError) -> Reply:
        candidates = getattr(err, "urls_or_ids", None)
        if err.status == 300 and isinstance(candidates, list):
            return cls(300, list(candidates))
        return cls(err.status, err.rest_body())


@dataclass(frozen=True)
class Call:
    """What an operation gets: who asks, how, and the request's parts (already decoded).

    Example:
        >>> call = Call(org, user_id, "GET", "62.0", {"sobject": "Account"})  # doctest: +SKIP
        >>> call.param("sobject")  # doctest: +SKIP
        'Account'
    """

    org: Org
    user_id: str
    method: str
    ver: str
    path: Mapping[str, str] = field(default_factory=dict)
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    """Lower-case header names."""

    def param(self, name: str) -> str:
        """A path parameter (``{sobject}`` of the URL template)."""
        return self.path[name]

    def arg(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        return next((v for k, v in self.query if k == name), None)

    def args(self, name: str) -> list[str]:
        """Every value of a repeated query parameter."""
        return [v for k, v in self.query if k == name]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


__all__ = ["Call", "Reply"]
