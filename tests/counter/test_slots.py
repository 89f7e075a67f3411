"""Quota slots: the public calendar, booking with the submission (confirmed, moved to the
nearest free time, or none free and still accepted), reschedule, release, capacities and closed
days."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from immigration.counter.models import ClosedDay, QuotaSlot
from immigration.models import PassportApplication
from tests.conftest import application_payload, client_for
from tests.counter.conftest import submit_with

pytestmark = pytest.mark.django_db


def _booked(day, hour, lane="regular"):
    slot = QuotaSlot.objects.filter(office_id="NNK", date=day, hour=hour, lane=lane).first()
    return slot.booked if slot else 0


def _book(api, day, slot="09:00", **overrides):
    return submit_with(api, appointment={"date": day.isoformat(), "slot": slot}, **overrides)


def test_calendar_shows_free_places_per_hour_and_closed_days(api, schedule, tomorrow):
    ClosedDay.objects.create(office_id="NNK", date=tomorrow + dt.timedelta(days=1),
                             note="Libur nasional")
    _book(api, tomorrow)
    calendar = api.get("/api/v1/offices/NNK/slots?lane=regular").json()
    assert calendar["window"] == {"from": tomorrow.isoformat(),
                                  "to": (tomorrow + dt.timedelta(days=2)).isoformat()}
    first, closed, _third = calendar["days"]
    assert [(s["slot"], s["free"]) for s in first["slots"]] == [
        ("08:00", 2), ("09:00", 1), ("10:00", 2)]
    assert closed == {"date": closed["date"], "closed": True, "note": "Libur nasional",
                      "slots": []}
    assert "reference" not in str(calendar)
    assert api.get("/api/v1/offices/NNK/slots?lane=vip").status_code == 400
    assert api.get("/api/v1/offices/XXX/slots").status_code == 404


def test_booking_is_confirmed_when_the_slot_is_free(api, schedule, tomorrow):
    response = _book(api, tomorrow, "09:00")
    assert response.status_code == 201
    appointment = response.json()["appointment"]
    assert appointment["status"] == "confirmed"
    assert (appointment["date"], appointment["slot"], appointment["lane"]) == (
        tomorrow.isoformat(), "09:00", "regular")
    assert "09:00" in appointment["message"]
    assert _booked(tomorrow, 9) == 1
    reference = response.json()["reference"]
    assert PassportApplication.objects.get(reference=reference).appointment_date == tomorrow


def test_a_full_slot_gives_the_nearest_free_time_said_plainly(api, schedule, tomorrow):
    _book(api, tomorrow, "09:00")
    _book(api, tomorrow, "09:00")
    moved = _book(api, tomorrow, "09:00").json()["appointment"]
    assert moved["status"] == "moved"
    assert moved["requested"] == {"date": tomorrow.isoformat(), "slot": "09:00"}
    assert (moved["date"], moved["slot"]) == (tomorrow.isoformat(), "10:00")  # later wins a tie
    assert "10:00" in moved["message"] and "09:00" in moved["message"]
    assert _booked(tomorrow, 9) == 2 and _booked(tomorrow, 10) == 1


def test_a_past_or_closed_day_moves_to_the_first_free_day(api, schedule, tomorrow):
    yesterday = tomorrow - dt.timedelta(days=2)  # a phone that waited offline for days
    moved = _book(api, yesterday, "08:00").json()["appointment"]
    assert moved["status"] == "moved"
    assert (moved["date"], moved["slot"]) == (tomorrow.isoformat(), "08:00")


def test_nothing_free_is_said_and_the_application_is_still_accepted(api, schedule, tomorrow):
    schedule.capacity_regular = 0
    schedule.save()
    response = _book(api, tomorrow)
    assert response.status_code == 201
    appointment = response.json()["appointment"]
    assert appointment["status"] == "unavailable" and appointment["date"] is None
    assert "walk-in" in appointment["message"] or "datang" in appointment["message"].lower()


def test_a_replay_repeats_the_same_appointment_and_books_nothing_more(api, schedule, tomorrow):
    key, payload = str(uuid.uuid4()), application_payload(
        appointment={"date": tomorrow.isoformat(), "slot": "08:00"})
    first = api.post("/api/v1/applications", payload, format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = api.post("/api/v1/applications", payload, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.content == first.content
    assert _booked(tomorrow, 8) == 1


def test_lanes_express_and_elderly_priority(api, schedule, tomorrow):
    express = _book(api, tomorrow, service="express").json()["appointment"]
    assert express["lane"] == "express"
    elderly = _book(api, tomorrow, applicant={"date_of_birth": "1950-05-05"}).json()
    assert elderly["appointment"]["lane"] == "priority"
    pregnant = submit_with(api, appointment={"date": tomorrow.isoformat(), "slot": "08:00",
                                             "priority": "pregnant"}).json()
    assert pregnant["appointment"]["lane"] == "priority"


def test_malformed_appointments_are_400(api, schedule, tomorrow):
    for bad in [{"date": tomorrow.isoformat(), "slot": "09:30"},
                {"date": "tomorrow", "slot": "09:00"},
                {"date": tomorrow.isoformat(), "slot": "09:00", "room": 1}]:
        response = submit_with(api, appointment=bad)
        assert response.status_code == 400, bad
        assert any(k.startswith("appointment") for k in response.json()["fields"])
    assert not PassportApplication.objects.exists()


def test_applicant_reschedules_and_the_old_slot_is_freed(api, schedule, tomorrow):
    submitted = _book(api, tomorrow, "08:00").json()
    api.credentials(HTTP_X_ACCESS_CODE=submitted["access_code"])
    url = f"/api/v1/applications/{submitted['reference']}/appointment"
    response = api.put(url, {"date": tomorrow.isoformat(), "slot": "10:00"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["slot"] == "10:00"
    assert (_booked(tomorrow, 8), _booked(tomorrow, 10)) == (0, 1)
    assert api.get(f"/api/v1/applications/{submitted['reference']}").json()[
        "appointment"]["slot"] == "10:00"


def test_rescheduling_into_a_full_slot_is_refused_with_the_nearest(api, schedule, tomorrow):
    _book(api, tomorrow, "10:00")
    _book(api, tomorrow, "10:00")
    submitted = _book(api, tomorrow, "08:00").json()
    api.credentials(HTTP_X_ACCESS_CODE=submitted["access_code"])
    response = api.put(f"/api/v1/applications/{submitted['reference']}/appointment",
                       {"date": tomorrow.isoformat(), "slot": "10:00"}, format="json")
    assert (response.status_code, response.json()["error"]) == (409, "slot_full")
    assert response.json()["nearest"] == {"date": tomorrow.isoformat(), "slot": "09:00"}
    assert _booked(tomorrow, 8) == 1  # still holds the old one


def test_wrong_code_cannot_see_or_move_an_appointment(api, schedule, tomorrow):
    submitted = _book(api, tomorrow).json()
    api.credentials(HTTP_X_ACCESS_CODE="WRONG-CODE1")
    url = f"/api/v1/applications/{submitted['reference']}/appointment"
    assert api.get(url).status_code == 404
    assert api.delete(url).status_code == 404
    assert _booked(tomorrow, 9) == 1


def test_staff_release_needs_a_reason_and_frees_the_slot(api, bambang_api, schedule, tomorrow):
    submitted = _book(api, tomorrow).json()
    url = f"/api/v1/applications/{submitted['reference']}/appointment"
    assert bambang_api.delete(url, {}, format="json").status_code == 400
    response = bambang_api.delete(url, {"reason": "Pemohon minta batal"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "none"
    assert _booked(tomorrow, 9) == 0
    assert bambang_api.delete(url, {"reason": "sekali lagi"}, format="json").status_code == 200
    assert _booked(tomorrow, 9) == 0


def test_staff_set_capacity_but_not_below_what_is_booked(api, bambang_api, schedule, tomorrow):
    _book(api, tomorrow)
    _book(api, tomorrow)
    url = f"/api/v1/offices/NNK/slots/{tomorrow.isoformat()}/09:00/regular"
    refused = bambang_api.put(url, {"capacity": 1}, format="json")
    assert (refused.status_code, refused.json()["error"]) == (409, "capacity_below_booked")
    raised = bambang_api.put(url, {"capacity": 5}, format="json")
    assert raised.json() == {"date": tomorrow.isoformat(), "slot": "09:00", "lane": "regular",
                             "capacity": 5, "booked": 2, "free": 3}
    day = bambang_api.get(f"/api/v1/offices/NNK/slots/{tomorrow.isoformat()}").json()
    row = next(s for s in day["slots"] if (s["slot"], s["lane"]) == ("09:00", "regular"))
    assert len(row["bookings"]) == 2 and row["free"] == 3
    assert client_for(None).put(url, {"capacity": 9}, format="json").status_code in (401, 403)


def test_closing_a_day_with_bookings_is_refused(api, bambang_api, schedule, tomorrow):
    _book(api, tomorrow)
    refused = bambang_api.post("/api/v1/offices/NNK/closed-days",
                               {"date": tomorrow.isoformat(), "note": "Banjir"}, format="json")
    assert (refused.status_code, refused.json()["bookings"]) == (409, 1)
    later = tomorrow + dt.timedelta(days=1)
    assert bambang_api.post("/api/v1/offices/NNK/closed-days",
                            {"date": later.isoformat(), "note": "Banjir"},
                            format="json").status_code == 201
    assert _book(api, later).json()["appointment"]["date"] != later.isoformat()
    assert bambang_api.delete(f"/api/v1/offices/NNK/closed-days/{later}").status_code == 204


def test_schedule_is_read_by_staff_and_changed_by_supervisors(bambang_api, sari_api, schedule):
    assert bambang_api.get("/api/v1/offices/NNK/schedule").json()["hours"] == [
        "08:00", "09:00", "10:00"]
    change = {"capacity": {"regular": 7}, "hours": ["08:00", "11:00"], "requires_signoff": True}
    assert bambang_api.patch("/api/v1/offices/NNK/schedule", change,
                             format="json").status_code == 403
    changed = sari_api.patch("/api/v1/offices/NNK/schedule", change, format="json").json()
    assert changed["capacity"]["regular"] == 7 and changed["requires_signoff"] is True
    assert changed["hours"] == ["08:00", "09:00", "10:00", "11:00"]
