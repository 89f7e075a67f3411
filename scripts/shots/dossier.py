"""The dossier on the phone (360 px) and at the counter: documents attached offline on the apply
form, the receipt saying what is missing or refused, and the clerk's page with the documents,
the photo cropped to the passport frame, the signature pad and approval refused with reasons."""

from __future__ import annotations

import importlib
import io
import re

from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from immigration.dossier.files import file_review
from immigration.dossier.models import DossierFile, Requirement
from immigration.models import PassportApplication
from scripts.shots import ShotContext


def document(title: str, colour: str, size: tuple[int, int] = (1800, 1140)) -> bytes:
    """A made-up document photographed on a table: a card with a title and lines of text."""
    image = Image.new("RGB", size, "#6d5a47")
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rounded_rectangle((80, 80, w - 80, h - 80), radius=40, fill=colour)
    draw.text((160, 140), title, fill="#102040", font_size=90)
    for i in range(7):
        draw.rectangle((160, 330 + i * 100, w - 600 + (i % 3) * 120, 360 + i * 100), fill="#33415c")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def portrait() -> bytes:
    """A plain-background portrait (no real person) for the counter's photo file fallback."""
    image = Image.new("RGB", (1200, 900), "#dfe7ef")
    draw = ImageDraw.Draw(image)
    draw.ellipse((470, 190, 730, 500), fill="#c68e6b")  # head
    draw.rectangle((560, 490, 640, 560), fill="#c68e6b")  # neck
    draw.ellipse((390, 540, 810, 1000), fill="#1f3b63")  # shoulders
    draw.ellipse((530, 300, 560, 330), fill="#222")
    draw.ellipse((640, 300, 670, 330), fill="#222")
    draw.arc((550, 360, 650, 430), 20, 160, fill="#7a3b2e", width=6)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _seed_rules() -> None:
    # The shot database is flushed before each module: put the shipped document rules back.
    rules = importlib.import_module("immigration.dossier.migrations.0002_seed_requirements").RULES
    for application_type, groups in rules.items():
        for position, kinds in enumerate(groups):
            Requirement.objects.get_or_create(application_type=application_type, kinds=kinds,
                                              defaults={"position": position})


def _attach(page: Page) -> None:
    for kind, title, colour in (("ktp", "KARTU TANDA PENDUDUK", "#b9d7f0"),
                                ("kk", "KARTU KELUARGA", "#f3f0d8")):
        page.set_input_files(f"#documents [data-group='{kind}'] input[data-source=gallery]",
                             files=[{"name": f"{kind}.jpg", "mimeType": "image/jpeg",
                                     "buffer": document(title, colour)}])
        expect(page.locator(f"#documents [data-group='{kind}']")).to_have_attribute(
            "data-state", "kept")


def shoot(ctx: ShotContext) -> None:
    _seed_rules()
    bambang = ctx.clerk("bambang", "NNK")
    phone = ctx.new_context(service_workers="allow")
    page = phone.new_page()
    page.goto("/")
    page.wait_for_selector("#office option", state="attached")

    # The documents step, offline: the pictures wait on the phone with the draft.
    phone.set_offline(True)
    shot = {"done": False}

    def attach_and_shoot(p: Page) -> None:
        _attach(p)
        p.screenshot(path=ctx.path("dossier-phone-documents.png"), full_page=True)
        shot["done"] = True

    ctx.fill_application(page, ctx.applicant(sex="F", full_name="Siti Aminah"),
                         documents=attach_and_shoot)
    assert shot["done"]
    phone.set_offline(False)
    expect(page.locator("#outcome #reference")).to_have_text(re.compile(r"^NNK-"))
    for kind in ("ktp", "kk"):
        expect(page.locator(f"#sent-docs [data-group='{kind}']")).to_have_attribute(
            "data-state", "stored", timeout=60000)
    reference = str(page.locator("#outcome #reference").text_content())
    application = PassportApplication.objects.get(reference=reference)

    # The clerk refuses the family card: the receipt says why, and what is still missing.
    kk = DossierFile.objects.current().get(application=application, kind="kk")
    file_review(file=kk, by=bambang, result="refused",
                reason="Foto buram; foto ulang KK dengan cahaya cukup.")
    page.goto(f"/receipt#{reference}")
    expect(page.locator("#docs [data-group='kk']")).to_have_attribute("data-state", "refused")
    page.screenshot(path=ctx.path("dossier-phone-receipt.png"), full_page=True)

    # At the counter: the KTP checked, the photo (file fallback: no camera in this browser)
    # cropped to 35 x 45 mm, the signature, and approval refused with what is missing.
    counter = ctx.new_context(viewport=ctx.DESKTOP).new_page()
    ctx.login(counter, bambang)
    counter.goto(f"/staff/applications/{reference}/dossier")
    ktp = counter.locator("#files .file[data-kind='ktp']")
    ktp.locator("[data-do=view]").click()
    expect(counter.locator("#viewer img")).to_be_visible()
    ktp.locator("[data-do=check]").click()
    expect(counter.locator("#files .file[data-kind='ktp']")).to_have_attribute(
        "data-state", "checked")
    counter.set_input_files("#photo-file", files=[{"name": "foto.jpg", "mimeType": "image/jpeg",
                                                   "buffer": portrait()}])
    expect(counter.locator("#photo-send")).to_be_enabled()
    counter.locator("#signature").scroll_into_view_if_needed()
    box = counter.locator("#signature").bounding_box()
    assert box is not None
    counter.mouse.move(box["x"] + 60, box["y"] + 130)
    counter.mouse.down()
    for step in range(1, 16):
        wiggle = ((-1) ** step) * 30 * (step % 4)
        counter.mouse.move(box["x"] + 60 + step * 22, box["y"] + 100 + wiggle, steps=3)
    counter.mouse.up()
    counter.click("#approve")
    expect(counter.locator("#approve-err li").first).to_be_visible()
    counter.screenshot(path=ctx.path("dossier-counter.png"), full_page=True)
