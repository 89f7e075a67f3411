"""The baseline's plain table: the same fields as a passport application, stored as they come.

No encryption, no blind index, no reference, no status events, no idempotency record: what a
"bare DRF create" of the same payload costs.
"""

from __future__ import annotations

from django.db import models

from immigration.models import ApplicationType, Office, PassportType, Service, Sex


class BareApplication(models.Model):
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="+")
    service = models.CharField(max_length=10, choices=Service.choices)
    passport_type = models.CharField(max_length=12, choices=PassportType.choices)
    application_type = models.CharField(max_length=24, choices=ApplicationType.choices)
    appointment_date = models.DateField(null=True, blank=True)
    nik = models.CharField(max_length=32)
    full_name = models.CharField(max_length=200)
    sex = models.CharField(max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField()
    place_of_birth = models.CharField(max_length=100)
    mother_name = models.CharField(max_length=200)
    address = models.CharField(max_length=300)
    phone = models.CharField(max_length=30)
    email = models.EmailField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"bare application {self.pk}"
