"""Browser fixtures: real headless Chromium (Debian's) driven by Playwright against the live
server. Siti, an applicant from Nunukan, uses a 360 px phone."""

from __future__ import annotations

import base64
import importlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from immigration.dossier.models import Requirement
from immigration.models import Office
from immigration.signin.second_factor import confirmed_device, pending_device
from tests.conftest import totp_code

# Playwright's sync API runs an asyncio loop in this thread; the ORM calls the tests make
# between browser steps are ordinary synchronous calls, so Django's guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach Google services,
# which a closed network refuses, and it has no usable sandbox when run as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PHONE = {"width": 360, "height": 780}


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """One Playwright driver for the session (its sync API allows one per thread)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                headless=True)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def camera_browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Chromium with its fake camera (a moving test pattern) and camera permission granted, for
    the counter's photo capture."""
    browser = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
              "--use-fake-ui-for-media-stream"])
    yield browser
    browser.close()


@pytest.fixture
def offices(transactional_db: Any) -> list[Office]:
    # The offices may already exist (seeded by a data migration); make sure they do.
    return [
        Office.objects.get_or_create(code=code, defaults={"name": name, "timezone": zone})[0]
        for code, name, zone in [
            ("NNK", "Kantor Imigrasi Kelas II TPI Nunukan", "Asia/Makassar"),
            ("TPK", "Kantor Imigrasi Kelas I Khusus TPI Tanjung Perak", "Asia/Jakarta")]
    ]


@pytest.fixture
def dossier_rules(transactional_db: Any) -> None:
    """The document rules as shipped (a data migration seeds them; transactional tests flush
    every table after each test, so a later test must put them back)."""
    rules = importlib.import_module("immigration.dossier.migrations.0002_seed_requirements").RULES
    for application_type, groups in rules.items():
        for position, kinds in enumerate(groups):
            Requirement.objects.get_or_create(application_type=application_type, kinds=kinds,
                                              defaults={"position": position})


@pytest.fixture
def phone(browser: Browser, live_server: Any, offices: list[Office]) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=PHONE, base_url=live_server.url,
                                  service_workers="allow", locale="id-ID")
    context.set_default_timeout(15000)
    yield context
    context.close()


@pytest.fixture
def page(phone: BrowserContext) -> Page:
    """The app opened once online, its service worker installed and in control."""
    page = phone.new_page()
    page.goto("/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    # The worker claims open pages when it activates, so no reload is needed.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_selector("#office option", state="attached")
    return page


def fill_application(page: Page, applicant: dict[str, Any], *, office: str = "NNK",
                     documents: Callable[[Page], None] | None = None) -> None:
    """Walk the five steps as Siti would (`documents` attaches files on the documents step),
    then press Send."""
    # Not before the form holds its draft: the offices are listed a moment earlier, and a step
    # taken in between was undone (a flaky #nik "not visible").
    page.wait_for_selector("#apply[data-ready]", state="attached")
    page.select_option("#office", office)
    page.click("#next")
    page.fill("#nik", applicant["nik"])
    page.fill("#full_name", applicant["full_name"])
    page.check(f"input[name='applicant.sex'][value='{applicant['sex']}']")
    page.fill("#date_of_birth", applicant["date_of_birth"])
    page.fill("#place_of_birth", applicant["place_of_birth"])
    page.fill("#mother_name", applicant["mother_name"])
    page.click("#next")
    page.fill("#address", applicant["address"])
    page.fill("#phone", applicant["phone"])
    page.fill("#email", applicant.get("email", ""))
    page.click("#next")
    page.wait_for_selector("fieldset[data-step='4']:not([hidden])")
    if documents is not None:
        documents(page)
    page.click("#next")
    page.wait_for_selector("fieldset[data-step='5']:not([hidden])")
    page.check("#consent_version")  # she read the consent text (UU PDP) and agrees
    page.click("#next")


def idb_raw(page: Page) -> str:
    """What IndexedDB holds as stored, without the app's unsealing: every record of every store,
    binary values (ciphertexts, blobs) decoded byte for byte as Latin-1, so a search for clear
    text in them finds it if it is there."""
    return page.evaluate("""async () => {
        const db = await new Promise((resolve, reject) => {
            const r = indexedDB.open("tangguh");
            r.onsuccess = () => resolve(r.result);
            r.onerror = () => reject(r.error);
        });
        const text = async (v) => {
            if (v instanceof Blob) v = await v.arrayBuffer();
            if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
                const bytes = new Uint8Array(v.buffer || v, v.byteOffset || 0, v.byteLength);
                return Array.from(bytes, (b) => String.fromCharCode(b)).join("");
            }
            if (v && typeof v === "object" && !(v instanceof CryptoKey)) {
                const out = {};
                for (const [k, x] of Object.entries(v)) out[k] = await text(x);
                return out;
            }
            return v instanceof CryptoKey ? {type: v.type, extractable: v.extractable} : v;
        };
        const out = {};
        for (const name of db.objectStoreNames) {
            const records = await new Promise((resolve, reject) => {
                const r = db.transaction(name).objectStore(name).getAll();
                r.onsuccess = () => resolve(r.result);
                r.onerror = () => reject(r.error);
            });
            out[name] = await Promise.all(records.map(text));
        }
        db.close();
        return JSON.stringify(out);
    }""")


def idb_dump(page: Page) -> str:
    """Everything the app keeps in IndexedDB, as one JSON string."""
    return page.evaluate("""async () => {
        const o = self.TangguhOutbox;
        return JSON.stringify({drafts: await o.all("drafts"), apps: await o.all("applications")});
    }""")


STAFF_PASSWORD = "rahasia-loket"


def staff_login(page: Page, user: Any) -> None:
    """Log a counter clerk in through the staff login form (the password is set here) and the
    one-time-code page: enrolling on the first sign-in (the code is computed from the key the page
    shows, as an authenticator app would), giving a code from the same device afterwards."""
    user.set_password(STAFF_PASSWORD)
    user.save()
    page.goto("/staff/login")
    page.fill("#id_username", user.username)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#id_otp")
    device = confirmed_device(user)
    if device is None:
        device = pending_device(user)
        shown = page.text_content("#otp-secret") or ""
        assert shown.strip() == base64.b32encode(device.bin_key).decode()
    page.fill("#id_otp", totp_code(device))
    with page.expect_navigation():
        page.click("#otp-form button[type=submit]")
    assert "/staff/otp" not in page.url, "the one-time code was refused"


def wait_until(page: Page, script: str, timeout_s: float = 15) -> Any:
    """Poll an async page function until it answers something truthy, and return the answer.

    `page.wait_for_function` takes an async function's pending promise as a truthy answer at
    once; `page.evaluate` awaits it."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = page.evaluate(script)
        if answer or time.monotonic() > deadline:
            assert answer, f"still falsy after {timeout_s} s: {script}"
            return answer
        page.wait_for_timeout(100)
