"""Account actions an administrator takes: unlock a locked-out account or client, revoke API
tokens. Each is recorded in the audit chain in the same transaction."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from django.db import transaction
from django.db.models import QuerySet
from knox.models import AuthToken

from immigration.audit import audit_record


def account_unlock(*, attempts: QuerySet[AccessAttempt], by: Any) -> int:
    """Forget the failed sign-ins in `attempts` (axes' lockout records): the accounts and
    clients they locked can sign in again at once. Returns how many were removed."""
    with transaction.atomic():
        removed = 0
        for attempt in attempts:
            audit_record(actor=by, action="account.unlock",
                         detail={"username": attempt.username or "",
                                 "failures": int(attempt.failures_since_start)})
            attempt.delete()
            removed += 1
    return removed


def token_revoke(*, tokens: QuerySet[AuthToken], by: Any) -> int:
    """Delete API tokens, recording who revoked whose. Returns how many."""
    with transaction.atomic():
        count = 0
        for token in tokens.select_related("user"):
            audit_record(actor=by, action="token.revoke",
                         detail={"user": token.user.get_username(), "token": token.token_key})
            token.delete()
            count += 1
    return count
