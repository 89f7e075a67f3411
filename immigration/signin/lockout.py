"""What a locked-out client or account is told (django-axes calls this on every lockout).

The API gets the project's JSON error with Retry-After; the staff and admin login pages get a
page that says why and for how long, in Indonesian with English beside it.
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from immigration.api.errors import error_body


def cool_off_seconds(request: HttpRequest | None = None) -> int:
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else 0


def locked_out_detail() -> str:
    return _("Too many failed sign-in attempts for this account or from this device. Try again "
             "later, or ask an administrator to unlock the account.")


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict[str, Any] | None = None) -> HttpResponse:
    seconds = cool_off_seconds(request)
    headers = {"Retry-After": str(max(1, seconds))} if seconds else {}
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("locked_out", locked_out_detail()), status=429,
                            headers=headers)
    response = render(request, "frontend/staff/locked.html",
                      {"minutes": max(1, round(seconds / 60)) if seconds else None}, status=429)
    for name, value in headers.items():
        response[name] = value
    return response
