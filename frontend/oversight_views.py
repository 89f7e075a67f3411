"""The operator dashboard pages: a clerk's own office (on the queue page, frontend.views), one
watched office's board, and a regional operator's overview of all the offices they watch.

Read-only: these pages show figures and states, never an application, and offer no action. The
live part is refreshed by static/frontend/js/operations.js from /api/v1/offices/<code>/operations;
the 24-hour chart is drawn here, on each page load."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from frontend.board_chart import render_chart
from immigration.models import Office
from immigration.oversight.access import watched_office, watched_offices
from immigration.oversight.board import chart_samples, operator_board


def dashboard(request: HttpRequest, office: Office, *, chart: bool) -> dict[str, Any]:
    """What templates/frontend/staff/_operations.html needs for one office."""
    language = getattr(request, "LANGUAGE_CODE", "id") or "id"
    return {
        "board": operator_board(office, language=language),
        "url": reverse("office-operations", args=[office.code]),
        "chart": render_chart(chart_samples(office), office, now=timezone.now(),
                              language=language) if chart else None,
    }


@require_GET
@login_required(login_url="staff-login")
def staff_regional(request: HttpRequest) -> HttpResponse:
    offices = list(watched_offices(request.user))
    if not offices:
        raise PermissionDenied("No office to watch.")
    boards = [dashboard(request, office, chart=False) for office in offices]
    return render(request, "frontend/staff/regional.html",
                  {"page": "staff-regional", "boards": boards})


@require_GET
@login_required(login_url="staff-login")
def staff_office_board(request: HttpRequest, code: str) -> HttpResponse:
    office = watched_office(request.user, code.upper()[:6])
    if office is None:
        raise Http404("No such office among the ones you watch.")
    return render(request, "frontend/staff/office_board.html",
                  {"page": "staff-regional", "office": office,
                   **dashboard(request, office, chart=True)})
