"""Getting recorded payments to the billing upstream: the `billing.payment` outbox topic.

Its upstream (`billing`) has its own breaker and rate limit in the queueing app, so billing
down and printing up (or the reverse) each drain on their own. The message carries only the
payment id; the body is built from the row at send time and is the same on every attempt
(billing dedupes on the payment key).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.conf import settings

from immigration.counter.fees import PAYMENT_TOPIC
from immigration.counter.models import BillingState, Payment
from queueing import topics
from queueing.models import OutboxMessage
from queueing.topics import Delivered, Outcome, Refused, RetryLater, UpstreamUnavailable
from services.base import UpstreamError
from services.billing import BillingClient

UPSTREAM = "billing"


def billing_secrets() -> list[str]:
    return settings.BILLING_SECRET.replace(",", " ").split()


@cache
def billing_client() -> BillingClient:
    return BillingClient(settings.BILLING_URL, billing_secrets(), timeout=settings.BILLING_TIMEOUT)


def payment_body(payment: Payment) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": payment.key, "office": payment.office_id,
        "reference": payment.application.reference, "amount": payment.amount,
        "currency": payment.currency, "method": payment.method,
        "paid_at": payment.paid_at.isoformat(),
    }
    if payment.billing_code:
        body["billing_code"] = payment.billing_code
    if payment.receipt_no:
        body["receipt_no"] = payment.receipt_no
    return body


def send_payments(messages: Sequence[OutboxMessage]) -> list[Outcome]:
    client = billing_client()
    payments = Payment.objects.select_related("application").in_bulk(
        [m.payload["payment_id"] for m in messages])
    outcomes: list[Outcome] = []
    for message in messages:
        payment = payments.get(message.payload["payment_id"])
        if payment is None:
            outcomes.append(Refused("the payment no longer exists"))
            continue
        try:
            if message.outcome_unknown:
                found = client.get(payment.key)
                if found is not None:
                    outcomes.append(Delivered({"payment_id": found.get("payment_id", "")}))
                    continue
            receipt = client.pay(payment_body(payment))
        except UpstreamError as exc:
            if exc.permanent and exc.status in (400, 422):
                outcomes.append(Refused(f"billing refused the payment: {exc.code or exc.status}"
                                        f" {exc.detail or ''}".strip()))
                continue
            if not outcomes:
                # Nothing got through in this batch: billing as a whole is unavailable.
                raise UpstreamUnavailable(str(exc), retry_after=exc.retry_after,
                                          ambiguous=exc.ambiguous or exc.permanent) from exc
            outcomes.append(RetryLater(str(exc), exc.retry_after, exc.ambiguous))
            continue
        outcomes.append(Delivered({"payment_id": receipt.payment_id}))
    return outcomes


def probe_billing() -> bool:
    return billing_client().health()


def on_payments_delivered(delivered: list[tuple[OutboxMessage, dict[str, Any]]]) -> None:
    for message, result in delivered:
        Payment.objects.filter(pk=message.payload["payment_id"]).update(
            billing_state=BillingState.RECORDED,
            billing_payment_id=str(result.get("payment_id", ""))[:64], billing_detail="")


def on_payment_dead(message: OutboxMessage, reason: str) -> None:
    Payment.objects.filter(pk=message.payload["payment_id"]).update(
        billing_state=BillingState.REFUSED, billing_detail=reason[:300])


def on_payment_retried(message: OutboxMessage) -> None:
    Payment.objects.filter(pk=message.payload["payment_id"]).update(
        billing_state=BillingState.PENDING, billing_detail="")


def register_payment_topic() -> None:
    topics.register(topics.Topic(
        name=PAYMENT_TOPIC, upstream=UPSTREAM, send=send_payments, probe=probe_billing,
        on_delivered=on_payments_delivered, on_dead=on_payment_dead,
        on_retry=on_payment_retried,
    ))
