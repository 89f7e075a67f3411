"""Key lists of the form "version:base64key,version:base64key" (PII_KEYS, BACKUP_KEYS): the first
key is the current one (it encrypts); every listed version still decrypts, which is how keys are
rotated without rewriting everything at once."""

from __future__ import annotations

import base64
import binascii


def parse_versioned_keys(spec: str, *, name: str) -> tuple[dict[int, bytes], int]:
    """(keys by version, current version); ValueError naming `name` when malformed."""
    keys: dict[int, bytes] = {}
    current: int | None = None
    for part in spec.split(","):
        if not part.strip():
            continue
        try:
            version_text, key_text = part.strip().split(":", 1)
            version, key = int(version_text), base64.b64decode(key_text, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise ValueError(f"{name} must be 'version:base64key,...'") from exc
        if len(key) != 32:
            raise ValueError(f"{name} keys must be 32 bytes (AES-256)")
        keys[version] = key
        current = version if current is None else current
    if current is None:
        raise ValueError(f"{name} holds no key")
    return keys, current
