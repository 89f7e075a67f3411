from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from queueing import topics
from queueing.models import OutboxMessage
from queueing.topics import Delivered, Outcome, Topic


class Upstream:
    """A test topic's upstream, in process: records every batch and answers from a script.

    This stands in for *an* upstream so the outbox machinery can be tested on its own; the
    real central printing path is tested against the simulator in tests/immigration.
    """

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.answer: Callable[[OutboxMessage], Outcome] = lambda m: Delivered({"ok": True})
        self.raise_: Exception | None = None
        self.healthy = True
        self.probes = 0
        self.delivered: list[str] = []
        self.dead: list[tuple[str, str]] = []

    def send(self, messages: Sequence[OutboxMessage]) -> list[Outcome]:
        self.batches.append([m.key for m in messages])
        if self.raise_ is not None:
            raise self.raise_
        return [self.answer(m) for m in messages]

    def probe(self) -> bool:
        self.probes += 1
        return self.healthy


@pytest.fixture
def upstream() -> Any:
    up = Upstream()
    topic = Topic(
        name="test.topic",
        upstream="test-upstream",
        send=up.send,
        probe=up.probe,
        on_delivered=lambda batch: up.delivered.extend(m.key for m, _ in batch),
        on_dead=lambda m, reason: up.dead.append((m.key, reason)),
    )
    saved = dict(topics._registry)
    topics._registry.clear()
    topics.register(topic)
    yield up
    topics._registry.clear()
    topics._registry.update(saved)


@pytest.fixture
def queue_settings(settings: Any) -> Callable[..., None]:
    def _set(**overrides: Any) -> None:
        settings.QUEUEING = {**settings.QUEUEING, **overrides}

    _set(BACKOFF_BASE_SECONDS=0.01, BACKOFF_CAP_SECONDS=0.05, BREAKER_COOLDOWN_SECONDS=0.2,
         BREAKER_COOLDOWN_CAP_SECONDS=1.0)
    return _set
