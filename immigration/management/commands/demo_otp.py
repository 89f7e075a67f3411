"""Print the current one-time code of a demo account (development only), for trying the staff
pages without an authenticator app."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import TOTP

from immigration.signin.second_factor import confirmed_device


class Command(BaseCommand):
    help = "Print the current one-time code of a demo account (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="petugas")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("one-time codes are never printed in production")
        user = User.objects.filter(username=options["username"]).first()
        device = confirmed_device(user) if user else None
        if device is None:
            raise CommandError(f"{options['username']!r} has no one-time-code device")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time()
        left = device.step - int(totp.time - device.t0) % device.step
        self.stdout.write(f"{totp.token():0{device.digits}d}  (valid for {left} s more)")
