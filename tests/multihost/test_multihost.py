"""Several hosts as Linux network namespaces (CI size; the figures: scripts/multihost).

A web host and two worker hosts against one PostgreSQL and one Redis, with the simulator as
central: the web host serves the API over its own address; a worker host killed whole mid-drain
loses and duplicates nothing (central's ledger: each print-job key created once, every approved
application delivered); the shared rate limit holds for the two hosts together; the shared
breaker bounds the calls both hosts make to a central that is down.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from django.conf import settings
from django.db import connection

from scripts.bench.harness import build_approved_backlog
from tests.conftest import application_payload
from tests.drill.cluster import database_url
from tests.multihost import network
from tests.multihost.scenario import MultiHost, ledger_check

REASON = network.available()
pytestmark = [
    pytest.mark.drill,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(REASON is not None, reason=f"multi-host test {REASON}"),
    pytest.mark.timeout(180),
]

CEILING = 30.0  # jobs/s for all hosts together (QUEUE_RATE_CEILING, shared in Redis)


def _open_sockets_to(net: network.Network) -> None:
    """pytest-socket allows loopback only; this test also talks to its own namespaces."""
    import pytest_socket

    hosts = ["127.0.0.1", "::1", "localhost", net.service_address,
             *(h.address for h in net.hosts.values())]
    pytest_socket.socket_allow_hosts(hosts, allow_unix_socket=True)


def test_hosts_share_the_work_the_limits_and_lose_nothing_when_one_dies(
    tmp_path, nunukan, capsys
):
    if connection.vendor != "postgresql":
        pytest.skip("several hosts share one PostgreSQL; SQLite is a one-host database")
    started = time.monotonic()
    lines: list[str] = []

    def log(message: str) -> None:
        lines.append(message)
        with capsys.disabled():
            print(f"[{time.monotonic() - started:5.1f}s] {message}", flush=True)

    mh = MultiHost(
        workdir=tmp_path, database_url=database_url(connection.settings_dict),
        shared_secrets={"SECRET_KEY": settings.SECRET_KEY, "PII_KEYS": settings.PII_KEYS,
                        "PII_INDEX_KEY": settings.PII_INDEX_KEY},
        worker_hosts=2, log=log, on_network=_open_sockets_to,
        queue_env={
            "QUEUE_BATCH_SIZE": "5", "QUEUE_LEASE_SECONDS": "5", "QUEUE_SWEEP_SECONDS": "1",
            "QUEUE_RATE_START": str(CEILING), "QUEUE_RATE_CEILING": str(CEILING),
            "QUEUE_RATE_RAMP_SECONDS": "1", "QUEUE_BACKOFF_BASE_SECONDS": "0.2",
            "QUEUE_BACKOFF_CAP_SECONDS": "1", "QUEUE_BREAKER_COOLDOWN_SECONDS": "1",
            "QUEUE_BREAKER_COOLDOWN_CAP": "1", "QUEUE_DRAIN_BUDGET_SECONDS": "5",
            "CENTRAL_PRINTING_TIMEOUT": "3",
        },
    )
    with mh:
        mh.start()
        mh.start_web()
        # The web host answers over its own address, and is ready with central down.
        assert httpx.get(f"{mh.web_url}/healthz", timeout=5).json() == {"status": "ok"}
        accepted = httpx.post(f"{mh.web_url}/api/v1/applications", json=application_payload(),
                              headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
        assert accepted.status_code == 201, accepted.text

        # 1. Backlog, two worker hosts, one killed whole at about a third.
        n = 150
        build_approved_backlog(n)
        mh.start_workers(["w1", "w2"])
        killed: list[int] = []

        def kill_at_a_third(done: int) -> None:
            if not killed and done >= n // 3:
                killed.append(mh.net.kill_host("w1"))  # type: ignore[union-attr]
                log(f"  w1 killed at {done}/{n}: {killed[0]} processes SIGKILLed at once")

        drain = mh.watch(n, timeout=90, on_progress=kill_at_a_third)
        assert killed and killed[0] >= 2  # the worker and its pool process
        lost, duplicated, at_central = ledger_check(mh.central)
        log(f"drain with a host killed: {n} in {drain.seconds:.1f} s, steady "
            f"{drain.steady_rate:.1f}/s (ceiling {CEILING:.0f}/s); lost {len(lost)}, "
            f"duplicated {len(duplicated)}, at central {at_central}")
        assert lost == [] and duplicated == [] and at_central == n
        # The shared token bucket held for both hosts together: from first to last delivery no
        # more than CEILING per second, plus the bucket's one second of burst and the batches
        # granted before the first delivery was seen (one per host).
        assert n - 1 <= CEILING * drain.seconds + CEILING + 2 * 5

        # 2. Central down: the two hosts together call it at the probe rate, not per host.
        mh.start_workers(["w1"])  # back to two hosts
        mh.central.control.configure(mode="down")
        build_approved_backlog(20)
        calls_before = mh.central.control.stats()["calls_while_down"]
        window = 8.0
        time.sleep(window)
        calls = mh.central.control.stats()["calls_while_down"] - calls_before
        # At most the failures that open it, then one probe per cooldown (1 s), shared.
        log(f"central down {window:.0f} s with 2 worker hosts: {calls} calls "
            f"(breaker threshold 5 + one probe per 1 s cooldown)")
        assert calls <= 5 + window / 1.0 + 3
        mh.central.control.configure(mode="up")
        mh.watch(20, timeout=60)
        lost, duplicated, at_central = ledger_check(mh.central)
        assert lost == [] and duplicated == [] and at_central == n + 20
    log(f"done in {time.monotonic() - started:.0f} s")
