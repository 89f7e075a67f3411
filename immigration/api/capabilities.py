"""Who may see one application: staff of its office, or whoever holds its access code.

Applicants hold capabilities (reference + access code), not accounts. Every view that opens one
application for either kind of caller goes through `application_for_caller`, so the rule and its
one 404 live in one place.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _
from rest_framework.request import Request

from immigration.api.errors import ApiError
from immigration.api.permissions import is_counter_staff
from immigration.models import PassportApplication
from immigration.references import normalize_reference
from immigration.signin import reference_lock


def not_found() -> ApiError:
    # Built per request: the message is translated into the requester's language.
    return ApiError("not_found", _("No application with this reference and access code."), 404)


def application_for_caller(
    request: Request, reference: str, *, lock: bool = False, staff_only: bool = False,
    prefetch: Sequence[str] = (),
) -> tuple[PassportApplication, bool]:
    """The application if the caller is staff of its office or holds its access code; returns
    (application, caller is staff). Unknown reference, another office's application and a wrong
    code all answer the same 404: a guesser learns nothing. Wrong codes are counted per reference
    and lock its lookups at the limit (immigration/signin/reference_lock.py). With `lock`, call it
    inside transaction.atomic()."""
    staff = is_counter_staff(request.user)
    by_code = not staff and not staff_only
    if by_code:
        # Before the database is asked: a locked reference answers the same whether it exists
        # and whether the code is right.
        reference_lock.ensure_not_locked(reference)
    normalized = normalize_reference(reference)
    qs = PassportApplication.objects.select_related("office").prefetch_related(*prefetch)
    if lock:
        qs = qs.select_for_update()
    application = qs.filter(reference=normalized).first() if normalized else None
    if application is None:
        if by_code:
            reference_lock.record_wrong_code(reference)
        raise not_found()
    if staff:
        if application.office_id != request.user.membership.office_id:  # type: ignore[union-attr]
            raise not_found()
    elif staff_only:
        raise not_found()
    else:
        code = request.headers.get("X-Access-Code", "")
        if not code or not application.access_code_matches(code):
            reference_lock.record_wrong_code(reference)
            raise not_found()
    return application, staff
