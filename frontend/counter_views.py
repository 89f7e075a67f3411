"""Pages of the counter's day: check-in and calling at the counter, the waiting-room display,
walk-in intake, the verification desk and the office's day (slots, cash, sign-offs).

Staff pages are HTML shells like the rest of the console: their JavaScript fetches everything
from the counter API, and none of them is in the service worker's shell list. The display is
public: it shows numbers and counters only (the API it polls carries nothing else).
"""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from frontend.views import counter_required
from immigration import consent
from immigration.models import Office


def _office(request: HttpRequest) -> Office:
    return request.user.membership.office  # type: ignore[union-attr]


def _is_supervisor(request: HttpRequest) -> bool:
    return Group.objects.filter(name="supervisor", user=request.user.pk).exists()


def _staff_page(request: HttpRequest, template: str, page: str,
                **extra: object) -> HttpResponse:
    return render(request, f"frontend/staff/{template}.html",
                  {"page": page, "office": _office(request),
                   "supervisor": _is_supervisor(request), **extra})


@counter_required
def counter_desk(request: HttpRequest) -> HttpResponse:
    return _staff_page(request, "counter", "staff-counter")


@counter_required
def verification_desk(request: HttpRequest) -> HttpResponse:
    return _staff_page(request, "desk", "staff-desk")


@counter_required
def walk_in(request: HttpRequest) -> HttpResponse:
    response = _staff_page(request, "walkin", "staff-walkin",
                           consent=consent.CURRENT.as_dict())
    # The page itself holds nothing personal, but the shared counter browser must never
    # keep a copy of anything from this desk, not even in its back-forward cache.
    response["Cache-Control"] = "no-store"
    return response


@counter_required
def office_day(request: HttpRequest) -> HttpResponse:
    return _staff_page(request, "office", "staff-office")


@require_GET
def waiting_room(request: HttpRequest, code: str) -> HttpResponse:
    office = Office.objects.filter(code=code.upper()).first()
    if office is None:
        raise Http404("No such office.")
    return render(request, "frontend/counter/display.html", {"page": "display", "office": office})
