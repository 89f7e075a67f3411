"""The counter's records. Capacity and numbering invariants are enforced by the database
(check and unique constraints), so no interleaving of requests can overbook a slot or hand out
one number twice, whatever the code above them gets wrong."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from immigration.models import Office, PassportApplication
from immigration.personal_data import EncryptedTextField


class Lane(models.TextChoices):
    REGULAR = "regular", "Regular"
    EXPRESS = "express", "Express"
    PRIORITY = "priority", "Priority (elderly, disabled, pregnant, small children)"


LANE_LETTERS = {Lane.REGULAR: "A", Lane.EXPRESS: "B", Lane.PRIORITY: "C"}


class PriorityReason(models.TextChoices):
    ELDERLY = "elderly", "Elderly (60+)"
    DISABLED = "disabled", "Disabled"
    PREGNANT = "pregnant", "Pregnant"
    SMALL_CHILDREN = "small_children", "With small children"


class CounterSettings(models.Model):
    """How one office runs its counter day. Created with defaults on first use."""

    office = models.OneToOneField(Office, on_delete=models.CASCADE, primary_key=True,
                                  related_name="counter_settings")
    timezone = models.CharField(max_length=40, default="Asia/Jakarta")
    booking_window_days = models.PositiveSmallIntegerField(default=30)
    # Monday = 0, comma separated.
    open_weekdays = models.CharField(max_length=20, default="0,1,2,3,4")
    first_hour = models.PositiveSmallIntegerField(default=8)
    last_hour = models.PositiveSmallIntegerField(default=14, help_text="start of the last slot")
    capacity_regular = models.PositiveSmallIntegerField(default=10)
    capacity_express = models.PositiveSmallIntegerField(default=3)
    capacity_priority = models.PositiveSmallIntegerField(default=3)
    requires_signoff = models.BooleanField(default=False)
    # After this many express/priority calls in a row while a regular ticket waits, the next
    # call goes to the regular lane: priority first, but regular is never starved.
    regular_every = models.PositiveSmallIntegerField(default=3)

    class Meta:
        verbose_name_plural = "counter settings"

    def __str__(self) -> str:
        return f"counter settings {self.office_id}"

    @classmethod
    def for_office(cls, office: Office | str) -> CounterSettings:
        code = office if isinstance(office, str) else office.code
        found, _ = cls.objects.get_or_create(office_id=code)
        return found

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def today(self) -> dt.date:
        return timezone.now().astimezone(self.zone).date()

    def weekdays(self) -> set[int]:
        return {int(d) for d in self.open_weekdays.split(",") if d.strip().isdigit()}

    def hours(self) -> list[int]:
        return list(range(self.first_hour, self.last_hour + 1))

    def capacity(self, lane: str) -> int:
        return int(getattr(self, f"capacity_{lane}"))

    def slot_start(self, date: dt.date, hour: int) -> dt.datetime:
        return dt.datetime.combine(date, dt.time(hour), tzinfo=self.zone)


class ClosedDay(models.Model):
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="closed_days")
    date = models.DateField()
    note = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["office", "date"],
                                               name="closed_day_unique")]
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.office_id} closed {self.date}"


class QuotaSlot(models.Model):
    """One hour of one lane on one day. `booked` only moves by conditional UPDATEs
    (see slots.py) and the database refuses any row with booked > capacity."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="quota_slots")
    date = models.DateField()
    hour = models.PositiveSmallIntegerField()
    lane = models.CharField(max_length=10, choices=Lane.choices)
    capacity = models.PositiveIntegerField()
    booked = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["office", "date", "hour", "lane"],
                                    name="quota_slot_unique"),
            models.CheckConstraint(condition=Q(booked__lte=F("capacity")),
                                   name="quota_slot_never_overbooked"),
        ]
        ordering = ["date", "hour", "lane"]

    def __str__(self) -> str:
        return f"{self.office_id} {self.date} {self.hour:02d}:00 {self.lane}"

    @property
    def label(self) -> str:
        return f"{self.hour:02d}:00"

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.booked)


class Appointment(models.Model):
    """An application's booking. `slot` is None once released (cancelled or freed)."""

    application = models.OneToOneField(PassportApplication, on_delete=models.CASCADE,
                                       related_name="appointment")
    slot = models.ForeignKey(QuotaSlot, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="appointments")
    lane = models.CharField(max_length=10, choices=Lane.choices)
    priority_reason = models.CharField(max_length=20, choices=PriorityReason.choices,
                                       blank=True, default="")
    booked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"appointment {self.application_id}"


