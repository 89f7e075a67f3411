"""Siti photographs her KTP and KK in Nunukan with no signal. The phone shrinks and strips the
pictures and keeps them with the draft; once the office has acknowledged the application they go
up with tus. The link drops mid-upload, she closes the app, reopens it later, and the upload
resumes from the office's offset. The office ends with exactly the bytes the phone prepared."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import re
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, expect

from immigration.dossier.content import inspect, write_clean
from immigration.dossier.models import DossierFile
from immigration.dossier.storage import open_chunks
from immigration.models import PassportApplication
from tests.conftest import applicant
from tests.frontend.conftest import PHONE, fill_application

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("dossier_rules")]

GPS = 0x8825


def camera_jpeg(seed: int) -> bytes:
    """A 2400x1800 phone photo of noise (so it stays large once re-encoded) with GPS in EXIF."""
    rng = random.Random(seed)
    pixels = bytes(rng.getrandbits(8) for _ in range(600 * 450 * 3))
    image = Image.frombytes("RGB", (600, 450), pixels).resize((2400, 1800), Image.NEAREST)
    exif = Image.Exif()
    exif[GPS] = {1: "S", 2: (4.0, 8.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def phone_files(page: Page) -> list[dict[str, Any]]:
    """What the phone keeps: kind, state, its SHA-256 and (while held) the bytes, base64."""
    return page.evaluate(READ_FILES)  # type: ignore[no-any-return]


READ_FILES = """async () => Promise.all((await self.TangguhOutbox.all("files")).map(
    async (f) => ({kind: f.kind, state: f.state, sha256: f.sha256, size: f.size,
        data: f.blob ? await new Promise((ok) => { const r = new FileReader();
            r.onload = () => ok(r.result.split(",")[1]); r.readAsDataURL(f.blob); }) : null})))"""


def test_documents_taken_offline_arrive_byte_identical_after_a_cut_and_a_restart(
        page: Page, phone: BrowserContext) -> None:
    siti = applicant(sex="F", full_name="Siti Aminah")
    phone.set_offline(True)
    page.reload()

    def attach(p: Page) -> None:
        for kind, seed in (("ktp", 1), ("kk", 2)):
            p.set_input_files(f"#documents [data-group='{kind}'] input[data-source=gallery]",
                              files=[{"name": f"{kind}.jpg", "mimeType": "image/jpeg",
                                      "buffer": camera_jpeg(seed)}])
            expect(p.locator(f"#documents [data-group='{kind}']")).to_have_attribute(
                "data-state", "kept")

    fill_application(page, siti, documents=attach)
    expect(page.locator("#waiting")).to_be_visible()

    kept = {f["kind"]: f for f in phone_files(page)}
    assert set(kept) == {"ktp", "kk"}
    for f in kept.values():
        data = base64.b64decode(f["data"])
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
        with Image.open(io.BytesIO(data)) as image:
            assert max(image.size) == 1600 and image.format == "JPEG"
            assert GPS not in image.getexif()  # the canvas kept no EXIF at all
        assert f["size"] > 4 * 128 * 1024, "big enough to need several tus chunks"

    # The link dies after two chunks: every later PATCH is cut until the phone is back.
    patches: list[str] = []
    cut = {"on": True}

    def flaky(route: Route, request: Request) -> None:
        if request.method == "PATCH":
            patches.append(request.headers.get("upload-offset", ""))
            if cut["on"] and len(patches) > 2:
                route.abort("connectionreset")
                return
        route.continue_()

    phone.route("**/api/v1/uploads/**", flaky)
    phone.set_offline(False)
    expect(page.locator("#outcome #reference")).to_have_text(re.compile(r"^NNK-"))
    reference = page.locator("#outcome #reference").text_content()
    page.wait_for_function(
        "() => document.querySelector('#sent-docs [data-state=waiting]') !== null", timeout=30000)
    application = PassportApplication.objects.get(reference=reference)
    assert not DossierFile.objects.filter(application=application).exists()

    # She closes the app with no signal and opens it again later: the files are still there,
    # half sent, and resume from what the office holds (never from zero).
    phone.set_offline(True)
    page.close()
    page = phone.new_page()
    page.goto(f"/receipt#{reference}")
    expect(page.locator("#docs [data-group='ktp']")).to_be_visible()
    cut["on"] = False
    resumed: list[str] = []
    page.on("request", lambda r: r.method == "PATCH" and resumed.append(
        r.headers.get("upload-offset", "")))
    phone.set_offline(False)
    for kind in ("ktp", "kk"):
        expect(page.locator(f"#docs [data-group='{kind}']")).to_have_attribute(
            "data-state", re.compile("stored|received"), timeout=60000)
    assert int(resumed[0]) > 0, "the cut upload resumed from the office's offset"

    stored = {f.kind: f for f in DossierFile.objects.filter(application=application)}
    assert set(stored) == {"ktp", "kk"}
    for kind, f in kept.items():
        sent = base64.b64decode(f["data"])
        # The office verified the phone's SHA-256 of what arrived, then stored it stripped:
        # exactly its own clean re-encoding of the phone's bytes.
        expected = io.BytesIO()
        write_clean(inspect(io.BytesIO(sent), size=len(sent), kind=kind), expected)
        held = b"".join(open_chunks(stored[kind]))
        assert held == expected.getvalue()
        assert hashlib.sha256(held).hexdigest() == stored[kind].sha256
    # The pictures have left the phone; only a note that the office holds them stays.
    assert {(f["kind"], f["state"], f["data"]) for f in phone_files(page)} == {
        ("ktp", "stored", None), ("kk", "stored", None)}
    expect(page.locator("#dossier-status .missing")).to_contain_text("Akta kelahiran")


def test_on_plain_http_without_webcrypto_the_phone_still_hashes_and_sends(
        browser: Browser, live_server: Any, offices: Any) -> None:
    # An office LAN served over http is not a secure context: no crypto.subtle, in the pages and
    # in the service worker alike. Init scripts reach only pages, so the worker is blocked here
    # (with WebCrypto it would seal what the page keeps in clear; see outbox.js). The vendored
    # js-sha256 hashes then, and the office (which checks the hash) accepts the file.
    phone = browser.new_context(viewport=PHONE, base_url=live_server.url, locale="id-ID",
                                service_workers="block")
    phone.set_default_timeout(15000)
    phone.add_init_script(
        "Object.defineProperty(Crypto.prototype, 'subtle', {get: () => undefined})")
    page = phone.new_page()
    page.goto("/")
    page.wait_for_selector("#office option", state="attached")
    assert page.evaluate("crypto.subtle === undefined")

    def attach(p: Page) -> None:
        p.set_input_files("#documents [data-group='ktp'] input[data-source=gallery]",
                          files=[{"name": "ktp.jpg", "mimeType": "image/jpeg",
                                  "buffer": camera_jpeg(3)}])
        expect(p.locator("#documents [data-group='ktp']")).to_have_attribute("data-state", "kept")

    fill_application(page, applicant(), documents=attach)
    expect(page.locator("#sent-docs [data-group='ktp']")).to_have_attribute(
        "data-state", "stored", timeout=60000)
    assert DossierFile.objects.filter(kind="ktp").count() == 1
    phone.close()
