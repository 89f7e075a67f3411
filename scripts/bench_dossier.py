#!/usr/bin/env python
"""Dossiers over a thin link: photo (~60 KB) and signature (~10 KB) of every approved
application drained to central through the simulator's emulated 2 Mbit/s link, cut 5 times.

Figures: link utilisation during the drain (bytes the link carried / what it could carry from
central's recovery to the last job delivered; goal >= 90%), bytes sent twice (what central
discarded plus what cuts swallowed; goal <= one chunk per cut), worker memory (VmRSS) at a
small and a large backlog, and when express and regular dossiers got through.

Phases (real processes: a private redis-server, the simulator, Celery workers and beat, on
PostgreSQL; see tests/drill/cluster.py), each: central down, backlog of approved applications
with photo and signature built through the domain functions, central up -> drain.
  1. small backlog (default 100), no cuts;
  2. big backlog (default 1,000), the link cut `--cuts` times mid-transfer.
Afterwards every blob central holds is compared with the office's bytes.

No asserts: a benchmark, not a test. See docs/benchmarks.md.

    .venv/bin/python scripts/bench_dossier.py            # about 8 minutes at 2 Mbit/s
    .venv/bin/python scripts/bench_dossier.py --small 20 --big 200 --link-kbps 4000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
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
    p.add_argument("--small", type=int, default=100, help="dossiers in the small backlog")
    p.add_argument("--big", type=int, default=1000, help="dossiers in the big backlog")
    p.add_argument("--link-kbps", type=float, default=2000.0, help="emulated link, kbit/s")
    p.add_argument("--cuts", type=int, default=5, help="link cuts during the big drain")
    p.add_argument("--chunk", type=int, default=16 * 1024, help="CENTRAL_BLOB_CHUNK_BYTES")
    p.add_argument("--batch", type=int, default=4, help="CENTRAL_PRINTING_BATCH_SIZE")
    p.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    p.add_argument("--concurrency", type=int, default=2, help="pool size of each worker")
    p.add_argument("--express-share", type=float, default=0.1)
    p.add_argument("--photo-size", type=int, nargs=2, default=(232, 292), metavar=("W", "H"),
                   help="photo pixels (noise JPEG, ~60 KB after the office re-encodes it)")
    p.add_argument("--database", default="tangguh_bench_dossier")
    return p.parse_args()


@dataclass
class Phase:
    name: str
    dossiers: int
    blob_bytes: int = 0  # photo + signature bytes central must end up holding
    seconds: float = 0.0  # central up -> last job delivered
    link: dict[str, Any] = field(default_factory=dict)
    discarded: int = 0
    completions_over_one: int = 0
    rss: Any = None
    rss_before_mb: float = 0.0
    by_priority: dict[int, tuple[int, float, float]] = field(default_factory=dict)
    not_identical: int = 0

    @property
    def capacity_bytes(self) -> float:
        return self.seconds * self.link["kbps"] * 1000 / 8

    @property
    def utilisation(self) -> float:
        return self.link["bytes"] / self.capacity_bytes if self.capacity_bytes else 0.0

    @property
    def goodput(self) -> float:
        return self.blob_bytes / self.capacity_bytes if self.capacity_bytes else 0.0

    @property
    def sent_twice(self) -> int:
        return self.discarded + self.link["cut_bytes"]


def build_dossier_backlog(count: int, *, express_share: float, photo_size: tuple[int, int],
                          seed: int) -> None:
    """`count` applications accepted, given a photo and a signature, and approved, all through
    the domain functions (`build`, `dossier_store`, `approve`)."""
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from immigration.lifecycle import Actor
    from immigration.models import Office, PassportApplication
    from tests.conftest import applicant
    from tests.fixtures.dossier import dossier_store
    from tests.fixtures.photos import passport_photo, signature_png

    office = Office.objects.get(code="NNK")
    clerk, _ = User.objects.get_or_create(username="bench-clerk")
    rng = random.Random(seed)
    started = time.monotonic()
    for i in range(count):
        application, _code = PassportApplication.build(
            office=office, applicant=applicant(), submitted_at=timezone.now(),
            service="express" if rng.random() < express_share else "regular",
            passport_type="electronic", application_type="new",
        )
        application.save()
        application.record_received(actor=Actor.APPLICANT)
        dossier_store(application, "photo",
                      passport_photo(rng.randrange(10**9), width=photo_size[0],
                                     height=photo_size[1]), by=clerk)
        dossier_store(application, "signature", signature_png(rng.randrange(10**9)), by=clerk)
        with transaction.atomic():
            application.approve(by=clerk)
        if (i + 1) % max(1, count // 5) == 0:
            log(f"  backlog: {i + 1}/{count} dossiers approved "
                f"({(i + 1) / (time.monotonic() - started):.0f}/s)")


def main() -> None:
    args = parse_args()
    log(f"machine: {harness.machine()}; {harness.postgres_version()}; "
        f"load average {os.getloadavg()[0]:.2f}")
    url = harness.recreate_database(args.database)
    harness.migrate(url, SETTINGS)
    link_bytes_per_second = int(args.link_kbps * 1000 / 8)
    env = {
        "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost", "DB_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        # Measures delivery over the link, not the counter: photo and signature are stored,
        # the documents the clerk checks are not, so approval skips the readiness checks.
        "APPROVAL_CHECKS": "none",
        "CENTRAL_BLOB_CHUNK_BYTES": str(args.chunk),
        "CENTRAL_PRINTING_BATCH_SIZE": str(args.batch),
        # The office's byte budget is its uplink: all workers together pace themselves to it.
        "CENTRAL_PRINTING_BYTES_PER_SECOND": str(link_bytes_per_second),
        "QUEUE_SWEEP_SECONDS": "1",
        "QUEUE_BREAKER_COOLDOWN_SECONDS": "1",
        "QUEUE_BREAKER_COOLDOWN_CAP": "2",
        "QUEUE_RATE_START": "200",
        "QUEUE_RATE_RAMP_SECONDS": "1",
        "QUEUE_BACKOFF_BASE_SECONDS": "0.2",
        "QUEUE_BACKOFF_CAP_SECONDS": "2",
    }
    harness.stop_on_sigterm()
    from tests.drill.cluster import Cluster, wait_for

    workdir = harness.VAR_DIR / f"dossier-{time.strftime('%Y%m%d-%H%M%S')}"
    cluster = Cluster(workdir=workdir, database_url=url, shared_secrets=harness.shared_secrets(),
                      extra_env=env, step_seconds=0)
    harness.configure_django(database_url=url, settings_module=SETTINGS,
                             REDIS_URL=cluster.redis_url, CELERY_BROKER_URL=cluster.redis_url,
                             **cluster.shared_secrets, **env)

    from django.db.models import Sum

    from immigration.dossier.models import DossierFile, Kind
    from immigration.dossier.storage import open_chunks
    from immigration.models import PassportApplication
    from queueing.models import OutboxMessage, UpstreamHealth

    phases: list[Phase] = []
    try:
        log(f"starting redis, the simulator, {args.workers} Celery workers x concurrency "
            f"{args.concurrency} and beat (logs in {workdir})")
        cluster.start_redis()
        cluster.central.start()
        control = cluster.central.control
        for i in range(args.workers):
            cluster.start_worker(f"w{i + 1}", concurrency=args.concurrency)
        cluster.start_beat()

        def waiting() -> int:
            return PassportApplication.objects.filter(status="queued_for_printing").count()

        def run_phase(name: str, size: int, cuts: int, seed: int) -> Phase:
            phase = Phase(name, size)
            control.reset()
            control.configure(mode="down", retry_after=1, step_seconds=0)
            log(f"{name}: central DOWN; building {size} approved dossiers")
            built_since = dt.datetime.now(dt.UTC)
            build_dossier_backlog(size, express_share=args.express_share,
                                  photo_size=tuple(args.photo_size), seed=seed)
            files = DossierFile.objects.filter(created_at__gte=built_since,
                                               kind__in=[Kind.PHOTO, Kind.SIGNATURE])
            phase.blob_bytes = int(files.aggregate(n=Sum("size"))["n"] or 0)
            photo_avg = (files.filter(kind=Kind.PHOTO).aggregate(n=Sum("size"))["n"] or 0) / size
            log(f"  {phase.blob_bytes / 1e6:.1f} MB of blobs (photo avg {photo_avg / 1000:.0f} KB)"
                f"; waiting for the breaker to open")
            wait_for(lambda: UpstreamHealth.objects.filter(upstream="central_printing",
                                                           state="down").exists(),
                     timeout=120, what="breaker to open", interval=0.2)
            roots = {n: p.pid for n, p in cluster.workers.items()}
            phase.rss = harness.RssSampler(roots)
            phase.rss_before_mb = sum(phase.rss.snapshot().values()) / 1024
            cutter_stop = threading.Event()

            def cutter() -> None:
                # Spread the cuts over the drain: one every (expected drain / (cuts + 1)).
                expected = phase.blob_bytes / (args.link_kbps * 1000 / 8)
                for k in range(cuts):
                    if cutter_stop.wait(expected / (cuts + 1)):
                        return
                    control.configure(cut_after_bytes=random.randrange(1000, 3 * args.chunk))
                    log(f"  link cut #{k + 1} armed ({waiting()} jobs waiting)")

            with phase.rss:
                control.configure(mode="up", link_kbps=args.link_kbps)
                recovered_at = dt.datetime.now(dt.UTC)
                started = time.monotonic()
                thread = threading.Thread(target=cutter, daemon=True)
                thread.start()
                last = 0.0
                while (left := waiting()) > 0:
                    if time.monotonic() - last > 10:
                        link = control.stats()["link"]
                        elapsed = time.monotonic() - started
                        log(f"  {left} waiting; link carried {link['bytes'] / 1e6:.1f} MB in "
                            f"{elapsed:.0f} s ({link['bytes'] * 8 / 1000 / max(elapsed, 0.1):.0f}"
                            f" kbit/s), cuts {link['cuts']}, workers RSS "
                            f"{sum(phase.rss.snapshot().values()) / 1024:.0f} MB")
                        last = time.monotonic()
                    if time.monotonic() - started > 3600:
                        raise TimeoutError("drain did not finish within an hour")
                    time.sleep(0.25)
                phase.seconds = time.monotonic() - started
                cutter_stop.set()
            stats = control.stats()
            phase.link = {**stats["link"], "kbps": args.link_kbps}
            ledger = control.blobs()
            phase.discarded = sum(r["bytes_discarded"] for r in ledger.values())
            phase.completions_over_one = sum(1 for r in ledger.values() if r["completions"] > 1)
            for file in files.iterator():
                if control.blob_bytes(file.sha256) != b"".join(open_chunks(file)):
                    phase.not_identical += 1
            for priority in (1, 0):
                delays = sorted(
                    (m.delivered_at - recovered_at).total_seconds()
                    for m in OutboxMessage.objects.filter(created_at__gte=built_since,
                                                          priority=priority)
                    .only("delivered_at") if m.delivered_at)
                if delays:
                    phase.by_priority[priority] = (len(delays), harness.percentile(delays, 50),
                                                   delays[-1])
            log(f"  {name}: {size} dossiers in {phase.seconds:.1f} s; link busy "
                f"{phase.utilisation:.1%}; sent twice {phase.sent_twice} B over "
                f"{phase.link['cuts']} cuts")
            return phase

        phases.append(run_phase("small", args.small, 0, seed=1))
        phases.append(run_phase("big", args.big, args.cuts, seed=2))
    finally:
        cluster.stop()

    print("\n=== dossiers over a thin link ===")
    print(f"machine: {harness.machine()} (shared with other jobs; figures are indicative)")
    print(f"link {args.link_kbps:.0f} kbit/s emulated by the simulator; byte budget "
          f"{link_bytes_per_second} B/s shared in Redis; chunk {args.chunk} B; "
          f"{args.workers} workers x concurrency {args.concurrency}; batch {args.batch}")
    rows = []
    for p in phases:
        exp = p.by_priority.get(1, (0, float("nan"), float("nan")))
        reg = p.by_priority.get(0, (0, float("nan"), float("nan")))
        rows.append([
            p.name, p.dossiers, f"{p.blob_bytes / 1e6:.1f}", f"{p.seconds:.1f}",
            f"{p.utilisation:.1%}", f"{p.goodput:.1%}", p.link["cuts"],
            f"{p.sent_twice} ({p.sent_twice / max(p.link['cuts'], 1) / args.chunk:.2f} chunk/cut)",
            p.completions_over_one, p.not_identical,
            f"{p.rss_before_mb:.0f} -> {p.rss.peak_total_mb():.0f}",
            f"{exp[1]:.0f}/{exp[2]:.0f}", f"{reg[1]:.0f}/{reg[2]:.0f}",
        ])
    print(harness.table(rows, [
        "phase", "dossiers", "MB", "drain s", "link busy", "goodput", "cuts", "bytes sent twice",
        "sent twice in full", "not identical", "workers RSS MB (before -> peak)",
        "express s p50/last", "regular s p50/last",
    ]))
    for p in phases:
        print(f"{p.name}: per-process peak RSS MB: " + ", ".join(
            f"{k} {v:.1f}" for k, v in p.rss.peak_per_process_mb().items()))


if __name__ == "__main__":
    main()
