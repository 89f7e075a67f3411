"""Dossier fixtures: Siti's application at Nunukan, submitted through the API."""

from __future__ import annotations

from typing import Any

import pytest

from immigration.models import PassportApplication
from tests.conftest import Submit


class Submitted:
    def __init__(self, application: PassportApplication, access_code: str) -> None:
        self.application = application
        self.reference = application.reference
        self.access_code = access_code


@pytest.fixture
def siti_application(submit: Submit, siti: dict[str, Any]) -> Submitted:
    response = submit(siti)
    assert response.status_code == 201, response.content
    body = response.json()
    return Submitted(PassportApplication.objects.get(reference=body["reference"]),
                     body["access_code"])


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    """DRF keeps throttle history in the cache (per process): each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def siti_code(siti_application: Submitted) -> dict[str, str]:
    """Siti's credentials as her phone sends them with each tus request."""
    return {"HTTP_X_ACCESS_CODE": siti_application.access_code}
