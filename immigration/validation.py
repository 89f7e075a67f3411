"""Field rules a passport clerk would recognise. Each returns the cleaned value or raises
django's ValidationError with a stable code, which the API turns into a per-field 400."""

from __future__ import annotations

import datetime as dt
import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

# Letters from any script, spaces and the punctuation real Indonesian names carry
# ("Muh. Nur'aini", "Siti-Aminah", "I Gusti Ayu"); digits and symbols are typos or abuse.
_NAME = re.compile(r"^[^\W\d_]+(?:[ .'\-,][^\W\d_]*)*\.?$", re.UNICODE)
OLDEST_BIRTH = dt.date(1900, 1, 1)


def local_today() -> dt.date:
    return timezone.localdate()


def clean_person_name(value: str) -> str:
    cleaned = " ".join(value.split())
    if len(cleaned) < 2:
        raise ValidationError(_("Name is too short."), code="name_too_short")
    if len(cleaned) > 100:
        raise ValidationError(_("Name is longer than 100 characters."), code="name_too_long")
    if not _NAME.match(cleaned):
        raise ValidationError(_("Name may contain only letters, spaces and . ' - ,"),
                              code="name_characters")
    return cleaned


def clean_birth_date(value: dt.date) -> dt.date:
    if value > local_today():
        raise ValidationError(_("Date of birth cannot be in the future."), code="birth_in_future")
    if value < OLDEST_BIRTH:
        raise ValidationError(_("Date of birth is implausibly early."), code="birth_too_early")
    return value


def clean_appointment_date(value: dt.date) -> dt.date:
    today = local_today()
    if value < today:
        raise ValidationError(_("Appointment date cannot be in the past."), code="appointment_past")
    if value > today + dt.timedelta(days=366):
        raise ValidationError(_("Appointment date is more than a year ahead."),
                              code="appointment_too_far")
    return value


def clean_phone(value: str) -> str:
    """An Indonesian (or international) number, normalised to E.164: 0812-3456-7890 ->
    +6281234567890."""
    try:
        number = phonenumbers.parse(value, "ID")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Not a phone number."), code="phone_invalid") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Not a valid phone number."), code="phone_invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
