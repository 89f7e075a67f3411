"""A small closed-loop HTTP load generator: `concurrency` threads, each with one keep-alive
connection, POSTing pre-encoded bodies as fast as answers come back.

Bodies and headers are prepared before the clock starts (Faker is slower than the server), and
the client uses http.client rather than httpx to keep its own CPU cost low: on a 2-core machine
the load generator shares the cores with gunicorn and PostgreSQL.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from scripts.bench.harness import log, percentile


@dataclass
class Request:
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class LoadResult:
    name: str
    concurrency: int
    wall_seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def throughput(self) -> float:
        return self.ok / self.wall_seconds if self.wall_seconds else 0.0

    def p(self, pct: float) -> float:
        return percentile(self.latencies_ms, pct)

    def row(self) -> list[str]:
        bad = [f"{k}x{v}" for k, v in sorted(self.statuses.items()) if not 200 <= k < 300]
        bad += [f"{k}x{v}" for k, v in self.errors.items()]
        return [self.name, str(self.ok), f"{self.wall_seconds:.1f}", f"{self.throughput:.0f}",
                f"{self.p(50):.1f}", f"{self.p(90):.1f}", f"{self.p(99):.1f}",
                f"{max(self.latencies_ms, default=0):.0f}", ", ".join(bad) or "-"]


HEADER = ["run", "2xx", "wall s", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "non-2xx"]


def run_load(name: str, base_url: str, requests: list[Request], *, concurrency: int,
             progress_every: float = 5.0) -> LoadResult:
    url = urlsplit(base_url)
    result = LoadResult(name=name, concurrency=concurrency)
    counter = itertools.count()
    lock = threading.Lock()
    done = [0]

    def worker() -> None:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        errors: Counter[str] = Counter()
        while True:
            i = next(counter)
            if i >= len(requests):
                break
            req = requests[i]
            started = time.perf_counter()
            try:
                conn.request("POST", req.path, body=req.body, headers=req.headers)
                response = conn.getresponse()
                response.read()
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[response.status] += 1
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                errors[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
            with lock:
                done[0] += 1
        conn.close()
        with lock:
            result.latencies_ms.extend(latencies)
            result.statuses.update(statuses)
            result.errors.update(errors)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    last = started
    while any(t.is_alive() for t in threads):
        time.sleep(0.2)
        now = time.perf_counter()
        if now - last >= progress_every:
            last = now
            log(f"  {name}: {done[0]}/{len(requests)} requests, "
                f"{done[0] / (now - started):.0f} req/s so far")
    result.wall_seconds = time.perf_counter() - started
    return result
