"""Client for the SMS gateway upstream (see DESIGN.md, "Other upstreams").

    POST /v1/messages  (Idempotency-Key = message key) {key, to, text}
                        -> 201 sent now / 200 already had this key (not sent again)
                        -> 422 same key with another body (permanent), 400/422 invalid
    GET  /v1/messages/{key} -> the message or 404 (resolves a lost answer)
    GET  /v1/health

Signed per Standard Webhooks like every other upstream call; errors are `UpstreamError`.
The number (`to`) is personal data: it goes in the body only, never in a path, a query string,
an error message or a log line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.signed_upstream import SignedJsonClient

__all__ = ["SmsGatewayClient", "SmsReceipt"]


@dataclass(frozen=True, slots=True)
class SmsReceipt:
    key: str
    message_id: str
    #: True when this call made the gateway send it (201); False when it already had the key.
    created: bool


class SmsGatewayClient(SignedJsonClient):
    """Signed JSON calls and health come from SignedJsonClient."""

    def send(self, *, key: str, to: str, text: str) -> SmsReceipt:
        """Send one text; safe to repeat (the gateway dedupes on `key`)."""
        message_id, created = self._create_once(
            "/v1/messages", key, {"key": key, "to": to, "text": text}, "message_id")
        return SmsReceipt(key=key, message_id=message_id, created=created)

    def get(self, key: str) -> dict[str, Any] | None:
        """The gateway's record of one message, or None when it does not have it."""
        return self._get_by_key("/v1/messages", key)
