"""What waits on Siti's phone is sealed (UU PDP): her draft and the photo of her KTP sit in
IndexedDB encrypted under a key the phone made and cannot export, and still reach the office
intact once there is signal. A phone that kept drafts in clear before this has them sealed on
its first load."""

from __future__ import annotations

import base64
import io
import json
import random
import re
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Page, expect

from immigration.dossier.models import DossierFile
from immigration.models import PassportApplication
from tests.conftest import applicant
from tests.frontend.conftest import fill_application, idb_raw

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("dossier_rules")]

PERSONAL = ("nik", "full_name", "mother_name", "address", "phone", "email", "place_of_birth")


def small_jpeg(seed: int) -> bytes:
    rng = random.Random(seed)
    pixels = bytes(rng.getrandbits(8) for _ in range(320 * 240 * 3))
    out = io.BytesIO()
    Image.frombytes("RGB", (320, 240), pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def clear_leaks(raw: str, person: dict[str, Any]) -> list[str]:
    return [field for field in PERSONAL if person.get(field) and person[field] in raw]


def test_draft_and_document_are_sealed_on_the_phone_and_still_reach_the_office(
        page: Page, phone: BrowserContext) -> None:
    siti = applicant(sex="F", full_name="Siti Aminah")
    phone.set_offline(True)
    page.reload()

    def attach(p: Page) -> None:
        p.set_input_files("#documents [data-group='ktp'] input[data-source=gallery]",
                          files=[{"name": "ktp.jpg", "mimeType": "image/jpeg",
                                  "buffer": small_jpeg(1)}])
        expect(p.locator("#documents [data-group='ktp']")).to_have_attribute("data-state", "kept")

    fill_application(page, siti, documents=attach)
    expect(page.locator("#waiting")).to_have_text("Menunggu dikirim")

    raw = idb_raw(page)
    stored = json.loads(raw)
    assert len(stored["drafts"]) == 1 and len(stored["files"]) == 1
    assert clear_leaks(raw, siti) == []
    draft = stored["drafts"][0]
    assert set(draft) == {"key", "sealed", "iv", "data"}  # only the random key stays clear
    # The document's bytes, as the app reads them back, appear nowhere in what is stored.
    photo = base64.b64decode(page.evaluate("""async () => {
        const [f] = await self.TangguhOutbox.all("files");
        const bytes = new Uint8Array(await f.blob.arrayBuffer());
        return btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
    }"""))
    assert photo[:3] == b"\xff\xd8\xff" and len(photo) > 1000
    window = photo[len(photo) // 2:len(photo) // 2 + 48].decode("latin-1")
    assert window not in raw and "JFIF" not in raw
    # The key: a secret AES key the page can use but not export.
    assert stored["keys"] == [{"id": "device", "key": {"type": "secret", "extractable": False}}]
    refused = page.evaluate("""async () => {
        const db = await self.TangguhOutbox.open();
        const record = await new Promise((ok) => {
            const r = db.transaction("keys").objectStore("keys").get("device");
            r.onsuccess = () => ok(r.result);
        });
        try { await crypto.subtle.exportKey("raw", record.key); return false; }
        catch (e) { return e.name; }
    }""")
    assert refused == "InvalidAccessError"

    # Offline reload: the sealed draft is read back and shown; then signal, and it is sent.
    page.reload()
    expect(page.locator("#on-phone li.waiting")).to_contain_text("Siti Aminah")
    phone.set_offline(False)
    page.goto("/mine")
    expect(page.locator(".app .ref")).to_have_text(re.compile(r"^NNK-"))
    application = PassportApplication.objects.get()
    assert (application.nik, application.full_name, application.mother_name) == (
        siti["nik"], siti["full_name"], siti["mother_name"])
    # Acknowledged: the document goes up (dossier-send.js), read from its sealed record.
    page.goto(f"/receipt#{application.reference}")
    expect(page.locator("#docs [data-group='ktp']")).to_have_attribute(
        "data-state", re.compile("stored|received"), timeout=30000)
    assert DossierFile.objects.get(application=application).kind == "ktp"


def test_drafts_kept_in_clear_by_the_old_app_are_sealed_on_first_load(
        phone: BrowserContext) -> None:
    page = phone.new_page()
    # A same-origin page that runs none of the app's scripts: there, write IndexedDB as the app
    # before sealing did (version 2, clear records).
    page.goto("/api/v1/statuses")
    dewi = applicant(sex="F", full_name="Dewi Lestari")
    body = {"office": "NNK", "service": "regular", "passport_type": "electronic",
            "application_type": "new", "applicant": dewi}
    page.evaluate("""async (body) => {
        const db = await new Promise((ok, fail) => {
            const r = indexedDB.open("tangguh", 2);
            r.onupgradeneeded = () => {
                r.result.createObjectStore("drafts", { keyPath: "key" });
                r.result.createObjectStore("applications", { keyPath: "reference" });
                r.result.createObjectStore("files", { keyPath: "id" });
            };
            r.onsuccess = () => ok(r.result);
            r.onerror = () => fail(r.error);
        });
        await new Promise((ok) => {
            const t = db.transaction("drafts", "readwrite");
            t.objectStore("drafts").put({ key: "0b8f8a52-8f43-4c36-9d64-0d6f3a7c2f10",
                state: "editing", body, created_at: new Date().toISOString() });
            t.oncomplete = ok;
        });
        db.close();
    }""", body)
    assert dewi["full_name"] in idb_raw(page)  # the old app's way: in clear

    page.goto("/")
    # Her draft is still hers: the form opens on it.
    expect(page.locator("#full_name")).to_have_value("Dewi Lestari")
    for _ in range(50):  # sealed in place once the page has its key (a few milliseconds)
        if json.loads(idb_raw(page))["drafts"][0].get("sealed") == 1:
            break
        page.wait_for_timeout(100)
    assert clear_leaks(idb_raw(page), dewi) == []
