"""The delivery loop: gate on the breaker, take tokens, claim, send, settle.

Plain functions: the Celery task, the `queue drain` command and the tests all call these.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from queueing import breaker, limiter, liveness, metrics, topics
from queueing.backoff import retry_delay
from queueing.claim import claim, new_token
from queueing.models import MessageStatus, OutboxMessage, UpstreamHealth
from queueing.topics import (
    Deferred,
    Delivered,
    Outcome,
    RetryLater,
    Topic,
    UpstreamUnavailable,
)

log = logging.getLogger(__name__)


class Blocked(enum.Enum):
    """Why a round sent nothing to a topic's upstream."""

    NO = "no"
    BREAKER_OPEN = "breaker open"
    RATE_LIMITED = "rate limited"


@dataclass
class Report:
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    lost_lease: int = 0
    blocked: Blocked = Blocked.NO
    wait_seconds: float = 0.0

    @property
    def settled(self) -> int:
        return self.delivered + self.retried + self.dead

    def add(self, other: Report) -> None:
        self.delivered += other.delivered
        self.retried += other.retried
        self.dead += other.dead
        self.lost_lease += other.lost_lease


@dataclass
class DrainSummary:
    report: Report = field(default_factory=Report)
    rounds: int = 0
    more_due: bool = False
    # Stopped at an open breaker: seconds until the soonest of them lets a probe through.
    probe_in: float | None = None

    def add(self, other: DrainSummary) -> None:
        """Another lane's summary (see `drain`): counts add up, the soonest probe wins."""
        self.report.add(other.report)
        self.rounds += other.rounds
        if other.probe_in is not None and (self.probe_in is None
                                           or other.probe_in < self.probe_in):
            self.probe_in = other.probe_in


def deliver_batch(topic: Topic) -> Report:
    """One round for one topic: at most one batch sent to its upstream."""
    q = settings.QUEUEING
    report = Report()
    gate = breaker.gate(topic.upstream)
    if gate == "open":
        report.blocked = Blocked.BREAKER_OPEN
        return report
    if gate == "probe":
        ok = _safe_probe(topic)
        breaker.probe_result(topic.upstream, ok)
        if not ok:
            report.blocked = Blocked.BREAKER_OPEN
            return report
        _release_waiting(topic)
    grant = limiter.take(topic.upstream, topic.batch_size or q["BATCH_SIZE"])
    if grant.granted == 0:
        report.blocked, report.wait_seconds = Blocked.RATE_LIMITED, grant.wait_seconds
        return report
    token = new_token()
    # Announced before the claim commits, so no moment exists where the lease has a token
    # that liveness.dead could call dead (queueing/liveness.py).
    with liveness.holding(token):
        token, messages = claim(
            topic=topic.name,
            limit=grant.granted,
            lease_seconds=q["LEASE_SECONDS"],
            low_priority_share=q["LOW_PRIORITY_SHARE"],
            token=token,
        )
        if not messages:
            if gate == "half_open":
                _confirm_recovery(topic)
            return report
        outcomes = _send(topic, messages)
        _settle(topic, token, messages, outcomes, report)
    return report


def _safe_probe(topic: Topic) -> bool:
    try:
        return topic.probe()
    except Exception:
        log.warning("probe of %s failed with an exception", topic.upstream)
        return False


def _confirm_recovery(topic: Topic) -> None:
    """Half open with nothing to send: a probe stands in for the real calls that would close
    the breaker. Without it a breaker that opened on a small backlog stays "recovering" until
    new work arrives, and its outage (queueing/outages.py) never closes."""
    if _safe_probe(topic):
        breaker.record_success(topic.upstream)
    else:
        breaker.record_failure(topic.upstream, "probe failed while recovering")


def _send(topic: Topic, messages: list[OutboxMessage]) -> list[Outcome]:
    try:
        outcomes = list(topic.send(messages))
    except UpstreamUnavailable as exc:
        breaker.record_failure(topic.upstream, exc.reason)
        if exc.retry_after:
            limiter.pause(topic.upstream, exc.retry_after)
        return [RetryLater(exc.reason, exc.retry_after, exc.ambiguous) for _ in messages]
    if len(outcomes) != len(messages):
        raise RuntimeError(f"topic {topic.name} returned {len(outcomes)} outcomes for "
                           f"{len(messages)} messages")
    if not all(isinstance(o, Deferred) for o in outcomes):
        # Only a call that was made says upstream is well: a round whose messages were all
        # deferred (texts held for the night after an evening outage, immigration/notify)
        # made none, and must not close a half-open breaker.
        breaker.record_success(topic.upstream)
    throttled = [o.retry_after for o in outcomes if isinstance(o, RetryLater) and o.retry_after]
    if throttled:
        limiter.pause(topic.upstream, max(throttled))
    return outcomes


