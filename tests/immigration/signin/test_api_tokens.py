"""API tokens are stored hashed (django-rest-knox), expire, and are revoked by their owner or an
admin."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from immigration.audit.models import AuditEntry
from tests.conftest import api_token


def _client(token: str) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Token {token}")


def test_tokens_are_stored_hashed_and_expire(bambang):
    token = api_token(bambang)
    row = AuthToken.objects.get(user=bambang)
    assert token not in {row.digest, row.token_key}
    assert row.token_key == token[:len(row.token_key)] and len(row.token_key) < len(token)
    assert row.expiry is not None and row.expiry > timezone.now()
    assert _client(token).get("/api/v1/queue").status_code == 200
    AuthToken.objects.filter(pk=row.pk).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    expired = _client(token).get("/api/v1/queue")
    assert expired.status_code == 401


def test_staff_list_and_revoke_their_own_tokens(bambang):
    laptop, script = api_token(bambang), api_token(bambang)
    rows = _client(laptop).get("/api/v1/auth/tokens").json()
    assert len(rows) == 2
    assert [r["current"] for r in rows if r["id"] == laptop[:len(r["id"])]] == [True]
    script_id = next(r["id"] for r in rows if not r["current"])
    assert _client(laptop).delete(f"/api/v1/auth/tokens/{script_id}").status_code == 204
    assert _client(script).get("/api/v1/queue").status_code == 401
    assert _client(laptop).get("/api/v1/queue").status_code == 200
    entry = AuditEntry.objects.get(action="token.revoke")
    assert entry.actor == bambang and entry.detail == {"user": "bambang", "token": script_id}


def test_nobody_revokes_someone_elses_token(bambang, dewi):
    bambangs = api_token(bambang)
    key = AuthToken.objects.get(user=bambang).token_key
    response = _client(api_token(dewi)).delete(f"/api/v1/auth/tokens/{key}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert _client(bambangs).get("/api/v1/queue").status_code == 200


def test_an_admin_revokes_any_token(bambang, admin_client):
    token = api_token(bambang)
    row = AuthToken.objects.get(user=bambang)
    response = admin_client.post("/admin/knox/authtoken/", {
        "action": "revoke", "_selected_action": [row.pk]})
    assert response.status_code == 302
    assert not AuthToken.objects.filter(user=bambang).exists()
    assert _client(token).get("/api/v1/queue").status_code == 401
    assert AuditEntry.objects.filter(action="token.revoke", actor__username="admin").count() == 1


def test_rest_framework_authtoken_is_gone(db):
    from django.apps import apps

    assert not apps.is_installed("rest_framework.authtoken")
    assert User.objects.model._meta.get_field("auth_token_set")


def test_a_user_holds_at_most_the_configured_number_of_tokens(bambang, settings):
    from tests.conftest import otp_device, totp_code

    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 2}
    bambang.set_password("rahasia-loket-77")
    bambang.save()
    api_token(bambang)
    api_token(bambang)
    response = APIClient().post("/api/v1/auth/token", {
        "username": "bambang", "password": "rahasia-loket-77",
        "otp": totp_code(otp_device(bambang))}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "too_many_tokens"
    # Expired ones do not count.
    AuthToken.objects.filter(user=bambang).update(expiry=timezone.now() - dt.timedelta(1))
    response = APIClient().post("/api/v1/auth/token", {
        "username": "bambang", "password": "rahasia-loket-77",
        "otp": totp_code(otp_device(bambang))}, format="json")
    assert response.status_code == 200
    assert AuthToken.objects.filter(user=bambang).count() == 1
