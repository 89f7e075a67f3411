"""The outbox: one row per message that must reach an upstream system.

The database is the only source of truth. Redis and Celery only say "there is work"; a sweep
finds due rows from here alone, so a flushed broker loses nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils import timezone


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead"


class OutboxMessageQuerySet(models.QuerySet["OutboxMessage"]):
    def pending_due(self, now: dt.datetime) -> OutboxMessageQuerySet:
        return self.filter(status=MessageStatus.PENDING, next_attempt_at__lte=now)

    def lease_expired(self, now: dt.datetime) -> OutboxMessageQuerySet:
        """In flight with a lease that ran out: its worker died."""
        return self.filter(status=MessageStatus.IN_FLIGHT, lease_until__lt=now)

    def held(self, token: str) -> OutboxMessageQuerySet:
        """Still leased under `token`: what its holder may settle."""
        return self.filter(lease_token=token, status=MessageStatus.IN_FLIGHT)

    def due(self, now: dt.datetime) -> OutboxMessageQuerySet:
        """Either of the two, as one condition (for a conditional UPDATE). To find due work, ask
        the two apart: each walks its own index, where their OR can read the whole outbox."""
        return self.pending_due(now) | self.lease_expired(now)

    def waiting(self) -> OutboxMessageQuerySet:
        return self.filter(status__in=[MessageStatus.PENDING, MessageStatus.IN_FLIGHT])


class OutboxMessage(models.Model):
    topic = models.CharField(max_length=100)
    # The idempotency key upstream dedupes on; unique per topic so a double enqueue is refused.
    key = models.CharField(max_length=200)
    payload = models.JSONField(default=dict)
    priority = models.SmallIntegerField(default=0)  # higher goes first
    status = models.CharField(
        max_length=20, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=64, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    # True when the last attempt may have reached upstream unanswered (timeout after sending):
    # the next attempt asks upstream by key before sending again.
    outcome_unknown = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)

    objects = OutboxMessageQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "key"], name="outbox_unique_topic_key"),
        ]
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="outbox_due",
                condition=Q(status__in=["pending", "in_flight"]),
            ),
            models.Index(fields=["topic", "status"], name="outbox_topic_status"),
            # Claim order (see claim.py): walked in order, never sorted, however long the backlog.
            models.Index(fields=["topic", "-priority", "created_at", "id"],
                         name="outbox_pending_priority", condition=Q(status="pending")),
            models.Index(fields=["topic", "created_at", "id"],
                         name="outbox_pending_age", condition=Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.topic}:{self.key} ({self.status})"


class UpstreamHealth(models.Model):
    """The last known breaker state of an upstream, mirrored from Redis on every change so the
    public service board can say "central down since 09:12" even after Redis was flushed."""

    class State(models.TextChoices):
        UP = "up", "Up"
        DOWN = "down", "Down"
        RECOVERING = "recovering", "Recovering"

    upstream = models.CharField(max_length=100, unique=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.UP)
    since = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.upstream}: {self.state}"


class UpstreamOutageQuerySet(models.QuerySet["UpstreamOutage"]):
    def open(self) -> UpstreamOutageQuerySet:
        return self.filter(closed_at__isnull=True)


class UpstreamOutage(models.Model):
    """One row per outage of an upstream: opened when the shared breaker opens, closed when it
    closes again. The breaker itself lives in Redis, which may be flushed mid-outage; this row is
    the durable history ("down since 09:12", "printing resumed") and the exactly-once trigger for
    whatever must happen on recovery (see queueing.signals.upstream_recovered)."""

    upstream = models.CharField(max_length=100)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True, default="")

    objects = UpstreamOutageQuerySet.as_manager()

    class Meta:
        constraints = [
            # At most one open outage per upstream, whatever several workers (or a breaker that
            # forgot its state in a Redis flush and opened again) report: a second insert fails.
            models.UniqueConstraint(fields=["upstream"], condition=Q(closed_at__isnull=True),
                                    name="one_open_outage_per_upstream"),
        ]
        indexes = [models.Index(fields=["upstream", "-opened_at"], name="outage_history")]

    def __str__(self) -> str:
        return f"{self.upstream} outage from {self.opened_at:%Y-%m-%d %H:%M}"


class QueueSample(models.Model):
    """One minute of one queue: how deep it was and how many messages left in that minute.

    Written by a beat task once a minute per scope (an app's tenant, e.g. an office; "" for the
    whole outbox) and topic, read by dashboards for their 24-hour chart and pruned after a few
    days. The unique constraint makes a second beat (or a retried task) harmless."""

    scope = models.CharField(max_length=40, blank=True, default="")
    topic = models.CharField(max_length=100)
    at = models.DateTimeField()  # the end of the sampled minute (whole minute, UTC)
    pending = models.PositiveIntegerField(default=0)
    in_flight = models.PositiveIntegerField(default=0)
    dead = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)  # in the minute ending at `at`

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "topic", "at"], name="queue_sample_once"),
        ]
        indexes = [models.Index(fields=["at"], name="queue_sample_at")]

    def __str__(self) -> str:
        return f"{self.scope or '*'}:{self.topic}@{self.at:%Y-%m-%d %H:%M}"

    @property
    def waiting(self) -> int:
        return self.pending + self.in_flight
