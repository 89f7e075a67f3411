"""The fault drill: a Jepsen-style history check of "nothing lost, nothing duplicated".

History: phones submit applications while central is down (each retried with the same key, some
retries racing each other); staff approve them (some twice). Central comes back, and while the
backlog drains we SIGKILL a worker, restart Redis empty, FLUSHALL it, and make central time out,
drop responses after committing, answer 503 and rate-limit with Retry-After. Then we check the
history against central's own print ledger.

With dossiers, every application also gets a photo and a signature before approval, the drain
runs over an emulated thin link that is cut mid-blob, and after the drain central loses every
blob (its blob store had no backup) and reconciliation must put them back: every blob at
central must then be byte-identical to the office's, and none may have been sent twice in full.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.db import connections

from immigration.dossier.models import DossierFile, Kind
from immigration.dossier.storage import open_chunks
from immigration.models import PassportApplication, StatusEvent
from immigration.print_jobs import CENTRAL_PRINTING
from queueing.models import UpstreamHealth
from services.central_printing import CentralPrintingClient
from tests.conftest import application_payload
from tests.drill.cluster import Cluster, wait_for
from tests.fixtures.dossier import dossier_store, small_png
from tests.fixtures.photos import passport_photo

Log = Callable[[str], None]


@dataclass
class DrillResult:
    intended: int = 0
    accepted: int = 0
    lost: list[str] = field(default_factory=list)
    printed_twice: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    calls_while_down: int = 0
    outage_seconds: float = 0.0
    drain_seconds: float = 0.0
    faults: list[str] = field(default_factory=list)
    submit_latencies_ms: list[float] = field(default_factory=list)
    # Dossiers: blobs checked against the office's bytes, and what went wrong with them.
    blobs_checked: int = 0
    blobs_not_identical: list[str] = field(default_factory=list)
    blobs_sent_twice: list[str] = field(default_factory=list)
    blob_bytes_discarded: int = 0
    blob_chunk_bytes: int = 0
    link_cuts: int = 0
    # Seconds from central holding each job to the office showing it sent_to_central (what the
    # applicant sees), one per accepted application.
    view_lags: list[float] = field(default_factory=list)
    responses_dropped: int = 0  # answers central dropped after committing (any call)

    @property
    def accepted_pct(self) -> float:
        return 100.0 * self.accepted / self.intended if self.intended else 0.0

    def summary(self) -> str:
        lat = sorted(self.submit_latencies_ms) or [0.0]
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return "\n".join([
            f"accepted during outage  {self.accepted}/{self.intended} ({self.accepted_pct:.1f}%)",
            f"lost (L)                {len(self.lost)}",
            f"printed twice (D)       {len(self.printed_twice)}",
            f"printed, never accepted {len(self.unexpected)}",
            f"calls to central while down: {self.calls_while_down} "
            f"in {self.outage_seconds:.1f} s of outage",
            f"accept latency during outage: p50 {lat[len(lat) // 2]:.0f} ms, p99 {p99:.0f} ms",
            f"drain time after recovery: {self.drain_seconds:.1f} s",
            *([] if not self.view_lags else [
                f"applicant's view behind central: max {max(self.view_lags):.1f} s, "
                f"p99 {_p99(self.view_lags):.1f} s, median "
                f"{sorted(self.view_lags)[len(self.view_lags) // 2]:.1f} s "
                f"(central holding the job -> office showing sent_to_central, "
                f"{len(self.view_lags)} jobs; {self.responses_dropped} responses dropped)",
            ]),
            f"faults injected: {', '.join(self.faults)}",
            *([] if not self.blobs_checked else [
                f"blobs at central byte-identical: "
                f"{self.blobs_checked - len(self.blobs_not_identical)}/{self.blobs_checked}",
                f"blobs sent twice in full: {len(self.blobs_sent_twice)}",
                f"blob bytes sent twice: {self.blob_bytes_discarded} over "
                f"{self.link_cuts} link cuts (chunk {self.blob_chunk_bytes} B)",
            ]),
        ])


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _view_lags(cluster: Cluster) -> list[float]:
    """Per job: central's own acceptance time (its inventory) to the office's sent_to_central
    event. Both clocks are this machine's."""
    held: dict[str, dt.datetime] = {}
    with CentralPrintingClient(cluster.central.base_url, cluster.central_secret) as client:
        cursor: str | None = None
        while True:
            page = client.inventory("NNK", cursor=cursor, limit=500)
            for job in page.jobs:
                held[job["key"]] = dt.datetime.fromisoformat(job["created_at"])
            cursor = page.next_cursor
            if cursor is None:
                break
    events = StatusEvent.objects.filter(to_status="sent_to_central").values_list(
        "application__reference", "application__data_version", "at")
    return [(at - held[f"{reference}:v{version}"]).total_seconds()
            for reference, version, at in events if f"{reference}:v{version}" in held]


