"""Shared test fixtures: named people, a real Redis database of our own, the simulator.

Personas: Siti (an applicant from Nunukan), Bambang (counter clerk at Nunukan, NNK), Dewi
(counter clerk at Tanjung Perak, TPK) and Joko (a logged-in user who is not counter staff).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group, User
from faker import Faker
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from immigration import printing
from immigration.counter import billing
from immigration.counter.fees import tariffs_seed
from immigration.models import Office, StaffMembership
from immigration.nik import make_nik

pytest_plugins = ["tests.fixtures.central"]

fake = Faker("id_ID")


@pytest.fixture(autouse=True)
def _fresh_redis() -> Iterator[None]:
    """Each test gets an empty Redis database (breaker, limiter, kicks): no state leaks."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield
    client.close()


@pytest.fixture
def nunukan(db: Any) -> Office:
    office, _ = Office.objects.get_or_create(
        code="NNK", defaults={"name": "Kantor Imigrasi Kelas II TPI Nunukan",
                              "timezone": "Asia/Makassar"}
    )
    tariffs_seed()  # a transactional test's flush drops what the migration seeded
    return office


@pytest.fixture
def tanjung_perak(db: Any) -> Office:
    office, _ = Office.objects.get_or_create(
        code="TPK", defaults={"name": "Kantor Imigrasi Kelas I Khusus TPI Tanjung Perak"}
    )
    return office


def _clerk(username: str, office: Office) -> User:
    user = User.objects.create_user(username=username, password="not-used")
    group, _ = Group.objects.get_or_create(name="counter")
    user.groups.add(group)
    StaffMembership.objects.create(user=user, office=office)
    return user


@pytest.fixture
def bambang(nunukan: Office) -> User:
    return _clerk("bambang", nunukan)


@pytest.fixture
def dewi(tanjung_perak: Office) -> User:
    return _clerk("dewi", tanjung_perak)


@pytest.fixture
def joko(db: Any) -> User:
    return User.objects.create_user(username="joko", password="not-used")


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def bambang_api(bambang: User) -> APIClient:
    return client_for(bambang)


def applicant(**overrides: Any) -> dict[str, Any]:
    """A valid applicant from Nunukan (Faker id_ID), NIK consistent with birth date and sex."""
    sex = overrides.pop("sex", random.choice(["M", "F"]))
    birth = overrides.pop(
        # Under 60 unless a test says otherwise: from 60 an applicant books the priority lane
        # (immigration/counter/slots.py), which tests of the regular lane must not meet by chance.
        "date_of_birth", fake.date_of_birth(minimum_age=18, maximum_age=59)
    )
    if isinstance(birth, str):
        birth = dt.date.fromisoformat(birth)
    data = {
        "nik": make_nik(region="650401", date_of_birth=birth, sex=sex,
                        serial=random.randint(1, 9999)),
        "full_name": fake.name_female() if sex == "F" else fake.name_male(),
        "sex": sex,
        "date_of_birth": birth.isoformat(),
        "place_of_birth": "Nunukan",
        "mother_name": fake.name_female(),
        "address": fake.address().replace("\n", ", "),
        "phone": "0812" + "".join(random.choices("0123456789", k=8)),
        "email": fake.email(),
    }
    data.update(overrides)
    return data


def application_payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "office": "NNK",
        "service": "regular",
        "passport_type": "electronic",
        "application_type": "new",
        "applicant": applicant(**overrides.pop("applicant", {})),
    }
    body.update(overrides)
    return body


@pytest.fixture
def siti() -> dict[str, Any]:
    """Siti's application form, as her phone would send it."""
    return application_payload(applicant={"sex": "F", "full_name": "Siti Aminah"})


Submit = Callable[..., Any]


@pytest.fixture
def submit(api: APIClient, nunukan: Office) -> Submit:
    def _submit(payload: dict[str, Any] | None = None, key: str | None = None) -> Any:
        return api.post(
            "/api/v1/applications",
            payload if payload is not None else application_payload(),
            format="json",
            HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
        )

    return _submit


@pytest.fixture
def wired(central: Any, live_server: Any, settings: Any) -> Any:
    """This office talking to the real simulator, which calls back to the live test server."""
    settings.CENTRAL_PRINTING_URL = central.base_url
    settings.CENTRAL_PRINTING_SECRET = central.secret
    settings.CENTRAL_PRINTING_TIMEOUT = 2.0
    settings.OFFICE_PUBLIC_URL = live_server.url
    # Billing (payments recorded when approving) is the simulator's own billing upstream.
    settings.BILLING_URL = f"{central.base_url}/billing"
    settings.BILLING_SECRET = central.secret
    settings.BILLING_TIMEOUT = 2.0
    settings.QUEUEING = {
        **settings.QUEUEING,
        "BACKOFF_BASE_SECONDS": 0.05,
        "BACKOFF_CAP_SECONDS": 0.2,
        "BREAKER_COOLDOWN_SECONDS": 0.3,
        "BREAKER_COOLDOWN_CAP_SECONDS": 1.0,
    }
    _reset_client()
    yield central
    _reset_client()


def _reset_client() -> None:
    if printing.central_client.cache_info().currsize:
        printing.central_client().close()
    printing.central_client.cache_clear()
    if billing.billing_client.cache_info().currsize:
        billing.billing_client().close()
    billing.billing_client.cache_clear()