class QueueDay(models.Model):
    """Per office and local day: the number sequences per lane and the calling streak. Issuing
    a number or calling the next one locks this row, so numbers never repeat."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    last_regular = models.PositiveIntegerField(default=0)
    last_express = models.PositiveIntegerField(default=0)
    last_priority = models.PositiveIntegerField(default=0)
    non_regular_streak = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["office", "day"],
                                               name="queue_day_unique")]

    def __str__(self) -> str:
        return f"{self.office_id} {self.day}"


class TicketState(models.TextChoices):
    WAITING = "waiting", "Waiting"
    CALLED = "called", "Called"
    SERVED = "served", "Served"
    NO_SHOW = "no_show", "No show"
    CANCELLED = "cancelled", "Cancelled"


class Ticket(models.Model):
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    lane = models.CharField(max_length=10, choices=Lane.choices)
    seq = models.PositiveIntegerField()
    number = models.CharField(max_length=8)
    application = models.ForeignKey(PassportApplication, on_delete=models.CASCADE,
                                    related_name="tickets")
    purpose = models.CharField(max_length=12)  # verification | pickup
    state = models.CharField(max_length=10, choices=TicketState.choices,
                             default=TicketState.WAITING)
    counter = models.CharField(max_length=20, blank=True, default="")
    issued_at = models.DateTimeField(default=timezone.now)
    called_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["office", "day", "lane", "seq"],
                                    name="ticket_number_unique"),
        ]
        indexes = [models.Index(fields=["office", "day", "state"], name="ticket_office_day")]
        ordering = ["issued_at", "id"]

    def __str__(self) -> str:
        return f"{self.office_id} {self.day} {self.number}"


class Call(models.Model):
    """Every call and recall, for the waiting-room display (its id is the display's call_id)."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="calls")
    counter = models.CharField(max_length=20)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["office", "day", "-id"], name="call_office_day")]

    def __str__(self) -> str:
        return f"call {self.pk}"


class Interview(models.Model):
    application = models.ForeignKey(PassportApplication, on_delete=models.CASCADE,
                                    related_name="interviews")
    # What the applicant said at the interview is personal data: encrypted like the form.
    note = EncryptedTextField()
    originals_seen = models.BooleanField(default=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"interview {self.application_id}"


class SignOff(models.Model):
    application = models.ForeignKey(PassportApplication, on_delete=models.CASCADE,
                                    related_name="signoffs")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=300, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["application", "by"],
                                               name="signoff_once_per_person")]

    def __str__(self) -> str:
        return f"sign-off {self.application_id}"


class Tariff(models.Model):
    """A PNBP amount. A tariff applies to an application when each of its non-blank
    conditions (passport type, service) matches."""

    code = models.SlugField(max_length=40, primary_key=True)
    label = models.CharField(max_length=120)
    amount = models.PositiveBigIntegerField(help_text="rupiah")
    passport_type = models.CharField(max_length=12, blank=True, default="")
    service = models.CharField(max_length=10, blank=True, default="")
    legal_basis = models.CharField(max_length=200, blank=True, default="")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} Rp{self.amount:,}"

    def applies_to(self, application: PassportApplication) -> bool:
        return (not self.passport_type or self.passport_type == application.passport_type) and (
            not self.service or self.service == application.service)


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    TRANSFER = "transfer", "Bank transfer"
    CARD = "card", "Card"


class BillingState(models.TextChoices):
    PENDING = "pending", "Waiting to reach billing"
    RECORDED = "recorded", "Recorded at billing"
    REFUSED = "refused", "Refused by billing"


class Payment(models.Model):
    application = models.OneToOneField(PassportApplication, on_delete=models.PROTECT,
                                       related_name="payment")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=40, unique=True)
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, default="IDR")
    method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    billing_code = models.CharField(max_length=40, blank=True, default="")
    receipt_no = models.CharField(max_length=40, blank=True, default="")
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="+")
    paid_at = models.DateTimeField(default=timezone.now)
    billing_state = models.CharField(max_length=10, choices=BillingState.choices,
                                     default=BillingState.PENDING)
    billing_payment_id = models.CharField(max_length=64, blank=True, default="")
    billing_detail = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["office", "paid_at"], name="payment_office_day")]

    def __str__(self) -> str:
        return self.key


class Handover(models.Model):
    application = models.OneToOneField(PassportApplication, on_delete=models.PROTECT,
                                       related_name="handover")
    recipient = models.CharField(max_length=10)  # applicant | proxy
    proxy_name = EncryptedTextField(blank=True, default="")
    proxy_id_number = EncryptedTextField(blank=True, default="")
    letter_no = models.CharField(max_length=60, blank=True, default="")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"handover {self.application_id}"


class CounterEvent(models.Model):
    """Who did what at the counter (append-only); status changes stay in StatusEvent."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(PassportApplication, null=True, blank=True,
                                    on_delete=models.CASCADE, related_name="counter_events")
    action = models.CharField(max_length=30)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=500, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.application_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("counter events are append-only")
        super().save(*args, **kwargs)


def audit(*, office: Office | str, action: str, user: Any = None,
          application: PassportApplication | None = None, note: str = "") -> None:
    CounterEvent.objects.create(
        office_id=office if isinstance(office, str) else office.code,
        application=application, action=action,
        user=user if user is not None and getattr(user, "is_authenticated", False) else None,
        note=note[:500],
    )
