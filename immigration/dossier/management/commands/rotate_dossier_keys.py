"""`manage.py rotate_dossier_keys`: re-seal dossier file chunks with the current PII key.

`rotate_pii_keys` runs it too; on its own it is for re-running only the (larger) files part.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from immigration.dossier.storage import chunks_reseal


class Command(BaseCommand):
    help = "Re-seal every dossier chunk with the current (first) PII key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=32)

    def handle(self, *args: Any, **options: Any) -> None:
        count = chunks_reseal(batch=options["batch"])
        self.stdout.write(f"{count} dossier chunks re-sealed with the current key")
