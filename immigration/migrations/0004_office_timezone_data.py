"""Each seeded office's wall clock. Nunukan (North Kalimantan) and Ngurah Rai (Bali) are on WITA;
the others on WIB, the field's default. Offices added later keep whatever they were given."""

from __future__ import annotations

from typing import Any

from django.db import migrations

ZONES = {
    "NNK": "Asia/Makassar",  # WITA, UTC+8
    "DPS": "Asia/Makassar",  # WITA, UTC+8
    "TPK": "Asia/Jakarta",  # WIB, UTC+7 (Surabaya)
    "JKS": "Asia/Jakarta",
    "SBY": "Asia/Jakarta",
    "MDN": "Asia/Jakarta",
}


def set_zones(apps: Any, schema_editor: Any) -> None:
    Office = apps.get_model("immigration", "Office")
    for code, zone in ZONES.items():
        Office.objects.filter(code=code).update(timezone=zone)


class Migration(migrations.Migration):
    dependencies = [("immigration", "0003_office_timezone")]
    operations = [migrations.RunPython(set_zones, migrations.RunPython.noop)]
