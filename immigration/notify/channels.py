"""Delivering notifications: the `notify.sms` and `notify.push` outbox topics.

Each has its own upstream name, so its own breaker and rate limit in the queueing app: the SMS
gateway or a push service being down holds up nothing else (and printing being down holds up
no text). Messages carry the recipient id and the finished words; the address is read from the
encrypted row at send time and never stored in the outbox.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from functools import cache
from typing import Any

from django.conf import settings
from django.utils import timezone

from immigration.notify import quiet_hours
from immigration.notify.events import PUSH_TOPIC, SMS_TOPIC
from immigration.notify.models import Recipient
from queueing import topics
from queueing.models import OutboxMessage
from queueing.topics import (
    Deferred,
    Delivered,
    Outcome,
    Refused,
    RetryLater,
    UpstreamUnavailable,
)
from services.base import UpstreamError
from services.sms_gateway import SmsGatewayClient
from services.web_push import GONE, PushSubscriptionInfo, WebPushSender

log = logging.getLogger(__name__)

SMS_UPSTREAM = "sms_gateway"
PUSH_UPSTREAM = "web_push"
# A dead letter whose reason starts so means the push subscription is gone: it was removed.
GONE_REASON = "push subscription gone"
SKIPPED = {"skipped": "recipient unsubscribed"}


def sms_secrets() -> list[str]:
    return settings.SMS_GATEWAY_SECRET.replace(",", " ").split()


@cache
def sms_client() -> SmsGatewayClient:
    return SmsGatewayClient(settings.SMS_GATEWAY_URL, sms_secrets(),
                            timeout=settings.SMS_GATEWAY_TIMEOUT)


@cache
def push_sender() -> WebPushSender:
    return WebPushSender(vapid_private_key=settings.VAPID_PRIVATE_KEY,
                         subject=settings.VAPID_SUBJECT, timeout=settings.WEB_PUSH_TIMEOUT)


def _recipients(messages: Sequence[OutboxMessage]) -> dict[int, Recipient]:
    return Recipient.objects.in_bulk([m.payload["recipient_id"] for m in messages])


# --- SMS -------------------------------------------------------------------------------------
def send_texts(messages: Sequence[OutboxMessage]) -> list[Outcome]:
    client = sms_client()
    recipients = _recipients(messages)
    zones: dict[str, Any] = {}
    now = timezone.now()
    outcomes: list[Outcome] = []
    reached = False
    for message in messages:
        recipient = recipients.get(message.payload["recipient_id"])
        if recipient is None:
            outcomes.append(Delivered(SKIPPED))  # they said STOP meanwhile: nothing to send
            continue
        if not message.payload.get("urgent"):
            office = message.payload["office"]
            zone = zones.get(office) or zones.setdefault(office, quiet_hours.office_zone(office))
            hold = quiet_hours.held_until(now, zone)
            if hold is not None:
                # Retried into the night (an outage in the evening): wait for the morning,
                # without counting an attempt or pausing the urgent texts behind it.
                outcomes.append(Deferred("quiet hours", until=hold))
                continue
        try:
            if message.outcome_unknown:
                found = client.get(message.key)
                if found is not None:
                    outcomes.append(Delivered({"message_id": found.get("message_id", "")}))
                    continue
            receipt = client.send(key=message.key, to=recipient.address,
                                  text=message.payload["text"])
        except UpstreamError as exc:
            if exc.permanent and exc.status in (400, 422):
                outcomes.append(Refused(f"SMS gateway refused the text: "
                                        f"{exc.code or exc.status}"))
                continue
            if not reached:
                # Nothing got through in this batch: the gateway as a whole is unavailable
                # (the breaker counts it; a 401 from a wrong secret must not dead-letter all).
                raise UpstreamUnavailable(str(exc), retry_after=exc.retry_after,
                                          ambiguous=exc.ambiguous or exc.permanent) from exc
            outcomes.append(RetryLater(str(exc), exc.retry_after, exc.ambiguous))
            continue
        reached = True
        outcomes.append(Delivered({"message_id": receipt.message_id}))
    return outcomes


def probe_sms_gateway() -> bool:
    return sms_client().health()


# --- Web Push --------------------------------------------------------------------------------
def send_pushes(messages: Sequence[OutboxMessage]) -> list[Outcome]:
    sender = push_sender()
    recipients = _recipients(messages)
    outcomes: list[Outcome] = []
    failures = 0
    last: UpstreamError | None = None
    for message in messages:
        recipient = recipients.get(message.payload["recipient_id"])
        if recipient is None:
            outcomes.append(Delivered(SKIPPED))
            continue
        subscription = PushSubscriptionInfo(endpoint=recipient.address,
                                            p256dh=recipient.push_p256dh,
                                            auth=recipient.push_auth)
        data = json.dumps(message.payload["data"], ensure_ascii=False).encode()
        try:
            sender.send(subscription, data, key=message.key,
                        urgency="high" if message.payload.get("urgent") else "normal")
        except UpstreamError as exc:
            if exc.code == GONE:
                outcomes.append(Refused(f"{GONE_REASON} (HTTP {exc.status})"))
            elif exc.permanent:
                outcomes.append(Refused(f"push service refused the message: {exc.status}"))
            else:
                failures, last = failures + 1, exc
                outcomes.append(RetryLater(str(exc), exc.retry_after, exc.ambiguous))
            continue
        outcomes.append(Delivered({}))
    if last is not None and failures == len(messages):
        # Every push failed transiently: count it against the breaker as one outage.
        raise UpstreamUnavailable(str(last), retry_after=last.retry_after,
                                  ambiguous=last.ambiguous)
    return outcomes


def probe_web_push() -> bool:
    # Push services have no health endpoint we could call without sending: after the
    # cooldown, let real traffic be the probe (one batch, through the ramping limiter).
    return True


def on_push_dead(message: OutboxMessage, reason: str) -> None:
    """A gone subscription (404/410) is removed with its follows, in the settling transaction:
    nothing more is sent to a browser that unsubscribed or was reset."""
    if reason.startswith(GONE_REASON):
        deleted, _ = Recipient.objects.filter(pk=message.payload["recipient_id"]).delete()
        if deleted:
            log.info("removed push recipient %s: subscription gone",
                     message.payload["recipient_id"])


def register_topics() -> None:
    topics.register(topics.Topic(name=SMS_TOPIC, upstream=SMS_UPSTREAM, send=send_texts,
                                 probe=probe_sms_gateway))
    topics.register(topics.Topic(name=PUSH_TOPIC, upstream=PUSH_UPSTREAM, send=send_pushes,
                                 probe=probe_web_push, on_dead=on_push_dead))
