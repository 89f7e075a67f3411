"""Throttles count in Redis, shared by every process and host, and X-Forwarded-For is believed
only from the configured number of proxies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import redis
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from immigration.signin.client_ip import client_ip


def _lookup(client: Any, reference: str = "NNK-0000-0000", **headers: Any) -> Any:
    return client.get(f"/api/v1/applications/{reference}", **headers)


@pytest.fixture
def lookups_3_per_min(throttle_rates: Any) -> None:
    throttle_rates(lookup="3/min")


def _redis_keys(pattern: str) -> list[str]:
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    try:
        return [k.decode() for k in client.keys(pattern)]
    finally:
        client.close()


def test_two_clients_share_one_count_kept_in_redis(db, lookups_3_per_min):
    first, second = APIClient(REMOTE_ADDR="203.0.113.30"), APIClient(REMOTE_ADDR="203.0.113.30")
    assert [_lookup(first).status_code for _ in range(2)] == [404, 404]
    assert _lookup(second).status_code == 404
    refused = _lookup(second)
    assert refused.status_code == 429
    assert refused.json()["error"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    # The count is in Redis under the throttle prefix, not in a process's memory.
    assert any("lookup:203.0.113.30" in k for k in _redis_keys("throttle:*"))
    # Another client is not affected.
    assert _lookup(APIClient(REMOTE_ADDR="203.0.113.31")).status_code == 404


def test_a_live_server_and_direct_calls_share_the_limit(live_server, lookups_3_per_min):
    """Requests through the real HTTP server (its own threads and connections) and through the
    test client count together: one Redis counter for 127.0.0.1."""
    with httpx.Client(base_url=live_server.url) as http:
        assert http.get("/api/v1/applications/NNK-0000-0000").status_code == 404
        assert http.get("/api/v1/applications/NNK-0000-0000").status_code == 404
    assert _lookup(APIClient(REMOTE_ADDR="127.0.0.1")).status_code == 404
    with httpx.Client(base_url=live_server.url) as http:
        assert http.get("/api/v1/applications/NNK-0000-0000").status_code == 429


def test_varying_x_forwarded_for_does_not_escape_the_limit(db, lookups_3_per_min):
    api = APIClient(REMOTE_ADDR="203.0.113.32")
    codes = [_lookup(api, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(5)]
    assert codes == [404, 404, 404, 429, 429]


def test_behind_one_trusted_proxy_each_forwarded_client_has_its_own_limit(
        db, lookups_3_per_min, settings):
    settings.TRUSTED_PROXIES = 1
    proxy = APIClient(REMOTE_ADDR="192.0.2.1")
    for _ in range(3):
        _lookup(proxy, HTTP_X_FORWARDED_FOR="8.8.8.8, 198.51.100.1")
    # A spoofed left part does not make a new client: only our proxy's entry counts.
    assert _lookup(proxy, HTTP_X_FORWARDED_FOR="9.9.9.9, 198.51.100.1").status_code == 429
    assert _lookup(proxy, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 404


@pytest.mark.parametrize(("proxies", "forwarded", "expected"), [
    (0, "1.1.1.1", "192.0.2.1"),
    (1, "1.1.1.1, 2.2.2.2", "2.2.2.2"),
    (2, "1.1.1.1, 2.2.2.2, 3.3.3.3", "2.2.2.2"),
    (2, "2.2.2.2", "2.2.2.2"),
    (1, "", "192.0.2.1"),
])
def test_client_ip_believes_only_the_trusted_proxies(rf, settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXIES = proxies
    request = rf.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_limits_fail_open_when_redis_is_unreachable(db, lookups_3_per_min, settings):
    """Accepting and looking up never wait on Redis: with it gone the limits let requests by."""
    settings.CACHES = {**settings.CACHES, "throttle": {
        **settings.CACHES["throttle"], "LOCATION": "redis://127.0.0.1:1/0"}}
    api = APIClient(REMOTE_ADDR="203.0.113.33")
    assert [_lookup(api).status_code for _ in range(5)] == [404] * 5


def test_a_limit_switched_off_is_not_even_counted(db, throttle_rates):
    throttle_rates(lookup="off")
    api = APIClient(REMOTE_ADDR="203.0.113.34")
    assert [_lookup(api).status_code for _ in range(5)] == [404] * 5
    assert not any("lookup:" in k for k in _redis_keys("throttle:*"))
