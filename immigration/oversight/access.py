"""Which offices' boards and queues a user may see.

Two ways in: counter staff see their own office (StaffMembership), regional operators the
offices assigned to them. Seeing a board never implies acting on applications: every action
stays behind the counter-staff checks scoped to the clerk's one office."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from immigration.api.permissions import is_counter_staff
from immigration.models import Office


def is_regional_operator(user: Any) -> bool:
    return bool(user and user.is_authenticated and hasattr(user, "regional_operator"))


def watched_offices(user: Any) -> QuerySet[Office]:
    """The offices whose boards `user` may see, by code (none for anyone else)."""
    if not (user and user.is_authenticated and user.is_active):
        return Office.objects.none()
    codes: set[str] = set()
    if is_counter_staff(user):
        codes.add(user.membership.office_id)
    if is_regional_operator(user):
        codes.update(user.regional_operator.offices.values_list("code", flat=True))
    return Office.objects.filter(code__in=codes).order_by("code")


def watched_office(user: Any, code: str) -> Office | None:
    return watched_offices(user).filter(code=code).first()
