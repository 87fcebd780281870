"""Injected faults: latency, error statuses, dropped connections, short sessions, API limits.

A :class:`Faults` object holds the current :class:`FaultConfig` and a seeded
``random.Random``; the same seed and the same request sequence give the same faults.
Faults apply to every ``/services`` route (REST, OAuth, Bulk), never to the admin API.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from kinetic_core.emulator.errors import ApiError

_RATES = ("error_rate", "drop_connection_rate", "drop_response_rate")


class FaultKind(StrEnum):
    """What was injected into one response."""

    LATENCY = "latency"
    ERROR = "error"
    DROP = "drop_connection"
    DROP_RESPONSE = "drop_response"
    SESSION_EXPIRED = "session_expired"
    LIMIT = "request_limit"


@dataclass(frozen=True)
class FaultConfig:
    """The admin-settable fault knobs; ``FaultConfig()`` means no faults."""

    seed: int | None = None
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    drop_connection_rate: float = 0.0
    drop_response_rate: float = 0.0
    session_ttl_seconds: float | None = None
    api_request_limit: int | None = None
    methods: tuple[str, ...] = ()
    path_contains: str = ""

    @classmethod
    def from_json(cls, data: Any) -> FaultConfig:
        """Validate an admin ``POST /_emulator/faults`` body.

        Raises:
            ApiError: 400 INVALID_FIELD for unknown keys or bad values.

        Example:
            >>> FaultConfig.from_json({"error_rate": 0.5, "seed": 1}).error_rate
            0.5
        """
        if not isinstance(data, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The fault configuration must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ApiError(400, "INVALID_FIELD", f"Unknown fault setting(s): {', '.join(unknown)}", unknown)
        values: dict[str, Any] = {}
        for key, value in data.items():
            if value is None:
                continue
            if key == "methods":
                if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
                    raise ApiError(400, "INVALID_FIELD", "methods must be a list of HTTP methods", [key])
                values[key] = tuple(m.upper() for m in value)
                continue
            if key == "path_contains":
                if not isinstance(value, str):
                    raise ApiError(400, "INVALID_FIELD", "path_contains must be a string", [key])
                values[key] = value
                continue
            if key in ("seed", "api_request_limit", "error_status"):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ApiError(400, "INVALID_FIELD", f"{key} must be an integer", [key])
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ApiError(400, "INVALID_FIELD", f"{key} must be a number", [key])
            if key in _RATES and not 0.0 <= value <= 1.0:
                raise ApiError(400, "INVALID_FIELD", f"{key} must be between 0 and 1", [key])
            if key == "error_status" and value not in (500, 503):
                raise ApiError(400, "INVALID_FIELD", "error_status must be 500 or 503", [key])
            if key != "seed" and value < 0:
                raise ApiError(400, "INVALID_FIELD", f"{key} must not be negative", [key])
            values[key] = value
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["methods"] = list(self.methods)
        return out

    def applies_to(self, method: str, path: str) -> bool:
        """Whether the error, drop and latency faults target this request."""
        if self.methods and method.upper() not in self.methods:
            return False
        return not self.path_contains or self.path_contains in path


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one request: wait, then answer an error, drop, or proceed."""

    delay_seconds: float = 0.0
    error_status: int | None = None
    drop: bool = False
    drop_response: bool = False


_NO_FAULT = FaultDecision()


class Faults:
    """The fault state of one org (thread-safe).

    Example:
        >>> f = Faults()
        >>> f.configure(FaultConfig(seed=7, error_rate=1.0, error_status=503))
        >>> f.decide().error_status
        503
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._rng = random.Random()
        self._injected: Counter[str] = Counter()

    @property
    def config(self) -> FaultConfig:
        return self._config

    def configure(self, config: FaultConfig) -> None:
        """Replace the configuration and reseed (an empty config clears every fault)."""
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)

    def decide(self, method: str = "GET", path: str = "") -> FaultDecision:
        """Draw the fault (if any) for one ``/services`` request.

        ``drop`` closes the connection before the request is handled; ``drop_response`` lets the
        request take effect and then loses its answer (the case a client must never blindly repeat).
        """
        cfg = self._config
        rates = cfg.error_rate or cfg.drop_connection_rate or cfg.drop_response_rate
        if not (cfg.latency_ms or cfg.latency_jitter_ms or rates) or not cfg.applies_to(method, path):
            return _NO_FAULT
        with self._lock:
            delay = cfg.latency_ms
            if cfg.latency_jitter_ms:
                delay += self._rng.uniform(0.0, cfg.latency_jitter_ms)
            drop = bool(cfg.drop_connection_rate) and self._rng.random() < cfg.drop_connection_rate
            error = not drop and bool(cfg.error_rate) and self._rng.random() < cfg.error_rate
            lost = (
                not (drop or error)
                and bool(cfg.drop_response_rate)
                and self._rng.random() < cfg.drop_response_rate
            )
            if delay:
                self._injected[FaultKind.LATENCY] += 1
            if drop:
                self._injected[FaultKind.DROP] += 1
            if error:
                self._injected[FaultKind.ERROR] += 1
            if lost:
                self._injected[FaultKind.DROP_RESPONSE] += 1
        return FaultDecision(delay / 1000.0, cfg.error_status if error else None, drop, lost)

    def record(self, kind: FaultKind) -> None:
        """Count a fault injected elsewhere (session expiry, request limit)."""
        with self._lock:
            self._injected[kind] += 1

    def injected(self) -> dict[str, int]:
        with self._lock:
            return dict(self._injected)

    def reset_counts(self) -> None:
        with self._lock:
            self._injected.clear()


def fault_error(status: int) -> ApiError:
    """The error body of an injected failure."""
    if status == 503:
        return ApiError(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable (injected fault)")
    return ApiError(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred (injected fault)")
