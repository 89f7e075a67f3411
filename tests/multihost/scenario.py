"""Tangguh on several hosts (network namespaces, see network.py): one web host (gunicorn and the
one Celery beat) and worker hosts (a Celery worker each), against one PostgreSQL and one Redis
in the root namespace, with the simulator as central. Used by tests/multihost/ (small, in CI)
and scripts/multihost (the figures in docs/benchmarks.md).

The driver (this process, root namespace) builds backlogs straight into the database, watches
the outbox drain, kills hosts and reads central's ledger; everything that delivers runs inside
the namespaces and reaches the services only over IP.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis

from services.signing import new_secret
from services.simulator.process import SimulatorProcess, free_port
from tests.multihost.network import Network

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PRINT_TOPIC = "central_printing.print_job"
WEB_PORT = 8000

Log = Callable[[str], None]


def _wait(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready within {timeout} s")
        time.sleep(0.1)


@dataclass
class DrainFigure:
    hosts: int
    backlog: int
    seconds: float  # first delivery to last
    steady_rate: float  # jobs/s between 10 % and 90 % delivered
    timeline: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class MultiHost:
    workdir: Path
    database_url: str  # as this process reaches it (loopback)
    shared_secrets: dict[str, str]
    worker_hosts: int = 3
    queue_env: dict[str, str] = field(default_factory=dict)
    log: Log = print
    # Called once the namespaces exist (tests open pytest-socket to their addresses here).
    on_network: Callable[[Network], None] | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.net: Network | None = None
        self.redis_proc: subprocess.Popen[bytes] | None = None
        self.central: SimulatorProcess | None = None
        self.central_secret = new_secret()

    # --- set-up ---------------------------------------------------------------------------------
    def start(self) -> MultiHost:
        names = ["web"] + [f"w{i}" for i in range(1, self.worker_hosts + 1)]
        self.net = Network.create(names)
        if self.on_network:
            self.on_network(self.net)
        svc = self.net.service_address
        self.log("hosts: " + ", ".join(f"{h.name} {h.address} ({h.ns})"
                                        for h in self.net.hosts.values())
                 + f"; services at {svc}")
        db = urlsplit(self.database_url)
        if db.scheme.startswith("postgres"):
            self.net.forward(db.port or 5432, to_host=db.hostname or "127.0.0.1",
                             log=self.workdir / "socat.log")
        self.redis_port = free_port()
        self.redis_proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.redis_port),
             # Protected mode refuses non-loopback clients without a password; this Redis
             # listens only on the service address, reachable from our namespaces alone.
             "--bind", svc, "127.0.0.1", "--protected-mode", "no", "--save", "",
             "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait(lambda: redis.Redis(host=svc, port=self.redis_port).ping(), timeout=10,
              what="redis")
        # Central listens on loopback (its control endpoint answers loopback callers only) and
        # is forwarded to the service address for the hosts, as PostgreSQL is.
        self.central = SimulatorProcess(
            db_path=self.workdir / "central.sqlite3", secret=self.central_secret,
            step_seconds=0, log_file=self.workdir / "central.log")
        self.central.start()
        self.net.forward(self.central.port, log=self.workdir / "socat.log")
        self.log(f"PostgreSQL forwarded to {svc}:{db.port or 5432}, Redis {svc}:"
                 f"{self.redis_port}, central {self.central_url}")
        return self

    @property
    def central_url(self) -> str:
        assert self.net and self.central
        return f"http://{self.net.service_address}:{self.central.port}"

    @property
    def web_url(self) -> str:
        assert self.net
        return f"http://{self.net.hosts['web'].address}:{WEB_PORT}"

    def env(self, **extra: str) -> dict[str, str]:
        assert self.net and self.central
        svc = self.net.service_address
        db = urlsplit(self.database_url)
        if db.scheme.startswith("postgres"):
            netloc = db.netloc.rsplit("@", 1)
            host_port = f"{svc}:{db.port or 5432}"
            netloc_new = f"{netloc[0]}@{host_port}" if len(netloc) == 2 else host_port
            url = urlunsplit(db._replace(netloc=netloc_new))
        else:
            url = self.database_url
        env = {
            **os.environ, **self.shared_secrets,
            "DATABASE_URL": url,
            "REDIS_URL": f"redis://{svc}:{self.redis_port}/0",
            "CENTRAL_PRINTING_URL": self.central_url,
            "CENTRAL_PRINTING_SECRET": self.central_secret,
            "BILLING_URL": f"{self.central_url}/billing",
            "OFFICE_PUBLIC_URL": self.web_url,
            "DJANGO_SETTINGS_MODULE": "immigration.settings",
            "PYTHONPATH": str(ROOT),
            "DB_CONN_MAX_AGE": "0",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "*",
            **self.queue_env,
            **extra,
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return env

    def start_web(self) -> None:
        assert self.net
        self.net.spawn("web", [
            str(BIN / "gunicorn"), "immigration.wsgi", "-c", "python:immigration.gunicorn_conf",
            "--bind", f"{self.net.hosts['web'].address}:{WEB_PORT}", "--workers", "2",
            "--threads", "2", "--timeout", "60",
        ], env=self.env(), cwd=ROOT, log=self.workdir / "web.log")
        self.net.spawn("web", [
            str(BIN / "celery"), "-A", "immigration", "beat", "--schedule",
            str(self.workdir / "celerybeat-schedule"),
        ], env=self.env(), cwd=ROOT, log=self.workdir / "beat.log")
        _wait(lambda: httpx.get(f"{self.web_url}/readyz", timeout=3).status_code == 200,
              timeout=60, what="web host")
        self.log(f"web host up: {self.web_url} (gunicorn x2, beat)")

    def start_workers(self, hosts: Sequence[str], **extra_env: str) -> None:
        assert self.net
        for host in hosts:
            self.net.spawn(host, [
                str(BIN / "celery"), "-A", "immigration", "worker", "-n", f"{host}@%h",
                "--concurrency", "1", "--without-gossip", "--without-mingle",
                "--without-heartbeat",
            ], env=self.env(**extra_env), cwd=ROOT, log=self.workdir / f"{host}.log")
        self.log(f"worker hosts started: {', '.join(hosts)}")

    def stop_workers(self, hosts: Sequence[str]) -> None:
        assert self.net
        for host in hosts:
            self.net.stop_host(host)

    def close(self) -> None:
        if self.net is not None:
            self.net.close()
            self.net = None
        if self.central is not None:
            self.central.close()
        if self.redis_proc is not None:
            self.redis_proc.kill()
            self.redis_proc.wait()
            self.redis_proc = None

    def __enter__(self) -> MultiHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- measuring ------------------------------------------------------------------------------
    @staticmethod
    def waiting() -> int:
        from queueing.models import OutboxMessage

        return OutboxMessage.objects.filter(topic=PRINT_TOPIC).waiting().count()

    def watch(self, total: int, *, timeout: float, on_progress: Callable[[int], None] | None
              = None) -> DrainFigure:
        """Poll until nothing waits; the timeline is (seconds, delivered)."""
        started = time.monotonic()
        timeline: list[tuple[float, int]] = []
        last_log = 0.0
        while True:
            t = time.monotonic() - started
            done = total - self.waiting()
            timeline.append((t, done))
            if on_progress:
                on_progress(done)
            if done >= total:
                break
            if t - last_log >= 3:
                last_log = t
                self.log(f"  {done}/{total} delivered after {t:.1f} s")
            if t > timeout:
                raise TimeoutError(f"{total - done} of {total} still waiting after {timeout} s")
            time.sleep(0.1)
        return figure(timeline, total)


def figure(timeline: list[tuple[float, int]], total: int, hosts: int = 0) -> DrainFigure:
    def time_at(done: float) -> float:
        return next(t for t, d in timeline if d >= done)

    first = time_at(1)
    t10, t90 = time_at(0.1 * total), time_at(0.9 * total)
    steady = 0.8 * total / (t90 - t10) if t90 > t10 else float("nan")
    return DrainFigure(hosts=hosts, backlog=total, seconds=timeline[-1][0] - first,
                       steady_rate=steady, timeline=timeline)


def ledger_check(central: SimulatorProcess) -> tuple[list[str], list[str], int]:
    """(lost, duplicated, jobs at central) over every print job the office ever enqueued: each
    key must have been created at central exactly once."""
    from queueing.models import MessageStatus, OutboxMessage

    keys = set(OutboxMessage.objects.filter(topic=PRINT_TOPIC).values_list("key", flat=True))
    not_delivered = set(OutboxMessage.objects.filter(topic=PRINT_TOPIC).exclude(
        status=MessageStatus.DELIVERED).values_list("key", flat=True))
    counts = central.control.stats()["print_counts"]
    lost = sorted((keys - set(counts)) | not_delivered)
    duplicated = sorted(k for k, n in counts.items() if n > 1)
    return lost, duplicated, len(counts)
