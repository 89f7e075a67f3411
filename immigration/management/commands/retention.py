"""`manage.py retention [--dry-run]`: apply the retention policy now (immigration/retention.py).

With --dry-run it only says what would go, per kind of data; without it, it deletes and
anonymises, printing progress. The hourly beat task `privacy.retention` does the same.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from immigration.retention import APPLICATIONS, DOSSIER, Periods, retention_run

_WHAT = {
    DOSSIER: "applications whose documents/photo/signature are deleted",
    APPLICATIONS: "applications anonymised",
}


class Command(BaseCommand):
    help = "Delete dossier files and anonymise applications past their retention periods."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="Count what is due; change nothing.")
        parser.add_argument("--batch", type=int, default=200,
                            help="Applications per transaction.")

    def handle(self, *args: Any, **options: Any) -> None:
        periods = Periods.from_settings()
        self.stdout.write(f"retention: dossier files {periods.dossier.days} days, applications "
                          f"{periods.application.days} days after pickup/rejection/cancellation")
        bars: dict[str, tqdm[Any]] = {}

        def progress(kind: str, done: int, total: int) -> None:
            bar = bars.get(kind)
            if bar is None:
                bar = bars[kind] = tqdm(total=total, unit="app", desc=kind, file=self.stdout)
            bar.update(done - bar.n)

        report = retention_run(dry_run=options["dry_run"], periods=periods,
                               batch=options["batch"], progress=progress)
        for bar in bars.values():
            bar.close()
        for kind, what in _WHAT.items():
            if report.dry_run:
                self.stdout.write(f"would go: {report.due[kind]} {what} ({kind})")
            else:
                self.stdout.write(f"done: {report.done[kind]} of {report.due[kind]} {what} "
                                  f"({kind})")
        if not report.dry_run:
            self.stdout.write(f"dossier files deleted: {report.files_deleted}")
        else:
            self.stdout.write("dry run: nothing changed")
