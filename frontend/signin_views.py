"""The second sign-in step of the staff pages and the admin: enrol an authenticator app on the
first sign-in (QR code or typed key), then give its current code at every sign-in."""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from immigration.signin import second_factor
from immigration.signin.lockout import lockout_response


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return wanted
    return reverse("staff-queue")


def _locked_out(request: HttpRequest) -> HttpResponse:
    logout(request)  # the password step was passed; a locked account starts over later
    return lockout_response(request)


@never_cache
@require_http_methods(["GET", "POST"])
@login_required(login_url="staff-login")
def second_factor_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _next_url(request)
    if second_factor.is_verified(user):
        return redirect(next_url)
    device = second_factor.confirmed_device(user)
    enrol = device is None
    if device is None:
        device = second_factor.pending_device(user)
    wrong = False
    if request.method == "POST":
        credentials = {"username": user.get_username()}
        if AxesProxyHandler.is_locked(request, credentials):
            return _locked_out(request)
        if second_factor.code_accepted(device, request.POST.get("otp", "")):
            if enrol:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            return redirect(next_url)
        second_factor.report_wrong_code(request, user.get_username())
        if getattr(request, "axes_locked_out", False):
            return _locked_out(request)
        wrong = True
    context = {"enrol": enrol, "wrong": wrong, "next": next_url, "page": "staff-otp"}
    if enrol:
        context.update(secret=second_factor.secret_base32(device), otpauth=device.config_url)
    return render(request, "frontend/staff/otp.html", context, status=400 if wrong else 200)