def _wait_for_flow(waiting: Callable[[], int], *, timeout: float) -> None:
    """Until central's breaker is closed and deliveries are happening again (or `timeout`
    passed: the drill goes on either way)."""
    deadline = time.monotonic() + timeout
    before = waiting()
    while time.monotonic() < deadline:
        closed = UpstreamHealth.objects.filter(upstream=CENTRAL_PRINTING, state="up").exists()
        if closed and waiting() < before:
            return
        time.sleep(0.2)


def _phone_submits(web: str, payload: dict[str, Any], rng: random.Random,
                   latencies: list[float]) -> dict[str, Any] | None:
    """A flaky phone: the same key sent 1-3 times, sometimes two at once, until it gets a 201."""
    key = str(uuid.uuid4())
    body: dict[str, Any] | None = None
    with httpx.Client(timeout=30) as client:
        def once() -> httpx.Response:
            started = time.perf_counter()
            response = _resent_on_a_reset_connection(
                lambda: client.post(f"{web}/api/v1/applications", json=payload,
                                    headers={"Idempotency-Key": key}))
            latencies.append((time.perf_counter() - started) * 1000)
            return response

        if rng.random() < 0.3:
            with ThreadPoolExecutor(2) as pair:
                responses = list(pair.map(lambda _: once(), range(2)))
        else:
            responses = [once()]
        for _ in range(rng.randint(0, 2)):
            responses.append(once())  # the phone did not see the answer and tries again
        for _ in range(20):
            ok = [r for r in responses if r.status_code == 201]
            if ok:
                bodies = {r.content for r in ok}
                assert len(bodies) == 1, "replays must be byte-identical"
                body = ok[0].json()
                break
            assert all(r.status_code == 409 for r in responses), [r.status_code for r in responses]
            time.sleep(0.05)
            responses.append(once())
    return body


def _resent_on_a_reset_connection(send: Callable[[], httpx.Response]) -> httpx.Response:
    """Send again when the connection broke before an answer came, as a phone or a clerk's
    browser does. A kept-alive connection the server closes just as the client reuses it is
    reset (ECONNRESET), a race of every HTTP/1.1 keep-alive client, not a fault of the office;
    both callers are safe to repeat (an idempotency key; approving twice is a double click)."""
    for _ in range(4):
        try:
            return send()
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
            time.sleep(0.05)
    return send()


def _attach_dossier(reference: str, seed: int) -> None:
    """Photo and signature, stored through the real domain function (what central needs; the
    documents stay at the office, so the drill narrows the approval checks)."""
    application = PassportApplication.objects.get(reference=reference)
    dossier_store(application, "photo", passport_photo(seed, width=120, height=150))
    dossier_store(application, "signature", small_png(width=160, height=50, seed=seed))


