"""Standard Webhooks signatures for requests to central and callbacks from it.

The HMAC itself is the `standardwebhooks` package's; this module adds what the package
leaves to callers: several secrets during rotation, strict parsing of the headers, and
one exception type for every way a message can be wrong, so a webhook view can answer
4xx without guessing which library error means what.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets as random_secrets
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from email.message import Message
from typing import Any

from standardwebhooks.webhooks import (
    EmptyWebhookSecretError,
    Webhook,
    WebhookVerificationError,
)

__all__ = [
    "TOLERANCE_SECONDS",
    "SignatureError",
    "check_secret",
    "new_secret",
    "sign_headers",
    "verify",
]

#: Accepted clock skew either way by default: the Standard Webhooks specification's five
#: minutes. The package enforces that bound itself too, so callers can narrow it, not widen it.
TOLERANCE_SECONDS = 300

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret

# The spec's timestamp is integer seconds; the package would also accept "1.5e9" or
# " 17e8" and sign the floor of it, which lets two different header values verify.
_TIMESTAMP = re.compile(r"\A[0-9]{1,12}\Z")
_SIGNATURE = re.compile(r"\A[A-Za-z0-9]+,[A-Za-z0-9+/]+={0,2}\Z")


class SignatureError(Exception):
    """The message is not signed by any secret we trust (or is malformed, stale, too new)."""


def new_secret() -> str:
    """A fresh random `whsec_` secret (32 bytes, as the specification recommends at least 24)."""
    return SECRET_PREFIX + base64.b64encode(random_secrets.token_bytes(32)).decode("ascii")


def check_secret(secret: str) -> Webhook:
    """Parse a configured secret, raising ValueError if it is unusable.

    Broken configuration is our fault, not the sender's, so it is a ValueError (loud, a
    500 in a view) and never a SignatureError (a quiet 401).
    """
    try:
        return Webhook(secret)
    except (binascii.Error, ValueError, EmptyWebhookSecretError, RuntimeError) as exc:
        raise ValueError("webhook secret is not a valid whsec_ base64 secret") from exc


def _as_list(secret: str | Iterable[str]) -> list[str]:
    values = [secret] if isinstance(secret, str) else list(secret)
    if not values:
        raise ValueError("at least one webhook secret is required")
    return values


def sign_headers(
    secret: str | Sequence[str],
    body: bytes,
    msg_id: str | None = None,
    *,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Headers that sign `body` (the exact bytes that will be sent).

    With several secrets (rotation) one `v1,` signature per secret is emitted, space
    separated, so receivers that know either the old or the new secret accept it.
    `timestamp` (Unix seconds) is for tests that need stale or future messages.
    """
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    ts = int(time.time()) if timestamp is None else timestamp
    when = datetime.fromtimestamp(ts, tz=UTC)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The spec signs the body as text; the package cannot sign arbitrary bytes.
        raise ValueError("only UTF-8 bodies can be signed") from exc
    signatures = [
        check_secret(s).sign(msg_id=msg_id, timestamp=when, data=text) for s in _as_list(secret)
    ]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join(signatures),
    }


def _lowercase_headers(headers: Mapping[str, str] | Message) -> dict[str, str]:
    items: Iterable[tuple[str, Any]] = headers.items()
    lowered: dict[str, str] = {}
    for name, value in items:
        key = str(name).lower()
        if key in lowered:
            # Two copies of a signature header is either a broken proxy or an attempt to
            # smuggle a second value past a check that reads only the first.
            if key.startswith("webhook-"):
                raise SignatureError(f"duplicate {key} header")
            continue
        lowered[key] = str(value)
    return lowered


def verify(
    secrets: Sequence[str],
    body: bytes,
    headers: Mapping[str, str] | Message,
    *,
    tolerance_seconds: float = TOLERANCE_SECONDS,
) -> None:
    """Check that `body` with `headers` was signed by one of `secrets`, recently.

    Raises SignatureError for a missing header, a malformed signature list, bad base64,
    a timestamp more than `tolerance_seconds` off (default five minutes), or no matching
    signature. Raises ValueError
    only for an unusable configured secret.
    """
    webhooks = [check_secret(s) for s in _as_list(secrets)]
    found = _lowercase_headers(headers)
    msg_id = found.get("webhook-id", "")
    timestamp = found.get("webhook-timestamp", "")
    signature = found.get("webhook-signature", "")
    if not (msg_id and timestamp and signature):
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not _TIMESTAMP.match(timestamp):
        raise SignatureError("malformed webhook-timestamp")
    if abs(time.time() - int(timestamp)) > tolerance_seconds:
        raise SignatureError("webhook-timestamp outside the tolerance window")
    entries = signature.split(" ")
    for entry in entries:
        if not _SIGNATURE.match(entry):
            raise SignatureError("malformed webhook-signature")
        try:
            base64.b64decode(entry.split(",", 1)[1], validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("malformed webhook-signature") from None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError("body is not UTF-8") from None
    clean = {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature}
    for webhook in webhooks:
        try:
            webhook.verify(text, clean, json_parse=False)
        except WebhookVerificationError:
            continue
        except (ValueError, binascii.Error, OverflowError):
            # Our own checks above should make this unreachable; the package is not
            # ours, so anything it raises on hostile input still becomes a 401.
            raise SignatureError("malformed signature headers") from None
        return
    raise SignatureError("no matching signature")
