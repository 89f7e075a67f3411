"""Topics: what a kind of message is and how it reaches its upstream.

An application registers one `Topic` per kind of message at start-up (in its AppConfig.ready).
The outbox knows nothing else about the messages it carries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from queueing import metrics

if TYPE_CHECKING:
    from queueing.models import OutboxMessage


@dataclass(frozen=True)
class Delivered:
    """Upstream has the message (first time, or it already had it: same thing to us)."""

    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RetryLater:
    """A transient failure. `ambiguous` means upstream may have acted on it unanswered."""

    reason: str
    retry_after: float | None = None
    ambiguous: bool = False


@dataclass(frozen=True)
class Refused:
    """Upstream refused the message for good (invalid data): it becomes a dead letter."""

    reason: str


@dataclass(frozen=True)
class Deferred:
    """Not attempted this round (e.g. the sender's time for one lease ran out before it got
    to this message): back to the queue, due now, and the claim does not count as an attempt,
    so its backoff does not grow for work that never left. With `until`, due then instead (a
    message that must not go out yet, e.g. a text held through the night)."""

    reason: str
    until: dt.datetime | None = None


Outcome = Delivered | RetryLater | Refused | Deferred


class UpstreamUnavailable(Exception):
    """Raised by `send` when the whole call failed transiently (down, timeout, 503)."""

    def __init__(self, reason: str, *, retry_after: float | None = None, ambiguous: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.ambiguous = ambiguous


@dataclass(frozen=True)
class Topic:
    name: str
    upstream: str
    # Sends a batch and returns one outcome per message, in order. Runs outside any transaction.
    # Raise UpstreamUnavailable when the call as a whole failed transiently.
    send: Callable[[Sequence[OutboxMessage]], Sequence[Outcome]]
    # A cheap health check used as the breaker's probe; must not deliver anything.
    probe: Callable[[], bool]
    # Domain reactions, each run inside the transaction that settles the messages, so the domain
    # change and the message state commit together. Deliveries come as one batch (one call per
    # send), with each message's result: settling a batch row by row was 90% of the drain time.
    on_delivered: Callable[[list[tuple[OutboxMessage, dict[str, Any]]]], None] = (
        lambda delivered: None
    )
    on_dead: Callable[[OutboxMessage, str], None] = lambda message, reason: None
    on_retry: Callable[[OutboxMessage], None] = lambda message: None
    # Messages claimed per round (None: QUEUEING["BATCH_SIZE"]). A topic whose messages carry
    # many bytes (files over a thin link) claims fewer, so one lease covers what it sends.
    batch_size: int | None = None


_registry: dict[str, Topic] = {}


def register(topic: Topic) -> None:
    _registry[topic.name] = topic
    metrics.touch_topic(topic=topic.name, upstream=topic.upstream)


def get(name: str) -> Topic:
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"no handler registered for topic {name!r}") from None


def all_topics() -> list[Topic]:
    return list(_registry.values())