def _settle(
    topic: Topic,
    token: str,
    messages: list[OutboxMessage],
    outcomes: list[Outcome],
    report: Report,
) -> None:
    """Record each outcome, with the topic's domain reaction, in one transaction.

    Only the lease holder may settle: if our lease expired and another worker took a message,
    its delivery is the one that counts (upstream dedupes). Every UPDATE below is therefore
    conditional on our lease token, and what it changed is what we settled; the row locks it
    takes keep the lease from changing hands until we commit. (Conditional writes rather than
    a SELECT ... FOR UPDATE of the batch first: locking each row and then updating it wrote
    every row twice.)
    """
    now = timezone.now()
    mine = OutboxMessage.objects.held(token)
    pairs = list(zip(messages, outcomes, strict=True))
    delivered = deferred_count = transient = permanent = 0
    with transaction.atomic():
        sent = [(m, o.result) for m, o in pairs if isinstance(o, Delivered)]
        if sent:
            delivered = _mark_delivered(topic, token, sent, now)

        deferred: dict[dt.datetime, list[int]] = {}
        for m, o in pairs:
            if isinstance(o, Deferred):
                deferred.setdefault(max(o.until or now, now), []).append(m.id)
        for due, ids in deferred.items():
            deferred_count += mine.filter(id__any=ids).update(
                status=MessageStatus.PENDING, lease_until=None, next_attempt_at=due,
                attempts=F("attempts") - 1,
            )

        for message, outcome in pairs:
            if isinstance(outcome, Delivered | Deferred):
                continue
            if isinstance(outcome, RetryLater) and not _exhausted(message):
                transient += _schedule_retry(mine, message, outcome, now)
                continue
            reason = outcome.reason
            if isinstance(outcome, RetryLater):
                reason = f"gave up after {message.attempts} attempts: {reason}"
            permanent += _mark_dead(topic, mine, message, reason, now)
    report.delivered += delivered
    report.retried += deferred_count + transient
    report.dead += permanent
    report.lost_lease += len(messages) - delivered - deferred_count - transient - permanent
    # Counted after the commit, so a rolled-back settlement counts nothing.
    _count(topic, delivered=delivered, transient=transient, permanent=permanent)


def _count(topic: Topic, *, delivered: int, transient: int, permanent: int) -> None:
    """Prometheus counters for one settled round (queueing/metrics.py): any topic's upstream
    gets them from here. Deferred messages were never attempted and count as nothing."""
    labels = {"upstream": topic.upstream, "topic": topic.name}
    if delivered:
        metrics.DELIVERIES.labels(**labels).inc(delivered)
    if transient:
        metrics.FAILURES.labels(**labels, kind="transient").inc(transient)
    if permanent:
        metrics.FAILURES.labels(**labels, kind="permanent").inc(permanent)


def _mark_delivered(
    topic: Topic, token: str, sent: list[tuple[OutboxMessage, dict[str, Any]]],
    now: dt.datetime,
) -> int:
    """Settle the delivered messages still ours, with the topic's domain reaction for exactly
    those; returns how many. One UPDATE and one bulk hook per batch: settling row by row was
    most of the drain."""
    ids = [m.id for m, _ in sent]
    changed = OutboxMessage.objects.held(token).filter(id__any=ids).update(
        status=MessageStatus.DELIVERED, delivered_at=now, lease_until=None,
        last_error="", outcome_unknown=False,
    )
    if changed < len(ids):
        # Some leases ran out and were taken (rare): ours are the rows now delivered under our
        # token, still locked by the UPDATE above.
        ours = set(OutboxMessage.objects.filter(
            id__any=ids, lease_token=token, status=MessageStatus.DELIVERED
        ).values_list("id", flat=True))
        sent = [(m, result) for m, result in sent if m.id in ours]
    if sent:
        topic.on_delivered(sent)
    return changed


