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
