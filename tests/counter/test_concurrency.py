"""Slots and numbers under real concurrency, through a live server (run on PostgreSQL and on
SQLite): 50 people booking the last places at once never overbook, clerks checking people in
at once never hand out one number twice, counters calling at once never call one person twice."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from immigration.counter.models import QuotaSlot, Ticket
from tests.conftest import api_token, application_payload
from tests.counter.conftest import counter_applicant, submit_with

pytestmark = pytest.mark.django_db(transaction=True)

BOOKERS = 50
# Threads at once: enough to race on one row, few enough for a shared PostgreSQL's connections.
PARALLEL = 25


def _pool_post(calls: list[tuple[str, dict, dict]]) -> list[httpx.Response]:
    with httpx.Client(timeout=120) as client, ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(lambda c: client.post(c[0], json=c[1], headers=c[2]), calls))


def test_fifty_bookers_of_the_last_places_never_overbook(live_server, schedule, tomorrow):
    schedule.booking_window_days = 1
    schedule.first_hour = schedule.last_hour = 9
    schedule.capacity_regular = 5
    schedule.save()
    url = f"{live_server.url}/api/v1/applications"
    calls = [(url, application_payload(
        applicant=counter_applicant(),
        appointment={"date": tomorrow.isoformat(), "slot": "09:00"}),
        {"Idempotency-Key": str(uuid.uuid4())}) for _ in range(BOOKERS)]
    responses = _pool_post(calls)
    assert [r.status_code for r in responses] == [201] * BOOKERS  # every application accepted
    outcomes = [r.json()["appointment"]["status"] for r in responses]
    assert outcomes.count("confirmed") == 5
    assert outcomes.count("unavailable") == BOOKERS - 5
    slot = QuotaSlot.objects.get(office_id="NNK", date=tomorrow, hour=9, lane="regular")
    assert (slot.booked, slot.capacity) == (5, 5)


def test_clerks_checking_in_at_once_never_share_a_number(live_server, api, bambang, schedule):
    references = [submit_with(api).json()["reference"] for _ in range(30)]
    token = api_token(bambang)
    url = f"{live_server.url}/api/v1/offices/NNK/arrivals"
    responses = _pool_post([(url, {"reference": r}, {"Authorization": f"Token {token}"})
                            for r in references])
    assert {r.status_code for r in responses} == {201}
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == [f"A-{n:03d}" for n in range(1, 31)]
    assert Ticket.objects.count() == 30


def test_counters_calling_at_once_never_call_one_person_twice(live_server, api, bambang,
                                                              bambang_api, schedule):
    for _ in range(12):
        reference = submit_with(api).json()["reference"]
        bambang_api.post("/api/v1/offices/NNK/arrivals", {"reference": reference}, format="json")
    token = api_token(bambang)
    calls = [(f"{live_server.url}/api/v1/offices/NNK/counters/{n}/call-next", {},
              {"Authorization": f"Token {token}"}) for n in range(1, 21)]
    responses = _pool_post(calls)
    assert {r.status_code for r in responses} == {200}
    called = [r.json()["ticket"]["number"] for r in responses if r.json()["ticket"]]
    assert len(called) == 12 and len(set(called)) == 12
    assert Ticket.objects.filter(state="called").count() == 12
