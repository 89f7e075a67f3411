"""PNBP fees: what an application owes (the tariff table), recording a payment at the counter,
and the daily cash report.

A payment is recorded whether or not billing is reachable: with a billing code when billing is
up, with the office's own receipt number when it is not. Either way the payment row and its
outbox message (topic `billing.payment`) commit together, and the outbox replays it to billing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from immigration.counter.errors import CounterRefused
from immigration.counter.models import (
    CounterSettings,
    Payment,
    PaymentMethod,
    Tariff,
    audit,
)
from immigration.lifecycle import Status
from immigration.models import Office, PassportApplication
from immigration.readiness import Blocker
from queueing.outbox import enqueue

PAYMENT_TOPIC = "billing.payment"
LEGAL_BASIS = "PP 28/2019"
# The published amounts (PP 28/2019, Lampiran; see migrations/0002_seed.py for the citation):
# (code, label, rupiah, passport type, service). The migration seeds its own frozen copy.
PUBLISHED_TARIFFS = [
    ("passport_ordinary_48", "Paspor biasa 48 halaman", 350_000, "ordinary", ""),
    ("passport_electronic_48", "Paspor elektronik 48 halaman", 650_000, "electronic", ""),
    ("express_same_day", "Layanan percepatan paspor selesai pada hari yang sama", 1_000_000, "",
     "express"),
]


def tariffs_seed() -> None:
    """Put the published tariffs in place where missing (test databases flushed between
    tests lose what the migration seeded)."""
    for code, label, amount, passport_type, service in PUBLISHED_TARIFFS:
        Tariff.objects.get_or_create(code=code, defaults={
            "label": label, "amount": amount, "passport_type": passport_type,
            "service": service, "legal_basis": f"{LEGAL_BASIS}, Lampiran"})


class PaymentRefused(CounterRefused):
    """A payment rule said no."""


@dataclass(frozen=True)
class Fee:
    items: list[Tariff]

    @property
    def total(self) -> int:
        return sum(t.amount for t in self.items)

    def as_dict(self) -> dict[str, Any]:
        return {"items": [{"code": t.code, "label": t.label, "amount": t.amount}
                          for t in self.items],
                "total": self.total, "currency": "IDR"}


def fee_due(application: PassportApplication) -> Fee:
    return Fee([t for t in Tariff.objects.filter(active=True) if t.applies_to(application)])


def payment_view(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.pk, "key": payment.key, "reference": payment.application.reference,
        "amount": payment.amount, "currency": payment.currency, "method": payment.method,
        "billing_code": payment.billing_code, "receipt_no": payment.receipt_no,
        "clerk": payment.clerk.get_username(), "paid_at": payment.paid_at,
        "billing": {"state": payment.billing_state,
                    "payment_id": payment.billing_payment_id or None,
                    "detail": payment.billing_detail},
    }


def payment_record(
    *, application: PassportApplication, clerk: Any, method: str, billing_code: str = "",
    receipt_no: str = "", amount: int | None = None,
) -> tuple[Payment, bool]:
    """Record the fee as paid and queue it for billing. Caller holds the application's row
    lock inside a transaction. Returns (payment, created); an identical repeat returns the
    existing payment with created=False."""
    if method not in PaymentMethod.values:
        raise PaymentRefused("invalid", _("Unknown payment method."))
    if bool(billing_code) == bool(receipt_no):
        raise PaymentRefused("invalid", _("Give either a billing code or a receipt number."))
    existing = Payment.objects.filter(application=application).first()
    if existing is not None:
        same = (existing.method, existing.billing_code, existing.receipt_no) == (
            method, billing_code, receipt_no) and amount in (None, existing.amount)
        if same:
            return existing, False
        raise PaymentRefused("already_paid", _("This application has already been paid."))
    if application.status != Status.RECEIVED:
        raise PaymentRefused("illegal_transition",
                             _("Fees are paid before approval, while the application is "
                               "received."))
    due = fee_due(application).total
    if amount is not None and amount != due:
        raise PaymentRefused("amount_mismatch", _("The amount does not match the fee due."),
                             due=due)
    payment = Payment.objects.create(
        application=application, office_id=application.office_id,
        key=f"{application.reference}:pay1", amount=due, method=method,
        billing_code=billing_code, receipt_no=receipt_no, clerk=clerk,
    )
    enqueue(topic=PAYMENT_TOPIC, key=payment.key, payload={"payment_id": payment.pk},
            priority=1 if application.service == "express" else 0)
    audit(office=application.office_id, action="payment", user=clerk, application=application,
          note=f"{due} IDR {method} " + (f"billing {billing_code}" if billing_code
                                         else f"receipt {receipt_no}"))
    return payment, True


def payment_blockers(application: PassportApplication) -> Iterable[Blocker]:
    payment = Payment.objects.filter(application=application).first()
    if payment is None:
        yield Blocker("payment_missing", _("The fee (PNBP) has not been paid."))
    elif payment.amount < fee_due(application).total:
        yield Blocker("payment_missing", _("The fee paid is less than the fee due."))


# --- The daily cash report -------------------------------------------------------------------
def _day_payments(office: Office, day: dt.date, clerk: str | None) -> QuerySet[Payment]:
    zone = CounterSettings.for_office(office).zone
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    qs = (Payment.objects.filter(office=office, paid_at__gte=start,
                                 paid_at__lt=start + dt.timedelta(days=1))
          .select_related("application", "clerk").order_by("paid_at", "id"))
    if clerk:
        qs = qs.filter(clerk__username=clerk)
    return qs


def cash_report(*, office: Office, day: dt.date, clerk: str | None = None) -> dict[str, Any]:
    payments = list(_day_payments(office, day, clerk))
    clerks: dict[str, dict[str, Any]] = {}
    for p in payments:
        row = clerks.setdefault(p.clerk.get_username(),
                                {"clerk": p.clerk.get_username(), "count": 0, "total": 0})
        row["count"] += 1
        row["total"] += p.amount
    return {
        "date": day, "office": office.code, "currency": "IDR",
        "total": sum(p.amount for p in payments),
        "clerks": sorted(clerks.values(), key=lambda r: r["clerk"]),
        "payments": [payment_view(p) for p in payments],
    }


CSV_COLUMNS = ["paid_at", "reference", "clerk", "method", "billing_code", "receipt_no", "amount",
               "billing_state"]


def cash_report_csv(report: dict[str, Any], *, zone: Any) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for p in report["payments"]:
        writer.writerow([p["paid_at"].astimezone(zone).isoformat(timespec="seconds"),
                         p["reference"], p["clerk"], p["method"], p["billing_code"],
                         p["receipt_no"], p["amount"], p["billing"]["state"]])
    for row in report["clerks"]:
        writer.writerow(["total", "", row["clerk"], "", "", "", row["total"], ""])
    writer.writerow(["total", "", report["office"], "", "", "", report["total"], ""])
    return out.getvalue()
