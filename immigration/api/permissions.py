from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

COUNTER_GROUP = "counter"


def is_counter_staff(user: Any) -> bool:
    return bool(
        user
        and user.is_authenticated
        and hasattr(user, "membership")
        and user.groups.filter(name=COUNTER_GROUP).exists()
    )


class IsCounterStaff(BasePermission):
    message = "Counter staff only."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_counter_staff(request.user)
