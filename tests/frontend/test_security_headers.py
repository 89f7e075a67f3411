"""Headers every page and response must carry: a Content-Security-Policy with no inline code
(and pages that need none), HSTS and the proxy's HTTPS header when configured, and `no-store`
on anything that may carry personal data."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.frontend.conftest import CHROMIUM, CHROMIUM_ARGS, staff_login

APPLICANT_PAGES = ["/", "/mine", "/track", "/receipt", "/board"]
STAFF_PAGES = ["/staff/", "/staff/applications", "/staff/counter", "/staff/desk",
               "/staff/walk-in", "/staff/office", "/staff/board/NNK", "/staff/regional",
               "/display/NNK"]
ADMIN_PAGES = ["/admin/", "/admin/immigration/passportapplication/", "/admin/auth/user/"]
OTHER_PAGES = ["/staff/login", "/api/docs/"]


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline <script>, on*= handlers, style=."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for name, _ in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}=...>")
        # A JSON data block is not executed, so the CSP does not apply to it.
        self._in_script = tag == "script" and "src" not in names and \
            names.get("type") != "application/json"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"<script>{data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def _directives(header: str) -> dict[str, list[str]]:
    parts = (d.strip().split() for d in header.split(";") if d.strip())
    return {p[0]: p[1:] for p in parts}


@pytest.fixture
def superuser(db: Any) -> User:
    return User.objects.create_superuser("admin", password="not-used-here-123")


def _pages(client: Client, bambang: User, superuser: User) -> list[tuple[str, Any]]:
    pages = [(p, client.get(p)) for p in [*APPLICANT_PAGES, *OTHER_PAGES]]
    client.force_login(bambang)
    pages += [(p, client.get(p)) for p in STAFF_PAGES]
    client.force_login(superuser)
    pages += [(p, client.get(p)) for p in ADMIN_PAGES]
    return pages


def test_every_page_has_a_strict_csp_and_no_inline_code(client, bambang, superuser):
    for path, response in _pages(client, bambang, superuser):
        assert response.status_code == 200, path
        policy = _directives(response["Content-Security-Policy"])
        for directive in ("script-src", "style-src"):
            assert policy[directive] == ["'self'"], (path, directive)
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        parser = InlineCode()
        parser.feed(response.content.decode())
        if path.startswith("/admin/"):
            # Django's admin templates are not ours: what they inline is blocked by the policy
            # (checked in Chromium below) and they work without it.
            continue
        assert parser.found == [], (path, parser.found)


def test_personal_data_responses_are_never_stored(client, bambang, bambang_api, submit):
    reference = submit().json()["reference"]
    staff_list = bambang_api.get("/api/v1/applications")
    assert staff_list.status_code == 200 and staff_list.json()["count"] == 1
    client.force_login(bambang)
    for response in (staff_list, bambang_api.get(f"/api/v1/applications/{reference}"),
                     client.get("/staff/applications"),
                     client.get(f"/staff/applications/{reference}/dossier")):
        assert response["Cache-Control"] == "no-store"
    # The applicant's shell holds nothing personal: cacheable, revalidated.
    assert client.get("/track")["Cache-Control"] == "no-cache"


def test_hsts_and_proxy_https_header_are_configured_from_the_environment():
    env = {**os.environ, "SECURE_HSTS_SECONDS": "31536000", "TRUST_X_FORWARDED_PROTO": "1",
           "SECURE_SSL_REDIRECT": "1"}
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings "
         "as s; print(s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT)"],
        env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert out == "31536000 ('HTTP_X_FORWARDED_PROTO', 'https') True"
    default = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings "
         "as s; print(s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER)"],
        env={k: v for k, v in os.environ.items()
             if k not in {"SECURE_HSTS_SECONDS", "TRUST_X_FORWARDED_PROTO"}},
        capture_output=True, text=True, check=True).stdout.strip()
    assert default == "0 None"  # a client's X-Forwarded-Proto is not trusted by default


def test_behind_the_proxy_https_requests_get_hsts(client, db, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert "Strict-Transport-Security" not in client.get("/track")
    response = client.get("/track", headers={"X-Forwarded-Proto": "https"})
    assert response["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.browser
def test_chromium_reports_no_policy_violation_on_our_pages(live_server, browser, bambang,
                                                           nunukan):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and blocked.append(
        f"{page.url}: {m.text[:160]}"))
    for path in [*APPLICANT_PAGES, "/api/docs/"]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    staff_login(page, bambang)
    for path in STAFF_PAGES:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert page.locator("#swagger-ui").count() == 0  # the last page is a staff page
    context.close()
    assert blocked == []
    assert CHROMIUM and CHROMIUM_ARGS  # the browser fixture launched Debian's Chromium
