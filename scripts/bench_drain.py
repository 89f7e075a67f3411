#!/usr/bin/env python
"""Drain rate of an approved backlog after central recovers, against a naive design and against
the simulator's own maximum intake, in one run; worker memory at two backlog sizes; calls to
central while it is down; and central's ledger checked for exactly-once.

Phases (all real processes: a private redis-server, the simulator, Celery workers and beat, on
PostgreSQL; see tests/drill/cluster.py):
  1. Tangguh, small backlog: central down, backlog built, breaker open, central up -> drain.
  2. Tangguh, big backlog: the same, plus a window counting calls to central while it is down.
  3. Naive: one Celery task per application, each POSTing one job (scripts/bench/naive.py),
     same number of worker processes, against the same simulator.
  4. Simulator max intake: batch submits straight at the simulator from several processes.

No asserts: it is a benchmark, not a test. See docs/benchmarks.md.

    .venv/bin/python scripts/bench_drain.py                  # about 3 minutes
    .venv/bin/python scripts/bench_drain.py --backlog 50000 --naive-backlog 10000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.bench import harness
from scripts.bench.harness import log

SETTINGS = "immigration.settings"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backlog", type=int, default=10_000, help="the big backlog")
    p.add_argument("--small-backlog", type=int, default=1_000,
                   help="the small backlog (memory comparison)")
    p.add_argument("--full", action="store_true",
                   help="the full sizes: a 100,000 backlog (memory flat from 1,000 to 100,000, "
                        "the claim query at 100,000), 20,000 jobs for the simulator alone")
    p.add_argument("--no-analyze", action="store_true",
                   help="do not ANALYZE the outbox after building the backlog: only what the "
                        "delivery loop itself does at recovery")
    p.add_argument("--no-pin", action="store_true",
                   help="do not give central a core of its own (taskset-style pinning: the "
                        "simulator on the last core, every other process we start on the rest)")
    p.add_argument("--no-pin-postgres", action="store_true",
                   help="leave the PostgreSQL server on every core (it is pinned with the office "
                        "by default, and given its cores back at the end)")
    p.add_argument("--central-cpu-share", type=float, default=None,
                   help="cap central at this share of its core (e.g. 0.3; a CFS quota in a "
                        "cgroup of its own): central as a smaller machine than the office's, "
                        "so the figures say whether the office keeps it fed; busy shares are "
                        "then of the cap")
    p.add_argument("--naive-backlog", type=int, default=3_000,
                   help="applications for the naive design (it is slow; a rate needs no 10k)")
    p.add_argument("--hammer-jobs", type=int, default=10_000,
                   help="jobs sent straight at the simulator")
    p.add_argument("--hammer-procs", type=int, default=2)
    p.add_argument("--hammer-threads", type=int, default=2, help="threads per hammer process")
    p.add_argument("--workers", type=int, default=4,
                   help="Celery worker processes (4: with 2, each waiting on its own round trips "
                        "to PostgreSQL and central, the office's core was a third idle)")
    p.add_argument("--concurrency", type=int, default=1, help="pool size of each worker")
    p.add_argument("--lanes", type=int, default=None,
                   help="QUEUE_DRAIN_LANES: delivery loops side by side in each drain task "
                        "(default: the project's, 2)")
    p.add_argument("--batch-size", type=int, default=300,
                   help="QUEUE_BATCH_SIZE: messages per claim; more than central's 100 go out as "
                        "several batch calls at once")
    p.add_argument("--rate-start", type=float, default=200.0, help="QUEUE_RATE_START")
    p.add_argument("--rate-ceiling", type=float, default=5000.0, help="QUEUE_RATE_CEILING")
    p.add_argument("--ramp-seconds", type=float, default=1.0, help="QUEUE_RATE_RAMP_SECONDS")
    p.add_argument("--production-knobs", action="store_true",
                   help="keep every QUEUE_* knob at the project default (ramp 20/s doubling "
                        "every 10 s up to 500/s, batch 50, sweep 5 s, cooldown 1-4 s)")
    p.add_argument("--down-window", type=float, default=20.0,
                   help="seconds to count calls to central while it is down (big backlog)")
    p.add_argument("--step-seconds", type=float, default=0.0,
                   help="simulator job step time; 0 = no status callbacks during the run "
                        "(central's callback traffic would otherwise share these 2 cores)")
    p.add_argument("--skip-naive", action="store_true")
    p.add_argument("--skip-hammer", action="store_true")
    p.add_argument("--database", default="tangguh_bench_drain")
    p.add_argument("--naive-database", default="tangguh_bench_naive")
    args = p.parse_args()
    if args.full:
        args.backlog = max(args.backlog, 100_000)
        args.hammer_jobs = max(args.hammer_jobs, 20_000)
    return args


def queue_env(args: argparse.Namespace) -> dict[str, str]:
    lanes = {} if args.lanes is None else {"QUEUE_DRAIN_LANES": str(args.lanes)}
    if args.production_knobs:
        return lanes
    return {
        **lanes,
        "QUEUE_BATCH_SIZE": str(args.batch_size),
        "QUEUE_RATE_START": str(args.rate_start),
        "QUEUE_RATE_CEILING": str(args.rate_ceiling),
        "QUEUE_RATE_RAMP_SECONDS": str(args.ramp_seconds),
        # The sweep every second rather than 5; the breaker's cooldown as by default (1-4 s).
        "QUEUE_SWEEP_SECONDS": "1",
        "QUEUE_BREAKER_COOLDOWN_SECONDS": "1",
        "QUEUE_BREAKER_COOLDOWN_CAP": "4",
    }


# --- measuring a drain ----------------------------------------------------------------------
@dataclass
class Drain:
    name: str
    total: int
    t_start: float = 0.0  # central up (Tangguh) or workers started (naive)
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (seconds, still waiting)
    central_timeline: list[tuple[float, float]] = field(default_factory=list)  # (s, CPU s)
    # When the office saw central back: the first probe that passed (the breaker's cooldown,
    # 1-4 s here, decides when that is; what follows it is the office's own reaction).
    probe_passed: float = float("nan")
    rss: Any = None
    central_cpu: float = float("nan")  # central's CPU seconds from recovery to the last delivery
    # The share of a core central may use (--central-cpu-share): busy shares are of that.
    capacity: float = 1.0
    # The office's CPU seconds over the same span: Celery workers (and their pool children)
    # and the whole PostgreSQL server (this script's polling included; nothing else runs).
    worker_cpu: float = float("nan")
    postgres_cpu: float = float("nan")
    load: str = ""

    def _time_at(self, remaining: float) -> float:
        """First time the waiting count fell to `remaining` or below (linear in between)."""
        prev_t, prev_r = 0.0, self.total
        for t, r in self.timeline:
            if r <= remaining:
                if prev_r == r:
                    return t
                return prev_t + (t - prev_t) * (prev_r - remaining) / (prev_r - r)
            prev_t, prev_r = t, r
        return float("nan")

    @property
    def first_delivery(self) -> float:
        return next((t for t, r in self.timeline if r < self.total), float("nan"))

    @property
    def done(self) -> float:
        return self._time_at(0)

    @property
    def rate_overall(self) -> float:
        """From the moment of recovery (or worker start) to the last delivery."""
        return self.total / self.done

    @property
    def central_busy(self) -> float:
        """Share of its own core (of its cap, with --central-cpu-share) central spent working
        between recovery and the last delivery."""
        return self.central_cpu / self.done / self.capacity

    @property
    def rate_active(self) -> float:
        """From the first delivery to the last."""
        return self.total / (self.done - self.first_delivery)

    @property
    def central_busy_steady(self) -> float:
        """Central's share of its core between 10% and 90% delivered: past the rate ramp, what
        the office keeps central fed with (the samples nearest inside that window)."""
        t10, t90 = self._time_at(0.9 * self.total), self._time_at(0.1 * self.total)
        inside = [(t, cpu) for t, cpu in self.central_timeline if t10 <= t <= t90]
        if len(inside) < 2 or inside[-1][0] - inside[0][0] < 0.5:
            return float("nan")  # too short a window to say
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]) / self.capacity

    @property
    def rate_steady(self) -> float:
        """Between 10% and 90% delivered: the sustained rate, free of start and tail effects."""
        t10 = self._time_at(0.9 * self.total)  # 10% delivered: 90% still waiting
        t90 = self._time_at(0.1 * self.total)
        return 0.8 * self.total / (t90 - t10)


def watch_drain(drain: Drain, waiting: Any, *, timeout: float = 900,
                central_pid: int | None = None, still_down: Any = None) -> None:
    """Poll the number of applications still waiting for central until it reaches 0 (and
    central's CPU time, when its pid is given, and whether the office still sees it down)."""
    last_log = 0.0
    while True:
        t = time.monotonic() - drain.t_start
        left = waiting()
        drain.timeline.append((t, left))
        if still_down is not None and math.isnan(drain.probe_passed) and not still_down():
            drain.probe_passed = t
        if central_pid is not None:
            drain.central_timeline.append((t, harness.cpu_seconds(central_pid)))
        if left == 0:
            break
        if t - last_log >= 5:
            last_log = t
            rss = f", workers RSS {sum(drain.rss.snapshot().values()) / 1024:.0f} MB" \
                if drain.rss else ""
            log(f"  {drain.name}: {drain.total - left}/{drain.total} delivered after {t:.1f} s"
                f"{rss}")
        if t > timeout:
            log(f"  {drain.name}: gave up after {timeout} s with {left} waiting")
            break
        time.sleep(0.2)


# --- the simulator's own intake ---------------------------------------------------------------
def _hammer_proc(base_url: str, secret: str, jobs: int, threads: int, tag: str,
                 barrier: Any, results: Any) -> None:
    from services.central_printing import MAX_BATCH, CentralPrintingClient
    from tests.conftest import applicant

    bodies = []
    for i in range(jobs):
        person = applicant()
        bodies.append({
            "key": f"HAMMER-{tag}-{i}:v1", "office": "NNK", "reference": f"HAMMER-{tag}-{i}",
            "service": "regular", "passport_type": "electronic", "priority": 0,
            "applicant": person, "approved_at": "2024-06-21T09:00:00+07:00",
            "callback_url": "http://127.0.0.1:9/api/v1/webhooks/printing",
        })
    chunks = [bodies[i:i + MAX_BATCH] for i in range(0, len(bodies), MAX_BATCH)]
    created = [0]
    lock = threading.Lock()

    def run(my_chunks: list[list[dict[str, Any]]]) -> None:
        with CentralPrintingClient(base_url, secret, timeout=30) as client:
            for chunk in my_chunks:
                out = client.submit_batch(chunk)
                with lock:
                    created[0] += sum(1 for r in out if getattr(r, "created", False))

    workers = [threading.Thread(target=run, args=(chunks[k::threads],)) for k in range(threads)]
    barrier.wait()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    results.put(created[0])


def hammer(base_url: str, secret: str, *, jobs: int, procs: int, threads: int,
           central_pid: int) -> tuple[float, int, float]:
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(procs + 1)
    results = ctx.Queue()
    per = jobs // procs
    children = [ctx.Process(target=_hammer_proc,
                            args=(base_url, secret, per, threads, str(k), barrier, results))
                for k in range(procs)]
    for c in children:
        c.start()
    barrier.wait()  # every process has its bodies ready: start the clock
    started, cpu_before = time.monotonic(), harness.cpu_seconds(central_pid)
    created = sum(results.get() for _ in children)
    wall = time.monotonic() - started
    cpu = harness.cpu_seconds(central_pid) - cpu_before
    for c in children:
        c.join()
    return wall, created, cpu


# --- the claim query -----------------------------------------------------------------------------
def explain_claim(pending: int) -> dict[str, Any]:
    """EXPLAIN ANALYZE of the very queries a claim runs (queueing.claim.claim_queries), inside
    a transaction as the claim does (FOR UPDATE SKIP LOCKED), then rolled back."""
    import re

    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from immigration.print_jobs import PRINT_JOB_TOPIC
    from queueing.claim import claim_queries

    limit = settings.CENTRAL_PRINTING_BATCH_SIZE or settings.QUEUEING["BATCH_SIZE"]
    reserve = max(1, int(limit * settings.QUEUEING["LOW_PRIORITY_SHARE"]))
    queries = claim_queries(topic=PRINT_JOB_TOPIC, limit=limit, reserve=reserve,
                            now=timezone.now())
    out: dict[str, Any] = {"pending": pending, "limit": limit, "ms": {}, "plans": {}}
    with transaction.atomic():
        for name, qs in zip(("expired leases", "oldest share", "by priority"), queries,
                            strict=True):
            plan = qs.explain(analyze=True)
            found = re.search(r"Execution Time: ([0-9.]+) ms", plan)
            out["ms"][name] = float(found.group(1)) if found else float("nan")
            # The node that reads the rows: an index scan that stops early, or a sort.
            nodes = [line.strip(" ->") for line in plan.splitlines()
                     if "Scan" in line or "Sort" in line]
            out["plans"][name] = "; ".join(n.split("  (")[0] for n in nodes)
        transaction.set_rollback(True)
    log(f"  claim query at {pending} pending: "
        + ", ".join(f"{k} {v:.3f} ms" for k, v in out["ms"].items()))
    return out


# --- the run ------------------------------------------------------------------------------------
def main() -> None:
    args = parse_args()
    log(f"machine: {harness.machine()}; {harness.postgres_version()}; {harness.load()}")
    split = None if args.no_pin else harness.core_split()
    with contextlib.ExitStack() as stack:
        pg_pinned = False
        if split:
            central_cores, office_cores = split
            # Inherited by every process started from here: redis, workers, beat, the hammer.
            os.sched_setaffinity(0, office_cores)
            if not args.no_pin_postgres:
                # PostgreSQL is office work: left free, it ran on central's core whenever
                # central waited for the next batch, and central's busy share said who won the
                # CPU rather than whether the office kept central fed. Given back at the end.
                pg_pinned = stack.enter_context(harness.postgres_pinned(office_cores))
            log(f"central pinned to core {sorted(central_cores)}; this script, redis, the "
                f"workers, beat and {'PostgreSQL' if pg_pinned else 'not PostgreSQL'} to "
                f"{sorted(office_cores)}")
        run(args, split, pg_pinned, stack)


def run(args: argparse.Namespace, split: tuple[set[int], set[int]] | None,
        pg_pinned: bool, stack: contextlib.ExitStack) -> None:
    """The whole run; `stack` undoes what it changes on the machine (central's CPU cap) at the
    end, with the pinning of main()."""
    if split:
        central_cores, office_cores = split
    url = harness.recreate_database(args.database)
    naive_url = harness.recreate_database(args.naive_database)
    log(f"databases {args.database} and {args.naive_database} recreated; migrating")
    harness.migrate(url, SETTINGS)
    harness.migrate(naive_url, SETTINGS)
    knobs = queue_env(args)
    common_env = {"DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost", "DB_CONN_MAX_AGE": "60",
                  "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"), **knobs}
    harness.stop_on_sigterm()
    from tests.drill.cluster import BIN, Cluster, wait_for

    workdir = harness.VAR_DIR / f"drain-{time.strftime('%Y%m%d-%H%M%S')}"
    cluster = Cluster(workdir=workdir, database_url=url, shared_secrets=harness.shared_secrets(),
                      extra_env=common_env, step_seconds=args.step_seconds)
    # This process kicks the workers and publishes the naive tasks: always to the cluster's
    # private Redis, never to whatever Redis the machine's default URL points at.
    harness.configure_django(database_url=url, settings_module=SETTINGS,
                             REDIS_URL=cluster.redis_url, CELERY_BROKER_URL=cluster.redis_url,
                             **cluster.shared_secrets, **common_env)

    import datetime as dt

    from django.conf import settings
    from django.db import connections, transaction
    from django.utils import timezone

    from immigration.lifecycle import Status
    from immigration.models import PassportApplication
    from immigration.print_jobs import CENTRAL_PRINTING, PRINT_JOB_TOPIC
    from queueing.models import MessageStatus, OutboxMessage, UpstreamHealth

    q = settings.QUEUEING
    used = {k: q[k] for k in ("BATCH_SIZE", "RATE_START_PER_SECOND", "RATE_CEILING_PER_SECOND",
                              "RATE_RAMP_SECONDS", "BREAKER_FAILURE_THRESHOLD",
                              "BREAKER_COOLDOWN_SECONDS", "BREAKER_COOLDOWN_CAP_SECONDS",
                              "DRAIN_BUDGET_SECONDS", "LEASE_SECONDS", "DRAIN_LANES")}
    used["SWEEP_SECONDS"] = settings.CELERY_BEAT_SCHEDULE["queueing-sweep"]["schedule"]
    log(f"queue knobs: {used}")

    control = None
    figures: dict[str, Any] = {}
    capacity = 1.0
    try:
        log(f"starting redis, the simulator (step_seconds={args.step_seconds}), "
            f"{args.workers} Celery workers x concurrency {args.concurrency} and beat "
            f"(logs in {workdir})")
        cluster.start_redis()
        cluster.central.start()
        central_pid = cluster.central.pid
        assert central_pid is not None
        if split:
            harness.pin_tree(central_pid, central_cores)
        if args.central_cpu_share:
            if stack.enter_context(harness.cpu_capped(central_pid, args.central_cpu_share)):
                capacity = args.central_cpu_share
                log(f"central capped at {100 * capacity:.0f}% of its core")
            else:
                log("could not cap central's CPU (no writable cgroup cpu controller): whole core")
        control = cluster.central.control
        for i in range(args.workers):
            cluster.start_worker(f"w{i + 1}", concurrency=args.concurrency)
        cluster.start_beat()

        def waiting() -> int:
            # Print jobs not yet delivered, counted on the outbox's small partial index of
            # pending and in-flight rows: the same number as the applications still queued for
            # printing (both change in one transaction). Counting the applications read every
            # one of them at each 0.2 s poll: 18 ms at 30,000, PostgreSQL CPU that the figures
            # below billed to the office. A plain index scan, not a sequential or bitmap one:
            # with the statistics taken at recovery (everything pending) the planner would read
            # the whole outbox, and only an index scan marks the entries of rows that moved on
            # as dead, so that the next poll skips them (12-17 ms a poll otherwise, 0.1 ms).
            with transaction.atomic(), connections["default"].cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("SET LOCAL enable_bitmapscan = off")
                return OutboxMessage.objects.waiting().filter(topic=PRINT_JOB_TOPIC).count()

        def breaker_open() -> bool:
            return UpstreamHealth.objects.filter(upstream=CENTRAL_PRINTING,
                                                 state="down").exists()

        def tangguh_drain(name: str, size: int, *, down_window: float = 0.0,
                          explain: bool = False) -> Drain:
            log(f"{name}: central goes DOWN; building a backlog of {size} approved applications")
            control.configure(mode="down", retry_after=1)
            down_before = control.stats()["calls_while_down"]
            build_started = time.monotonic()
            harness.build_approved_backlog(size)
            wait_for(breaker_open, timeout=120, what="breaker to open", interval=0.2)
            log(f"  breaker open; {waiting()} waiting for central")
            if down_window:
                at = control.stats()["calls_while_down"]
                paths_at = control.stats()["calls"]["by_path"]
                log(f"  counting calls to central for {down_window:.0f} s while it is down")
                time.sleep(down_window)
                during = control.stats()["calls_while_down"] - at
                figures["down"] = {
                    "window": down_window, "calls": during,
                    "calls_whole_outage": control.stats()["calls_while_down"] - down_before,
                    "outage_seconds": time.monotonic() - build_started,
                    "backlog": waiting(),
                    "by_path": {k: v - paths_at.get(k, 0)
                                for k, v in control.stats()["calls"]["by_path"].items()
                                if v - paths_at.get(k, 0)},
                }
                log(f"  {during} calls reached central in {down_window:.0f} s with "
                    f"{waiting()} jobs waiting")
            if explain:
                # As the backlog was just bulk-built, the planner has no statistics for it unless
                # autovacuum analysed the table meanwhile (the shared test server runs with
                # autovacuum off): the claim is measured as it is, then after ANALYZE, which is
                # what a production server's autovacuum does during a long outage.
                figures["explain_before_analyze"] = explain_claim(waiting())
                with connections["default"].cursor() as cursor:
                    cursor.execute("SHOW autovacuum")
                    figures["autovacuum"] = cursor.fetchone()[0]
                    if not args.no_analyze:
                        cursor.execute(f"ANALYZE {OutboxMessage._meta.db_table}")
                if not args.no_analyze:
                    figures["explain"] = explain_claim(waiting())
            roots = {name_: proc.pid for name_, proc in cluster.workers.items()}
            drain = Drain(name=name, total=waiting())
            drain.capacity = capacity
            drain.rss = harness.RssSampler(roots)
            before_mb = sum(drain.rss.snapshot().values()) / 1024
            log(f"  central is back UP; draining {drain.total} (workers RSS {before_mb:.0f} MB)")
            built_since = timezone.now() - dt.timedelta(seconds=time.monotonic() - build_started)
            with drain.rss:
                cpu_before = harness.cpu_seconds(central_pid)
                workers_before = sum(harness.cpu_seconds(pid) for pid in roots.values())
                pg_before = harness.postgres_server_cpu()
                control.configure(mode="up")
                drain.t_start = time.monotonic()
                recovered_at = timezone.now()
                watch_drain(drain, waiting, central_pid=central_pid, still_down=breaker_open)
                drain.central_cpu = harness.cpu_seconds(central_pid) - cpu_before
                drain.worker_cpu = sum(harness.cpu_seconds(pid) for pid in roots.values()) \
                    - workers_before
                drain.postgres_cpu = harness.postgres_server_cpu() - pg_before
            drain.load = harness.load()
            # When did each priority get through? Express (priority 1) should not come last.
            drain.by_priority = {}  # type: ignore[attr-defined]
            for priority in (1, 0):
                delays = sorted(
                    (m.delivered_at - recovered_at).total_seconds()
                    for m in OutboxMessage.objects.filter(created_at__gte=built_since,
                                                          priority=priority)
                    .only("delivered_at"))
                if delays:
                    drain.by_priority[priority] = (  # type: ignore[attr-defined]
                        len(delays), harness.percentile(delays, 50), delays[-1])
            drain.rss.before_mb = before_mb  # type: ignore[attr-defined]
            log(f"  {name}: drained {drain.total} in {drain.done:.1f} s after recovery "
                f"(first delivery after {drain.first_delivery:.1f} s; the first probe passed "
                f"after {drain.probe_passed:.1f} s)")
            # The samples behind the figures, for a closer look (seconds since recovery).
            (workdir / f"{name}-timeline.json").write_text(json.dumps({
                "capacity": drain.capacity, "waiting": drain.timeline,
                "central_cpu": drain.central_timeline}))
            return drain

        small = tangguh_drain("tangguh-small", args.small_backlog)
        big = tangguh_drain("tangguh-big", args.backlog, down_window=args.down_window,
                            explain=True)

        expected = {a.print_job_key for a in PassportApplication.objects.only(
            "reference", "data_version")}
        stats = control.stats()
        counts = stats["print_counts"]
        figures["ledger_tangguh"] = {
            "expected": len(expected), "printed": len(counts),
            "missing": len(expected - set(counts)), "unexpected": len(set(counts) - expected),
            "printed_twice": len(stats["printed_twice"]),
            "max_count": max(counts.values(), default=0),
            "outbox_delivered": OutboxMessage.objects.filter(
                status=MessageStatus.DELIVERED).count(),
            "outbox_dead": OutboxMessage.objects.filter(status=MessageStatus.DEAD).count(),
            "batch_calls": stats["calls"]["by_path"].get("POST /v1/print-jobs/batch", 0),
            "intake_per_second_max": stats["intake_per_second_max"],
        }
        log(f"ledger (Tangguh): {figures['ledger_tangguh']}")

        # --- the naive design ----------------------------------------------------------------
        naive: Drain | None = None
        if not args.skip_naive:
            log("naive: stopping the Tangguh workers and beat")
            for name_ in list(cluster.workers):
                cluster.kill_worker(name_)
            if cluster.beat is not None:
                os.killpg(cluster.beat.pid, signal.SIGTERM)
                cluster.beat.wait()
                cluster.beat = None
            control.reset()  # empty store, ledger and counters; mode up
            conn = connections["default"]
            conn.close()
            conn.settings_dict["NAME"] = args.naive_database
            log(f"naive: building {args.naive_backlog} approved applications in "
                f"{args.naive_database}")
            ids = harness.build_approved_backlog(args.naive_backlog)
            os.environ["DATABASE_URL"] = naive_url
            from scripts.bench.naive import QUEUE, send_print_job

            log(f"naive: publishing {len(ids)} tasks (one per application) to queue {QUEUE}")
            published = time.monotonic()
            with send_print_job.app.producer_or_acquire() as producer:
                for n, app_id in enumerate(ids, 1):
                    send_print_job.apply_async(args=[app_id], queue=QUEUE, producer=producer)
                    if n % 1000 == 0:
                        log(f"  published {n}/{len(ids)}")
            log(f"  published in {time.monotonic() - published:.1f} s")
            cluster.extra_env["DATABASE_URL"] = naive_url
            naive = Drain(name="naive", total=len(ids))
            naive.t_start = time.monotonic()
            for i in range(args.workers):
                cluster.workers[f"naive{i + 1}"] = cluster._spawn(f"naive{i + 1}", [
                    str(BIN / "celery"), "-A", "scripts.bench.naive", "worker",
                    "-n", f"naive{i + 1}@%h", "-Q", QUEUE, "--concurrency", str(args.concurrency),
                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                    "--loglevel", "WARNING",
                ])
            naive.rss = harness.RssSampler({k: p.pid for k, p in cluster.workers.items()})
            with naive.rss:
                # The naive design has no outbox: what waits is an application still queued.
                watch_drain(naive, lambda: PassportApplication.objects.filter(
                    status=Status.QUEUED_FOR_PRINTING).count())
            naive.load = harness.load()
            log(f"  naive: {naive.total} in {naive.done:.1f} s from worker start "
                f"(first delivery after {naive.first_delivery:.1f} s)")
            stats = control.stats()
            counts = stats["print_counts"]
            figures["ledger_naive"] = {
                "printed": len(counts), "printed_twice": len(stats["printed_twice"]),
                "single_calls": stats["calls"]["by_path"].get("POST /v1/print-jobs", 0),
            }
            log(f"ledger (naive): {figures['ledger_naive']}")
            for name_ in list(cluster.workers):
                cluster.kill_worker(name_)

        # --- the simulator on its own -------------------------------------------------------
        hammer_rate = None
        if not args.skip_hammer:
            control.reset()
            log(f"simulator max intake: {args.hammer_jobs} jobs in batches of 100 from "
                f"{args.hammer_procs} processes x {args.hammer_threads} threads")
            connections.close_all()  # no database connections across fork
            wall, created, cpu = hammer(cluster.central.base_url, cluster.central_secret,
                                        jobs=args.hammer_jobs, procs=args.hammer_procs,
                                        threads=args.hammer_threads, central_pid=central_pid)
            stats = control.stats()
            hammer_rate = created / wall
            figures["hammer"] = {"created": created, "wall": wall,
                                 "busy": cpu / wall / capacity,
                                 "load": harness.load(),
                                 "printed_twice": len(stats["printed_twice"]),
                                 "intake_per_second_max": stats["intake_per_second_max"]}
            log(f"  {created} jobs created in {wall:.1f} s: {hammer_rate:.0f} jobs/s")
    finally:
        log("stopping the cluster")
        cluster.stop()

    # --- figures --------------------------------------------------------------------------------
    print()
    print(f"Machine: {harness.machine()}; {harness.postgres_version()}; at the end "
          f"{harness.load()}")
    print(f"Workers: {args.workers} Celery worker processes x concurrency {args.concurrency}; "
          f"simulator step_seconds={args.step_seconds}; everything on this one machine")
    if split:
        print(f"Cores: central (the simulator) pinned to {sorted(central_cores)}; this script, "
              f"redis, workers, beat and the hammer clients to {sorted(office_cores)}; "
              f"PostgreSQL {'too' if pg_pinned else 'not pinned'}")
    else:
        print("Cores: nothing pinned (central shares the cores with the office)")
    if capacity < 1:
        print(f"Central capped at {100 * capacity:.0f}% of its core (CFS quota): its busy "
              f"shares below are of that cap")
    print(f"Queue knobs: {used}" + (" (project defaults)" if args.production_knobs else ""))
    print()
    rows = []
    for d in [small, big, *([naive] if naive else [])]:
        rows.append([d.name, d.total, f"{d.first_delivery:.1f}", f"{d.done:.1f}",
                     f"{d.rate_overall:.0f}", f"{d.rate_active:.0f}", f"{d.rate_steady:.0f}"])
    if hammer_rate:
        h = figures["hammer"]
        rows.append(["simulator-max", h["created"], "-", f"{h['wall']:.1f}",
                     f"{hammer_rate:.0f}", f"{hammer_rate:.0f}", "-"])
    for row, d in zip(rows, [small, big, *([naive] if naive else [])], strict=False):
        busy = d.central_busy if d is not naive else float("nan")
        row += [f"{100 * busy:.0f}%" if busy == busy else "-", d.load]
    if hammer_rate:
        rows[-1] += [f"{100 * figures['hammer']['busy']:.0f}%", figures["hammer"]["load"]]
    print(harness.table(rows, ["run", "jobs", "first s", "done s", "jobs/s overall",
                               "jobs/s active", "jobs/s 10-90%", "central CPU",
                               "load at the end"]))
    print("  first s: from central up (naive: from worker start) to the first delivery; it "
          "waits for the breaker's next probe, at the end of its cooldown (1 s doubling to 4 s):")
    for d in (small, big):
        print(f"    {d.name}: the first probe passed {d.probe_passed:.1f} s after central came "
              f"up, the first delivery {d.first_delivery - d.probe_passed:.1f} s after that "
              f"(polled every 0.2 s)")
    print("  overall: jobs / done s; active: from first to last delivery; 10-90%: sustained;")
    print("  central CPU: the simulator's CPU time over the drain (recovery to last delivery) "
          "or the hammer run, as a share of one core.")
    print()
    if naive:
        print(f"Tangguh vs naive one-task-per-application: "
              f"x{big.rate_active / naive.rate_active:.1f} (active rate {big.rate_active:.0f} vs "
              f"{naive.rate_active:.0f} jobs/s; "
              f"sustained x{big.rate_steady / naive.rate_steady:.1f})")
    if hammer_rate:
        # Both: the active rate carries the ramp after recovery, the sustained one does not.
        print(f"Tangguh vs simulator max intake: x{big.rate_active / hammer_rate:.2f} "
              f"({big.rate_active:.0f} vs {hammer_rate:.0f} jobs/s); sustained "
              f"x{big.rate_steady / hammer_rate:.2f} ({big.rate_steady:.0f} jobs/s, 10-90% "
              f"delivered)")
        if naive:
            print(f"Naive vs simulator max intake: x{naive.rate_active / hammer_rate:.2f}")
        of = "of its capped share" if capacity < 1 else "of its core"
        print(f"Central busy during the big drain: {100 * big.central_busy:.0f}% {of} "
              f"from recovery to the last delivery, {100 * big.central_busy_steady:.0f}% "
              f"between 10% and 90% delivered, past the ramp (alone, hammered: "
              f"{100 * figures['hammer']['busy']:.0f}%)")
    for d in (small, big):
        per_job = {k: 1e6 * v / d.total for k, v in (
            ("central", d.central_cpu), ("workers", d.worker_cpu), ("pg", d.postgres_cpu))}
        office = per_job["workers"] + per_job["pg"]
        print(f"CPU per job, {d.name}: central {per_job['central']:.0f} us; office "
              f"{office:.0f} us (Celery workers {per_job['workers']:.0f} + PostgreSQL "
              f"{per_job['pg']:.0f}): one office core feeds central at most "
              f"{min(100.0, 100 * per_job['central'] / office / capacity):.0f}% busy")
    print()
    print("Worker memory (VmRSS of each Celery worker and its pool children, MB):")
    for d in [small, big, *([naive] if naive else [])]:
        rss = d.rss
        before = getattr(rss, "before_mb", float("nan"))
        print(f"  {d.name:<14} backlog {d.total:>6}: before {before:6.1f}, "
              f"peak {rss.peak_total_mb():6.1f}, at 50% {rss.total_mb_at(0.5):6.1f}, "
              f"end {rss.total_mb_at(1.0):6.1f}")
        for priority, (n, p50, last) in getattr(d, "by_priority", {}).items():
            label = "express" if priority else "regular"
            print(f"                 {label} ({n}): delivered {p50:.1f} s after recovery at "
                  f"the median, the last after {last:.1f} s")
        print("                 peak per process: " + ", ".join(
            f"{k} {v:.1f}" for k, v in rss.peak_per_process_mb().items()))
    if "down" in figures:
        dn = figures["down"]
        print()
        print(f"Central DOWN: {dn['calls']} calls reached central in {dn['window']:.0f} s with "
              f"{dn['backlog']} jobs waiting ({dn['calls'] / dn['window']:.2f}/s); "
              f"{dn['calls_whole_outage']} calls over the whole {dn['outage_seconds']:.0f} s "
              f"outage incl. building the backlog; in the window: {dn['by_path']}")
    for fig, when in (("explain_before_analyze", "before ANALYZE"), ("explain", "after ANALYZE")):
        if fig not in figures:
            continue
        ex = figures[fig]
        print()
        print(f"Claim query with {ex['pending']} messages pending, {when} (server autovacuum "
              f"{figures.get('autovacuum', '?')}; EXPLAIN ANALYZE of the three SELECTs of "
              f"queueing.claim.claim_queries, limit {ex['limit']}): "
              + ", ".join(f"{name} {ms:.3f} ms" for name, ms in ex["ms"].items())
              + f"; total {sum(ex['ms'].values()):.3f} ms")
        for name, plan in ex["plans"].items():
            print(f"  {name}: {plan}")
    lt = figures["ledger_tangguh"]
    print()
    print(f"Central's ledger after the Tangguh drains: {lt['printed']} printed of "
          f"{lt['expected']} accepted, missing {lt['missing']}, printed twice "
          f"{lt['printed_twice']} (max count {lt['max_count']}), unexpected {lt['unexpected']}; "
          f"outbox delivered {lt['outbox_delivered']}, dead {lt['outbox_dead']}; "
          f"{lt['batch_calls']} batch calls; central's busiest second took "
          f"{lt['intake_per_second_max']} jobs")
    if "ledger_naive" in figures:
        ln = figures["ledger_naive"]
        print(f"Central's ledger after the naive drain: {ln['printed']} printed, printed twice "
              f"{ln['printed_twice']}, {ln['single_calls']} single-job calls")
    if "hammer" in figures:
        print(f"Simulator alone: printed twice {figures['hammer']['printed_twice']}, busiest "
              f"second {figures['hammer']['intake_per_second_max']} jobs")


if __name__ == "__main__":
    main()
