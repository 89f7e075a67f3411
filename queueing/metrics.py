"""Prometheus metrics of the outbox and its upstreams: the one place they are defined.

Two kinds, on purpose:

* **Counters and histograms** (deliveries, failures, bytes sent, request latency) are counted by
  the process that did the work. Under gunicorn and Celery that is many processes, so
  prometheus-client runs in multiprocess mode whenever `PROMETHEUS_MULTIPROC_DIR` is set before
  it is imported (scripts/run, the Procfile and the deployment files set it): each process
  writes its own memory-mapped file and a scrape sums them.
* **Gauges of state** (queue depth, oldest pending age, breaker state) are not counted at all:
  `QueueCollector` computes them from the database and Redis at scrape time, so they are right
  whichever process answers the scrape, after restarts, and after a worker died mid-delivery.

Counting happens in the generic delivery loop (deliver.py) and the shared byte budget
(byte_budget.py), so every upstream registered as a topic gets these series with no code of its
own. Label values are upstream and topic names and fixed words, never anything from a message.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = [
    "BREAKER_STATES",
    "BYTES_SENT",
    "DELIVERIES",
    "FAILURES",
    "QUEUE_STATES",
    "REQUEST_LATENCY",
    "QueueCollector",
    "multiprocess_dir",
    "registry_for_scrape",
    "touch_topic",
]

#: Outbox states reported as depth. Delivered messages are not depth (and their table grows
#: for the retention period): `tangguh_deliveries_total` counts them instead.
# `*_created` series double the output and no alert here uses them (multiprocess mode never
# has them anyway): same exposition in both modes.
disable_created_metrics()  # type: ignore[no-untyped-call]

QUEUE_STATES = ("pending", "in_flight", "dead")
BREAKER_STATES = ("closed", "half_open", "open", "unknown")

DELIVERIES = Counter(
    "tangguh_deliveries_total",
    "Messages an upstream accepted (first time or as a replay of the same key).",
    ["upstream", "topic"],
)
FAILURES = Counter(
    "tangguh_delivery_failures_total",
    "Delivery attempts that failed, by kind: transient (retried later) or permanent "
    "(refused by upstream, or retries exhausted: a dead letter).",
    ["upstream", "topic", "kind"],
)
BYTES_SENT = Counter(
    "tangguh_upstream_bytes_sent_total",
    "Bytes streamed to an upstream through its shared byte budget (files sent in chunks).",
    ["upstream"],
)
REQUEST_LATENCY = Histogram(
    "tangguh_http_request_duration_seconds",
    "Time to answer an HTTP request, by view name (never the path: paths hold references).",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def touch_topic(*, topic: str, upstream: str) -> None:
    """Create a topic's counters at zero, so `increase()` in an alert sees "nothing delivered"
    as 0 rather than as a missing series (which would silence the alert)."""
    DELIVERIES.labels(upstream=upstream, topic=topic)
    for kind in ("transient", "permanent"):
        FAILURES.labels(upstream=upstream, topic=topic, kind=kind)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class QueueCollector(Collector):
    """Queue depth, oldest pending age and breaker state, read at scrape time.

    Three small queries on indexed columns (status; topic+status) and one Redis read per
    upstream; bounded by the number of topics, not by the backlog.
    """

    def collect(self) -> Iterator[Metric]:
        from django.db import DatabaseError

        up = GaugeMetricFamily(
            "tangguh_queue_collector_up",
            "1 if queue figures could be read from the database at this scrape, else 0.",
        )
        try:
            families = list(self._collect())
        except DatabaseError:
            # A scrape during a database outage still serves every process's counters.
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield from families

    def _collect(self) -> Iterator[Metric]:
        # Imported here: the registry may be built before Django's apps are ready.
        from django.db.models import Count, Min
        from django.utils import timezone

        from queueing import breaker, topics
        from queueing.models import OutboxMessage

        registered = {t.name: t.upstream for t in topics.all_topics()}
        depth = GaugeMetricFamily(
            "tangguh_queue_messages",
            "Outbox messages by topic and state (pending, in_flight, dead), from the database.",
            labels=["topic", "upstream", "state"],
        )
        counts: dict[tuple[str, str], int] = {
            (topic, state): 0 for topic in registered for state in QUEUE_STATES
        }
        rows = (
            OutboxMessage.objects.filter(status__in=QUEUE_STATES)
            .values_list("topic", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for topic, state, n in rows:
            counts[(topic, state)] = n
        for (topic, state), n in sorted(counts.items()):
            depth.add_metric([topic, registered.get(topic, ""), state], n)
        yield depth

        now = timezone.now()
        oldest = GaugeMetricFamily(
            "tangguh_queue_oldest_pending_age_seconds",
            "Age of the oldest message still waiting (pending or in flight) per topic; "
            "0 when none waits.",
            labels=["topic", "upstream"],
        )
        ages = dict.fromkeys(registered, 0.0)
        for topic, first in (
            OutboxMessage.objects.waiting().values_list("topic")
            .annotate(first=Min("created_at")).order_by()
        ):
            ages[topic] = max(0.0, (now - first).total_seconds())
        for topic, age in sorted(ages.items()):
            oldest.add_metric([topic, registered.get(topic, "")], age)
        yield oldest

        states = GaugeMetricFamily(
            "tangguh_upstream_breaker_state",
            "Circuit breaker state per upstream, shared by all workers (Redis): 1 for the "
            "current state, 0 for the others; 'unknown' while Redis is unreachable.",
            labels=["upstream", "state"],
        )
        open_for = GaugeMetricFamily(
            "tangguh_upstream_breaker_cooldown_seconds",
            "Seconds left before an open breaker lets the next probe through.",
            labels=["upstream"],
        )
        for upstream in sorted(set(registered.values())):
            current = breaker.state(upstream)
            for state in BREAKER_STATES:
                states.add_metric([upstream, state], 1.0 if current.state == state else 0.0)
            open_for.add_metric([upstream], current.open_for_seconds)
        yield states
        yield open_for


def registry_for_scrape(extra: Iterable[Collector] = ()) -> CollectorRegistry:
    """The registry one scrape reads: every process's counters (multiprocess mode) or this
    process's (single process, e.g. tests and `runserver`), plus the state computed now."""
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_dir()
    if directory:
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        for metric in (DELIVERIES, FAILURES, BYTES_SENT, REQUEST_LATENCY):
            registry.register(_Forward(metric))
    registry.register(QueueCollector())
    for collector in extra:
        registry.register(collector)
    return registry


class _Forward(Collector):
    """One metric of the default registry, shown in a registry of our own (a collector can be
    registered in two registries, but then describe() runs twice per scrape; this is cheaper)."""

    def __init__(self, metric: Collector) -> None:
        self.metric = metric

    def collect(self) -> Iterator[Metric]:
        yield from self.metric.collect()