def _check_blobs(cluster: Cluster, result: DrillResult) -> None:
    control = cluster.central.control
    ledger = control.blobs()
    files = DossierFile.objects.filter(kind__in=[Kind.PHOTO, Kind.SIGNATURE],
                                       superseded_at=None)
    for file in files.iterator():
        result.blobs_checked += 1
        if control.blob_bytes(file.sha256) != b"".join(open_chunks(file)):
            result.blobs_not_identical.append(file.sha256)
    # Sent in full more often than central lost it: a blob sent twice.
    result.blobs_sent_twice = sorted(sha for sha, r in ledger.items()
                                     if r["completions"] - r["losses"] > 1)
    link = control.stats()["link"]
    # Sent again: what central threw away after receiving it, and what a cut link swallowed.
    result.blob_bytes_discarded = (sum(r["bytes_discarded"] for r in ledger.values())
                                   + link["cut_bytes"])
    result.link_cuts = link["cuts"]


def run_drill(cluster: Cluster, *, applications: int, log: Log = print,
              seed: int = 2024, dossiers: bool = False,
              blob_chunk_bytes: int = 64 * 1024) -> DrillResult:
    token = cluster.staff_token("NNK")
    # Closed however the drill ends: a client left open when it failed was collected during a
    # later test, whose run then failed on the unclosed socket's ResourceWarning.
    with httpx.Client(base_url=cluster.web_url, timeout=30,
                      headers={"Authorization": f"Token {token}"}) as staff:
        return _run_drill(cluster, staff, applications=applications, log=log, seed=seed,
                          dossiers=dossiers, blob_chunk_bytes=blob_chunk_bytes)


