#!/usr/bin/env python
"""The fault drill, full size: prints accepted %, L (lost), D (printed twice), unexpected prints,
calls to central while it was down, accept latency during the outage and drain time.

    .venv/bin/python scripts/fault_drill.py                  # 500 applications on PostgreSQL
    .venv/bin/python scripts/fault_drill.py -n 2000 --sqlite # on the embedded SQLite default

It builds its own database (PostgreSQL `tangguh_drill`, or a SQLite file under var/drill), its
own Redis, simulator, gunicorn and two Celery workers with beat, and tears them all down.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DRILL_KNOBS = {
    "QUEUE_SWEEP_SECONDS": "1",
    "QUEUE_BATCH_SIZE": "50",
    "QUEUE_LEASE_SECONDS": "15",
    "QUEUE_BACKOFF_BASE_SECONDS": "0.5",
    "QUEUE_BACKOFF_CAP_SECONDS": "5",
    "QUEUE_BREAKER_COOLDOWN_SECONDS": "1",
    "QUEUE_BREAKER_COOLDOWN_CAP": "5",
    "QUEUE_DRAIN_BUDGET_SECONDS": "10",
    "CENTRAL_PRINTING_TIMEOUT": "2",
    # The drill measures delivery, not the counter: phones send no dossiers here, so approval
    # skips the readiness checks (the dossier drill will turn them back on).
    "APPROVAL_CHECKS": "none",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--applications", type=int, default=500)
    parser.add_argument("--sqlite", action="store_true", help="use SQLite instead of PostgreSQL")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="tangguh-drill-"))
    os.environ["TANGGUH_VAR_DIR"] = str(workdir)
    from tests.drill.cluster import recreate_postgres_database

    os.environ["DATABASE_URL"] = (f"sqlite:///{workdir / 'drill.sqlite3'}" if args.sqlite
                                  else recreate_postgres_database("tangguh_drill"))
    os.environ["DB_CONN_MAX_AGE"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.update(DRILL_KNOBS)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "immigration.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from tests.drill.cluster import Cluster
    from tests.drill.fault_drill import run_drill

    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[1]}; "
          f"workdir {workdir}")
    call_command("migrate", verbosity=0)
    started = time.monotonic()
    cluster = Cluster(
        workdir=workdir,
        database_url=os.environ["DATABASE_URL"],
        shared_secrets={"SECRET_KEY": settings.SECRET_KEY, "PII_KEYS": settings.PII_KEYS,
                        "PII_INDEX_KEY": settings.PII_INDEX_KEY},
        extra_env=DRILL_KNOBS,
    )
    with cluster.start(workers=args.workers):
        result = run_drill(cluster, applications=args.applications, log=print)
    print("\n=== fault drill result ===")
    print(result.summary())
    print(f"total run time {time.monotonic() - started:.0f} s")
    ok = (result.accepted == result.intended and not result.lost and not result.printed_twice
          and not result.unexpected)
    print("PASS: L = 0, D = 0" if ok else "FAIL")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
