"""Client for the billing upstream (PNBP payments; see DESIGN.md, "Other upstreams").

    POST /v1/payments  (Idempotency-Key = payment key) -> 201 new / 200 already had it,
                        {"payment_id": ...}; 422 same key with another body (permanent)
    GET  /v1/payments/{key} -> the payment or 404
    GET  /v1/health

Signed per Standard Webhooks like every call to central; errors are `UpstreamError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from services.base import UpstreamClient, UpstreamError
from services.central_printing import encode_body
from services.signing import check_secret, sign_headers

__all__ = ["BillingClient", "PaymentReceipt"]


@dataclass(frozen=True, slots=True)
class PaymentReceipt:
    key: str
    payment_id: str
    #: True when this call recorded the payment (201); False when billing already had it.
    created: bool


class BillingClient(UpstreamClient):
    def __init__(self, base_url: str, secret: str | Sequence[str], *, timeout: float = 10.0,
                 connect_timeout: float = 3.0) -> None:
        for s in [secret] if isinstance(secret, str) else secret:
            check_secret(s)
        self._secret = secret
        super().__init__(base_url, connect_timeout=connect_timeout, read_timeout=timeout)

    def _call(self, method: str, path: str, *, payload: Any = None,
              extra_headers: Mapping[str, str] | None = None,
              accept: frozenset[int] = frozenset()) -> tuple[int, Any]:
        body = b"" if payload is None else encode_body(payload)
        headers = {**sign_headers(self._secret, body), **(extra_headers or {})}
        if payload is not None:
            headers["content-type"] = "application/json"
        response = self.request(method, path, content=body, headers=headers, accept=accept)
        if response.status_code in accept and not response.is_success:
            return response.status_code, None
        try:
            return response.status_code, response.json()
        except ValueError:
            # A 2xx we cannot read may still mean billing recorded the payment.
            raise UpstreamError(f"{method} {path}: unreadable response", permanent=False,
                                ambiguous=True, status=response.status_code) from None

    def health(self) -> bool:
        """True when billing answers; a permanent failure (wrong secret) is raised."""
        try:
            self._call("GET", "/v1/health")
        except UpstreamError as exc:
            if exc.permanent:
                raise
            return False
        return True

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
