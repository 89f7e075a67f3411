"""Seed the PNBP tariff table, each office's counter settings and the `supervisor` group.

Amounts: Peraturan Pemerintah No. 28 Tahun 2019 (PNBP at the Ministry of Law and Human Rights),
Lampiran, passports: ordinary passport 48 pages Rp350,000; electronic passport 48 pages
Rp650,000; "layanan percepatan paspor selesai pada hari yang sama" (same-day express service)
Rp1,000,000 on top of the passport fee. Operators edit them in the admin when a newer
regulation (e.g. PP 45/2024) changes them.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

BASIS = "PP 28/2019, Lampiran (PNBP Kementerian Hukum dan HAM)"
TARIFFS = [
    ("passport_ordinary_48", "Paspor biasa 48 halaman", 350_000, "ordinary", ""),
    ("passport_electronic_48", "Paspor elektronik 48 halaman", 650_000, "electronic", ""),
    ("express_same_day", "Layanan percepatan paspor selesai pada hari yang sama", 1_000_000, "",
     "express"),
]
# Offices in central Indonesian time (WITA); the rest keep Asia/Jakarta (WIB).
WITA = {"NNK": "Asia/Makassar", "DPS": "Asia/Makassar"}


def seed(apps: Any, schema_editor: Any) -> None:
    Tariff = apps.get_model("counter", "Tariff")
    CounterSettings = apps.get_model("counter", "CounterSettings")
    Office = apps.get_model("immigration", "Office")
    Group = apps.get_model("auth", "Group")
    for code, label, amount, passport_type, service in TARIFFS:
        Tariff.objects.get_or_create(code=code, defaults={
            "label": label, "amount": amount, "passport_type": passport_type,
            "service": service, "legal_basis": BASIS})
    for office in Office.objects.all():
        CounterSettings.objects.get_or_create(
            office=office, defaults={"timezone": WITA.get(office.code, "Asia/Jakarta")})
    Group.objects.get_or_create(name="supervisor")


class Migration(migrations.Migration):
    dependencies = [("counter", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