def _exhausted(message: OutboxMessage) -> bool:
    max_attempts = settings.QUEUEING["MAX_ATTEMPTS"]  # 0: retry transient failures forever
    return bool(max_attempts) and message.attempts >= max_attempts


def _schedule_retry(mine: QuerySet[OutboxMessage], message: OutboxMessage, outcome: RetryLater,
                    now: dt.datetime) -> bool:
    q = settings.QUEUEING
    if outcome.ambiguous and not outcome.retry_after:
        # Upstream may already hold it (a dropped response, a timeout after sending): the next
        # attempt asks by key before sending anything, a cheap read that settles what the
        # applicant sees. Asked at once, not after a backoff that only delays that view; an
        # upstream that keeps failing opens the breaker, which then bounds the calls.
        delay = 0.0
    else:
        delay = retry_delay(
            message.attempts,
            base=q["BACKOFF_BASE_SECONDS"],
            cap=q["BACKOFF_CAP_SECONDS"],
            retry_after=outcome.retry_after,
        )
    return bool(mine.filter(id=message.id).update(
        status=MessageStatus.PENDING, lease_until=None,
        next_attempt_at=now + dt.timedelta(seconds=delay),
        last_error=outcome.reason[:2000],
        # Once an attempt may have reached upstream unanswered, ask before resending.
        outcome_unknown=message.outcome_unknown or outcome.ambiguous,
    ))


def _mark_dead(topic: Topic, mine: QuerySet[OutboxMessage], message: OutboxMessage, reason: str,
               now: dt.datetime) -> bool:
    if not mine.filter(id=message.id).update(
        status=MessageStatus.DEAD, dead_at=now, lease_until=None, last_error=reason[:2000],
    ):
        return False  # no longer ours
    topic.on_dead(message, reason)
    return True


def _release_waiting(topic: Topic) -> None:
    """Upstream is back (the probe passed): make every message of the topic due now. Their
    per-message backoff grew while upstream was down; from here the shared rate ramp, not those
    timers, protects upstream, and express work keeps its place at the front. Messages never
    attempted are left alone: their later due time was asked for (`enqueue(not_before=...)`),
    it is not backoff."""
    OutboxMessage.objects.filter(
        topic=topic.name, status=MessageStatus.PENDING, next_attempt_at__gt=timezone.now(),
        attempts__gt=0,
    ).update(next_attempt_at=timezone.now())
    _refresh_statistics()


