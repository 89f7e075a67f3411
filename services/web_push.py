"""Sending Web Push messages (RFC 8030) encrypted per RFC 8291 (aes128gcm) with VAPID
(RFC 8292), on pywebpush: encryption and signing are not hand-written here.

Each subscription's endpoint belongs to a push service (Google, Mozilla, Apple...); the
browser made it, we only POST to it. Errors map onto the one `UpstreamError` of services/:
404/410 mean the subscription is gone for good (`code="gone"`: the caller deletes it),
429/5xx and transport failures are transient.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from services.base import UpstreamError, error_for_status, parse_retry_after

__all__ = ["GONE", "PushSubscriptionInfo", "WebPushSender", "vapid_public_key"]

GONE = "gone"


@dataclass(frozen=True, slots=True)
class PushSubscriptionInfo:
    endpoint: str
    p256dh: str  # the browser's ECDH public key, base64url
    auth: str  # the browser's 16-byte auth secret, base64url

    def as_dict(self) -> dict[str, object]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def _vapid(private_key: str) -> Vapid:
    # Raw 32-byte base64url or DER base64url, as py_vapid reads it.
    return Vapid.from_string(private_key=private_key)


def vapid_public_key(private_key: str) -> str:
    """The application server key browsers need for `pushManager.subscribe` (base64url of the
    uncompressed P-256 point)."""
    raw = _vapid(private_key).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def push_topic(key: str) -> str:
    """An RFC 8030 `Topic` for a message key (<= 32 base64url characters): a push service
    replaces a still-undelivered message with the same topic, so a resend after a lost answer
    does not reach the phone twice."""
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()[:24]).decode()


class WebPushSender:
    """One per process: keeps the VAPID key and a pooled HTTP session."""

    def __init__(self, *, vapid_private_key: str, subject: str, timeout: float = 10.0) -> None:
        self._vapid = _vapid(vapid_private_key)
        self._subject = subject  # "mailto:..." or an https URL, per RFC 8292
        self._timeout = timeout
        self._session = requests.Session()

    def send(self, subscription: PushSubscriptionInfo, data: bytes, *, key: str,
             ttl: int = 86_400, urgency: str = "normal") -> None:
        """Encrypt `data` for the subscription and hand it to its push service."""
        what = f"POST push service {urlsplit(subscription.endpoint).hostname or '?'}"
        headers: Mapping[str, str] = {"Topic": push_topic(key), "Urgency": urgency}
        try:
            webpush(
                subscription_info=subscription.as_dict(), data=data,
                vapid_private_key=self._vapid, vapid_claims={"sub": self._subject},
                content_encoding="aes128gcm", ttl=ttl, headers=dict(headers),
                timeout=self._timeout, requests_session=self._session,
            )
        except WebPushException as exc:
            response = exc.response
            if response is None:
                raise UpstreamError(f"{what}: not sent", permanent=False) from None
            if response.status_code in (404, 410):
                raise UpstreamError(f"{what}: HTTP {response.status_code} (subscription gone)",
                                    permanent=True, status=response.status_code,
                                    code=GONE) from None
            raise error_for_status(
                response.status_code, what=what,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            # Only a connect timeout proves nothing left this host; push services have no
            # lookup by key, so an ambiguous failure is simply resent (Topic dedupes it).
            unsent = isinstance(exc, requests.ConnectTimeout)
            kind = "timeout" if isinstance(exc, requests.Timeout) else "cannot connect"
            raise UpstreamError(f"{what}: {kind}", permanent=False,
                                ambiguous=not unsent) from None
