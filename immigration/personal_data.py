"""Applicant personal data at rest: AES-256-GCM per field, with versioned keys, and a keyed
blind index of the NIK for equality lookups.

Every read and write of personal fields goes through `EncryptedTextField`, so the database, its
backups and its replicas only ever hold ciphertext. A stored value is
"v<version>:<base64(nonce | ciphertext+tag)>"; the version names the key, so old rows stay
readable after a new key is put first in PII_KEYS (rotation), and a re-encrypt job can find them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from immigration.versioned_keys import parse_versioned_keys


class Keyring:
    def __init__(self, spec: str) -> None:
        try:
            keys, current = parse_versioned_keys(spec, name="PII_KEYS")
        except ValueError as exc:
            raise ImproperlyConfigured(str(exc)) from exc
        self.keys: dict[int, AESGCM] = {v: AESGCM(k) for v, k in keys.items()}
        self.current: int | None = current
        # By the stored prefix ("v3"), so opening a value does no integer parsing: a delivery
        # batch opens nine fields of 300 applications, and the glue around AES-GCM, not the
        # cipher, was most of that time.
        self._by_prefix = {f"v{v}": aead for v, aead in self.keys.items()}

    def seal(self, plaintext: str, *, context: bytes) -> str:
        assert self.current is not None
        nonce = os.urandom(12)
        sealed = self.keys[self.current].encrypt(nonce, plaintext.encode(), context)
        return f"v{self.current}:" + base64.b64encode(nonce + sealed).decode()

    def open(self, stored: str, *, context: bytes) -> str:
        try:
            version_text, blob_text = stored.split(":", 1)
            aead = self._by_prefix[version_text]
            blob = binascii.a2b_base64(blob_text)  # what base64.b64decode calls, minus its glue
            return aead.decrypt(blob[:12], blob[12:], context).decode()
        except (ValueError, KeyError, binascii.Error, InvalidTag) as exc:
            # Never include the stored value: it may be personal data in a half-migrated row.
            raise ValueError("personal data could not be decrypted with the keys") from exc


@cache
def keyring() -> Keyring:
    return Keyring(settings.PII_KEYS)


def seal_text(plaintext: str, *, context: str) -> str:
    return keyring().seal(plaintext, context=context.encode())


def open_text(stored: str, *, context: str) -> str:
    return keyring().open(stored, context=context.encode())


def blind_index(value: str, *, purpose: str) -> str:
    """Keyed HMAC of a normalised value, for equality lookups without storing the value."""
    key = base64.b64decode(settings.PII_INDEX_KEY)
    message = f"{purpose}:{value.strip().upper()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text field stored encrypted. It cannot be filtered or ordered on; that is the point.

    The column name is bound into the AES-GCM associated data, so a ciphertext copied from one
    column to another (say, mother's name into full name) fails to decrypt.
    """

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == "":
            return value
        return seal_text(str(value), context=self.column or self.name)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or value == "":
            return value
        return open_text(value, context=self.column or self.name)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise TypeError(f"encrypted field {self.name} cannot be filtered with {lookup_name}")
        return super().get_lookup(lookup_name)
