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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from services.base import UpstreamError
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
        status, data = self._call("POST", "/v1/messages",
                                  payload={"key": key, "to": to, "text": text},
                                  extra_headers={"idempotency-key": key})
        message_id = data.get("message_id") if isinstance(data, Mapping) else None
        if not isinstance(message_id, str) or not message_id:
            raise UpstreamError("POST /v1/messages: unexpected response", permanent=False,
                                ambiguous=True, status=status)
        return SmsReceipt(key=key, message_id=message_id, created=status == 201)

    def get(self, key: str) -> dict[str, Any] | None:
        """The gateway's record of one message, or None when it does not have it."""
        _, data = self._call("GET", f"/v1/messages/{quote(key, safe='')}",
                             accept=frozenset({404}))
        return data if isinstance(data, dict) else None
