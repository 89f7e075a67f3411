"""What both benchmark scripts share: databases, the environment, a Cluster of real processes,
building a backlog fast, sampling memory, and printing figures.

Call `configure_django()` before importing anything that touches models.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("BENCH_VAR_DIR", "/tmp/bench-var"))

def _admin_url() -> str:
    from tests.drill.cluster import configured_postgres_url, with_database

    return os.environ.get("BENCH_PG_URL") or with_database(configured_postgres_url(), "postgres")


PG_ADMIN_URL = _admin_url()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def recreate_database(name: str) -> str:
    """Drop and create a PostgreSQL database; returns its URL."""
    from tests.drill.cluster import recreate_postgres_database

    return recreate_postgres_database(name, admin_url=PG_ADMIN_URL)


def migrate(url: str, settings_module: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": settings_module,
           "TANGGUH_VAR_DIR": str(VAR_DIR), "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input", "-v0"],
                   cwd=ROOT, env=env, check=True)


def configure_django(*, database_url: str, settings_module: str, **env: str) -> None:
    """Point this process at the benchmark database and set Django up."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["TANGGUH_VAR_DIR"] = str(VAR_DIR)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def shared_secrets() -> dict[str, str]:
    """The development secrets every process of a run shares (SECRET_KEY and the PII keys),
    read from TANGGUH_VAR_DIR without Django, so the cluster can be made before django.setup()."""
    from immigration.dev_secrets import load

    sys.path.insert(0, str(ROOT))
    secrets = load(VAR_DIR / "dev-secrets.json")
    return {name: secrets[name] for name in ("SECRET_KEY", "PII_KEYS", "PII_INDEX_KEY")}


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so `finally: cluster.stop()` runs and no process is left."""
    import signal

    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, _exit)


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({model}), {mem_gb:.0f} GB RAM, Linux "
            f"{platform.release()}, Python {platform.python_version()}")


def postgres_version() -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


# --- the backlog ---------------------------------------------------------------------------
def build_approved_backlog(count: int, *, office_code: str = "NNK", chunk: int = 1000,
                           express_share: float = 0.1) -> list[int]:
    """`count` applications accepted and approved, as the domain makes them: `build()` (the
    encrypted row, blind index, reference, access-code hash), the `received` and
    `queued_for_printing` status events, and the print job put in the outbox with
    `queueing.outbox.enqueue` in the same transaction. The rows are bulk-inserted; the events and
    the outbox message are exactly what `record_received()` and `approve()` write."""
    import random

    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from immigration.lifecycle import Actor, Status
    from immigration.models import Office, PassportApplication, StatusEvent, nik_blind_index
    from tests.conftest import applicant

    office = Office.objects.get(code=office_code)
    clerk, _ = User.objects.get_or_create(username="bench-clerk")
    rng = random.Random(count)
    ids: list[int] = []
    # One active application per NIK, those already in the database included (a benchmark that
    # accepted applications first; random NIKs do collide over tens of thousands).
    taken = set(PassportApplication.objects.active().values_list("nik_index", flat=True))
    started = time.monotonic()
    while len(ids) < count:
        n = min(chunk, count - len(ids))
        now = timezone.now()
        apps = []
        while len(apps) < n:
            person = applicant()
            nik_index = nik_blind_index(person["nik"])
            if nik_index in taken:
                continue  # one active application per NIK
            taken.add(nik_index)
            application, _code = PassportApplication.build(
                office=office, applicant=person, submitted_at=now,
                service="express" if rng.random() < express_share else "regular",
                passport_type="electronic", application_type="new",
            )
            application.status = Status.QUEUED_FOR_PRINTING
            application.approved_at = now
            apps.append(application)
        with transaction.atomic():
            PassportApplication.objects.bulk_create(apps)
            events = []
            for a in apps:
                events.append(StatusEvent(application=a, from_status="",
                                          to_status=Status.RECEIVED, actor=Actor.APPLICANT))
                events.append(StatusEvent(application=a, from_status=Status.RECEIVED,
                                          to_status=Status.QUEUED_FOR_PRINTING,
                                          actor=Actor.STAFF, user=clerk))
            StatusEvent.objects.bulk_create(events)
            for a in apps:
                a._enqueue_print_job()  # queueing.outbox.enqueue, as approve() does
        ids.extend(a.pk for a in apps)
        rate = len(ids) / (time.monotonic() - started)
        log(f"  backlog: {len(ids)}/{count} approved applications in the outbox "
            f"({rate:.0f}/s)")
    return ids


# --- cores ---------------------------------------------------------------------------------------
def pin_tree(pid: int, cpus: set[int]) -> None:
    """Pin every thread of a process and its children to `cpus` (what `taskset -a -p` does);
    threads and processes they start later inherit it."""
    for proc in process_tree(pid):
        try:
            tids = [int(t.name) for t in Path(f"/proc/{proc}/task").iterdir()]
        except OSError:
            continue
        for tid in tids:
            try:
                os.sched_setaffinity(tid, cpus)
            except OSError:
                pass  # the thread ended meanwhile


def core_split() -> tuple[set[int], set[int]] | None:
    """(central's core, everyone else's cores), or None on a one-core machine. Central gets the
    last core to itself, as it would have a machine of its own."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None
    return {cores[-1]}, set(cores[:-1])


