"""The admin console's unlock and revoke: through the domain functions, so each is audited."""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from knox.admin import AuthTokenAdmin
from knox.models import AuthToken

from immigration.signin.accounts import account_unlock, token_revoke

admin.site.unregister(AccessAttempt)
admin.site.unregister(AuthToken)


@admin.register(AccessAttempt)
class LockoutAdmin(AccessAttemptAdmin):
    """axes' failed sign-ins, one row per account/client; "Unlock" lets them in again."""

    actions = ["unlock"]

    @admin.action(description="Unlock: forget these failed sign-ins")
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        removed = account_unlock(attempts=queryset, by=request.user)
        self.message_user(request, f"Unlocked {removed}.", messages.SUCCESS)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deleting unaudited is what "unlock" replaces
        return actions

    def delete_model(self, request: HttpRequest, obj: AccessAttempt) -> None:
        account_unlock(attempts=AccessAttempt.objects.filter(pk=obj.pk), by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        account_unlock(attempts=queryset, by=request.user)


@admin.register(AuthToken)
class TokenAdmin(AuthTokenAdmin):
    """Hashed API tokens: admins see whose and until when, and revoke them (audited)."""

    list_display = ("token_key", "user", "created", "expiry")
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[AuthToken]) -> None:
        revoked = token_revoke(tokens=queryset, by=request.user)
        self.message_user(request, f"Revoked {revoked}.", messages.SUCCESS)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request: HttpRequest, obj: AuthToken) -> None:
        token_revoke(tokens=AuthToken.objects.filter(pk=obj.pk), by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AuthToken]) -> None:
        token_revoke(tokens=queryset, by=request.user)
