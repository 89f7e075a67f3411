"""A counter's day in Chromium, through the counter pages only: Siti books from her phone,
Bambang (NNK clerk) checks her in by scanning her receipt's QR, the waiting-room display calls
her number, and so on to pickup. The counter browser runs with a fake camera (it shows a test
pattern, not a QR), so the QR path is tested by handing the page a picture of her receipt's QR."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, BrowserContext, Page, expect

from immigration import consent
from immigration.models import Office, PassportApplication
from tests.conftest import application_payload, client_for
from tests.frontend.conftest import CHROMIUM, CHROMIUM_ARGS, staff_login

pytestmark = pytest.mark.browser

COUNTER_SCREEN = {"width": 1366, "height": 768}
# Siti is 36: the regular lane (60 and over would be priority).
SITI = {"sex": "F", "full_name": "Siti Aminah", "date_of_birth": "1990-05-12"}


@pytest.fixture(scope="module")
def camera_browser(browser: Browser) -> Iterator[Browser]:
    """Chromium with a fake camera that needs no permission prompt (the counter's webcam),
    launched by the session's Playwright (one sync Playwright per process)."""
    camera = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
              "--use-fake-ui-for-media-stream"])
    yield camera
    camera.close()


@pytest.fixture
def counter_screen(camera_browser: Browser, live_server: Any,
                   offices: list[Office]) -> Any:
    context = camera_browser.new_context(viewport=COUNTER_SCREEN, base_url=live_server.url,
                                         locale="id-ID", permissions=["camera"])
    context.set_default_timeout(15000)
    yield context
    context.close()


@pytest.fixture
def tv(camera_browser: Browser, live_server: Any, offices: list[Office]) -> Any:
    context = camera_browser.new_context(viewport={"width": 1280, "height": 720},
                                         base_url=live_server.url, locale="id-ID")
    context.set_default_timeout(15000)
    yield context
    context.close()


def qr_picture(page: Page, text: str) -> bytes:
    """A picture of the receipt's QR, drawn by the same vendored generator the receipt uses."""
    data_url = page.evaluate("""async (text) => {
        const { default: qrcode } = await import("/static/frontend/vendor/qrcode.mjs");
        const qr = qrcode(0, "M"); qr.addData(text); qr.make();
        const svg = qr.createSvgTag({ cellSize: 6, margin: 24 });
        const img = new Image();
        img.src = "data:image/svg+xml;base64," + btoa(svg);
        await img.decode();
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        const ctx = canvas.getContext("2d");
        ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(img, 0, 0);
        return canvas.toDataURL("image/png");
    }""", text)
    return base64.b64decode(data_url.split(",", 1)[1])


