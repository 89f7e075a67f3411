"""Seed the immigration offices we start with and the `counter` staff group."""

from __future__ import annotations

from typing import Any

from django.db import migrations

OFFICES = [
    ("NNK", "Kantor Imigrasi Kelas II TPI Nunukan"),
    ("TPK", "Kantor Imigrasi Kelas I Khusus TPI Tanjung Perak"),
    ("JKS", "Kantor Imigrasi Kelas I Khusus Non TPI Jakarta Selatan"),
    ("SBY", "Kantor Imigrasi Kelas I Khusus TPI Surabaya"),
    ("MDN", "Kantor Imigrasi Kelas I Khusus TPI Medan"),
    ("DPS", "Kantor Imigrasi Kelas I Khusus TPI Ngurah Rai"),
]


def seed(apps: Any, schema_editor: Any) -> None:
    Office = apps.get_model("immigration", "Office")
    Group = apps.get_model("auth", "Group")
    for code, name in OFFICES:
        Office.objects.get_or_create(code=code, defaults={"name": name})
    Group.objects.get_or_create(name="counter")


class Migration(migrations.Migration):
    dependencies = [
        ("immigration", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
