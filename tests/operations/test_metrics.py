"""/metrics: who may read it, what the delivery loop counts, what a scrape computes, and that no
label ever carries a path or a reference. (Many processes: test_metrics_processes.py.)"""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth.models import User
from prometheus_client.parser import text_string_to_metric_families

from queueing import breaker, deliver
from tests.fixtures.approvable import make_approvable
from tests.operations.outage import database_unreachable

pytestmark = pytest.mark.django_db(transaction=True)


def scrape(api, **extra) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


PRINT = {"topic": "central_printing.print_job", "upstream": "central_printing"}


# --- access -----------------------------------------------------------------------------------

def test_loopback_may_scrape(api):
    assert api.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200


def test_other_addresses_are_refused(api):
    response = api.get("/metrics", REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


def test_a_proxied_request_is_not_trusted_by_its_loopback_address(api):
    # Behind nginx every client arrives from 127.0.0.1; the forwarded header gives it away.
    response = api.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.7")
    assert response.status_code == 403


def test_configured_networks_and_bearer_token(api, settings):
    import ipaddress

    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.77.0.0/16")]
    settings.METRICS_TOKEN = "s3cret-scraper-token"
    assert api.get("/metrics", REMOTE_ADDR="10.77.3.2").status_code == 200
    assert api.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert api.get("/metrics", REMOTE_ADDR="192.0.2.7",
                   HTTP_AUTHORIZATION="Bearer s3cret-scraper-token").status_code == 200
    assert api.get("/metrics", REMOTE_ADDR="192.0.2.7",
                   HTTP_AUTHORIZATION="Bearer wrong").status_code == 403


# --- what is counted and computed ---------------------------------------------------------------

def test_deliveries_failures_bytes_depth_and_breaker(wired, submit, siti, bambang_api, api):
    before = scrape(api)
    receipt = submit(siti).json()
    make_approvable(receipt["reference"], User.objects.get(username="bambang"))
    assert bambang_api.post(
        f"/api/v1/applications/{receipt['reference']}/approve").status_code == 200

    s = scrape(api)  # computed from the database at scrape time
    assert value(s, "tangguh_queue_messages", **PRINT, state="pending") == 1
    assert value(s, "tangguh_queue_oldest_pending_age_seconds", **PRINT) > 0

    wired.control.configure(mode="down")
    deadline = time.monotonic() + 20
    while breaker.state("central_printing").state != "open":  # 5 failures in a row open it
        assert time.monotonic() < deadline
        deliver.drain(budget_seconds=0.3)
        time.sleep(0.2)  # the message's backoff (0.05-0.2 s in tests)
    s = scrape(api)
    failed = (value(s, "tangguh_delivery_failures_total", **PRINT, kind="transient")
              - value(before, "tangguh_delivery_failures_total", **PRINT, kind="transient"))
    assert failed >= 5
    assert value(s, "tangguh_upstream_breaker_state", upstream="central_printing",
                 state="open") == 1
    assert value(s, "tangguh_upstream_breaker_state", upstream="central_printing",
                 state="closed") == 0

    wired.control.configure(mode="up")
    deliver.drain(budget_seconds=5, stop_when_blocked=False)
    s = scrape(api)
    assert (value(s, "tangguh_deliveries_total", **PRINT)
            - value(before, "tangguh_deliveries_total", **PRINT)) == 1
    assert value(s, "tangguh_queue_messages", **PRINT, state="pending") == 0
    assert value(s, "tangguh_queue_oldest_pending_age_seconds", **PRINT) == 0
    # The photo and signature went to central through the byte budget.
    sent = (value(s, "tangguh_upstream_bytes_sent_total", upstream="central_printing")
            - value(before, "tangguh_upstream_bytes_sent_total", upstream="central_printing"))
    held = wired.control.stats()["blobs"]["bytes_received"]
    assert sent == held > 0


def test_request_latency_is_labelled_by_view_name_never_by_path(api, submit, siti):
    receipt = submit(siti).json()
    api.get(f"/api/v1/applications/{receipt['reference']}",
            HTTP_X_ACCESS_CODE=receipt["access_code"])
    api.get("/no/such/page/NNK-AAAA-AAAA")
    api.generic("BREW", "/healthz")
    text = api.get("/metrics").content.decode()
    assert 'view="application-detail"' in text or re.search(r'view="[^"]*detail[^"]*"', text)
    assert 'view="unmatched"' in text
    assert 'method="other"' in text
    assert receipt["reference"] not in text
    assert receipt["access_code"] not in text
    assert "/api/v1" not in text and "NNK-AAAA" not in text


def test_a_scrape_during_a_database_outage_still_serves_counters(api):
    with database_unreachable():
        response = api.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert "tangguh_queue_collector_up 0.0" in text
    assert "tangguh_deliveries_total" in text
