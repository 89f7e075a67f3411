#!/usr/bin/env python
"""Tangguh on several hosts made as Linux network namespaces on this machine (root needed).

A web host (gunicorn, beat) and three worker hosts (one Celery worker process each) against one
PostgreSQL and one Redis, with the simulator as central (tests/multihost/scenario.py). Phases:

  1. Drain rate with 1, 2 and 3 worker hosts, central limited to --central-limit jobs/s and
     each call to it taking --latency seconds (the WAN), our own ceiling out of the way.
  2. Three hosts draining; one killed whole (every process at once) at a third: central's
     ledger must show each print-job key created once and every approved application there.
  3. The shared rate limit (QUEUE_RATE_CEILING) with three hosts: their sum stays at it.
  4. Central down with three hosts: calls to it in a window (the shared breaker's probe rate).

No asserts (the CI test asserts); it prints progress and a summary for docs/benchmarks.md.

    scripts/multihost                  # about 3 minutes
    scripts/multihost --backlog 3000 --central-limit 150
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.bench import harness
from scripts.bench.harness import log


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backlog", type=int, default=1200, help="applications per drain phase")
    p.add_argument("--central-limit", type=float, default=120.0,
                   help="central's intake limit, jobs/s (429 + Retry-After above it)")
    p.add_argument("--latency", type=float, default=0.1,
                   help="seconds added to every call to central (the WAN)")
    p.add_argument("--batch-size", type=int, default=10, help="QUEUE_BATCH_SIZE")
    p.add_argument("--ceiling", type=float, default=40.0,
                   help="QUEUE_RATE_CEILING for the throttle phase (all hosts together)")
    p.add_argument("--down-window", type=float, default=15.0)
    p.add_argument("--database", default="tangguh_multihost")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    harness.stop_on_sigterm()
    from tests.multihost import network

    reason = network.available()
    if reason:
        raise SystemExit(f"scripts/multihost {reason}")
    url = harness.recreate_database(args.database)
    harness.migrate(url, "immigration.settings")
    secrets = harness.shared_secrets()
    harness.configure_django(database_url=url, settings_module="immigration.settings", **secrets)

    from immigration.models import Office
    from tests.multihost.scenario import MultiHost, ledger_check

    Office.objects.get_or_create(code="NNK", defaults={"name": "Kantor Imigrasi Nunukan"})
    workdir = harness.VAR_DIR / "multihost"
    shutil.rmtree(workdir, ignore_errors=True)  # central's store too: its ledger is this run's
    base_env = {
        "QUEUE_BATCH_SIZE": str(args.batch_size), "QUEUE_LEASE_SECONDS": "10",
        "QUEUE_SWEEP_SECONDS": "1", "QUEUE_RATE_START": "1000", "QUEUE_RATE_CEILING": "1000",
        "QUEUE_RATE_RAMP_SECONDS": "1", "QUEUE_BACKOFF_BASE_SECONDS": "0.2",
        "QUEUE_BACKOFF_CAP_SECONDS": "2", "QUEUE_BREAKER_COOLDOWN_SECONDS": "1",
        "QUEUE_BREAKER_COOLDOWN_CAP": "2", "QUEUE_DRAIN_BUDGET_SECONDS": "10",
        "CENTRAL_PRINTING_TIMEOUT": "5",
    }
    log(f"machine: {harness.machine()}; {harness.postgres_version()}")
    log("load average at start: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    log("NOTE: the machine is shared (other jobs run on the same 2 cores): figures are "
        "indicative, compare them within this run")
    rows: list[list[object]] = []
    mh = MultiHost(workdir=workdir, database_url=url, shared_secrets=secrets, worker_hosts=3,
                   queue_env=base_env, log=log)
    started = time.monotonic()
    try:
        mh.start()
        mh.start_web()
        assert mh.central and mh.net
        mh.central.control.configure(rate_limit_per_second=args.central_limit,
                                     delay_seconds=args.latency)
        log(f"central: {args.central_limit:.0f} jobs/s intake limit, {args.latency * 1000:.0f}"
            f" ms per call; batches of {args.batch_size}; one worker process per host")

        # 1. Scaling.
        rates = {}
        for n in (1, 2, 3):
            hosts = [f"w{i}" for i in range(1, n + 1)]
            log(f"phase 1: {n} worker host(s), backlog {args.backlog}")
            harness.build_approved_backlog(args.backlog)
            mh.start_workers(hosts)
            d = mh.watch(args.backlog, timeout=900)
            rates[n] = d.steady_rate
            rows.append([f"{n} worker host(s)", args.backlog, f"{d.seconds:.1f}",
                         f"{d.steady_rate:.1f}"])
            log(f"  {n} host(s): steady {d.steady_rate:.1f} jobs/s, {d.seconds:.1f} s")
            mh.stop_workers(hosts)

        # 2. A host killed whole, mid-drain.
        log(f"phase 2: 3 worker hosts, w2 killed at a third of {args.backlog}")
        harness.build_approved_backlog(args.backlog)
        mh.start_workers(["w1", "w2", "w3"])
        killed: list[int] = []

        def kill(done: int) -> None:
            if not killed and done >= args.backlog // 3:
                killed.append(mh.net.kill_host("w2"))  # type: ignore[union-attr]
                log(f"  w2 killed at {done}/{args.backlog}: {killed[0]} processes SIGKILLed")

        d = mh.watch(args.backlog, timeout=900, on_progress=kill)
        lost, duplicated, at_central = ledger_check(mh.central)
        rows.append(["3 hosts, one killed at 1/3", args.backlog, f"{d.seconds:.1f}",
                     f"{d.steady_rate:.1f}"])
        log(f"  lost {len(lost)}, duplicated {len(duplicated)}, jobs at central {at_central}")
        mh.stop_workers(["w1", "w3"])

        # 3. The shared rate limit.
        log(f"phase 3: 3 worker hosts with QUEUE_RATE_CEILING={args.ceiling:.0f}/s (shared)")
        harness.build_approved_backlog(args.backlog // 2)
        mh.start_workers(["w1", "w2", "w3"], QUEUE_RATE_START=str(args.ceiling),
                         QUEUE_RATE_CEILING=str(args.ceiling))
        t = mh.watch(args.backlog // 2, timeout=900)
        rows.append([f"3 hosts, ceiling {args.ceiling:.0f}/s", args.backlog // 2,
                     f"{t.seconds:.1f}", f"{t.steady_rate:.1f}"])

        # 4. Central down, three hosts, the shared breaker.
        log(f"phase 4: central down for {args.down_window:.0f} s with 3 worker hosts")
        mh.central.control.configure(mode="down")
        harness.build_approved_backlog(200)
        before = mh.central.control.stats()["calls_while_down"]
        time.sleep(args.down_window)
        calls = mh.central.control.stats()["calls_while_down"] - before
        mh.central.control.configure(mode="up")
        mh.watch(200, timeout=300)
        lost, duplicated, at_central = ledger_check(mh.central)
        mh.stop_workers(["w1", "w2", "w3"])
        stats = mh.central.control.stats()
    finally:
        mh.close()

    print()
    print(harness.table(rows, ["phase", "backlog", "first to last delivery (s)",
                               "steady jobs/s (10-90 %)"]))
    print(f"\nscaling: 1 host {rates[1]:.1f}/s, 2 hosts {rates[2]:.1f}/s "
          f"({rates[2] / rates[1]:.2f}x), 3 hosts {rates[3]:.1f}/s ({rates[3] / rates[1]:.2f}x);"
          f" central limit {args.central_limit:.0f}/s")
    print(f"host killed mid-drain ({killed[0] if killed else 0} processes): whole run lost "
          f"{len(lost)}, duplicated {len(duplicated)}, jobs at central {at_central}; "
          f"calls to central {stats['calls']['total']}")
    print(f"shared rate limit {args.ceiling:.0f}/s, 3 hosts: {t.steady_rate:.1f}/s")
    print(f"central down {args.down_window:.0f} s, 3 hosts: {calls} calls to central "
          f"(breaker threshold 5, cooldown 1-2 s)")
    print(f"total {time.monotonic() - started:.0f} s; load average at the end "
          + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
