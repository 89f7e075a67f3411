#!/usr/bin/env python
"""Accept throughput and latency through a real gunicorn server on PostgreSQL.

Three runs of the same kind of payload against one server, in one process tree:
  bare          POST /bench/bare-applications  (ModelSerializer + CreateAPIView, plain table)
  tangguh-up    POST /api/v1/applications      (idempotency, encryption, event, NIK rule)
  tangguh-down  the same while central is DOWN, workers running, an approved backlog waiting

Prints req/s and p50/p90/p99 for each, the Tangguh/bare ratios, and down-vs-up. No asserts:
it is a benchmark, not a test. See docs/benchmarks.md.

    .venv/bin/python scripts/bench_accept.py                      # ~1.5 minutes
    .venv/bin/python scripts/bench_accept.py --requests 10000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.bench import harness  # noqa: E402
from scripts.bench.harness import log  # noqa: E402

SETTINGS = "scripts.bench.settings"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--requests", type=int, default=2000, help="measured requests per run")
    p.add_argument("--concurrency", type=int, default=16, help="client threads (keep-alive)")
    p.add_argument("--warmup", type=int, default=200, help="unmeasured requests per endpoint")
    p.add_argument("--rounds", type=int, default=1,
                   help="bare/tangguh-up pairs, alternating which goes first")
    p.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (4 threads each)")
    p.add_argument("--conn-max-age", type=int, default=60,
                   help="DB_CONN_MAX_AGE for gunicorn (0 = a new PostgreSQL connection per "
                        "request, as the drill cluster runs)")
    p.add_argument("--down-backlog", type=int, default=500,
                   help="approved applications waiting for central during the down run")
    p.add_argument("--database", default="tangguh_bench")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    log(f"machine: {harness.machine()}; {harness.postgres_version()}")
    url = harness.recreate_database(args.database)
    log(f"database {args.database} recreated; migrating ({SETTINGS})")
    harness.migrate(url, SETTINGS)
    harness.configure_django(database_url=url, settings_module=SETTINGS, DEBUG="0",
                             ALLOWED_HOSTS="127.0.0.1,localhost")

    from immigration.models import PassportApplication, UpstreamHealthProxy  # noqa: F401
