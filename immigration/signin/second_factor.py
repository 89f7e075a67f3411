"""The second factor: a TOTP device (django-otp) for every account that signs in.

A password alone opens nothing: the staff pages and the Django admin send a signed-in user who
has not yet given a one-time code to SECOND_FACTOR_URL (enrolment on first sign-in, then a code
at each sign-in), and DRF's session authentication ignores such a session. API tokens are only
issued for a password plus a code (immigration/signin/api.py).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

# Paths that need a verified session, and the pages a half-signed-in user may still open.
PROTECTED_PREFIXES = ("/staff/", "/admin/")
OPEN_PATHS = ("/staff/login", "/staff/logout", "/staff/otp", "/admin/login/", "/admin/logout/")


def is_verified(user: Any) -> bool:
    check = getattr(user, "is_verified", None)
    return bool(user.is_authenticated and callable(check) and check())


class SecondFactorMiddleware:
    """After django_otp's OTPMiddleware: staff pages and the admin need a verified session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(PROTECTED_PREFIXES) and not path.startswith(OPEN_PATHS):
            user = request.user
            if user.is_authenticated and not is_verified(user):
                target = quote(request.get_full_path(), safe="/")
                return HttpResponseRedirect(f"{settings.SECOND_FACTOR_URL}?next={target}")
        return self.get_response(request)


class VerifiedSessionAuthentication(SessionAuthentication):
    """DRF session authentication for sessions that gave a one-time code; a password-only
    session is anonymous to the API."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        user = getattr(request._request, "user", None)
        if not user or not user.is_active or not is_verified(user):
            return None
        self.enforce_csrf(request)
        return (user, None)


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def pending_device(user: Any) -> TOTPDevice:
    """The device being enrolled (unconfirmed), made on first use."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it typed in."""
    return base64.b32encode(device.bin_key).decode()


def code_accepted(device: TOTPDevice, code: str) -> bool:
    """Check a code (django-otp refuses a code already used and throttles wrong ones)."""
    code = "".join(code.split())
    return code.isdigit() and len(code) <= 8 and bool(device.verify_token(code))


def report_wrong_code(request: HttpRequest, username: str) -> None:
    """A wrong one-time code is a failed sign-in: axes counts it towards the lockout like a wrong
    password, so codes cannot be guessed once a password is known."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def seed_demo_device(user: Any, secret: str) -> TOTPDevice:
    """A confirmed device with a known secret, for the demo accounts only (never production)."""
    if settings.PRODUCTION:
        raise RuntimeError("demo one-time-code secrets are for development only")
    try:
        key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8)).hex()
    except (binascii.Error, ValueError) as exc:
        raise ValueError("DEMO_TOTP_SECRET must be base32") from exc
    TOTPDevice.objects.filter(user=user).delete()
    return TOTPDevice.objects.create(user=user, name="demo", key=key, confirmed=True)
