from __future__ import annotations

from django.conf import settings
from django.db import models

from immigration.models import Office


class RegionalOperator(models.Model):
    """A user of a regional office (Kantor Wilayah) who watches several offices' queues.

    A row of its own rather than a group: the offices watched are data (an M2M), and the role
    is orthogonal to StaffMembership, so a Kanwil operator may also be a clerk of one office
    (acting there as a clerk) while watching others."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="regional_operator"
    )
    region = models.CharField(max_length=120, blank=True, default="")  # e.g. "Kanwil Kaltara"
    offices = models.ManyToManyField(Office, related_name="regional_operators")

    def __str__(self) -> str:
        return f"{self.user} ({self.region or 'regional'})"