def staff_submit(user: User, **overrides: Any) -> dict[str, Any]:
    response = client_for(user).post("/api/v1/walk-ins", {
        k: v for k, v in application_payload(**overrides).items() if k != "office"},
        format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201, response.content
    return response.json()


def test_check_in_by_qr_and_by_typing_then_the_display_calls_the_numbers(
        counter_screen: BrowserContext, tv: BrowserContext, bambang: User) -> None:
    siti = staff_submit(bambang, applicant=SITI)
    budi = staff_submit(bambang, applicant={"sex": "M", "full_name": "Budi Santoso"})

    display = tv.new_page()
    display.goto("/display/NNK")
    expect(display.locator("#now-number")).to_have_text("\u2013")  # a dash: nobody called yet

    page = counter_screen.new_page()
    staff_login(page, bambang)
    page.goto("/staff/counter")
    expect(page.locator("h1")).to_have_text("Loket")

    # The fake camera starts and is read frame after frame (a test pattern: no code found).
    page.click("#scan-start")
    expect(page.locator("#scan-status")).to_have_attribute("data-state", "scanning")
    page.wait_for_function("() => +document.getElementById('scan-canvas').dataset.frames > 2")
    reader = page.locator("#scan-status").get_attribute("data-reader")
    assert reader in {"native", "jsqr"}
    page.click("#scan-stop")

    # Siti shows her receipt's QR: a picture of it is read and she gets A-001.
    page.set_input_files("#scan-file", {"name": "qr.png", "mimeType": "image/png",
                                        "buffer": qr_picture(page, siti["reference"])})
    expect(page.locator("#ticket-number")).to_have_text("A-001")
    expect(page.locator("#ticket")).to_contain_text(siti["reference"])

    # Budi's receipt is typed, lower case and with spaces, as a clerk might.
    page.fill("#checkin-reference", "NNK-0000-0000")
    page.click("#checkin button[type=submit]")
    expect(page.locator("#checkin [data-form-err]")).not_to_be_empty()  # no such application
    page.fill("#checkin-reference", " " + budi["reference"].lower().replace("-", " - ") + " ")
    page.click("#checkin button[type=submit]")
    expect(page.locator("#ticket-number")).to_have_text("A-002")
    # Checking in twice keeps the number.
    page.fill("#checkin-reference", siti["reference"])
    page.click("#checkin button[type=submit]")
    expect(page.locator("#ticket-number")).to_have_text("A-001")
    expect(page.locator("#ticket")).to_contain_text("nomornya tetap")

    # Counter 3 calls: Siti first; the display shows her number and the counter, not her name.
    page.fill("#counter-name", "3")
    page.click("#call-next")
    expect(page.locator("#serving-number")).to_have_text("A-001")
    expect(display.locator("#now-number")).to_have_text("A-001")
    expect(display.locator("#now-counter")).to_have_text("3")
    expect(display.locator("#display")).to_have_attribute(
        "data-last-spoken", "Nomor antrean A 1, silakan ke loket 3.")
    assert "Siti" not in display.content() and siti["reference"] not in display.content()

    page.click("#serving button[data-act=done]")
    expect(page.locator("#serving")).to_contain_text("Selesai")
    page.click("#call-next")
    expect(page.locator("#serving-number")).to_have_text("A-002")
    expect(display.locator("#now-number")).to_have_text("A-002")
    expect(display.locator("#recent")).to_contain_text("A-001")
    page.click("#serving button[data-act=done]")
    page.click("#call-next")
    expect(page.locator("#staff-msg")).to_have_text("Tidak ada yang menunggu.")
    # The counter's name is the desk's: remembered; nothing personal is kept in the browser.
    stored = page.evaluate("JSON.stringify(localStorage)")
    assert re.search(r"counter-name", stored) and "Siti" not in stored
    assert PassportApplication.objects.filter(tickets__isnull=False).distinct().count() == 2


@pytest.fixture
def wati(nunukan: Office) -> User:
    """Wati, NNK counter supervisor (group `supervisor`): the second pair of eyes."""
    from django.contrib.auth.models import Group

    from immigration.models import StaffMembership

    user = User.objects.create_user(username="wati", password="not-used")
    for name in ("counter", "supervisor"):
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    StaffMembership.objects.create(user=user, office=nunukan)
    return user


@pytest.fixture
def billing_wired(wired: Any, settings: Any) -> Any:
    """Billing is the simulator's second upstream (same process, its own knobs)."""
    from services.simulator.billing import BillingControl

    settings.BILLING_URL = f"{wired.base_url}/billing"
    settings.BILLING_SECRET = wired.secret
    settings.BILLING_TIMEOUT = 2.0
    _close_billing_client()
    control = BillingControl(wired.base_url)
    control.reset()
    yield control
    control.configure(mode="up")
    control.close()
    _close_billing_client()


def _close_billing_client() -> None:
    from immigration.counter.billing import billing_client

    if billing_client.cache_info().currsize:
        billing_client().close()
    billing_client.cache_clear()


def desk_section(page: Page, name: str) -> Any:
    return page.locator(f"#{name}")


def test_a_whole_counter_day_through_a_central_and_billing_outage(
        page: Page, counter_screen: BrowserContext, tv: BrowserContext, wired: Any,
        billing_wired: Any, bambang: User, wati: User) -> None:
    from immigration.counter.models import CounterSettings
    from queueing import deliver
    from tests.conftest import applicant
    from tests.fixtures.central import wait_until
    from tests.fixtures.dossier import complete_dossier

    nnk = CounterSettings.for_office("NNK")
    nnk.requires_signoff = True  # this office wants a second pair of eyes
    nnk.save()
    wired.control.configure(mode="down")  # central printing is dark all morning
    billing_wired.configure(mode="down")  # and so is billing

    # Siti books a slot from her phone (the first free one the calendar offers).
    reference, date, slot = book_on_phone(page, applicant(**SITI))
    nik = PassportApplication.objects.get(reference=reference).applicant_data()["nik"]
    day = {"date": date}

    display = tv.new_page()
    display.goto("/display/NNK")

    # Bambang checks her in by scanning the receipt's QR and calls her to counter 2.
    page = counter_screen.new_page()  # from here on, `page` is the counter's screen
    staff_login(page, bambang)
    page.goto("/staff/counter")
    page.set_input_files("#scan-file", {"name": "qr.png", "mimeType": "image/png",
                                        "buffer": qr_picture(page, reference)})
    expect(page.locator("#ticket-number")).to_have_text("A-001")
    expect(page.locator("#ticket")).to_contain_text(f"Jadwal: {day['date']} {slot}")
    page.fill("#counter-name", "2")
    page.click("#call-next")
    expect(display.locator("#now-number")).to_have_text("A-001")
    expect(display.locator("#now-counter")).to_have_text("2")

    # At the desk: documents (checked through the dossier's own domain functions), the
    # interview, then the fee paid in cash with a manual receipt number (billing is down).
    complete_dossier(PassportApplication.objects.get(reference=reference), bambang)
    page.click(f"#serving a:has-text('{reference}')")
    expect(page.locator("#summary-ref")).to_have_text(reference)
    expect(page.locator("#summary-name")).to_have_text("Siti Aminah")
    expect(page.locator("#blockers li[data-code=interview_missing]")).to_be_visible()
    page.click("#approve button[type=submit]")  # refused: the blockers are read out
    expect(page.locator("#approve [data-form-err]")).not_to_be_empty()

    page.fill("#interview-note", "Siti akan berkunjung ke keluarga di Tawau; dokumen lengkap.")
    page.click("#interview button[type=submit]")
    expect(page.locator("#interview-originals-err")).not_to_be_empty()
    page.check("#interview-originals")
    page.click("#interview button[type=submit]")
    expect(page.locator("#interview-last")).to_contain_text("bambang")

    expect(page.locator("#fee-total")).to_contain_text("650.000")
    page.check("#payment input[name=proof][value=receipt_no]")
    page.fill("#pay-receipt", "NNK/2026/000123")
    page.click("#payment button[type=submit]")
    expect(page.locator("#paid")).to_contain_text("NNK/2026/000123")
    expect(page.locator("#billing-state")).to_have_attribute("data-state", "pending")
    expect(page.locator("#blockers li[data-code=signoff_missing]")).to_be_visible()
    expect(page.locator("#signoff form")).to_have_count(0)  # Bambang is no supervisor

    # Wati, supervisor, signs off from her own browser, then approves: central is still down.
    boss = counter_screen.browser.new_context(viewport=COUNTER_SCREEN,
                                              base_url=page.url.split("/staff")[0])
    wpage = boss.new_page()
    staff_login(wpage, wati)
    wpage.goto(f"/staff/desk#{reference}")
    wpage.click("#signoff button[type=submit]")
    expect(wpage.locator("#signoffs")).to_contain_text("wati")
    wpage.click("#approve button[type=submit]")
    expect(wpage.locator("#summary-status")).to_have_attribute("data-status",
                                                               "queued_for_printing")
    boss.close()

    # Central and billing come back; the outbox delivers the print job and the payment.
    wired.control.configure(mode="up")
    billing_wired.configure(mode="up")
    wait_until(lambda: deliver.drain(budget_seconds=5) is not None and
               PassportApplication.objects.get(reference=reference).status != "queued_for_printing",
               timeout=30)
    for _ in range(3):
        wired.control.advance()
    wait_until(lambda: PassportApplication.objects.get(reference=reference).status
               == "ready_for_pickup", timeout=20)
    wait_until(lambda: deliver.drain(budget_seconds=5) is not None and
               billing_wired.stats().get("payments", 0) >= 1, timeout=30)

    # Pickup: a new number for pickup, the receipt scanned at the desk, the NIK typed from the
    # KTP (a wrong one is refused and nothing recorded), handed to Siti herself.
    page.goto("/staff/counter")  # counter 2 is still serving her verification: done
    expect(page.locator("#serving-number")).to_have_text("A-001")
    page.click("#serving button[data-act=done]")
    expect(page.locator("#serving")).to_contain_text("Selesai")
    page.fill("#checkin-reference", reference)
    page.click("#checkin button[type=submit]")
    expect(page.locator("#ticket")).to_contain_text("Pengambilan paspor")
    page.goto("/staff/desk")
    page.set_input_files("#scan-file", {"name": "qr.png", "mimeType": "image/png",
                                        "buffer": qr_picture(page, reference)})
    expect(page.locator("#pickup-qr")).to_have_class("ok")
    expect(page.locator("#billing-state")).to_have_attribute("data-state", "recorded")
    wrong = ("1" if nik[-1] != "1" else "2")
    page.fill("#pickup-nik", nik[:-1] + wrong)
    page.click("#pickup button[type=submit]")
    expect(page.locator("#pickup [data-form-err]")).not_to_be_empty()
    expect(page.locator("#pickup-nik")).to_have_value("")
    page.fill("#pickup-nik", nik)
    page.click("#pickup button[type=submit]")
    expect(page.locator("#handover")).to_contain_text("bambang")
    assert PassportApplication.objects.get(reference=reference).status == "collected"
    assert wired.control.stats()["print_counts"] == {f"{reference}:v1": 1}

    # The day's cash adds up, and its CSV names no one.
    page.goto("/staff/office")
    expect(page.locator("#cash-total")).to_contain_text("650.000")
    href = page.locator("#cash-csv").get_attribute("href")
    assert href and "format=csv" in href
    csv = page.request.get(href)  # the clerk's session, as the link's download would use
    assert csv.headers["content-disposition"].startswith('attachment; filename="kas-NNK-')
    csv_text = csv.text()
    assert reference in csv_text and "650000" in csv_text and "Siti" not in csv_text


def test_walk_in_receipt_is_shown_once_and_the_counter_browser_keeps_nothing(
        counter_screen: BrowserContext, bambang: User) -> None:
    page = counter_screen.new_page()
    staff_login(page, bambang)
    page.goto("/staff/walk-in")
    person = {"nik": "6504014507850003", "full_name": "Halimah", "date_of_birth": "1985-07-05",
              "sex": "F", "place_of_birth": "Sebatik", "mother_name": "Aisyah",
              "address": "Jl. Tanjung No. 2, Sebatik", "phone": "0813-1111-2222"}
    for name, value in person.items():
        if name == "sex":
            page.select_option("#w-sex", value)
        else:
            page.fill(f"#w-{name}", value)
    page.fill("#w-nik", "6504014507850000")  # a typo: the same rule as the PWA catches it
    page.click("#walkin button[type=submit]")
    expect(page.locator("#w-nik-err")).not_to_be_empty()
    # No record that she agreed to the consent text (UU PDP): not registered.
    expect(page.locator("#w-consent_version-err")).not_to_be_empty()
    page.fill("#w-nik", person["nik"])
    page.check("#w-consent_version")  # the clerk read it to her and she agreed
    page.click("#walkin button[type=submit]")
    expect(page.locator("#walkin-reference")).to_have_text(re.compile(r"^NNK-"))
    code = page.locator("#walkin-code").inner_text()
    reference = page.locator("#walkin-reference").inner_text()
    assert PassportApplication.objects.get(reference=reference).consent_version == \
        consent.CURRENT.version
    expect(page.locator("#walkin-ticket")).to_have_text("A-001")
    expect(page.locator("#w-full_name")).to_have_value("")  # the form is emptied at once
    assert PassportApplication.objects.get(reference=reference).events.first().user == bambang

    page.click("#walkin-done")
    expect(page.locator("#handout")).to_be_hidden()
    assert code not in page.content()
    kept = page.evaluate("""async () => JSON.stringify({
        local: {...localStorage}, session: {...sessionStorage},
        idb: indexedDB.databases ? await indexedDB.databases() : [],
        caches: await Promise.all((await caches.keys()).map(async (n) =>
            (await (await caches.open(n)).keys()).map((r) => r.url))),
    })""")
    assert code not in kept and "Halimah" not in kept and person["nik"] not in kept
    assert "/api/" not in kept and "walk-in" not in kept
    response = page.request.get("/staff/walk-in")
    assert response.headers["cache-control"] == "no-store"


def test_slot_calendar_editor_and_closed_days(counter_screen: BrowserContext,
                                              bambang: User) -> None:
    calendar = client_for(None).get("/api/v1/offices/NNK/slots").json()
    day = next(d for d in calendar["days"] if not d["closed"])["date"]
    page = counter_screen.new_page()
    staff_login(page, bambang)
    page.goto("/staff/office")
    page.fill("#slot-date", day)
    page.click("#slot-day button[type=submit]")
    # The page opens on today's table; edits go to the day whose table is shown.
    expect(page.locator("#day-state")).to_have_attribute("data-date", day)
    first = page.locator("input[data-lane=regular]").first
    slot = first.get_attribute("data-slot")
    first.fill("1")
    first.dispatch_event("change")
    expect(page.locator("#staff-msg")).to_contain_text(f"{slot}")
    free = client_for(None).get(f"/api/v1/offices/NNK/slots?from={day}&days=1").json()
    assert next(s for s in free["days"][0]["slots"] if s["slot"] == slot)["capacity"] == 1

    page.fill("#close-note", "Cuti bersama")
    page.click("#close-day button[type=submit]")
    expect(page.locator("#day-state")).to_have_attribute("data-closed", "1")
    free = client_for(None).get(f"/api/v1/offices/NNK/slots?from={day}&days=1").json()
    assert free["days"][0]["closed"] is True
    page.click("#reopen")
    expect(page.locator("#day-state")).to_have_attribute("data-closed", "")


def book_on_phone(page: Page, person: dict[str, Any]) -> tuple[str, str, str]:
    """Siti applies from her phone and picks the first free slot; (reference, date, slot)."""
    page.select_option("#office", "NNK")
    first = page.locator("#slot-days .slot:not(.full) input").first
    expect(first).to_be_visible()
    date, slot = first.get_attribute("value").split(" ")  # type: ignore[union-attr]
    first.check()
    expect(page.locator("#slot-chosen")).to_contain_text(slot)
    page.click("#next")
    page.fill("#nik", person["nik"])
    page.fill("#full_name", person["full_name"])
    page.check(f"input[name='applicant.sex'][value='{person['sex']}']")
    page.fill("#date_of_birth", person["date_of_birth"])
    page.fill("#place_of_birth", person["place_of_birth"])
    page.fill("#mother_name", person["mother_name"])
    page.click("#next")
    page.fill("#address", person["address"])
    page.fill("#phone", person["phone"])
    page.click("#next")
    page.wait_for_selector("fieldset[data-step='4']:not([hidden])")  # documents: later
    page.click("#next")
    page.wait_for_selector("fieldset[data-step='5']:not([hidden])")
    expect(page.locator("#review")).not_to_contain_text("{")  # the slot is not shown as JSON
    page.check("#consent_version")
    page.click("#next")
    expect(page.locator("#outcome #reference")).to_have_text(re.compile(r"^NNK-"))
    return page.locator("#outcome #reference").inner_text(), date, slot


def test_siti_picks_a_slot_on_her_phone_sees_the_calendar_offline_and_reschedules(
        page: Page, phone: BrowserContext) -> None:
    from immigration.counter.models import Appointment
    from tests.conftest import applicant

    reference, date, slot = book_on_phone(page, applicant(**SITI))
    booked = Appointment.objects.get(application__reference=reference)
    assert (booked.slot.date.isoformat(), booked.slot.label) == (date, slot)

    # Offline, the apply page still shows the last calendar it saw, and says how old it is.
    phone.set_offline(True)
    page.goto("/")
    expect(page.locator("#slot-state")).to_have_attribute("data-stale", "1")
    expect(page.locator("#slot-state")).to_contain_text("Luring")
    expect(page.locator("#slot-days .slot").first).to_be_visible()
    phone.set_offline(False)

    # On "My applications" she moves her appointment to another hour, then cancels.
    page.goto("/mine")
    card = page.locator(f"#appointments [data-reference='{reference}']")
    expect(card.locator(".appt-when")).to_contain_text(slot)
    card.locator("button[data-act=change]").click()
    other = card.locator(f".appt-pick input:not([value='{date} {slot}'])").first
    new_date, new_slot = other.get_attribute("value").split(" ")  # type: ignore[union-attr]
    other.check()
    card.locator("button[data-act=save]").click()
    expect(page.locator("#appt-msg")).to_contain_text(new_slot)
    booked = Appointment.objects.get(application__reference=reference)
    assert (booked.slot.date.isoformat(), booked.slot.label) == (new_date, new_slot)
    page.once("dialog", lambda dialog: dialog.accept())
    card.locator("button[data-act=cancel]").click()
    expect(page.locator("#appt-msg")).to_contain_text("dibatalkan")
    assert PassportApplication.objects.get(reference=reference).status == "cancelled"


def test_clerk_moves_an_appointment_with_a_reason_and_cancels_an_application(
        counter_screen: BrowserContext, bambang: User) -> None:
    from immigration.counter.models import Appointment

    calendar = client_for(None).get("/api/v1/offices/NNK/slots").json()
    day = next(d for d in calendar["days"] if not d["closed"])
    response = client_for(None).post("/api/v1/applications", {
        **application_payload(applicant=SITI),
        "appointment": {"date": day["date"], "slot": day["slots"][0]["slot"]}},
        format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    reference = response.json()["reference"]
    page = counter_screen.new_page()
    staff_login(page, bambang)
    page.goto(f"/staff/desk#{reference}")
    expect(page.locator("#appt-now")).to_contain_text(day["slots"][0]["slot"])
    page.click("#appointment summary")
    target = page.locator("#appt-slot option").nth(3)
    new_date, new_slot = target.get_attribute("value").split(" ")  # type: ignore[union-attr]
    page.select_option("#appt-slot", f"{new_date} {new_slot}")
    page.click("#appointment button[type=submit]")
    expect(page.locator("#appt-reason-err")).not_to_be_empty()  # staff must say why
    page.fill("#appt-reason", "Pemohon minta pindah jam")
    page.click("#appointment button[type=submit]")
    expect(page.locator("#appt-now")).to_contain_text(new_slot)
    booked = Appointment.objects.get(application__reference=reference)
    assert (booked.slot.date.isoformat(), booked.slot.label) == (new_date, new_slot)

    page.click("#cancel summary")
    page.fill("#cancel-reason", "Pemohon mengundurkan diri")
    page.click("#cancel button[type=submit]")
    expect(page.locator("#summary-status")).to_have_attribute("data-status", "cancelled")
    assert Appointment.objects.get(application__reference=reference).slot is None
