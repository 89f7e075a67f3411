"""Create (or reset the password of) a demo counter clerk and print a token for the API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from rest_framework.authtoken.models import Token

from immigration.api.permissions import COUNTER_GROUP
from immigration.models import Office, StaffMembership


class Command(BaseCommand):
    help = "Create a demo counter clerk for an office and print an API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="petugas")
        parser.add_argument("--password", default="petugas-demo")
        parser.add_argument("--office", default="NNK")

    def handle(self, *args: Any, **options: Any) -> None:
        office = Office.objects.get(code=options["office"])
        user, _ = User.objects.get_or_create(username=options["username"])
        user.set_password(options["password"])
        user.is_staff = True  # may use the admin console for its own office's work
        user.save()
        user.groups.add(Group.objects.get_or_create(name=COUNTER_GROUP)[0])
        StaffMembership.objects.update_or_create(user=user, defaults={"office": office})
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(
            f"staff user {user.username!r} (password {options['password']!r}) at {office.code}; "
            f"API token: {token.key}"
        )