def _refresh_statistics() -> None:
    """Once per recovery, not per claim: the backlog that built up while upstream was down may
    be orders of magnitude bigger than what PostgreSQL's planner last saw, and without fresh
    statistics it reads and sorts every pending row for each claim instead of walking the
    claim's partial indexes (measured at 100,000 waiting: 200 ms against 0.6 ms per claim, and
    half the drain rate). Autovacuum would get there too, but maybe minutes into the drain, or
    never where it is switched off."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {OutboxMessage._meta.db_table}")


def purge_delivered(*, older_than_days: int) -> int:
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    deleted, _ = OutboxMessage.objects.filter(
        status=MessageStatus.DELIVERED, delivered_at__lt=cutoff
    ).delete()
    return deleted


def release_dead_leases() -> int:
    """End at once the leases whose worker died (queueing/liveness.py): their messages are
    then due like any expired lease, instead of waiting out LEASE_SECONDS. Returns how many
    messages were released. The sweep calls it; the in-flight rows are few (a claim's worth
    per working lane) and found on the `outbox_due` index."""
    now = timezone.now()
    in_flight = OutboxMessage.objects.filter(status=MessageStatus.IN_FLIGHT, lease_until__gt=now)
    tokens = sorted(set(in_flight.values_list("lease_token", flat=True)))
    dead = liveness.dead(tokens)
    if not dead:
        return 0
    released = in_flight.filter(lease_token__in=dead).update(lease_until=now)
    if released:
        log.warning("released %d messages leased by %d workers that died mid-round",
                    released, len(dead))
    return released


def has_due_work(topic: str | None = None) -> bool:
    """Is a message due (the sweep asks every few seconds)? Two probes of the small `outbox_due`
    index, each walked in its order. `due()` as one query, the OR of both, let PostgreSQL read
    the whole outbox, delivered rows and all, whenever its statistics were taken with a backlog
    waiting (as `_refresh_statistics` does at recovery): 11 ms at 30,000 rows, growing with
    the table, against 0.1 ms."""
    now = timezone.now()
    for due in (OutboxMessage.objects.pending_due(now), OutboxMessage.objects.lease_expired(now)):
        if topic:
            due = due.filter(topic=topic)
        if due.order_by("status", "next_attempt_at").values_list("id", flat=True)[:1]:
            return True
    return False


def has_unsettled_upstream() -> bool:
    """Is an upstream still down or recovering (as last recorded)? One indexed read."""
    return UpstreamHealth.objects.exclude(state=UpstreamHealth.State.UP).exists()


def drain(
    *,
    budget_seconds: float,
    stop_when_blocked: bool = True,
    on_round: Callable[[Report], None] | None = None,
    lanes: int = 1,
) -> DrainSummary:
    """Deliver rounds across all topics until nothing is due or the time budget is spent.

    With `stop_when_blocked` (the Celery task) it returns as soon as every topic is blocked by an
    open breaker, leaving the wait to the database and the sweep; the foreground command instead
    waits out rate limits and cooldowns.

    `lanes` > 1 runs that many delivery loops side by side in this process, each on a database
    connection of its own: while one lane's batch is at the upstream, another claims, builds and
    settles the next, so the upstream always holds work from this worker. With one loop a worker
    alternates (send, then settle and claim with the upstream idle for it), and when the
    upstream is the slower side those pauses were what kept central from being busy
    (docs/benchmarks.md, fifth pass). A lane's claim is the same leased claim as another
    worker's: lanes never share a message. Callers inside a transaction that other connections
    cannot see (tests) keep the default of one.
    """
    if lanes <= 1:
        summary = _drain_lane(budget_seconds, stop_when_blocked, on_round)
    else:
        with ThreadPoolExecutor(lanes - 1, thread_name_prefix="drain-lane") as pool:
            others = [pool.submit(_drain_lane_in_thread, budget_seconds, stop_when_blocked,
                                  on_round) for _ in range(lanes - 1)]
            summary = _drain_lane(budget_seconds, stop_when_blocked, on_round)
            for other in others:
                summary.add(other.result())
    summary.more_due = has_due_work()
    return summary


def lanes() -> int:
    """How many lanes a drain task runs (settings QUEUEING["DRAIN_LANES"]); one on SQLite,
    where writers take turns and a second lane would mostly wait for the first's lock."""
    if connection.vendor != "postgresql":
        return 1
    return int(settings.QUEUEING["DRAIN_LANES"])


def _drain_lane_in_thread(
    budget_seconds: float, stop_when_blocked: bool, on_round: Callable[[Report], None] | None,
) -> DrainSummary:
    try:
        return _drain_lane(budget_seconds, stop_when_blocked, on_round)
    finally:
        # The thread's own connections (Django keeps one per thread): the thread ends with
        # this drain, and a connection left open would stay open on the server until it did.
        connections.close_all()


def _drain_lane(
    budget_seconds: float, stop_when_blocked: bool, on_round: Callable[[Report], None] | None,
) -> DrainSummary:
    summary = DrainSummary()
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        summary.rounds += 1
        round_report = Report()
        waits: list[float] = []
        open_upstreams: set[str] = set()
        for topic in topics.all_topics():
            r = deliver_batch(topic)
            round_report.add(r)
            if r.blocked is Blocked.RATE_LIMITED:
                waits.append(r.wait_seconds)
            elif r.blocked is Blocked.BREAKER_OPEN:
                open_upstreams.add(topic.upstream)
        summary.report.add(round_report)
        if on_round:
            on_round(round_report)
        if round_report.settled or round_report.lost_lease:
            continue
        if waits:
            time.sleep(min(max(waits), 1.0, max(deadline - time.monotonic(), 0)))
            continue
        if open_upstreams and not stop_when_blocked:
            time.sleep(min(1.0, max(deadline - time.monotonic(), 0)))
            continue
        if open_upstreams:
            summary.probe_in = min(breaker.state(u).open_for_seconds for u in open_upstreams)
        break
    return summary
