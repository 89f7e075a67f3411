"""The pages as Django serves them: applicant shells open to anyone and carry nothing
personal; staff pages need a counter clerk."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import Client

from frontend.views import SHELL_STATIC
from immigration.models import Office

SHELL_PAGES = ["/", "/mine", "/track", "/receipt", "/board"]


@pytest.mark.parametrize("path", SHELL_PAGES)
def test_applicant_pages_are_static_shells(client: Client, db: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="id">' in html
    assert 'rel="manifest"' in html  # django-pwa meta tags
    assert "csrfmiddlewaretoken" not in html  # nothing per-visitor: safe to cache
    assert "csrftoken" not in response.cookies


def test_service_worker_lists_the_shell_and_changes_with_it(client: Client, db: Any) -> None:
    response = client.get("/serviceworker.js")
    assert response["Content-Type"] == "application/javascript"
    assert response["Cache-Control"] == "no-cache"
    source = response.content.decode()
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", source).group(1))  # type: ignore[union-attr]
    assert set(SHELL_PAGES) <= set(shell)
    assert not [url for url in shell if url.startswith("/api/")]
    assert re.search(r'const VERSION = "[0-9a-f]{16}";', source)
    assert 'importScripts("/static/frontend/js/outbox.js")' in source
    for url in shell:  # every entry exists, or the worker's install would fail
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
        else:
            assert client.get(url).status_code == 200, url


def test_app_shell_is_about_100_kb(client: Client, db: Any) -> None:
    pages = sum(len(client.get(path).content) for path in SHELL_PAGES)
    static = sum(Path(finders.find(name)).stat().st_size  # type: ignore[arg-type]
                 for name in SHELL_STATIC if not name.endswith(".png"))
    worker = len(client.get("/serviceworker.js").content)
    # Measured 95.9 KB uncompressed (33 KB gzipped), the 31 KB QR library included.
    assert pages + static + worker <= 100 * 1024


def test_manifest_names_the_app_in_indonesian(client: Client, db: Any) -> None:
    manifest = json.loads(client.get("/manifest.json").content)
    assert manifest["name"] == "Tangguh Paspor"
    assert manifest["lang"] == "id"
    assert manifest["start_url"] == "/"


@pytest.mark.parametrize("path", ["/staff/", "/staff/applications"])
def test_staff_pages_send_anonymous_visitors_to_login(client: Client, db: Any,
                                                      path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login?next=")


@pytest.mark.parametrize("path", ["/staff/", "/staff/applications"])
def test_staff_pages_refuse_users_outside_the_counter_group(client: Client, joko: User,
                                                            path: str) -> None:
    client.force_login(joko)
    assert client.get(path).status_code == 403


def test_bambang_logs_in_and_sees_his_office(client: Client, bambang: User,
                                             nunukan: Office) -> None:
    bambang.set_password("rahasia-loket")
    bambang.save()
    login = client.post("/staff/login", {"username": "bambang", "password": "rahasia-loket",
                                         "next": "/staff/applications"})
    assert login.status_code == 302
    assert login["Location"] == "/staff/applications"
    page = client.get("/staff/applications")
    assert page.status_code == 200
    assert "NNK" in page.content.decode()
    assert client.get("/staff/").status_code == 200


def test_wrong_password_stays_on_the_login_page(client: Client, bambang: User) -> None:
    response = client.post("/staff/login", {"username": "bambang", "password": "salah"})
    assert response.status_code == 200
    assert "salah" in response.content.decode().lower()
