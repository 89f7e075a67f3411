"""`manage.py reconcile`: after central restored from an old backup, re-send what it lost."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from immigration.reconcile import reconcile


class Command(BaseCommand):
    help = ("Compare the print jobs central should hold (by the applications' status) with its "
            "inventory and re-send what it lost.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--office", help="only this office's applications (e.g. NNK)")

    def handle(self, *args: Any, **options: Any) -> None:
        report = reconcile(office=options["office"], log=self.stdout.write)
        self.stdout.write(f"central holds {report.central_jobs} jobs; checked "
                          f"{report.checked} applications waiting on central")
        self.stdout.write(f"re-sent {len(report.resent)}: {' '.join(report.resent) or '-'}")
        self.stdout.write(f"photo/signature re-sent for {len(report.blobs_resent)}: "
                          f"{' '.join(report.blobs_resent) or '-'}")
        self.stdout.write(f"need staff attention {len(report.needs_attention)}: "
                          f"{' '.join(report.needs_attention) or '-'}")
        if report.lost_after_dispatch:
            self.stdout.write(f"central lost the record of {len(report.lost_after_dispatch)} "
                              "passports already dispatched to the office (nothing to send): "
                              + " ".join(report.lost_after_dispatch[:20]))
        if report.unknown_at_office:
            self.stdout.write(f"central has {len(report.unknown_at_office)} jobs this office "
                              "does not know: " + " ".join(report.unknown_at_office[:20]))
