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

from immigration.models import Office
from immigration.nik import PROVINCE_CODES
from immigration.signin.second_factor import pending_device
from tests.conftest import totp_code

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


def test_app_shell_is_within_100_kb(client: Client, db: Any) -> None:
    # Exactly what the worker precaches (pages, manifest, CSS, JS, icons) plus the worker itself;
    # the receipt's QR library is fetched on demand and not counted (see ON_DEMAND_STATIC).
    source = client.get("/serviceworker.js").content
    shell = json.loads(re.search(rb"const SHELL = (\[.*?\]);", source).group(1))  # type: ignore[union-attr]
    size = len(source)
    for url in shell:
        if url.startswith("/static/"):
            size += Path(finders.find(url.removeprefix("/static/"))).stat().st_size  # type: ignore[arg-type]
        else:
            size += len(client.get(url).content)
    assert not [url for url in shell if url.endswith("qrcode.mjs")]
    # Measured 78.0 KB + 3.3 KB worker, then 97.3 KB with the dossier's capture (dossier.js; its
    # sender and tus-js-client are on demand) (was 100.1 KB with the QR library and django-pwa's
    # verbose meta tags); with consent, sealed drafts and notifications the office board's
    # script went on demand.
    assert size <= 100_000, size


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
    # The password alone opens nothing: first the one-time code (enrolment on a first sign-in).
    assert client.get("/staff/applications")["Location"] == "/staff/otp?next=/staff/applications"
    enrol = client.get("/staff/otp?next=/staff/applications")
    assert enrol.context["enrol"]
    device = pending_device(bambang)
    otp = client.post("/staff/otp", {"otp": totp_code(device), "next": "/staff/applications"})
    assert otp["Location"] == "/staff/applications"
    page = client.get("/staff/applications")
    assert page.status_code == 200
    assert "NNK" in page.content.decode()
    assert client.get("/staff/").status_code == 200


def test_wrong_password_stays_on_the_login_page(client: Client, bambang: User) -> None:
    response = client.post("/staff/login", {"username": "bambang", "password": "salah"})
    assert response.status_code == 200
    assert "salah" in response.content.decode().lower()


def test_phone_checks_nik_provinces_against_the_servers_list() -> None:
    # validate.js mirrors immigration/nik.py so a typo is caught offline; they must not drift.
    source = Path(finders.find("frontend/js/validate.js")).read_text()  # type: ignore[arg-type]
    listed = re.search(r"const PROVINCES = new Set\(\((.*?)\)\.split", source, re.S)
    assert listed is not None
    codes = set("".join(re.findall(r'"([^"]*)"', listed.group(1))).split())
    assert codes == set(PROVINCE_CODES)
