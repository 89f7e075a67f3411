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
from urllib.parse import quote

from services.base import UpstreamError
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
        status, data = self._call("POST", "/v1/payments", payload=dict(payment),
                                  extra_headers={"idempotency-key": key})
        payment_id = data.get("payment_id") if isinstance(data, Mapping) else None
        if not isinstance(payment_id, str) or not payment_id:
            raise UpstreamError("POST /v1/payments: unexpected response", permanent=False,
                                ambiguous=True, status=status)
        return PaymentReceipt(key=key, payment_id=payment_id, created=status == 201)

    def get(self, key: str) -> dict[str, Any] | None:
        """Billing's record of one payment, or None when billing does not have it."""
        _, data = self._call("GET", f"/v1/payments/{quote(key, safe='')}",
                             accept=frozenset({404}))
        return data if isinstance(data, dict) else None
