"""Counter fixtures: Nunukan's counter open every day 08:00-10:00 with small lanes, Sari the
supervisor, and applications brought to the states the counter works on through real domain
functions."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.test import APIClient

from immigration.counter.models import CounterSettings
from immigration.lifecycle import Status
from immigration.models import Office, PassportApplication
from immigration.nik import make_nik
from tests.conftest import application_payload, client_for
from tests.fixtures.approvable import make_approvable, supervisor_for


@pytest.fixture
def schedule(nunukan: Office) -> CounterSettings:
    cs = CounterSettings.for_office(nunukan)
    cs.timezone = "Asia/Makassar"
    cs.open_weekdays = "0,1,2,3,4,5,6"  # every day, so no test depends on the weekday it runs
    cs.first_hour, cs.last_hour = 8, 10
    cs.capacity_regular, cs.capacity_express, cs.capacity_priority = 2, 1, 1
    cs.booking_window_days = 3
    cs.save()
    return cs


@pytest.fixture
def tomorrow(schedule: CounterSettings) -> dt.date:
    return schedule.today() + dt.timedelta(days=1)


@pytest.fixture
def sari(nunukan: Office) -> User:
    """Sari, supervisor at Nunukan."""
    return supervisor_for("NNK")


@pytest.fixture
def sari_api(sari: User) -> APIClient:
    return client_for(sari)


_serials = itertools.count(1)


def counter_applicant(**overrides: Any) -> dict[str, Any]:
    """Applicant fields with a NIK of their own (a fresh serial, so many applicants born the
    same day never collide on the one-active-NIK rule) and under 60 unless a test says
    otherwise: age decides the priority lane."""
    person = {"date_of_birth": "1990-06-15", "sex": "F", **overrides}
    person.setdefault("nik", make_nik(
        region="650401", date_of_birth=dt.date.fromisoformat(person["date_of_birth"]),
        sex=person["sex"], serial=next(_serials) % 9999 + 1))
    return person


def submit_with(api: APIClient, *, key: str | None = None, **overrides: Any) -> Any:
    overrides["applicant"] = counter_applicant(**overrides.get("applicant", {}))
    return api.post("/api/v1/applications", application_payload(**overrides), format="json",
                    HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


def ready_for_pickup(reference: str, clerk: User) -> PassportApplication:
    """Approved, printed and dispatched (central's callbacks, applied as the model does)."""
    make_approvable(reference, clerk)
    with transaction.atomic():
        application = PassportApplication.objects.select_for_update().get(reference=reference)
        application.approve(by=clerk)
        application.advance_from_central(Status.READY_FOR_PICKUP, note="central: dispatched")
    return application
