"""Who wants to be told: a recipient per phone number or push subscription, and the
applications each one follows.

One `Recipient` per address (not per application): a parent following three children's
applications from one phone is one recipient, so "printing resumed" reaches them once.
Addresses are personal data (a phone number; an endpoint that identifies a browser): stored
encrypted, looked up by a keyed blind index, like the NIK.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from immigration.models import PassportApplication
from immigration.personal_data import EncryptedTextField, blind_index


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    PUSH = "push", "Web Push"


class Language(models.TextChoices):
    INDONESIAN = "id", "Bahasa Indonesia"
    ENGLISH = "en", "English"


def address_index(channel: str, address: str) -> str:
    return blind_index(address, purpose=f"notify-{channel}")


def token_index(token: str) -> str:
    return blind_index(token, purpose="notify-stop")


class RecipientQuerySet(models.QuerySet["Recipient"]):
    def with_address(self, channel: str, address: str) -> RecipientQuerySet:
        return self.filter(channel=channel, address_index=address_index(channel, address))

    def with_token(self, token: str) -> RecipientQuerySet:
        return self.filter(stop_index=token_index(token))


class Recipient(models.Model):
    channel = models.CharField(max_length=8, choices=Channel.choices)
    address_index = models.CharField(max_length=64, editable=False)
    address = EncryptedTextField()  # E.164 phone number, or the push endpoint URL
    push_p256dh = EncryptedTextField(blank=True, default="")
    push_auth = EncryptedTextField(blank=True, default="")
    language = models.CharField(max_length=2, choices=Language.choices,
                                default=Language.INDONESIAN)
    # The unsubscribe capability put in every message (link and page): random, so it says
    # nothing about the person; kept encrypted, found by its blind index.
    stop_token = EncryptedTextField()
    stop_index = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = RecipientQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "address_index"],
                                    name="one_recipient_per_address"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} recipient {self.pk}"  # never the address

    @classmethod
    def build(cls, *, channel: str, address: str, language: str) -> Recipient:
        token = secrets.token_urlsafe(16)
        return cls(channel=channel, address=address,
                   address_index=address_index(channel, address), language=language,
                   stop_token=token, stop_index=token_index(token))


class Follow(models.Model):
    """A recipient wants to hear about an application."""

    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="follows")
    application = models.ForeignKey(PassportApplication, on_delete=models.CASCADE,
                                    related_name="notification_follows")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "application"],
                                    name="follow_once"),
        ]

    def __str__(self) -> str:
        return f"recipient {self.recipient_id} follows application {self.application_id}"
