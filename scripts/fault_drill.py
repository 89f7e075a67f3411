#!/usr/bin/env python
"""The fault drill, full size: prints accepted %, L (lost), D (printed twice), unexpected prints,
calls to central while it was down, accept latency during the outage and drain time.

    .venv/bin/python scripts/fault_drill.py                  # 500 applications on PostgreSQL
    .venv/bin/python scripts/fault_drill.py -n 2000 --sqlite # on the embedded SQLite default
    .venv/bin/python scripts/fault_drill.py --no-dossiers    # print jobs only, no photo/signature

With dossiers (the default) every application carries a photo and a signature, the drain runs
over an emulated 4 Mbit/s link cut mid-blob, central then loses its whole blob store and
reconciliation must restore it: every blob byte-identical, none sent twice in full.

It builds its own database (PostgreSQL `tangguh_drill`, or a SQLite file under var/drill), its
own Redis, simulator, gunicorn and two Celery workers with beat, and tears them all down.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
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
    # The drill measures delivery, not the counter: each application gets the photo and
    # signature central needs, not the documents the clerk checks, so approval skips the
    # readiness checks.
    "APPROVAL_CHECKS": "none",
    "CENTRAL_BLOB_CHUNK_BYTES": "16384",
    "CENTRAL_PRINTING_BATCH_SIZE": "10",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--applications", type=int, default=500)
    parser.add_argument("--sqlite", action="store_true", help="use SQLite instead of PostgreSQL")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default="tangguh_drill",
                        help="PostgreSQL database to drop and recreate")
    parser.add_argument("--no-dossiers", action="store_true",
                        help="print jobs without photo and signature (the wave-1 drill)")
    args = parser.parse_args()
    # SIGTERM (a timeout, a stop from another shell) unwinds like Ctrl-C, so the cluster's
    # processes are stopped rather than left running.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(f"stopped by signal {signum}"))

    workdir = Path(tempfile.mkdtemp(prefix="tangguh-drill-"))
    os.environ["TANGGUH_VAR_DIR"] = str(workdir)
    from tests.drill.cluster import recreate_postgres_database

    os.environ["DATABASE_URL"] = (f"sqlite:///{workdir / 'drill.sqlite3'}" if args.sqlite
                                  else recreate_postgres_database(args.database))
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
        # Central keeps jobs queued so the blob-store loss leaves every job to repair.
        step_seconds=0,
    )
    with cluster.start(workers=args.workers):
        result = run_drill(cluster, applications=args.applications, log=print,
                           dossiers=not args.no_dossiers,
                           blob_chunk_bytes=int(DRILL_KNOBS["CENTRAL_BLOB_CHUNK_BYTES"]))
    print("\n=== fault drill result ===")
    print(result.summary())
    print(f"total run time {time.monotonic() - started:.0f} s")
    ok = (result.accepted == result.intended and not result.lost and not result.printed_twice
          and not result.unexpected and not result.blobs_not_identical
          and not result.blobs_sent_twice)
    print("PASS: L = 0, D = 0" if ok else "FAIL")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
