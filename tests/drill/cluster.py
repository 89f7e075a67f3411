"""A small Tangguh deployment made of real processes, for drills and benchmarks.

A private redis-server (so a drill can restart and flush it without touching anyone else's), the
central printing simulator, a gunicorn web server, any number of Celery workers and a beat, all
pointed at one database that the caller has already migrated. Every process runs in its own
session so it can be SIGKILLed whole, children included, like a machine losing power.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import redis

from services.signing import new_secret
from services.simulator.process import SimulatorProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def database_url(settings_dict: dict[str, Any]) -> str:
    """The URL of a Django database settings dict (so subprocesses use the same database)."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "postgres", safe="")
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    # A socket directory as host is percent-encoded, as libpq and dj-database-url expect.
    host = quote(settings_dict.get("HOST") or "127.0.0.1", safe="")
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{settings_dict['NAME']}"


def with_database(url: str, name: str) -> str:
    """The same PostgreSQL server and credentials as `url`, another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def configured_postgres_url() -> str:
    """The PostgreSQL server this run is configured for (DATABASE_URL, else TEST_POSTGRES_URL),
    falling back to the conventional local one."""
    for variable in ("DATABASE_URL", "TEST_POSTGRES_URL"):
        url = os.environ.get(variable, "")
        if url.startswith(("postgres://", "postgresql://")):
            return url
    return "postgresql://postgres@127.0.0.1:5432/postgres"


def recreate_postgres_database(name: str, *, admin_url: str | None = None) -> str:
    """Drop and create a PostgreSQL database (drills and benchmarks) on the configured server
    (see configured_postgres_url); returns its URL."""
    import psycopg

    admin_url = admin_url or with_database(configured_postgres_url(), "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(admin_url, name)


def wait_for(check: Any, *, timeout: float, what: str, interval: float = 0.1) -> Any:
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
        time.sleep(interval)


UNLIMITED_RATES = {name: "1000000/s" for name in (
    "SUBMIT_CLIENT_THROTTLE", "SUBMIT_NIK_THROTTLE", "LOOKUP_THROTTLE", "UPLOAD_THROTTLE",
    "UPLOAD_CREATE_THROTTLE")}


@dataclass
class Cluster:
    workdir: Path
    database_url: str
    shared_secrets: dict[str, str]  # SECRET_KEY, PII_KEYS, PII_INDEX_KEY: same in every process
    extra_env: dict[str, str] = field(default_factory=dict)
    web_workers: int = 2
    step_seconds: float = 1.0

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.redis_port = free_port()
        self.web_port = free_port()
        self.central_secret = new_secret()
        self.central = SimulatorProcess(
            db_path=self.workdir / "central.sqlite3",
            secret=self.central_secret,
            step_seconds=self.step_seconds,
            log_file=self.workdir / "central.log",
        )
        self.redis_proc: subprocess.Popen[bytes] | None = None
        self.web: subprocess.Popen[bytes] | None = None
        self.beat: subprocess.Popen[bytes] | None = None
        self.workers: dict[str, subprocess.Popen[bytes]] = {}

    # --- environment ---------------------------------------------------------------------
    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            **self.shared_secrets,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CENTRAL_PRINTING_URL": self.central.base_url,
            "CENTRAL_PRINTING_SECRET": self.central_secret,
            "OFFICE_PUBLIC_URL": self.web_url,
            "DJANGO_SETTINGS_MODULE": "immigration.settings",
            "PYTHONPATH": str(ROOT),
            "DB_CONN_MAX_AGE": "0",
            "LOG_LEVEL": "WARNING",
            # Drills and benchmarks submit, look up and upload thousands from one client: the
            # per-client and per-NIK limits (immigration/signin/throttles.py) are set out of
            # reach; a run that measures them overrides these in extra_env.
            **UNLIMITED_RATES,
        }
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with open(self.workdir / f"{name}.log", "ab") as log:  # the child keeps its own fd
            return subprocess.Popen(
                argv, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    # --- redis -----------------------------------------------------------------------------
    def start_redis(self) -> None:
        server = shutil.which("redis-server") or "redis-server"
        self.redis_proc = subprocess.Popen(
            [server, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        def ping() -> bool:
            with redis.Redis(port=self.redis_port) as client:
                return bool(client.ping())

        wait_for(ping, timeout=10, what="redis")

    def restart_redis(self) -> None:
        """Kill Redis outright and start an empty one on the same port (nothing persisted)."""
        assert self.redis_proc is not None
        self.redis_proc.kill()
        self.redis_proc.wait()
        self.start_redis()

    def flush_redis(self) -> None:
        with redis.Redis(port=self.redis_port) as client:
            client.flushall()

    # --- the application ---------------------------------------------------------------------
    def start_web(self) -> None:
        self.web = self._spawn("web", [
            str(BIN / "gunicorn"), "immigration.wsgi", "--bind", f"127.0.0.1:{self.web_port}",
            "--workers", str(self.web_workers), "--threads", "4", "--timeout", "60",
        ])
        wait_for(lambda: httpx.get(f"{self.web_url}/api/v1/offices", timeout=2).status_code
                 == 200, timeout=30, what="web server")

    def start_worker(self, name: str, *, concurrency: int = 2) -> None:
        self.workers[name] = self._spawn(name, [
            str(BIN / "celery"), "-A", "immigration", "worker", "-n", f"{name}@%h",
            "--concurrency", str(concurrency), "--without-gossip", "--without-mingle",
            "--without-heartbeat", "--loglevel", "WARNING",
        ])

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker and its pool children at once, mid-whatever."""
        proc = self.workers.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def start_beat(self) -> None:
        self.beat = self._spawn("beat", [
            str(BIN / "celery"), "-A", "immigration", "beat", "--loglevel", "WARNING",
            "--schedule", str(self.workdir / "celerybeat-schedule"),
        ])

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=self.env(),
            capture_output=True, text=True, check=True,
        )
        return result.stdout

    def staff_token(self, office: str = "NNK") -> str:
        line = self.manage("seed_demo", "--office", office, "--username", f"drill-{office}")
        return line.rsplit("API token: ", 1)[1].strip()

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self, *, workers: int = 2) -> Cluster:
        self.start_redis()
        self.central.start()
        self.start_web()
        for i in range(workers):
            self.start_worker(f"w{i + 1}")
        self.start_beat()
        return self

    def stop(self) -> None:
        procs = [*self.workers.values(), self.beat, self.web]
        for proc in procs:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            if proc is None:
                continue
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.workers.clear()
        self.central.close()
        if self.redis_proc is not None:
            self.redis_proc.kill()
            self.redis_proc.wait()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
