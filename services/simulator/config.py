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
    link_kbps: float | None
    link_latency_ms: float
    cut_after_bytes: int | None


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
    #: Emulated link from the office: kilobits per second shared by every connection's
    #: request bodies (None: unlimited), like one thin uplink in Nunukan.
    link_kbps: float | None = None
    #: Round-trip latency of the emulated link, added once per /v1 request.
    link_latency_ms: float = 0.0
    #: Cut the link once, after this many more request-body bytes: the connection carrying
    #: that byte is closed unanswered and its partial body discarded. Cleared when it fires.
    cut_after_bytes: int | None = None

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
    if name == "link_kbps":
        if value is None or value == 0:
            return None
        return _number(name, value, low=1.0)
    if name == "link_latency_ms":
        return _number(name, value, low=0.0, high=60_000.0)
    if name == "cut_after_bytes":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name}: must be a whole number of bytes or null")
        return value
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


class Cut(Exception):
    """The emulated link was cut in the middle of a request body."""


class Link:
    """One emulated uplink shared by every connection: a FIFO pipe of `kbps`.

    Each slice of a body reserves the pipe from when it is free (`next_free`) for as long as
    its bits take, and the reader sleeps until then, so concurrent uploads share the rate
    the way they share a real modem instead of each getting the full rate.
    """

    #: Lag forgiven after an idle spell, so sleep overshoot does not slowly eat the rate.
    SLACK_SECONDS = 0.02

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_free = 0.0
        self._cut_left: int | None = None
        self.bytes = 0
        self.cuts = 0
        #: Bytes of bodies cut short: they crossed the link and must be sent again.
        self.cut_bytes = 0
        self.first_at: float | None = None
        self.last_at: float | None = None

    def arm_cut(self, after_bytes: int | None) -> None:
        with self._lock:
            self._cut_left = after_bytes

    def cut_armed(self) -> bool:
        with self._lock:
            return self._cut_left is not None

    def reset(self) -> None:
        with self._lock:
            self._next_free = 0.0
            self._cut_left = None
            self.bytes = self.cuts = self.cut_bytes = 0
            self.first_at = self.last_at = None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "bytes": self.bytes,
                "cuts": self.cuts,
                "cut_bytes": self.cut_bytes,
                "first_at": self.first_at,
                "last_at": self.last_at,
                "cut_armed": self._cut_left is not None,
            }

    def note_cut(self, received: int) -> None:
        with self._lock:
            self.cut_bytes += received

    def carry(self, size: int, kbps: float | None) -> tuple[int, bool]:
        """Let `size` bytes through; returns (bytes that passed, whether the link was cut)."""
        with self._lock:
            passed, cut = size, False
            if self._cut_left is not None and size >= self._cut_left:
                passed, cut = self._cut_left, True
                self._cut_left = None
                self.cuts += 1
            elif self._cut_left is not None:
                self._cut_left -= size
            now = time.monotonic()
            wait = 0.0
            if kbps:
                start = max(self._next_free, now - self.SLACK_SECONDS)
                self._next_free = start + passed * 8 / (kbps * 1000)
                wait = self._next_free - now
            self.bytes += passed
            if self.first_at is None:
                self.first_at = time.time()
        if wait > 0:
            time.sleep(wait)
        with self._lock:
            self.last_at = time.time()
        return passed, cut