def _postmaster() -> int:
    """The pid of the PostgreSQL server's postmaster (the parent of our backend)."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
    status = Path(f"/proc/{backend}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


@contextmanager
def postgres_pinned(cpus: set[int]) -> Iterator[bool]:
    """Pin the whole PostgreSQL server (postmaster, every process it has, and so every backend
    it forks later) to `cpus` for the duration, then give it back the cores it had. Yields False,
    changing nothing, where that is not allowed (not root, or the server is not on this
    machine)."""
    try:
        postmaster = _postmaster()
        before = os.sched_getaffinity(postmaster)
    except (OSError, StopIteration):
        yield False
        return
    pin_tree(postmaster, cpus)
    try:
        # pin_tree skips what it may not pin; whatever it did pin is given back below.
        yield os.sched_getaffinity(postmaster) == cpus
    finally:
        pin_tree(postmaster, before)


_CGROUP_V1_CPU = Path("/sys/fs/cgroup/cpu")
_CGROUP_V2 = Path("/sys/fs/cgroup")


@contextmanager
def cpu_capped(pid: int, share: float, *, period_us: int = 20_000) -> Iterator[bool]:
    """Let a process (and whatever it starts later) use at most `share` of one core, with the
    kernel's CFS bandwidth quota in a cgroup of its own: central on a smaller machine of its own,
    so that the office's side is no longer the bottleneck and what is measured is whether the
    office keeps central fed. A short period (20 ms) so a throttled central is never stalled
    for long. Yields False, changing nothing, where no `cpu` controller can be written (not
    root, or neither cgroup v1's `cpu` hierarchy nor v2's `cpu.max`)."""
    quota = max(1_000, int(share * period_us))
    if (_CGROUP_V1_CPU / "cpu.cfs_quota_us").exists():
        root, limits = _CGROUP_V1_CPU, {"cpu.cfs_period_us": str(period_us),
                                        "cpu.cfs_quota_us": str(quota)}
    elif "cpu" in _read(_CGROUP_V2 / "cgroup.subtree_control").split():
        root, limits = _CGROUP_V2, {"cpu.max": f"{quota} {period_us}"}
    else:
        yield False
        return
    group = root / f"tangguh-bench-{pid}"
    try:
        group.mkdir(exist_ok=True)
        for name, value in limits.items():
            (group / name).write_text(value)
        (group / "cgroup.procs").write_text(str(pid))
    except OSError:
        _remove_group(group, root)
        yield False
        return
    try:
        yield True
    finally:
        _remove_group(group, root)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _remove_group(group: Path, root: Path) -> None:
    """Move whatever is still in `group` back to the root group, then remove it."""
    for proc in _read(group / "cgroup.procs").split():
        try:
            (root / "cgroup.procs").write_text(proc)
        except OSError:
            pass  # it ended meanwhile
    try:
        group.rmdir()
    except OSError:
        pass


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children, all threads (from /proc)."""
    total = 0
    for proc in process_tree(pid):
        try:
            fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to `database` (same machine)."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [database]).fetchall()]
    return {pid: cpu_seconds(pid) for pid in pids}


def postgres_server_cpu() -> float:
    """CPU seconds so far of the whole PostgreSQL server on this machine: every live process
    (backends, WAL writer, checkpointer, autovacuum) plus what the postmaster's exited children
    used (cutime, cstime). Unlike `postgres_cpu`, nothing is missed when backends come and go;
    it counts other databases' work too, so read it with nothing else running."""
    postmaster = _postmaster()
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime, cstime
    return cpu_seconds(postmaster) + reaped


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


# --- memory ----------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            kids.extend(int(k) for k in text)
    except OSError:
        pass
    return kids


def process_tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples VmRSS of some process trees (each Celery worker and its pool children)."""

    def __init__(self, roots: dict[str, int], interval: float = 0.5) -> None:
        self.roots = roots
        self.interval = interval
        self.samples: list[tuple[float, dict[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def snapshot(self) -> dict[str, int]:
        """KB per process, named worker:pid (the first is the Celery main process)."""
        snap: dict[str, int] = {}
        for name, root in self.roots.items():
            for pid in process_tree(root):
                snap[f"{name}:{pid}"] = rss_kb(pid)
        return snap

    def _run(self) -> None:
        t0 = time.monotonic()
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - t0, self.snapshot()))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_total_mb(self) -> float:
        return max((sum(s.values()) for _, s in self.samples), default=0) / 1024

    def peak_per_process_mb(self) -> dict[str, float]:
        peaks: dict[str, int] = {}
        for _, snap in self.samples:
            for name, kb in snap.items():
                peaks[name] = max(peaks.get(name, 0), kb)
        return {name: kb / 1024 for name, kb in sorted(peaks.items())}

    def total_mb_at(self, fraction: float) -> float:
        if not self.samples:
            return 0.0
        i = min(len(self.samples) - 1, int(len(self.samples) * fraction))
        return sum(self.samples[i][1].values()) / 1024


# --- figures -----------------------------------------------------------------------------------
def percentile(values: Iterable[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [header, *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
