"""Arrival and queue numbers: check-in by reference, a number per lane, calling the next with
express and priority first but a bounded share for regular, and a display with numbers only."""

from __future__ import annotations

import pytest

from immigration.counter.models import Ticket
from tests.conftest import client_for
from tests.counter.conftest import ready_for_pickup, submit_with

pytestmark = pytest.mark.django_db


def _arrive(client, reference, **body):
    return client.post("/api/v1/offices/NNK/arrivals", {"reference": reference, **body},
                       format="json")


def _call(client, counter="1"):
    ticket = client.post(f"/api/v1/offices/NNK/counters/{counter}/call-next").json()["ticket"]
    return ticket["number"] if ticket else None


def test_check_in_gives_a_number_per_lane_and_keeps_it_on_a_second_scan(api, bambang_api,
                                                                         schedule):
    regular = submit_with(api).json()["reference"]
    express = submit_with(api, service="express").json()["reference"]
    first = _arrive(bambang_api, regular)
    assert first.status_code == 201
    assert (first.json()["number"], first.json()["lane"]) == ("A-001", "regular")
    assert first.json()["purpose"] == "verification"
    again = _arrive(bambang_api, regular.lower().replace("-", " "))  # typed, not scanned
    assert (again.status_code, again.json()["number"]) == (200, "A-001")
    assert _arrive(bambang_api, express).json()["number"] == "B-001"
    assert _arrive(bambang_api, submit_with(api).json()["reference"]).json()["number"] == "A-002"
    moved = _arrive(bambang_api, submit_with(api).json()["reference"], lane="priority")
    assert moved.json()["number"] == "C-001"


def test_check_in_refuses_unknown_other_office_and_wrong_status(api, bambang_api, dewi,
                                                               schedule):
    reference = submit_with(api).json()["reference"]
    assert _arrive(bambang_api, "NNK-0000-0000").status_code == 404
    assert _arrive(client_for(dewi), reference).status_code == 403  # NNK is not Dewi's
    bambang_api.post(f"/api/v1/applications/{reference}/reject", {"reason": "duplikat"},
                     format="json")
    refused = _arrive(bambang_api, reference)
    assert (refused.status_code, refused.json()["error"]) == (409, "illegal_transition")


def test_priority_lanes_first_but_regular_gets_every_fourth_call(api, bambang_api, schedule):
    for _ in range(5):
        _arrive(bambang_api, submit_with(api).json()["reference"])
    for _ in range(5):
        _arrive(bambang_api, submit_with(api, service="express").json()["reference"])
    calls = [_call(bambang_api, counter) for counter in ["1", "2"] * 6]
    # regular_every = 3: at most three express/priority calls in a row while regular waits.
    assert calls == ["B-001", "B-002", "B-003", "A-001", "B-004", "B-005", "A-002", "A-003",
                     "A-004", "A-005", None, None]


def test_calling_next_closes_what_the_counter_was_serving(api, bambang_api, schedule):
    for _ in range(2):
        _arrive(bambang_api, submit_with(api).json()["reference"])
    _call(bambang_api, "3")
    _call(bambang_api, "3")
    states = dict(Ticket.objects.values_list("number", "state"))
    assert states == {"A-001": "served", "A-002": "called"}


def test_display_shows_numbers_and_counters_never_names_or_references(api, bambang_api,
                                                                     schedule):
    submitted = submit_with(api, applicant={"full_name": "Siti Aminah"}).json()
    _arrive(bambang_api, submitted["reference"])
    _arrive(bambang_api, submit_with(api).json()["reference"])
    _call(bambang_api, "2")
    ticket_id = Ticket.objects.get(number="A-001").pk
    assert bambang_api.post(f"/api/v1/offices/NNK/tickets/{ticket_id}/recall").status_code == 200
    display = api.get("/api/v1/offices/NNK/display")
    assert display["Cache-Control"] == "no-store"
    body = display.json()
    assert [(c["number"], c["counter"]) for c in body["calls"]] == [("A-001", "2"),
                                                                    ("A-001", "2")]
    assert body["calls"][0]["call_id"] > body["calls"][1]["call_id"]
    assert body["waiting"] == {"regular": 1, "express": 0, "priority": 0}
    text = display.content.decode()
    assert submitted["reference"] not in text and "Siti" not in text


def test_no_show_and_done_close_a_called_number(api, bambang_api, schedule):
    _arrive(bambang_api, submit_with(api).json()["reference"])
    ticket_id = Ticket.objects.get().pk
    url = f"/api/v1/offices/NNK/tickets/{ticket_id}"
    assert bambang_api.post(f"{url}/no-show").status_code == 409  # not called yet
    _call(bambang_api)
    assert bambang_api.post(f"{url}/no-show").json()["state"] == "no_show"
    assert bambang_api.post(f"{url}/done").status_code == 409
    listed = bambang_api.get("/api/v1/offices/NNK/tickets?state=all").json()
    assert [t["state"] for t in listed["tickets"]] == ["no_show"]


def test_pickup_check_in_follows_the_pickup_switch(api, bambang, bambang_api, nunukan,
                                                  schedule):
    reference = submit_with(api).json()["reference"]
    ready_for_pickup(reference, bambang)
    nunukan.pickup_open = False
    nunukan.service_note = "Pengambilan paspor ditutup sementara."
    nunukan.save()
    refused = _arrive(bambang_api, reference)
    assert (refused.status_code, refused.json()["error"]) == (409, "service_unavailable")
    assert refused.json()["note"] == "Pengambilan paspor ditutup sementara."
    nunukan.pickup_open = True
    nunukan.save()
    assert _arrive(bambang_api, reference).json()["purpose"] == "pickup"
