"""Shared test fixtures: named people, a real Redis database of our own, the simulator.

Personas: Siti (an applicant from Nunukan), Bambang (counter clerk at Nunukan, NNK), Dewi
(counter clerk at Tanjung Perak, TPK) and Joko (a logged-in user who is not counter staff).
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test.client import ClientMixin
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from faker import Faker
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from immigration import consent, printing
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


def api_token(user: User) -> str:
    """A fresh API token (django-rest-knox: stored hashed, expiring) for `Authorization: Token`."""
    _instance, token = AuthToken.objects.create(user=user)
    return token


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client


# --- The second factor in tests ---------------------------------------------------------------
# Every signed-in session needs a one-time code (immigration/signin/second_factor.py). Tests
# that are not about signing in use `client.force_login(user)`, which here also marks the
# session verified with the user's (made on demand) TOTP device; tests that sign in for real
# compute codes with `totp_code`.


def otp_device(user: User) -> TOTPDevice:
    """The user's confirmed TOTP device, made if there is none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def totp_code(device: TOTPDevice) -> str:
    """A code `device` accepts now: the current step's, or the next one's when the current code
    was already used (django-otp refuses a code twice); waits if even that one was used."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = time.time()
    totp.time = now
    current = totp.t()
    wanted = max(current, device.last_t + 1)
    if wanted > current + device.tolerance:
        time.sleep((wanted - current - device.tolerance) * device.step - now % device.step + 0.5)
        return totp_code(device)
    totp.time = now + (wanted - current) * device.step
    return f"{totp.token():0{device.digits}d}"


def verify_session(client: Any, user: User) -> None:
    """Mark the test client's (already logged-in) session as having given a one-time code."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = otp_device(user).persistent_id
    session.save()


_force_login = ClientMixin.force_login


@pytest.fixture(autouse=True)
def _force_login_gives_the_second_factor(monkeypatch: pytest.MonkeyPatch) -> None:
    def force_login(self: Any, user: User, backend: str | None = None) -> None:
        _force_login(self, user, backend)
        verify_session(self, user)

    monkeypatch.setattr(ClientMixin, "force_login", force_login)


# Tests submit many applications from one client (127.0.0.1), several for one NIK on purpose:
# the anonymous submission limits (immigration/signin/throttles.py) are raised for them, as for
# benchmarks and drills. Tests of the limits themselves lower them with `throttle_rates`.
GENEROUS_SUBMISSION_RATES = {"submit_client": "100000/min", "submit_nik": "100000/min"}


@pytest.fixture(autouse=True)
def _generous_submission_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES",
                        {**ScopedRateThrottle.THROTTLE_RATES, **GENEROUS_SUBMISSION_RATES})


@pytest.fixture
def throttle_rates(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set throttle rates by scope for this test, e.g. throttle_rates(submit_client="3/min")."""

    def _set(**rates: str) -> None:
        monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES",
                            {**ScopedRateThrottle.THROTTLE_RATES, **rates})

    return _set


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
        # The applicant ticked the box under the current consent text (UU PDP).
        "consent_version": consent.CURRENT.version,
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
