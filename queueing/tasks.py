"""Celery tasks: thin adapters over queueing.deliver. They carry no data, only "look now"."""

from __future__ import annotations

import logging
import random

from celery import shared_task
from django.conf import settings

from queueing import deliver
from queueing.kick import DRAIN_TASK, kick, kick_when_probe_due

log = logging.getLogger(__name__)


@shared_task(name=DRAIN_TASK, ignore_result=True, soft_time_limit=60, time_limit=90)
def drain() -> dict[str, int]:
    """Deliver due messages for a bounded time, then hand over to a fresh task if work remains
    (so one long backlog never holds a worker past its time limit, and other workers join in)."""
    summary = deliver.drain(budget_seconds=_budget(), lanes=deliver.lanes())
    if summary.more_due and summary.report.settled:
        kick()
    if summary.probe_in is not None:
        kick_when_probe_due(summary.probe_in)
    r = summary.report
    if r.settled:
        # Carries the id of the request whose commit kicked this drain (operations/request_ids).
        log.info("drain: %d delivered, %d retried, %d dead in %d rounds",
                 r.delivered, r.retried, r.dead, summary.rounds)
    return {"delivered": r.delivered, "retried": r.retried, "dead": r.dead}


def _budget() -> float:
    """This drain's time budget: between half and all of DRAIN_BUDGET_SECONDS, at random.
    Drains that began together (a recovery starts several within a second) would otherwise end
    together, and at each such moment every worker stopped delivering at once to run what had
    queued meanwhile (sweeps, sealing) before the next drain: central sat idle for 2-3 s every
    20 s (docs/benchmarks.md, fifth pass). Spread out, one drain hands over while the others
    keep central fed."""
    budget = float(settings.QUEUEING["DRAIN_BUDGET_SECONDS"])
    return budget * random.uniform(0.5, 1.0)  # noqa: S311 (spreading load, not a secret)


@shared_task(name="queueing.purge_delivered", ignore_result=True, soft_time_limit=120,
             time_limit=180)
def purge_delivered() -> int:
    """Daily: forget delivered messages past the retention period, so the outbox stays small."""
    return deliver.purge_delivered(older_than_days=settings.QUEUEING["RETENTION_DAYS"])


@shared_task(name="queueing.sweep", ignore_result=True, soft_time_limit=20, time_limit=30)
def sweep() -> bool:
    """Beat, every few seconds: find due work in the database alone and kick a drain. This is
    what makes a flushed or restarted Redis, or a lost kick, cost a delay and never a message.
    An upstream not yet back up is looked at too, with no work waiting: its probes are what
    close the breaker and the outage."""
    deliver.release_dead_leases()
    if deliver.has_due_work() or deliver.has_unsettled_upstream():
        kick()
        return True
    return False
