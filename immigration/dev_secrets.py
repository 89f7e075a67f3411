"""Development secrets, generated on first run and kept out of git (var/ is ignored).

Production must set every secret in the environment; settings refuse to start otherwise.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
from pathlib import Path


def _fresh() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        # Version 1 of the AES-256-GCM key for applicant data at rest.
        "PII_KEYS": "1:" + base64.b64encode(os.urandom(32)).decode(),
        "PII_INDEX_KEY": base64.b64encode(os.urandom(32)).decode(),
        "CENTRAL_PRINTING_SECRET": "whsec_" + base64.b64encode(os.urandom(24)).decode(),
        "VAPID_PRIVATE_KEY": _vapid_private_key(),
        # Ed25519 seed signing the exported audit chain heads.
        "AUDIT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        # Version 1 of the AES-256 key that seals backups (separate from the data keys, so
        # whoever holds the backups and this key still cannot read applicants' data alone).
        "BACKUP_KEYS": "1:" + base64.b64encode(os.urandom(32)).decode(),
    }


def _vapid_private_key() -> str:
    """A P-256 private key as base64url of its raw 32 bytes (what py_vapid reads)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    value = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()


def load(path: Path) -> dict[str, str]:
    """Read the development secrets file, creating it (0600) on first use and adding any secret
    a newer version introduced. Processes starting together (web, worker, beat) take turns on a
    lock file, so all of them end up with the same values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        missing = {k: v for k, v in _fresh().items() if k not in stored}
        if missing:
            stored.update(missing)
            # Write-then-rename: a reader without the lock never sees half a file.
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(stored, fh, indent=2)
            tmp.replace(path)
        return stored
