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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from services.base import UpstreamClient, UpstreamError
from services.central_printing import encode_body
from services.signing import check_secret, sign_headers

__all__ = ["SmsGatewayClient", "SmsReceipt"]


@dataclass(frozen=True, slots=True)
class SmsReceipt:
    key: str
    message_id: str
    #: True when this call made the gateway send it (201); False when it already had the key.
    created: bool


class SmsGatewayClient(UpstreamClient):
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
            # A 2xx we cannot read may still mean the gateway sent the text.
            raise UpstreamError(f"{method} {path}: unreadable response", permanent=False,
                                ambiguous=True, status=response.status_code) from None

    def health(self) -> bool:
        """True when the gateway answers; a permanent failure (wrong secret) is raised."""
        try:
            self._call("GET", "/v1/health")
        except UpstreamError as exc:
            if exc.permanent:
                raise
            return False
        return True

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
