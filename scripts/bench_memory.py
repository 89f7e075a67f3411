#!/usr/bin/env python
"""A delivering worker's memory with 1,000 and with 100,000 applications waiting, measured
inside the process that delivers: the tracemalloc peak of each delivery round (Python's own
allocations, which RSS hides behind the allocator's arenas), the RSS, and the claim query.

One process, the real delivery loop (`queueing.deliver.deliver_batch`) against the simulator as
a real HTTP server, on PostgreSQL: deliver a few rounds with the small backlog waiting, grow the
backlog (central down, so nothing drains meanwhile), deliver a few rounds again. A round claims
`QUEUE_BATCH_SIZE` jobs (300), whatever is waiting: what it holds should not depend on the
backlog. No asserts: it is a benchmark, not a test. See docs/benchmarks.md.

    .venv/bin/python scripts/bench_memory.py                     # about 4 minutes
    .venv/bin/python scripts/bench_memory.py --big 20000         # a quicker look
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.bench import harness
from scripts.bench.harness import log


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--small", type=int, default=1_000, help="the small backlog")
    p.add_argument("--big", type=int, default=100_000, help="the big backlog")
    p.add_argument("--rounds", type=int, default=3, help="delivery rounds measured at each size")
    p.add_argument("--batch-size", type=int, default=300, help="QUEUE_BATCH_SIZE")
    p.add_argument("--database", default="tangguh_bench_memory")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    log(f"machine: {harness.machine()}; {harness.postgres_version()}; {harness.load()}")
    url = harness.recreate_database(args.database)
    harness.migrate(url, "immigration.settings")
    harness.stop_on_sigterm()
    from tests.drill.cluster import Cluster

    # The drill cluster's private redis-server and simulator; no web server or workers: this
    # process is the worker.
    workdir = harness.VAR_DIR / f"memory-{time.strftime('%Y%m%d-%H%M%S')}"
    cluster = Cluster(workdir=workdir, database_url=url, shared_secrets=harness.shared_secrets(),
                      step_seconds=0)
    workdir.mkdir(parents=True, exist_ok=True)
    cluster.start_redis()
    cluster.central.start()
    try:
        harness.configure_django(
            database_url=url, settings_module="immigration.settings", DEBUG="0",
            LOG_LEVEL="WARNING", CENTRAL_PRINTING_URL=cluster.central.base_url,
            CENTRAL_PRINTING_SECRET=cluster.central.secret,
            QUEUE_BATCH_SIZE=str(args.batch_size), REDIS_URL=cluster.redis_url,
            CELERY_BROKER_URL=cluster.redis_url,
            # The rate limiter and breaker stay in the loop; a ceiling this high never binds.
            QUEUE_RATE_START="100000", QUEUE_RATE_CEILING="100000",
            **cluster.shared_secrets,
        )
        run(args, cluster.central)
    finally:
        cluster.central.stop()
        if cluster.redis_proc is not None:
            cluster.redis_proc.kill()


def run(args: argparse.Namespace, central: Any) -> None:
    from django.db import connection

    from immigration.print_jobs import PRINT_JOB_TOPIC
    from queueing import topics
    from queueing.deliver import deliver_batch
    from queueing.models import MessageStatus, OutboxMessage
    from scripts.bench_drain import explain_claim

    topic = next(t for t in topics.all_topics() if t.name == PRINT_JOB_TOPIC)

    def pending() -> int:
        return OutboxMessage.objects.filter(topic=PRINT_JOB_TOPIC,
                                            status=MessageStatus.PENDING).count()

    def measure(label: str) -> dict[str, Any]:
        with connection.cursor() as cursor:  # what autovacuum would have done during the outage
            cursor.execute(f"ANALYZE {OutboxMessage._meta.db_table}")
        waiting = pending()
        deliver_batch(topic)  # warm: imports, connections, the first claim's plan
        peaks, delivered = [], 0
        for _ in range(args.rounds):
            gc.collect()
            tracemalloc.start()
            report = deliver_batch(topic)
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            peaks.append(peak / 2**20)
            delivered += report.delivered
        figures = {"label": label, "waiting": waiting, "delivered": delivered,
                   "peaks": peaks, "rss": harness.rss_kb(os.getpid()) / 1024,
                   "claim": explain_claim(pending())}
        log(f"  {label}: {waiting} waiting; tracemalloc peak per round "
            f"{', '.join(f'{p:.1f}' for p in peaks)} MB; RSS {figures['rss']:.0f} MB")
        return figures

    log(f"building {args.small} approved applications")
    harness.build_approved_backlog(args.small)
    small = measure("small")
    log(f"central DOWN while the backlog grows to {args.big}")
    central.control.configure(mode="down", retry_after=1)
    harness.build_approved_backlog(args.big - pending())
    central.control.configure(mode="up")
    big = measure("big")

    print()
    print(f"Machine: {harness.machine()}; {harness.load()}")
    print(f"One delivering process, claims of {args.batch_size}, {args.rounds} rounds at each "
          f"size (after one warm-up round):")
    for f in (small, big):
        claim = f["claim"]["ms"]
        print(f"  {f['waiting']:>7} waiting: tracemalloc peak per round "
              f"{max(f['peaks']):.1f} MB (rounds: {', '.join(f'{p:.1f}' for p in f['peaks'])}), "
              f"RSS after {f['rss']:.0f} MB, {f['delivered']} delivered; claim queries "
              f"{sum(claim.values()):.2f} ms ({', '.join(f'{v:.2f}' for v in claim.values())})")
    print(f"Peak ratio, {big['waiting']} vs {small['waiting']} waiting: "
          f"x{max(big['peaks']) / max(small['peaks']):.2f}; RSS x{big['rss'] / small['rss']:.2f}")


if __name__ == "__main__":
    main()
