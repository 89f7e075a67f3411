"""What operators want to see about the queue, computed from the database (plus breaker state)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from django.db.models import Count, Min, Q
from django.utils import timezone

from queueing import breaker, topics
from queueing.models import MessageStatus, OutboxMessage, OutboxMessageQuerySet


@dataclass(frozen=True)
class QueueStats:
    pending: int
    in_flight: int
    delivered: int
    dead: int
    pending_by_priority: dict[int, int]
    oldest_pending_age_seconds: float | None
    delivered_last_minute: int
    breakers: dict[str, str]

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["pending_by_priority"] = {str(k): v for k, v in self.pending_by_priority.items()}
        return data


def queue_stats(
    topic: str | None = None, *, messages: OutboxMessageQuerySet | None = None,
    upstreams: Iterable[str] | None = None,
) -> QueueStats:
    """Figures over `messages` (default: the whole outbox), optionally one topic's. An app that
    serves several tenants passes its own scope (e.g. one office's messages), and the upstreams
    whose breakers belong with that scope (default: every registered upstream)."""
    now = timezone.now()
    if messages is None:
        messages = OutboxMessage.objects.all()
    if topic:
        messages = messages.filter(topic=topic)
    counts = dict(messages.values_list("status").annotate(n=Count("id")).order_by())
    by_priority = dict(
        messages.filter(status=MessageStatus.PENDING)
        .values_list("priority")
        .annotate(n=Count("id"))
        .order_by()
    )
    oldest = messages.waiting().aggregate(oldest=Min("created_at"))["oldest"]
    delivered_recently = messages.filter(
        status=MessageStatus.DELIVERED, delivered_at__gte=now - dt.timedelta(minutes=1)
    ).count()
    if upstreams is None:
        upstreams = {t.upstream for t in topics.all_topics()}
    upstreams = sorted(upstreams)
    return QueueStats(
        pending=counts.get(MessageStatus.PENDING, 0),
        in_flight=counts.get(MessageStatus.IN_FLIGHT, 0),
        delivered=counts.get(MessageStatus.DELIVERED, 0),
        dead=counts.get(MessageStatus.DEAD, 0),
        pending_by_priority=by_priority,
        oldest_pending_age_seconds=(now - oldest).total_seconds() if oldest else None,
        delivered_last_minute=delivered_recently,
        breakers={u: breaker.state(u).state for u in upstreams},
    )


def position_in_queue(message: OutboxMessage) -> int | None:
    """1-based place of a waiting message in delivery order (priority, then age)."""
    if message.status not in (MessageStatus.PENDING, MessageStatus.IN_FLIGHT):
        return None
    ahead = Q(priority__gt=message.priority) | Q(
        priority=message.priority, created_at__lt=message.created_at
    )
    return OutboxMessage.objects.waiting().filter(ahead, topic=message.topic).count() + 1
