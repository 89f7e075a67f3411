"""Dossier files are sealed with the personal-data keys and follow their rotation."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from immigration import personal_data
from immigration.dossier.models import FileChunk, PendingChunk
from immigration.dossier.storage import CorruptChunk, open_chunks
from tests.dossier.conftest import Submitted
from tests.dossier.tus import create, patch
from tests.fixtures.dossier import dossier_store, small_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def rotated_keys(settings: Any) -> Iterator[tuple[str, str]]:
    old = settings.PII_KEYS
    yield old, "9:" + base64.b64encode(os.urandom(32)).decode()
    settings.PII_KEYS = old
    personal_data.keyring.cache_clear()


def test_rotation_reseals_files_and_pending_uploads_then_the_old_key_can_go(
    api: Any, siti_application: Submitted, settings: Any, rotated_keys: tuple[str, str],
) -> None:
    old, new = rotated_keys
    data = small_pdf(padding=200_000)
    stored = dossier_store(siti_application.application, "ktp", data)
    url = create(api, siti_application.reference, "kk", data,
                 headers={"HTTP_X_ACCESS_CODE": siti_application.access_code})["Location"]
    patch(api, url, data[:100_000], offset=0,
          headers={"HTTP_X_ACCESS_CODE": siti_application.access_code})

    settings.PII_KEYS = f"{new},{old}"
    personal_data.keyring.cache_clear()
    call_command("rotate_pii_keys", stdout=StringIO())
    assert set(FileChunk.objects.values_list("key_version", flat=True)) == {9}
    assert set(PendingChunk.objects.values_list("key_version", flat=True)) == {9}

    settings.PII_KEYS = new
    personal_data.keyring.cache_clear()
    assert b"".join(open_chunks(stored)) == data
    assert patch(api, url, data[100_000:], offset=100_000,
                 headers={"HTTP_X_ACCESS_CODE": siti_application.access_code}).status_code == 204

    settings.PII_KEYS = old  # without the new key nothing opens
    personal_data.keyring.cache_clear()
    with pytest.raises(CorruptChunk):
        b"".join(open_chunks(stored))
