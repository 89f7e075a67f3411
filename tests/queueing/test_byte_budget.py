"""The byte budget per upstream, shared by all workers through a real Redis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django.conf import settings

from queueing import byte_budget, redis_state

RATE = 10_000  # bytes per second
BURST = RATE * 0.25


@pytest.fixture
def budget(queue_settings):
    queue_settings(BYTE_BUDGETS={"thin-link": RATE}, BYTE_BURST_SECONDS=0.25)
    redis_state.reset()
    yield
    redis_state.reset()


def test_unconfigured_upstream_is_unlimited(budget):
    assert byte_budget.rate("elsewhere") == 0
    assert byte_budget.reserve("elsewhere", 10**9) == 0


def test_burst_is_free_then_each_byte_waits_its_turn(budget):
    assert byte_budget.reserve("thin-link", int(BURST)) == 0

    wait = byte_budget.reserve("thin-link", 5_000)

    # 5,000 bytes of debt at 10,000 B/s, less what was repaid between the calls (a busy CI
    # box may take a while between them, hence the loose lower bound).
    assert 0.25 < wait <= 0.5


def test_workers_share_one_budget_and_queue_in_order(budget):
    byte_budget.reserve("thin-link", int(BURST))
    with ThreadPoolExecutor(4) as pool:
        waits = sorted(pool.map(lambda _: byte_budget.reserve("thin-link", 2_000), range(4)))

    # Four workers asking together are charged one after the other: ideally 0.2, 0.4, 0.6 and
    # 0.8 s, less what was repaid between their calls.
    assert waits == sorted(set(waits))
    assert 0.4 < waits[-1] <= 0.8


def test_spend_sleeps_the_reserved_time(budget):
    slept: list[float] = []
    byte_budget.spend("thin-link", int(BURST), sleep=slept.append)
    byte_budget.spend("thin-link", 1_000, sleep=slept.append)

    # The burst went out at once (at most a rounding crumb of waiting); the next 1,000 bytes
    # waited their 0.1 s.
    assert sum(slept[:-1]) < 0.01
    assert 0 < slept[-1] <= 0.101


def test_flushed_redis_starts_a_full_bucket(budget):
    byte_budget.reserve("thin-link", 20_000)
    redis.Redis.from_url(settings.REDIS_URL).flushdb()

    assert byte_budget.reserve("thin-link", 1_000) == 0


def test_unreachable_redis_falls_back_to_a_local_bucket(queue_settings):
    queue_settings(BYTE_BUDGETS={"thin-link": RATE}, REDIS_URL="redis://127.0.0.1:1/0")
    redis_state.reset()
    try:
        assert byte_budget.reserve("thin-link", int(BURST)) == 0
        assert byte_budget.reserve("thin-link", 5_000) > 0.25
    finally:
        redis_state.reset()


def test_spender_is_a_before_chunk_hook_charging_the_shared_budget(budget):
    hook = byte_budget.spender("thin-link")
    for _ in range(3):
        hook(500)

    # 1,500 bytes charged: what is left of the burst is what the next caller sees.
    assert byte_budget.reserve("thin-link", int(BURST) - 1_500) < 0.01
    assert byte_budget.reserve("thin-link", 1_000) > 0
