"""`manage.py backup [PATH]`: an encrypted backup of the office database, files included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from immigration.backup.office import BackupFailed, backup_create


class Command(BaseCommand):
    help = ("Write an encrypted backup (BACKUP_KEYS) of the office database, dossier files "
            "included, to PATH (default: BACKUP_DIR/tangguh-<db>-<UTC time>.tgbackup).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", type=Path, help="the new backup file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            backup_create(path=options["path"], log=self.stdout.write)
        except BackupFailed as exc:
            raise CommandError(f"backup failed: {exc}") from exc
