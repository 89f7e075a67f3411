"""Pages of the applicant PWA and the small staff console.

The applicant pages are static HTML shells: everything personal is fetched by JavaScript with
the access code in a header and kept on the phone, so the service worker can cache the pages
themselves without caching anyone's data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from frontend.oversight_views import dashboard
from immigration.api.permissions import is_counter_staff
from immigration.audit import audit_record
from immigration.lifecycle import Status, label
from immigration.oversight.access import is_regional_operator
from immigration.selectors import application_of_office

APP_DIR = Path(__file__).resolve().parent
STATIC_DIR = APP_DIR / "static" / "frontend"

# Pages that open offline. Staff pages are deliberately absent: they show personal data.
SHELL_PAGES = {"/": "apply", "/mine": "mine", "/track": "track", "/receipt": "receipt",
               "/board": "board"}
# Static files the shell needs; "serviceworker.js" itself is fetched by the browser.
SHELL_STATIC = [
    "frontend/app.css",
    "frontend/js/app.js", "frontend/js/i18n.js", "frontend/js/api.js", "frontend/js/outbox.js",
    "frontend/js/validate.js", "frontend/js/apply.js", "frontend/js/mine.js",
    "frontend/js/receipt.js", "frontend/js/track.js",
    "frontend/js/shared.js", "frontend/js/dossier.js", "frontend/js/sw-register.js",
    "frontend/icon-192.png", "frontend/icon-512.png",
]
# Needed by one page only: kept by the worker once fetched, never precached (the shell must stay
# within 100 KB, tests/frontend/test_shell.py). Pages that know of an application prefetch it.
# The dossier's sender and tus-js-client (87 KB) are fetched only when online: offline capture
# needs neither, and sending needs the network anyway.
ON_DEMAND_STATIC = ["frontend/vendor/qrcode.mjs", "frontend/js/dossier-send.js",
                    # The slot picker is its own module script on the apply page: kept once
                    # fetched (offline calendar), but the form works without it.
                    "frontend/js/slots.js",
                    # The consent text on the apply form: fetched with the page (which needs
                    # the network the first time anyway) and kept for offline use.
                    "frontend/js/consent.js",
                    "frontend/vendor/tus.min.js", "frontend/vendor/sha256.min.mjs",
                    # The receipt's "tell me" (SMS / Web Push) box: online only.
                    "frontend/js/notify.js",
                    # The office board needs the network for its first look anyway; kept once
                    # fetched, it shows the last board offline (it keeps it in localStorage).
                    "frontend/js/board.js"]


@require_GET
def applicant_page(request: HttpRequest, page: str) -> HttpResponse:
    response = render(request, f"frontend/{page}.html", {"page": page})
    # Shell pages hold no personal data (that stays in the phone's IndexedDB): cacheable, but
    # revalidated so a new release is seen.
    response["Cache-Control"] = "no-cache"
    return response


def _shell_version() -> str:
    # Every page load revalidates serviceworker.js; hashing ~15 files each time is wasted work
    # in production, where they change only with a deploy (a new process).
    return _hash_shell() if settings.DEBUG else _cached_shell_hash()


def _hash_shell() -> str:
    """A hash of everything the service worker precaches: any change to a page template or a
    static file changes the worker's bytes, so browsers install it and refresh the cache."""
    digest = hashlib.sha256()
    templates = sorted((APP_DIR / "templates" / "frontend").glob("*.html"))
    for path in [*templates,
                 *(STATIC_DIR.parent / name for name in [*SHELL_STATIC, *ON_DEMAND_STATIC])]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@cache
def _cached_shell_hash() -> str:
    return _hash_shell()


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """serviceworker.js with the shell list and version filled in (served at the root so its
    scope is the whole app; mounted before django-pwa's own, which serves the file raw)."""
    source = Path(settings.PWA_SERVICE_WORKER_PATH).read_text()
    shell = [*SHELL_PAGES, "/manifest.json", *(static(name) for name in SHELL_STATIC)]
    body = (source.replace("__SHELL_VERSION__", _shell_version())
            .replace('"__SHELL_URLS__"', json.dumps(shell))
            .replace('"__ON_DEMAND_URLS__"', json.dumps([static(n) for n in ON_DEMAND_STATIC]))
            .replace("__OUTBOX_URL__", static("frontend/js/outbox.js")))
    response = HttpResponse(body, content_type="application/javascript")
    response["Cache-Control"] = "no-cache"  # browsers must revalidate to see a new shell
    return response


def counter_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in (else the login page) and in the counter group with an office (else 403)."""

    @login_required(login_url="staff-login")
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_counter_staff(request.user):
            raise PermissionDenied("Counter staff only.")
        return view(request, *args, **kwargs)

    return wrapper


@login_required(login_url="staff-login")
def staff_queue(request: HttpRequest) -> HttpResponse:
    if not is_counter_staff(request.user):
        # Where the login page lands everyone: a regional operator who is no clerk watches
        # their offices' boards instead.
        if is_regional_operator(request.user):
            return redirect("staff-regional")
        raise PermissionDenied("Counter staff only.")
    # The clerk announces for their own office only (the API refuses any other with 403).
    office = request.user.membership.office  # type: ignore[union-attr]
    return render(request, "frontend/staff/queue.html",
                  {"page": "staff-queue", "office_code": office.code,
                   **dashboard(request, office, chart=True)})


@counter_required
def staff_applications(request: HttpRequest) -> HttpResponse:
    office = request.user.membership.office  # type: ignore[union-attr]
    statuses = [(status.value, label(status, "id")) for status in Status]
    return render(request, "frontend/staff/applications.html",
                  {"page": "staff-applications", "office": office, "statuses": statuses})


@counter_required
def staff_dossier(request: HttpRequest, reference: str) -> HttpResponse:
    """One application's dossier at the counter: documents to check, photo and signature to
    take. The page is a shell; its data comes from the API with the staff session."""
    office = request.user.membership.office_id  # type: ignore[union-attr]
    application = application_of_office(office=office, reference=reference)
    if application is None:
        raise Http404("No such application at this office.")
    audit_record(actor=request.user, action="dossier.open", application=application)
    return render(request, "frontend/staff/dossier.html",
                  {"page": "staff-applications", "reference": application.reference})


def stop_notifications(request: HttpRequest, token: str) -> HttpResponse:
    """The unsubscribe link in every notification. GET only asks (SMS apps and link previews
    fetch links on their own); the button POSTs. The token is a capability, not personal data;
    still, the page keeps it out of Referer headers and caches."""
    from django.db import transaction

    from immigration.notify.follows import recipient_stop
    from immigration.notify.models import Recipient

    if request.method not in {"GET", "POST"}:
        return HttpResponse(status=405)
    if not Recipient.objects.with_token(token).exists():
        response = render(request, "frontend/stop.html", {"page": "stop", "state": "unknown"},
                          status=404)
    elif request.method == "POST":
        with transaction.atomic():
            recipient_stop(token=token)
        response = render(request, "frontend/stop.html", {"page": "stop", "state": "stopped"})
    else:
        response = render(request, "frontend/stop.html", {"page": "stop", "state": "ask"})
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
