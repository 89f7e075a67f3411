"""Signed exports of the chain head, for keeping somewhere the office server cannot rewrite.

A head file says "the chain had N links and the N-th hash was H", signed with the office's
Ed25519 key. Anyone holding an older head can later prove that the first N links are still the
ones it saw: a truncated or rewritten chain cannot reproduce H without breaking a sha256 link,
and a forged head cannot be signed without the private key.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.utils import timezone

from immigration.audit.chain import head, seal

FORMAT = "tangguh-audit-head/1"


class HeadRefused(Exception):
    """The head file is unreadable, malformed or not signed by our key."""


@dataclass(frozen=True)
class ExportedHead:
    seq: int
    hash: str
    sealed_at: str
    exported_at: str


def _private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(settings.AUDIT_SIGNING_KEY))


def public_key_b64(key: Ed25519PublicKey | None = None) -> str:
    key = key or _private_key().public_key()
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _signed_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def export_head(*, directory: Path | None = None) -> Path:
    """Seal what is pending, then write the signed head to `directory` (AUDIT_HEAD_DIR)."""
    seal()
    chain = head()
    now = timezone.now()
    body = {
        "format": FORMAT,
        "seq": chain.seq,
        "hash": chain.hash,
        "sealed_at": chain.sealed_at.isoformat() if chain.sealed_at else "",
        "exported_at": now.isoformat(),
        "public_key": public_key_b64(),
    }
    signature = base64.b64encode(_private_key().sign(_signed_bytes(body))).decode()
    directory = Path(directory or settings.AUDIT_HEAD_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"audit-head-{now:%Y%m%dT%H%M%SZ}-{chain.seq}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**body, "signature": signature}, indent=2) + "\n")
    tmp.replace(path)  # a reader never sees half a file
    return path


def read_head(path: Path, *, public_key: str | None = None) -> ExportedHead:
    """Load and check a head file. The signature is checked against `public_key` (base64) or,
    by default, our own key's public half, never against the key named inside the file."""
    try:
        data = json.loads(Path(path).read_text())
        signature = base64.b64decode(data.pop("signature"), validate=True)
        if data.get("format") != FORMAT:
            raise HeadRefused(f"{path}: not a {FORMAT} file")
        key = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(public_key) if public_key else
            _private_key().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        key.verify(signature, _signed_bytes(data))
        return ExportedHead(seq=int(data["seq"]), hash=str(data["hash"]),
                            sealed_at=str(data["sealed_at"]),
                            exported_at=str(data["exported_at"]))
    except InvalidSignature as exc:
        raise HeadRefused(f"{path}: the signature does not match (edited or another key)") \
            from exc
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HeadRefused(f"{path}: unreadable head file ({exc.__class__.__name__})") from exc
