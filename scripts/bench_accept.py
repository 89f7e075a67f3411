#!/usr/bin/env python
"""Accept throughput and latency through a real gunicorn server on PostgreSQL.

Runs of the same kind of payload against one server, in one process tree:
  bare          POST /bench/bare-applications  (ModelSerializer + CreateAPIView, plain table)
  tangguh-up    POST /api/v1/applications      (idempotency, encryption, event, NIK rule)
  tangguh-down  the same while central is DOWN, workers running, an approved backlog waiting

Prints req/s and p50/p90/p99 for each, the Tangguh/bare ratios, and down-vs-up; the server
CPU each accept costs (gunicorn and the PostgreSQL backends serving it, from /proc: steadier
than req/s on a shared machine) and the database round trips of one accept. No asserts: it is a
benchmark, not a test. See docs/benchmarks.md.

Both endpoints run with the same settings: no authentication header is sent (DRF's default
authentication classes run on both and find nothing). Tangguh's own per-client and per-NIK
submission limits stay on, set out of reach (tests/drill/cluster.py UNLIMITED_RATES): each still
costs its Redis count, as in production; the bare view has no such limit.

    .venv/bin/python scripts/bench_accept.py                      # about 2 minutes
    .venv/bin/python scripts/bench_accept.py --requests 5000 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.bench import harness
from scripts.bench.harness import log

SETTINGS = "scripts.bench.settings"
TANGGUH_PATH = "/api/v1/applications"
BARE_PATH = "/bench/bare-applications"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--requests", type=int, default=2000,
                   help="measured requests per run (1,000 took 4 s: too short to be steady)")
    p.add_argument("--concurrency", type=int, default=16, help="client threads (keep-alive)")
    p.add_argument("--warmup", type=int, default=200, help="unmeasured requests per endpoint")
    p.add_argument("--rounds", type=int, default=3,
                   help="bare/tangguh-up pairs, alternating which goes first (the load on a "
                        "shared machine drifts: several short pairs compare fairer than one)")
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
    log(f"machine: {harness.machine()}; {harness.postgres_version()}; {harness.load()} "
        f"(other work on the box skews every figure)")
    url = harness.recreate_database(args.database)
    log(f"database {args.database} recreated; migrating ({SETTINGS})")
    harness.migrate(url, SETTINGS)
    harness.stop_on_sigterm()
    from tests.drill.cluster import Cluster, wait_for

    extra_env = {
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DB_CONN_MAX_AGE": str(args.conn_max_age),
        "LOG_LEVEL": "WARNING",
        # Short breaker/sweep times so the down run meets an open breaker within seconds.
        "QUEUE_SWEEP_SECONDS": "1",
        "QUEUE_BREAKER_COOLDOWN_SECONDS": "1",
        "QUEUE_BREAKER_COOLDOWN_CAP": "5",
    }
    workdir = harness.VAR_DIR / f"accept-{time.strftime('%Y%m%d-%H%M%S')}"
    cluster = Cluster(workdir=workdir, database_url=url, shared_secrets=harness.shared_secrets(),
                      extra_env=extra_env, web_workers=args.web_workers, step_seconds=0)
    # This process talks to the cluster's private Redis (kicks after building the backlog),
    # never to whatever Redis the machine's default URL points at.
    harness.configure_django(database_url=url, settings_module=SETTINGS,
                             REDIS_URL=cluster.redis_url, CELERY_BROKER_URL=cluster.redis_url,
                             **cluster.shared_secrets,
                             **{k: v for k, v in extra_env.items() if k != "DB_CONN_MAX_AGE"})

    from immigration.models import PassportApplication
    from immigration.print_jobs import CENTRAL_PRINTING
    from queueing.models import UpstreamHealth
    from scripts.bench.load import HEADER, Request, run_load
    from scripts.bench.models import BareApplication
    from tests.conftest import application_payload

    runs = 2 * args.rounds + 1
    total = 2 * args.warmup + runs * args.requests
    log(f"preparing {total} distinct payloads (Faker id_ID, unique NIKs)")
    payloads: list[bytes] = []
    niks: set[str] = set()
    while len(payloads) < total:
        payload = application_payload()
        if payload["applicant"]["nik"] in niks:
            continue
        niks.add(payload["applicant"]["nik"])
        payloads.append(json.dumps(payload).encode())
        if len(payloads) % 2000 == 0:
            log(f"  {len(payloads)}/{total} payloads")
    cursor = iter(payloads)

    def batch(path: str, n: int) -> list[Request]:
        out = []
        for _ in range(n):
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            if path == TANGGUH_PATH:
                headers["Idempotency-Key"] = str(uuid.uuid4())
            out.append(Request(path, next(cursor), headers))
        return out

    log(f"starting redis, simulator, gunicorn ({args.web_workers} workers x 4 threads), "
        f"2 Celery workers and beat (logs in {workdir})")
    results = []
    cpu: dict[str, list[float]] = {}  # run name -> [server CPU s, PostgreSQL CPU s, requests]
    loads: dict[str, str] = {}

    def measured(name: str, path: str, n: int) -> Any:
        assert cluster.web is not None
        web0, pg0 = harness.cpu_seconds(cluster.web.pid), harness.postgres_cpu(args.database)
        result = run_load(name, cluster.web_url, batch(path, n), concurrency=args.concurrency)
        web1, pg1 = harness.cpu_seconds(cluster.web.pid), harness.postgres_cpu(args.database)
        pg = sum(t - pg0.get(pid, 0.0) for pid, t in pg1.items())
        acc = cpu.setdefault(name, [0.0, 0.0, 0])
        acc[0] += web1 - web0
        acc[1] += pg
        acc[2] += result.ok
        loads[name] = harness.load()
        return result

    try:
        cluster.start(workers=2)
        control = cluster.central.control
        log(f"warm-up: {args.warmup} requests to each endpoint")
        run_load("warmup-bare", cluster.web_url, batch(BARE_PATH, args.warmup),
                 concurrency=args.concurrency)
        run_load("warmup-tangguh", cluster.web_url, batch(TANGGUH_PATH, args.warmup),
                 concurrency=args.concurrency)

        for r in range(args.rounds):
            order = [BARE_PATH, TANGGUH_PATH] if r % 2 == 0 else [TANGGUH_PATH, BARE_PATH]
            for path in order:
                name = "bare" if path == BARE_PATH else "tangguh-up"
                log(f"round {r + 1}: {name}, {args.requests} requests at concurrency "
                    f"{args.concurrency}")
                results.append(measured(name, path, args.requests))

        log("central goes DOWN; staff approved a backlog the workers now try to deliver")
        control.configure(mode="down", retry_after=1)
        harness.build_approved_backlog(args.down_backlog)

        def breaker_open() -> bool:
            return UpstreamHealth.objects.filter(upstream=CENTRAL_PRINTING,
                                                 state="down").exists()

        wait_for(breaker_open, timeout=60, what="breaker to open", interval=0.2)
        log("breaker is open; the workers only probe now")
        before = control.stats()["calls_while_down"]
        log(f"tangguh-down: {args.requests} requests at concurrency {args.concurrency}")
        down = measured("tangguh-down", TANGGUH_PATH, args.requests)
        calls_during = control.stats()["calls_while_down"] - before
        results.append(down)
        waiting = PassportApplication.objects.filter(status="queued_for_printing").count()
        stored = PassportApplication.objects.count()
        bare_rows = BareApplication.objects.count()
        trips = round_trips()
    finally:
        log("stopping the cluster")
        cluster.stop()

    # --- figures ----------------------------------------------------------------------------
    print()
    print(f"Machine: {harness.machine()}; {harness.postgres_version()}; at the end "
          f"{harness.load()}")
    print(f"Server: gunicorn {args.web_workers} workers x 4 threads, DEBUG=0, "
          f"DB_CONN_MAX_AGE={args.conn_max_age}; client: {args.concurrency} keep-alive threads "
          f"on the same machine; {args.requests} requests per run, {args.warmup} warm-up")
    print()
    print(harness.table([r.row() for r in results], HEADER))
    bare = [r for r in results if r.name == "bare"]
    up = [r for r in results if r.name == "tangguh-up"]

    def pooled(rs: list) -> tuple[float, float, float]:  # type: ignore[type-arg]
        lat = [x for r in rs for x in r.latencies_ms]
        ok = sum(r.ok for r in rs)
        wall = sum(r.wall_seconds for r in rs)
        return ok / wall, harness.percentile(lat, 50), harness.percentile(lat, 99)

    b_rps, b50, b99 = pooled(bare)
    u_rps, u50, u99 = pooled(up)
    d_rps, d50, d99 = down.throughput, down.p(50), down.p(99)
    print()
    print(f"Tangguh accept vs bare DRF create: throughput x{u_rps / b_rps:.2f} "
          f"({u_rps:.0f} vs {b_rps:.0f} req/s), p50 x{u50 / b50:.2f}, p99 x{u99 / b99:.2f}")
    print(f"Central down vs up: throughput x{d_rps / u_rps:.2f} ({d_rps:.0f} vs {u_rps:.0f} "
          f"req/s), p50 {d50:.1f} vs {u50:.1f} ms, p99 {d99:.1f} vs {u99:.1f} ms")
    print()
    print("Server CPU per accepted request (gunicorn + the PostgreSQL backends serving it):")
    per = {name: ((w + p) * 1000 / n, w * 1000 / n, p * 1000 / n) for name, (w, p, n) in
           cpu.items() if n}
    for name, (total, web, pg) in per.items():
        print(f"  {name:<13} {total:5.2f} ms  (gunicorn {web:.2f} + PostgreSQL {pg:.2f}); "
              f"{loads[name]} after the last run")
    if "bare" in per and "tangguh-up" in per:
        print(f"Tangguh accept vs bare DRF create, CPU per request: "
              f"x{per['tangguh-up'][0] / per['bare'][0]:.2f}")
    print(f"Database round trips per request (one request each, in process): "
          f"tangguh {trips['tangguh']}, bare {trips['bare']}")
    for sql in trips["statements"]:
        print(f"    {sql}")
    print()
    print(f"During the down run: {calls_during} calls reached central (breaker probes), "
          f"{waiting} approved applications waiting for central")
    print(f"Rows stored: {stored} applications (incl. {args.down_backlog} backlog), "
          f"{bare_rows} bare rows")


def round_trips() -> dict[str, Any]:
    """Statements one accept and one bare create send to the database, counted in this process
    with Django's test client against the same database (BEGIN and COMMIT included)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import application_payload

    client = Client(HTTP_HOST="localhost")  # one of ALLOWED_HOSTS
    counts: dict[str, Any] = {}
    for name, path in (("bare", BARE_PATH), ("tangguh", TANGGUH_PATH)):
        body = json.dumps(application_payload())
        headers = {"Idempotency-Key": str(uuid.uuid4())} if name == "tangguh" else {}
        with CaptureQueriesContext(connection) as queries:
            response = client.post(path, body, content_type="application/json",
                                   headers=headers)
        assert response.status_code == 201, response.content
        counts[name] = len(queries.captured_queries)
        if name == "tangguh":
            counts["statements"] = [q["sql"][:90] for q in queries.captured_queries]
    return counts


if __name__ == "__main__":
    main()
