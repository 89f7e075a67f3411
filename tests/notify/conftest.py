"""Fixtures for notifications: the simulator's SMS gateway, and a local push service that
decrypts what it receives with the subscription's own private key (RFC 8291) and checks the
VAPID signature (RFC 8292), so the encryption and signing are proven, not mocked."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.conf import settings as django_settings

from immigration.notify import channels
from services.simulator.sms import SmsControl
from services.web_push import vapid_public_key


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """What a browser keeps for one push subscription: the ECDH key pair and auth secret."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    @property
    def p256dh(self) -> str:
        return b64url(self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))

    def subscription(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint,
                "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)}}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    payload: dict[str, Any] | None  # decrypted JSON, None if it could not be decrypted
    vapid_ok: bool


@dataclass
class PushService:
    server: ThreadingHTTPServer
    browsers: dict[str, Browser] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    status_for: dict[str, int] = field(default_factory=dict)  # path -> status to answer

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def new_browser(self) -> Browser:
        name = b64url(os.urandom(12))
        browser = Browser(ec.generate_private_key(ec.SECP256R1()), os.urandom(16),
                          f"{self.base_url}/push/{name}")
        self.browsers[urlsplit(browser.endpoint).path] = browser
        return browser

    def for_browser(self, browser: Browser) -> list[Received]:
        return [r for r in self.received if r.path == urlsplit(browser.endpoint).path]


def vapid_valid(authorization: str, endpoint: str) -> bool:
    """RFC 8292: `vapid t=<JWT>, k=<our public key>`; the JWT is ES256 over the push service's
    origin, unexpired, signed by the key in k, and k is the office's application server key."""
    if not authorization.startswith("vapid "):
        return False
    parts = dict(p.strip().split("=", 1) for p in authorization[6:].split(","))
    token, key = parts.get("t", ""), parts.get("k", "")
    if key != vapid_public_key(django_settings.VAPID_PRIVATE_KEY):
        return False
    header_b64, claims_b64, signature_b64 = token.split(".")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    raw = unb64url(signature_b64)
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                     int.from_bytes(raw[32:], "big"))
    try:
        public.verify(signature, f"{header_b64}.{claims_b64}".encode(),
                      ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    claims = json.loads(unb64url(claims_b64))
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(endpoint))
    import time
    return claims.get("aud") == origin and claims.get("exp", 0) > time.time() \
        and claims.get("sub") == django_settings.VAPID_SUBJECT


@pytest.fixture
def push_service() -> Iterator[PushService]:
    holder: dict[str, PushService] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            service = holder["service"]
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            browser = service.browsers.get(self.path)
            payload = None
            if browser is not None and self.headers.get("content-encoding") == "aes128gcm":
                try:
                    clear = http_ece.decrypt(body, private_key=browser.private_key,
                                             auth_secret=browser.auth, version="aes128gcm")
                    payload = json.loads(clear)
                except Exception:
                    payload = None
            vapid_ok = vapid_valid(self.headers.get("authorization", ""),
                                   f"{service.base_url}{self.path}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            service.received.append(Received(self.path, headers, payload, vapid_ok))
            status = service.status_for.get(self.path, 201 if browser else 404)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["service"] = service = PushService(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()


@pytest.fixture
def notify_wired(wired: Any, settings: Any) -> Iterator[Any]:
    """The office wired to the simulator for printing, billing and the SMS gateway; push
    endpoints may be plain http (the local push service); no quiet hours unless a test sets
    them."""
    settings.SMS_GATEWAY_URL = f"{wired.base_url}/sms"
    settings.SMS_GATEWAY_SECRET = wired.secret
    settings.SMS_GATEWAY_TIMEOUT = 2.0
    settings.WEB_PUSH_TIMEOUT = 2.0
    settings.WEB_PUSH_ALLOW_HTTP = True
    settings.NOTIFY_QUIET_HOURS = ""
    _reset_clients()
    wired.sms = SmsControl(wired.base_url)
    yield wired
    wired.sms.close()
    _reset_clients()


def _reset_clients() -> None:
    if channels.sms_client.cache_info().currsize:
        channels.sms_client().close()
    channels.sms_client.cache_clear()
    channels.push_sender.cache_clear()
