"""Client for the billing upstream (PNBP payments; see DESIGN.md, "Other upstreams").

    POST /v1/payments  (Idempotency-Key = payment key) -> 201 new / 200 already had it,
                        {"payment_id": ...}; 422 same key with another body (permanent)
    GET  /v1/payments/{key} -> the payment or 404
    GET  /v1/health

Signed per Standard Webhooks like every call to central; errors are `UpstreamError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.signed_upstream import SignedJsonClient

__all__ = ["BillingClient", "PaymentReceipt"]


@dataclass(frozen=True, slots=True)
class PaymentReceipt:
    key: str
    payment_id: str
    #: True when this call recorded the payment (201); False when billing already had it.
    created: bool


class BillingClient(SignedJsonClient):
    """Signed JSON calls and health come from SignedJsonClient."""

    def pay(self, payment: Mapping[str, Any]) -> PaymentReceipt:
        """Record one payment; safe to repeat (billing dedupes on `payment["key"]`)."""
        key = str(payment["key"])
        payment_id, created = self._create_once("/v1/payments", key, payment, "payment_id")
        return PaymentReceipt(key=key, payment_id=payment_id, created=created)

    def get(self, key: str) -> dict[str, Any] | None:
        """Billing's record of one payment, or None when billing does not have it."""
        return self._get_by_key("/v1/payments", key)
