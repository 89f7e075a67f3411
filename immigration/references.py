"""Application references and access codes.

A reference is made on the office server without asking anyone (it must work while central is
down), is short enough to read out at a counter, avoids look-alike characters, and ends in a
check character so a mistyped reference is caught before any lookup. Example: NNK-7KQ3-M9XD.

Alphabet: Crockford's base32 (no I, L, O, U). Check character: Luhn mod 32 over the office code
and the random part, which catches every single-character error and most adjacent swaps.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# Readers say "O" for zero and "I"/"L" for one; accept them as Crockford does.
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
RANDOM_LENGTH = 7  # 32**7 = 34 billion references per office: collisions are retried anyway.
ACCESS_CODE_LENGTH = 10  # 50 bits; guessed only online, through a rate-limited 404.


def _luhn_check(payload: str) -> str:
    factor, total, n = 2, 0, len(ALPHABET)
    for ch in reversed(payload):
        addend = factor * _VALUE[ch]
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def _payload(office_code: str, body: str) -> str:
    # Office codes are letters; map them through the alphabet (unknown letters fold to 0) so the
    # check covers the office part too.
    return "".join(ch if ch in _VALUE else "0" for ch in office_code) + body


def new_reference(office_code: str) -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    check = _luhn_check(_payload(office_code, body))
    full = body + check
    return f"{office_code}-{full[:4]}-{full[4:]}"


def normalize_reference(raw: str) -> str | None:
    """The canonical form of a typed reference, or None when it cannot be one of ours."""
    cleaned = raw.strip().upper().replace(" ", "").replace("-", "")
    if len(cleaned) < 3 + RANDOM_LENGTH + 1 or len(cleaned) > 6 + RANDOM_LENGTH + 1:
        return None
    office, rest = cleaned[: -(RANDOM_LENGTH + 1)], cleaned[-(RANDOM_LENGTH + 1) :]
    if not office.isalpha() or not office.isascii():
        return None
    rest = rest.translate(_ALIASES)
    if any(ch not in _VALUE for ch in rest):
        return None
    body, check = rest[:-1], rest[-1]
    if _luhn_check(_payload(office, body)) != check:
        return None
    return f"{office}-{rest[:4]}-{rest[4:]}"


def new_access_code() -> str:
    code = "".join(secrets.choice(ALPHABET) for _ in range(ACCESS_CODE_LENGTH))
    return f"{code[:5]}-{code[5:]}"


def normalize_access_code(raw: str) -> str:
    cleaned = raw.strip().upper().replace(" ", "").replace("-", "").translate(_ALIASES)
    return f"{cleaned[:5]}-{cleaned[5:]}"


def hash_access_code(code: str, *, key: bytes) -> str:
    """Keyed hash of an access code. The code is 50 random bits, so a slow password hash buys
    nothing; the key keeps a stolen database from being checked offline."""
    return hmac.new(key, normalize_access_code(code).encode(), hashlib.sha256).hexdigest()
