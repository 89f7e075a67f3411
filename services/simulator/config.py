"""The simulator's runtime knobs (set over `/_control`) and its intake rate limiter."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal, TypedDict

Mode = Literal["up", "down", "timeout", "drop"]
MODES: tuple[Mode, ...] = ("up", "down", "timeout", "drop")


class Knobs(TypedDict, total=False):
    """What `POST /_control` accepts (a JSON merge: only the given keys change)."""

    mode: Mode
    fail_rate: float
    delay_seconds: float
    rate_limit_per_second: float | None
    retry_after: float
    step_seconds: float
    hang_seconds: float
    reject_references: list[str]
    refuse_references: list[str]


@dataclass(frozen=True)
class SimulatorConfig:
    mode: Mode = "up"
    #: Fraction (0..1) of /v1 calls answered 503 with Retry-After, at random.
    fail_rate: float = 0.0
    #: Latency added to every /v1 call.
    delay_seconds: float = 0.0
    #: Print-job intake limit (jobs per second); None means unlimited.
    rate_limit_per_second: float | None = None
    #: Retry-After sent with 503s, in seconds.
    retry_after: float = 1.0
    #: Seconds between status steps of each job; 0 means only on `/_control/advance`.
    step_seconds: float = 1.0
    #: How long mode "timeout" holds a request before closing it unanswered.
    hang_seconds: float = 30.0
    #: Jobs with these references are accepted, then called back as `rejected`.
    reject_references: tuple[str, ...] = field(default_factory=tuple)
    #: Jobs with these references are refused at intake with a permanent 422.
    refuse_references: tuple[str, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["reject_references"] = list(self.reject_references)
        data["refuse_references"] = list(self.refuse_references)
        return data

    def merged(self, changes: Any) -> SimulatorConfig:
        """A copy with `changes` applied; ValueError names the first bad knob."""
        if not isinstance(changes, dict):
            raise ValueError("control body must be a JSON object")
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown knobs: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, value in changes.items():
            values[name] = _check(name, value)
        return replace(self, **values)


def _number(name: str, value: Any, *, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: must be a number")
    if not (low <= float(value) <= high):
        raise ValueError(f"{name}: must be between {low} and {high}")
    return float(value)


def _check(name: str, value: Any) -> Any:
    if name == "mode":
        if value not in MODES:
            raise ValueError(f"mode: must be one of {', '.join(MODES)}")
        return value
    if name == "fail_rate":
        return _number(name, value, low=0.0, high=1.0)
    if name == "rate_limit_per_second":
        if value is None or value == 0:
            return None
        return _number(name, value, low=0.001)
    if name in ("delay_seconds", "retry_after", "step_seconds", "hang_seconds"):
        return _number(name, value, low=0.0, high=3600.0)
    if name in ("reject_references", "refuse_references"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{name}: must be a list of strings")
        return tuple(value)
    raise ValueError(f"unknown knob {name}")  # pragma: no cover - guarded by merged()


class TokenBucket:
    """Intake limiter: `rate` tokens per second, bursts up to one second's worth."""

    def __init__(self, rate: float | None) -> None:
        self._lock = threading.Lock()
        self.rate = rate
        self._capacity = max(1.0, rate or 0.0)
        self._tokens = self._capacity
        self._stamp = time.monotonic()

    def take(self, wanted: int = 1) -> tuple[int, float]:
        """Take up to `wanted` tokens; returns (granted, seconds until the next token)."""
        if self.rate is None:
            return wanted, 0.0
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            granted = min(wanted, int(self._tokens))
            self._tokens -= granted
            wait = max(0.0, (1.0 - self._tokens) / self.rate)
            return granted, wait