def _run_drill(cluster: Cluster, staff: httpx.Client, *, applications: int, log: Log,
               seed: int, dossiers: bool, blob_chunk_bytes: int) -> DrillResult:
    rng = random.Random(seed)
    result = DrillResult(intended=applications)
    control = cluster.central.control

    # --- 1. central goes dark; the office keeps accepting -----------------------------------
    control.configure(mode="down", retry_after=1)
    outage_started = time.monotonic()
    log(f"central is down; {applications} phones submit (with retries) and staff approve")
    payloads = [application_payload() for _ in range(applications)]
    receipts: list[dict[str, Any]] = []
    lock = threading.Lock()

    def apply_and_approve(payload: dict[str, Any]) -> None:
        receipt = _phone_submits(cluster.web_url, payload, random.Random(rng.random()),
                                 result.submit_latencies_ms)
        if receipt is None:
            return
        if dossiers:
            try:
                _attach_dossier(receipt["reference"], rng.randrange(10**9))
            finally:
                connections.close_all()  # this pool thread's connection, not left open
        for _ in range(2 if rng.random() < 0.2 else 1):  # a double click at the counter
            response = _resent_on_a_reset_connection(
                lambda: staff.post(f"/api/v1/applications/{receipt['reference']}/approve"))
            assert response.status_code == 200, response.text
        with lock:
            receipts.append(receipt)
            if len(receipts) % max(1, applications // 5) == 0:
                log(f"  accepted and approved {len(receipts)}/{applications}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(apply_and_approve, payloads))
    result.accepted = len(receipts)
    time.sleep(2)  # let the workers meet the outage: breaker opens, then only probes
    result.calls_while_down = control.stats()["calls_while_down"]
    result.outage_seconds = time.monotonic() - outage_started
    log(f"outage: {result.calls_while_down} calls reached central in "
        f"{result.outage_seconds:.1f} s with {len(receipts)} jobs waiting")

    # --- 2. central recovers; faults while the backlog drains ---------------------------------
    accepted_keys = {f"{r['reference']}:v1" for r in receipts}
    control.configure(mode="up")
    drain_started = time.monotonic()
    log("central is back; draining under faults")

    def waiting() -> int:
        return PassportApplication.objects.filter(status="queued_for_printing").count()

    def fault(name: str, action: Callable[[], None]) -> None:
        action()
        result.faults.append(name)
        log(f"  fault: {name} ({waiting()} still waiting for central)")

    if dossiers:
        result.blob_chunk_bytes = blob_chunk_bytes
        # A thin link (4 Mbit/s shared by all workers): blobs are in flight when faults hit.
        control.configure(link_kbps=4000)
        fault("link cut mid-blob", lambda: control.configure(cut_after_bytes=40_000))
    time.sleep(0.5)
    fault("SIGKILL worker w1", lambda: cluster.kill_worker("w1"))
    fault("central times out", lambda: control.configure(mode="timeout", hang_seconds=3))
    time.sleep(2.5)
    fault("central drops responses after committing", lambda: control.configure(mode="drop"))
    time.sleep(2)
    fault("restart worker w1", lambda: cluster.start_worker("w1"))
    fault("Redis restarted empty", cluster.restart_redis)
    fault("central 503 for 30% of calls", lambda: control.configure(mode="up", fail_rate=0.3))
    if dossiers:
        fault("link cut mid-blob", lambda: control.configure(cut_after_bytes=25_000))
    time.sleep(2)
    fault("central rate-limits with Retry-After",
          lambda: control.configure(fail_rate=0.0, rate_limit_per_second=15, retry_after=1))
    time.sleep(2)
    fault("SIGKILL worker w2", lambda: cluster.kill_worker("w2"))
    fault("Redis FLUSHALL", cluster.flush_redis)
    time.sleep(1)
    fault("restart worker w2", lambda: cluster.start_worker("w2"))
    control.configure(rate_limit_per_second=None)
    # Drops while the breaker is closed and jobs flow, so they land on print jobs (the earlier
    # drop window mostly meets an open breaker after the timeouts): central holds those jobs
    # and the office must find out by asking, which the view-lag figure below shows.
    _wait_for_flow(waiting, timeout=30)
    fault("central drops responses while jobs flow", lambda: control.configure(mode="drop"))
    time.sleep(2)
    control.configure(mode="up")

    last_report = [time.monotonic()]

    def drained() -> bool:
        left = waiting()
        if time.monotonic() - last_report[0] > 5:
            log(f"  {left} still waiting for central")
            last_report[0] = time.monotonic()
        return left == 0

    wait_for(drained, timeout=240, what="backlog drain", interval=0.5)
    result.drain_seconds = time.monotonic() - drain_started
    result.view_lags = _view_lags(cluster)
    result.responses_dropped = control.stats()["calls"]["by_outcome"].get("dropped", 0)
    log(f"  applicant's view behind central: max {max(result.view_lags, default=0):.1f} s")

    if dossiers:
        # --- 2b. central restores without its blob store; reconciliation puts them back ---
        control.configure(link_kbps=None, cut_after_bytes=None)
        control.restore_point()  # the backup has every job...
        control.restore(all_blobs=True)  # ...and no blob at all
        result.faults.append("central restored without its blobs")
        log("  fault: central restored without its blobs; reconciling")
        report = cluster.manage("reconcile")
        resent = next(line for line in report.splitlines() if "photo/signature" in line)
        log("  " + resent.split(":")[0])  # the count, not every reference
        wanted = set(DossierFile.objects.filter(kind__in=[Kind.PHOTO, Kind.SIGNATURE],
                                                superseded_at=None)
                     .values_list("sha256", flat=True))

        def blobs_back() -> bool:
            ledger = control.blobs()
            return all(ledger.get(sha, {}).get("complete") for sha in wanted)

        wait_for(blobs_back, timeout=240, what="blobs re-sent after the restore", interval=0.5)

    # --- 3. check the history against central's own ledger -----------------------------------
    counts = control.stats()["print_counts"]
    result.lost = sorted(accepted_keys - set(counts))
    result.printed_twice = sorted(k for k, n in counts.items() if n > 1)
    result.unexpected = sorted(set(counts) - accepted_keys)
    if dossiers:
        _check_blobs(cluster, result)
    in_db = PassportApplication.objects.count()
    assert in_db == len(receipts), f"{in_db} applications stored for {len(receipts)} accepted"
    return result
