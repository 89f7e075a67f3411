"""`manage.py queue status|drain|retry-dead`: the operator's view of the outbox."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from queueing import deliver
from queueing.dead_letters import dead_letter_retry_all
from queueing.deliver import Report
from queueing.stats import queue_stats


class Command(BaseCommand):
    help = "Inspect and operate the delivery queue."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="counts by state and priority, oldest age, breakers")
        drain = sub.add_parser("drain", help="deliver in the foreground with a progress bar")
        drain.add_argument("--max-seconds", type=float, default=3600.0)
        sub.add_parser("retry-dead", help="put every dead letter back in the queue")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "status":
            self._status()
        elif action == "drain":
            self._drain(options["max_seconds"])
        else:
            n = dead_letter_retry_all()
            self.stdout.write(f"requeued {n} dead letter(s)")

    def _status(self) -> None:
        s = queue_stats()
        age = f"{s.oldest_pending_age_seconds:.0f}s" if s.oldest_pending_age_seconds else "-"
        self.stdout.write(f"pending    {s.pending}")
        for priority, n in sorted(s.pending_by_priority.items(), reverse=True):
            self.stdout.write(f"  priority {priority}: {n}")
        self.stdout.write(f"in flight  {s.in_flight}")
        self.stdout.write(
            f"delivered  {s.delivered}  ({s.delivered_last_minute} in the last minute)"
        )
        self.stdout.write(f"dead       {s.dead}")
        self.stdout.write(f"oldest waiting {age}")
        for upstream, state in s.breakers.items():
            self.stdout.write(f"breaker {upstream}: {state}")

    def _drain(self, max_seconds: float) -> None:
        """Deliver until nothing waits (messages in backoff included) or time runs out."""
        start = queue_stats()
        bar = tqdm(total=start.pending + start.in_flight, unit="msg", desc="draining",
                   file=self.stdout)
        totals = Report()
        lock = threading.Lock()  # the drain's lanes report from their own threads

        def on_round(report: Report) -> None:
            with lock:
                totals.add(report)
                bar.update(report.delivered + report.dead)

        deadline = time.monotonic() + max_seconds
        waiting = start.pending + start.in_flight
        while waiting and time.monotonic() < deadline:
            deliver.drain(budget_seconds=min(30.0, deadline - time.monotonic()),
                          stop_when_blocked=False, on_round=on_round, lanes=deliver.lanes())
            now = queue_stats()
            waiting = now.pending + now.in_flight
            bar.set_postfix(waiting=waiting, retries=totals.retried,
                            breaker=",".join(now.breakers.values()))
            if waiting:
                time.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))
        bar.close()
        self.stdout.write(
            f"delivered {totals.delivered}, dead {totals.dead}, retries scheduled "
            f"{totals.retried}; still waiting: {waiting}"
        )
