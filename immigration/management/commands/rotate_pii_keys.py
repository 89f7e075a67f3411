"""`manage.py rotate_pii_keys`: re-encrypt applicant data with the current (first) PII key.

Rotation: put the new key first in PII_KEYS ("2:new,1:old"), deploy, run this, then drop the
old key. Rows are rewritten in small transactions, so the office keeps working meanwhile.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from tqdm import tqdm

from immigration.personal_data import EncryptedTextField


def encrypted_tables() -> list[tuple[Any, list[str]]]:
    """Every model with encrypted fields, found rather than listed: a part added later (the
    counter's interview notes, the notification recipients) is rotated without anyone
    remembering to add it here."""
    tables = []
    for model in apps.get_models():
        fields = [f.name for f in model._meta.concrete_fields
                  if isinstance(f, EncryptedTextField)]
        if fields:
            tables.append((model, fields))
    return tables


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the current PII key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        batch = options["batch"]
        for model, fields in encrypted_tables():
            ids = list(model.objects.order_by("pk").values_list("pk", flat=True))
            bar = tqdm(total=len(ids), unit="row", desc=model.__name__, file=self.stdout)
            for start in range(0, len(ids), batch):
                with transaction.atomic():
                    # Reading decrypts with whichever key version a row has; saving encrypts
                    # with the current one.
                    rows = model.objects.select_for_update().filter(
                        pk__in=ids[start : start + batch]
                    )
                    for row in rows:
                        row.save(update_fields=fields)
                bar.update(len(ids[start : start + batch]))
            bar.close()
        # Dossier files are sealed chunk by chunk with the same keys.
        call_command("rotate_dossier_keys", stdout=self.stdout)
        self.stdout.write("all encrypted fields now use the current key")
