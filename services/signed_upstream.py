"""What the billing and SMS gateway clients share: signed JSON calls and a health check.

Both upstreams speak the same way as central (Standard Webhooks signatures, JSON bodies,
Idempotency-Key headers); only their resources differ, which is what their own clients hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from services.base import UpstreamClient, UpstreamError
from services.central_printing import encode_body
from services.signing import check_secret, sign_headers

__all__ = ["SignedJsonClient"]


class SignedJsonClient(UpstreamClient):
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
            # A 2xx we cannot read may still mean the upstream did it (recorded the payment,
            # sent the text): ambiguous, so it is asked again by key.
            raise UpstreamError(f"{method} {path}: unreadable response", permanent=False,
                                ambiguous=True, status=response.status_code) from None

    def health(self) -> bool:
        """True when the upstream answers; a permanent failure (wrong secret) is raised."""
        try:
            self._call("GET", "/v1/health")
        except UpstreamError as exc:
            if exc.permanent:
                raise
            return False
        return True

    def _create_once(self, path: str, key: str, payload: Mapping[str, Any],
                     id_field: str) -> tuple[str, bool]:
        """POST `payload` under Idempotency-Key `key`: (the upstream's id for it, whether this
        call created it). An answer without the id is ambiguous: it may have been done."""
        status, data = self._call("POST", path, payload=dict(payload),
                                  extra_headers={"idempotency-key": key})
        made = data.get(id_field) if isinstance(data, Mapping) else None
        if not isinstance(made, str) or not made:
            raise UpstreamError(f"POST {path}: unexpected response", permanent=False,
                                ambiguous=True, status=status)
        return made, status == 201

    def _get_by_key(self, collection: str, key: str) -> dict[str, Any] | None:
        """The upstream's record under `key` in `collection`, or None when it has none."""
        _, data = self._call("GET", f"{collection}/{quote(key, safe='')}",
                             accept=frozenset({404}))
        return data if isinstance(data, dict) else None
