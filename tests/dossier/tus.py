"""Small helpers to speak tus 1.0 through Django's test client (bad-input cases), and a tuspy
uploader that sends SHA-256 checksums (tuspy's default is SHA-1)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from rest_framework.test import APIClient
from tusclient.uploader import Uploader

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
ENDPOINT = "/api/v1/uploads/"


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(client: APIClient, reference: str, kind: str, data: bytes, *,
           length: int | None = None, sha256: str | None = None, headers: Any = None,
           **extra: str) -> Any:
    return client.post(
        ENDPOINT, **TUS, **(headers or {}),
        HTTP_UPLOAD_LENGTH=str(len(data) if length is None else length),
        HTTP_UPLOAD_METADATA=metadata(reference=reference, kind=kind,
                                      sha256=sha256 or hashlib.sha256(data).hexdigest(), **extra),
    )


def patch(client: APIClient, url: str, body: bytes, *, offset: int, headers: Any = None,
          checksum: bytes | None = None) -> Any:
    extra = dict(headers or {})
    if checksum is not None:
        extra["HTTP_UPLOAD_CHECKSUM"] = "sha256 " + base64.b64encode(checksum).decode()
    return client.generic("PATCH", url, body, content_type="application/offset+octet-stream",
                          **TUS, HTTP_UPLOAD_OFFSET=str(offset), **extra)


def head(client: APIClient, url: str, *, headers: Any = None) -> Any:
    return client.head(url, **TUS, **(headers or {}))


def upload(client: APIClient, reference: str, kind: str, data: bytes, *, headers: Any = None,
           pieces: int = 1, **extra: str) -> Any:
    """Create and send the whole file; returns the last response (or the failing one)."""
    created = create(client, reference, kind, data, headers=headers, **extra)
    if created.status_code != 201:
        return created
    url = created["Location"]
    step = -(-len(data) // pieces)
    response = created
    for offset in range(0, len(data), step):
        response = patch(client, url, data[offset:offset + step], offset=offset,
                         headers=headers)
        if response.status_code != 204:
            return response
    return response


class Sha256Uploader(Uploader):
    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)
