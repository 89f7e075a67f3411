"""A minute-by-minute history of queue depth and delivery rate, for dashboards' charts.

The live figures (queueing.stats) say how things are; these rows say how they went: a chart of
the last 24 hours needs the depth at times nobody was looking. One row per scope, topic and
minute; a beat task calls `take_sample` for each queue it wants charted, then `prune`.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q

from queueing.models import MessageStatus, OutboxMessageQuerySet, QueueSample


def minute_floor(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def take_sample(
    *, scope: str, topic: str, messages: OutboxMessageQuerySet, at: dt.datetime
) -> QueueSample:
    """Count `messages` (already scoped by the caller) as of the minute ending at `at`. A second
    call for the same minute overwrites the first: the last count of a minute is the truest."""
    at = minute_floor(at)
    # Delivered rows are many and only the last minute's matter: counted on their own with a
    # time bound, not in the per-status count that would walk every delivered row.
    counts = dict(
        messages.filter(status__in=[MessageStatus.PENDING, MessageStatus.IN_FLIGHT,
                                    MessageStatus.DEAD])
        .values_list("status").annotate(n=Count("id")).order_by()
    )
    delivered = messages.filter(
        Q(status=MessageStatus.DELIVERED)
        & Q(delivered_at__gte=at - dt.timedelta(minutes=1), delivered_at__lt=at)
    ).count()
    sample, _ = QueueSample.objects.update_or_create(
        scope=scope, topic=topic, at=at,
        defaults={
            "pending": counts.get(MessageStatus.PENDING, 0),
            "in_flight": counts.get(MessageStatus.IN_FLIGHT, 0),
            "dead": counts.get(MessageStatus.DEAD, 0),
            "delivered": delivered,
        },
    )
    return sample


def history(*, scope: str, topic: str, since: dt.datetime) -> list[QueueSample]:
    return list(QueueSample.objects.filter(scope=scope, topic=topic, at__gte=since).order_by("at"))


def prune(*, before: dt.datetime) -> int:
    deleted, _ = QueueSample.objects.filter(at__lt=before).delete()
    return deleted
