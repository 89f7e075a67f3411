"""What the dossier pages rely on without a browser: the phone's requirement list, and the
counter's dossier page only for the clerk's own office."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import Submit


def test_phone_learns_the_document_rules_without_credentials(api: APIClient, db: Any) -> None:
    response = api.get("/api/v1/requirements")
    assert response.status_code == 200
    body = response.json()
    assert body["requirements"]["new"] == ["ktp", "kk",
                                           "birth_certificate|diploma|marriage_certificate"]
    assert body["requirements"]["renewal"] == ["ktp", "old_passport"]
    assert body["always"] == ["photo", "signature"]


def test_dossier_page_is_for_the_clerk_of_the_applications_office(
        submit: Submit, bambang: User, dewi: User) -> None:
    reference = submit().json()["reference"]
    url = f"/staff/applications/{reference}/dossier"
    nunukan, perak = Client(), Client()
    nunukan.force_login(bambang)
    perak.force_login(dewi)
    page = nunukan.get(url)
    assert page.status_code == 200
    assert reference in page.content.decode()
    assert perak.get(url).status_code == 404  # Tanjung Perak does not see Nunukan's dossiers
    assert Client().get(url).status_code == 302  # to the login page
    assert nunukan.get("/staff/applications/NNK-XXXX-XXXX/dossier").status_code == 404
