"""`manage.py audit verify | seal | export-head | public-key`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from immigration.audit.chain import HeadMismatch, seal
from immigration.audit.heads import (
    ExportedHead,
    HeadRefused,
    export_head,
    public_key_b64,
    read_head,
)
from immigration.audit.verify import verify_chain


class Command(BaseCommand):
    help = "Check, seal and export the audit hash chain (status events and staff actions)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("verify", help="seal pending rows, then check the whole chain; "
                               "exit 1 naming the first edited, deleted or moved entry")
        check.add_argument("--head", type=Path, action="append", default=[],
                           help="an exported head file the chain must still contain "
                                "(repeatable)")
        check.add_argument("--public-key", help="base64 Ed25519 public key the head files are "
                           "signed with (default: this office's key)")
        check.add_argument("--no-seal", action="store_true",
                           help="check only what is sealed already")
        sub.add_parser("seal", help="link committed, unsealed rows into the chain")
        export = sub.add_parser("export-head", help="write the signed chain head")
        export.add_argument("--dir", type=Path, help="directory (default AUDIT_HEAD_DIR)")
        sub.add_parser("public-key", help="print the public key that checks exported heads")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "seal":
            self.stdout.write(f"sealed {seal()} entries")
        elif action == "export-head":
            path = export_head(directory=options["dir"])
            self.stdout.write(f"wrote {path}")
        elif action == "public-key":
            self.stdout.write(public_key_b64())
        else:
            self._verify(options)

    def _verify(self, options: dict[str, Any]) -> None:
        try:
            heads = [read_head(p, public_key=options["public_key"]) for p in options["head"]]
        except HeadRefused as exc:
            raise CommandError(str(exc)) from exc
        if not options["no_seal"]:
            try:
                sealed = seal()
            except HeadMismatch as exc:  # verify below names what is wrong
                self.stderr.write(f"not sealing: {exc}")
            else:
                if sealed:
                    self.stdout.write(f"sealed {sealed} pending entries first")

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"verified {done}/{total}")

        # Several heads: the chain is walked once per head, which is cheap next to trusting
        # only the latest (an old head still proves nothing before it was rewritten).
        checks: list[ExportedHead | None] = [*heads] or [None]
        for exported in checks:
            verdict = verify_chain(exported=exported, progress=progress)
            if not verdict.ok:
                raise CommandError("audit chain broken: " + "; ".join(verdict.problems))
            if exported is not None:
                self.stdout.write(f"matches the head exported {exported.exported_at} "
                                  f"(#{exported.seq})")
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {verdict.checked} entries"))
