"""Metrics and request ids across real processes: gunicorn with two workers and a Celery worker
with two pool processes, one PostgreSQL/SQLite database, a private Redis and the simulator.

A scrape answered by any gunicorn worker sums every process's counters (multiprocess mode),
and the request id of an approval reaches the JSON log line of the worker that delivered it.
"""

from __future__ import annotations

import glob
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from immigration.models import PassportApplication
from scripts.bench.harness import build_approved_backlog
from tests.drill.cluster import BIN, Cluster, database_url, wait_for
from tests.fixtures.approvable import make_approvable

pytestmark = [pytest.mark.drill, pytest.mark.django_db(transaction=True)]

PRINT = {"topic": "central_printing.print_job", "upstream": "central_printing"}


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    out = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_sum_across_gunicorn_and_celery_processes(tmp_path, nunukan, bambang, capsys):
    prom = tmp_path / "prometheus"
    prom.mkdir()
    cluster = Cluster(
        workdir=tmp_path,
        database_url=database_url(connection.settings_dict),
        shared_secrets={"SECRET_KEY": settings.SECRET_KEY, "PII_KEYS": settings.PII_KEYS,
                        "PII_INDEX_KEY": settings.PII_INDEX_KEY},
        extra_env={"PROMETHEUS_MULTIPROC_DIR": str(prom), "LOG_FORMAT": "json",
                   "LOG_LEVEL": "INFO", "QUEUE_SWEEP_SECONDS": "1",
                   "QUEUE_RATE_START": "200", "QUEUE_BATCH_SIZE": "10"},
        step_seconds=0,
    )
    try:
        cluster.start_redis()
        cluster.central.start()
        cluster.web = cluster._spawn("web", [
            str(BIN / "gunicorn"), "immigration.wsgi", "-c", "python:immigration.gunicorn_conf",
            "--bind", f"127.0.0.1:{cluster.web_port}", "--workers", "2", "--threads", "1",
            "--timeout", "60", "--access-logfile", "-",
        ])
        wait_for(lambda: httpx.get(f"{cluster.web_url}/healthz", timeout=2).status_code == 200,
                 timeout=30, what="web server")
        cluster.start_worker("w1", concurrency=2)

        # 1. Requests spread over both gunicorn workers: each worker that served one writes
        # its own histogram file; the scrape must count every request, whoever answers it.
        healthz = {"view": "healthz", "method": "GET", "status": "2xx"}
        # The start-up polls above count too: measure from here.
        before = value(scrape(cluster.web_url), "tangguh_http_request_duration_seconds_count",
                       **healthz)
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            while sent < 400:
                codes = list(pool.map(
                    lambda _: httpx.get(f"{cluster.web_url}/healthz", timeout=10).status_code,
                    range(40)))
                assert codes == [200] * 40
                sent += 40
                if len(glob.glob(str(prom / "histogram_*.db"))) >= 2:
                    break
        assert len(glob.glob(str(prom / "histogram_*.db"))) >= 2, "one gunicorn worker did all"
        for _ in range(3):  # whichever worker answers the scrape, the same sum
            s = scrape(cluster.web_url)
            assert value(s, "tangguh_http_request_duration_seconds_count",
                         **healthz) == before + sent

        # 2. An approval through the web, with a request id: the Celery worker's drain runs
        # with that id in its log lines.
        token = cluster.staff_token("NNK")
        receipt = httpx.post(
            f"{cluster.web_url}/api/v1/applications",
            json=_payload(), headers={"Idempotency-Key": "7d1b8e62-3a5f-4c1e-9a0d-55d1c0a7e001"},
            timeout=10,
        ).json()
        reference = receipt["reference"]
        make_approvable(reference, User.objects.get(username="drill-NNK"))
        response = httpx.post(f"{cluster.web_url}/api/v1/applications/{reference}/approve",
                              headers={"Authorization": f"Token {token}",
                                       "X-Request-ID": "approve-req-7f3a9c"}, timeout=10)
        assert response.status_code == 200
        assert response.headers["X-Request-ID"] == "approve-req-7f3a9c"

        def worker_line() -> dict | None:
            for line in (tmp_path / "w1.log").read_text().splitlines():
                if line.startswith("{"):
                    record = json.loads(line)
                    if record.get("request_id") == "approve-req-7f3a9c":
                        return record
            return None

        record = wait_for(worker_line, timeout=60, what="the worker's log line with the id")
        assert record["message"].startswith("drain:")

        # 3. A backlog drained by the two pool processes: deliveries summed in one scrape.
        build_approved_backlog(40)
        cluster.start_beat()  # the sweep finds it

        def all_sent() -> bool:
            return not PassportApplication.objects.filter(status="queued_for_printing").exists()

        wait_for(all_sent, timeout=150, what="the backlog delivered")
        delivered = PassportApplication.objects.exclude(status="received").count()
        s = scrape(cluster.web_url)
        assert value(s, "tangguh_deliveries_total", **PRINT) == delivered == 41
        assert value(s, "tangguh_queue_messages", **PRINT, state="pending") == 0
        assert value(s, "tangguh_upstream_breaker_state", upstream="central_printing",
                     state="closed") == 1
        # Web workers and pool processes each wrote counter files: several processes counted.
        assert len(glob.glob(str(prom / "counter_*.db"))) >= 3
        assert cluster.central.control.stats()["printed_twice"] == []
        with capsys.disabled():
            print(f"\n{sent} requests over {len(glob.glob(str(prom / 'histogram_*.db')))} web "
                  f"processes, {delivered} deliveries over "
                  f"{len(glob.glob(str(prom / 'counter_*.db')))} processes with counters")
    finally:
        cluster.stop()


def _payload() -> dict:
    from tests.conftest import application_payload

    return application_payload()
