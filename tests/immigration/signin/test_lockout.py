"""Failed sign-ins lock out the account (from any client) and the client (for any account) on
the staff login, the admin login and the token endpoint; an admin unlocks (django-axes)."""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from immigration.audit.models import AuditEntry
from tests.conftest import otp_device, totp_code

PASSWORD = "rahasia-loket-77"


@pytest.fixture
def limit(settings: Any) -> int:
    settings.AXES_FAILURE_LIMIT = 3
    return 3


@pytest.fixture
def bambang_with_password(bambang: User) -> User:
    bambang.set_password(PASSWORD)
    bambang.save()
    return bambang


def _staff_login(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post("/staff/login", {"username": username, "password": password}, **extra)



def test_staff_login_locks_the_account_after_repeated_failures(bambang_with_password, limit):
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(limit):
        response = _staff_login(attacker, "bambang", "tebakan-salah")
        assert response.status_code == (429 if n == limit - 1 else 200)
    # Now even the right password from another client is refused: the account is locked.
    bambang_elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    locked = _staff_login(bambang_elsewhere, "bambang", PASSWORD)
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    page = locked.content.decode()
    assert "Masuk dikunci sementara" in page and 'id="locked-message"' in page
    assert "_auth_user_id" not in bambang_elsewhere.session


def test_staff_login_locks_the_client_whatever_account_it_tries(bambang_with_password, limit):
    guesser = Client(REMOTE_ADDR="203.0.113.8")
    for name in ["andi", "budi", "citra"]:
        _staff_login(guesser, name, "tebakan-salah")
    # The same client is refused for a real account with the right password...
    assert _staff_login(guesser, "bambang", PASSWORD).status_code == 429
    # ...while the account itself is not locked for everyone else.
    assert _staff_login(Client(REMOTE_ADDR="198.51.100.21"), "bambang", PASSWORD).status_code == 302


def test_admin_login_is_locked_out_too(db, limit):
    User.objects.create_superuser("ratna", password=PASSWORD)
    client = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(limit):
        response = client.post("/admin/login/", {"username": "ratna", "password": "salah-salah"})
        assert response.status_code == (429 if n == limit - 1 else 200)
    response = client.post("/admin/login/", {"username": "ratna", "password": PASSWORD})
    assert response.status_code == 429


def test_token_endpoint_locks_out_with_a_json_error(bambang_with_password, limit):
    api = APIClient(REMOTE_ADDR="203.0.113.10")
    for n in range(limit - 1):
        wrong = api.post("/api/v1/auth/token", {"username": "bambang", "password": "x-salah-x"},
                         format="json")
        assert wrong.status_code == 400
        assert wrong.json()["error"] == "invalid_credentials"
    last = api.post("/api/v1/auth/token", {"username": "bambang", "password": "x-salah-x"},
                    format="json")
    assert last.status_code == 429
    right = api.post("/api/v1/auth/token", {"username": "bambang", "password": PASSWORD,
                                            "otp": totp_code(otp_device(bambang_with_password))},
                     format="json")
    assert right.status_code == 429
    assert right.json()["error"] == "locked_out"
    assert int(right["Retry-After"]) > 0


def test_wrong_one_time_codes_count_as_failed_sign_ins(bambang_with_password, limit):
    """Knowing the password must not let anyone try codes without limit."""
    device = otp_device(bambang_with_password)
    api = APIClient(REMOTE_ADDR="203.0.113.11")
    good = totp_code(device)
    bad = f"{(int(good) + 1) % 1_000_000:06d}"
    for _ in range(limit):
        response = api.post("/api/v1/auth/token",
                            {"username": "bambang", "password": PASSWORD, "otp": bad},
                            format="json")
        assert response.status_code in (400, 429)
    assert api.post("/api/v1/auth/token", {"username": "bambang", "password": PASSWORD,
                                           "otp": good}, format="json").status_code == 429


def test_varying_x_forwarded_for_does_not_escape_the_client_lockout(bambang_with_password,
                                                                    limit):
    """With no trusted proxy configured (the default) the header is ignored."""
    client = Client(REMOTE_ADDR="203.0.113.12")
    for n, name in enumerate(["andi", "budi", "citra"]):
        _staff_login(client, name, "salah-salah", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    response = _staff_login(client, "bambang", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_client_is_locked_not_the_proxy(
        bambang_with_password, limit, settings):
    settings.TRUSTED_PROXIES = 1
    proxy = "192.0.2.1"
    guesser = Client(REMOTE_ADDR=proxy)
    for name in ["andi", "budi", "citra"]:
        # A spoofed first entry does not help: only the proxy's own (last) entry is believed.
        _staff_login(guesser, name, "salah-salah",
                     HTTP_X_FORWARDED_FOR=f"10.0.0.{len(name)}, 203.0.113.50")
    assert _staff_login(guesser, "bambang", PASSWORD,
                        HTTP_X_FORWARDED_FOR="10.1.1.1, 203.0.113.50").status_code == 429
    # Another client behind the same proxy is not locked out.
    assert _staff_login(Client(REMOTE_ADDR=proxy), "bambang", PASSWORD,
                        HTTP_X_FORWARDED_FOR="198.51.100.60").status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.50"}


def test_an_admin_unlocks_a_locked_account(bambang_with_password, limit, admin_client):
    attacker = Client(REMOTE_ADDR="203.0.113.13")
    for _ in range(limit):
        _staff_login(attacker, "bambang", "tebakan-salah")
    assert _staff_login(Client(), "bambang", PASSWORD).status_code == 429
    attempts = list(AccessAttempt.objects.filter(username="bambang"))
    response = admin_client.post("/admin/axes/accessattempt/", {
        "action": "unlock", "_selected_action": [a.pk for a in attempts]})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="bambang").exists()
    assert _staff_login(Client(), "bambang", PASSWORD).status_code == 302
    entries = AuditEntry.objects.filter(action="account.unlock")
    assert entries.count() == len(attempts) > 0  # one per record forgotten
    assert {(e.actor.username, e.detail["username"]) for e in entries} == {("admin", "bambang")}


def test_password_validators_refuse_weak_passwords(bambang):
    for weak in ["bambang-1", "12345678901", "password123", "pendek"]:
        with pytest.raises(ValidationError):
            validate_password(weak, bambang)
    validate_password("tangguh-loket-2026", bambang)


def test_seed_demo_refuses_a_weak_password(nunukan):
    with pytest.raises(CommandError):
        call_command("seed_demo", "--username", "petugas", "--password", "petugas-demo")


def test_signing_into_an_own_account_does_not_clear_the_clients_failures(bambang_with_password,
                                                                         limit, dewi):
    """A guesser holding one real account cannot reset their count between guesses."""
    dewi.set_password(PASSWORD)
    dewi.save()
    guesser = Client(REMOTE_ADDR="203.0.113.14")
    _staff_login(guesser, "andi", "salah-salah")
    _staff_login(guesser, "budi", "salah-salah")
    assert _staff_login(guesser, "dewi", PASSWORD).status_code == 302
    guesser.logout()
    assert _staff_login(guesser, "citra", "salah-salah").status_code == 429
