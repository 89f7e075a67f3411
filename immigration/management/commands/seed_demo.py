"""Create (or reset the password of) a demo counter clerk and print a token for the API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from knox.models import AuthToken

from immigration.api.permissions import COUNTER_GROUP
from immigration.models import Office, StaffMembership
from immigration.signin.second_factor import seed_demo_device


class Command(BaseCommand):
    help = "Create a demo counter clerk for an office and print an API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="petugas")
        parser.add_argument("--password", default="tangguh-loket-2026")
        parser.add_argument("--office", default="NNK")
        parser.add_argument("--supervisor", action="store_true",
                            help="also in group `supervisor` (signs off, edits the schedule)")
        parser.add_argument("--totp-secret", default=None,
                            help="give the account a one-time-code device with this base32 "
                                 "secret (development only; default: DEMO_TOTP_SECRET)")

    def handle(self, *args: Any, **options: Any) -> None:
        office = Office.objects.get(code=options["office"])
        user, _ = User.objects.get_or_create(username=options["username"])
        try:  # the same rules as any password set in the admin (AUTH_PASSWORD_VALIDATORS)
            validate_password(options["password"], user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        user.set_password(options["password"])
        user.is_staff = True  # may use the admin console for its own office's work
        user.save()
        user.groups.add(Group.objects.get_or_create(name=COUNTER_GROUP)[0])
        if options["supervisor"]:
            user.groups.add(Group.objects.get_or_create(name="supervisor")[0])
        StaffMembership.objects.update_or_create(user=user, defaults={"office": office})
        otp = ""
        if not settings.PRODUCTION:
            # A known secret so the demo can be signed into from any authenticator app; in
            # production each clerk enrols their own at first sign-in.
            secret = options["totp_secret"] or settings.DEMO_TOTP_SECRET
            seed_demo_device(user, secret)
            otp = f"; one-time codes from TOTP secret {secret}"
        _instance, token = AuthToken.objects.create(user=user)
        self.stdout.write(
            f"staff user {user.username!r} (password {options['password']!r}) at {office.code}"
            f"{otp}; API token: {token}"
        )
