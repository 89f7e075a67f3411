"""`manage.py restore PATH [--force] [--check]`: put a backup back, or just verify it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from immigration.backup.office import BackupFailed, backup_restore


class Command(BaseCommand):
    help = ("Verify an encrypted backup completely (key, integrity, SHA-256), then replace the "
            "office database with it. Stop the web app, workers and beat first.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the backup file")
        parser.add_argument("--force", action="store_true",
                            help="replace a database that holds data")
        parser.add_argument("--check", action="store_true",
                            help="only verify the backup (a restore drill without the restore)")
        parser.add_argument("--ignore-key-mismatch", action="store_true",
                            help="restore although this server's PII keys differ from the "
                                 "backed-up office's")
        parser.add_argument("--tmp-dir", type=Path,
                            help="where the verified dump waits (default: the system's temp "
                                 "directory; needs about the backup's size)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            backup_restore(path=options["path"], force=options["force"],
                           check_only=options["check"],
                           ignore_key_mismatch=options["ignore_key_mismatch"],
                           tmp_dir=options["tmp_dir"], log=self.stdout.write)
        except BackupFailed as exc:
            raise CommandError(f"restore failed: {exc}") from exc
