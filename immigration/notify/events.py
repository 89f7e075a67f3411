"""Turning what happened into notification messages, inside the transaction it happened in.

Each message is an outbox row of its own topic (`notify.sms`, `notify.push`) whose key names
the event and the recipient, so it is made once per event and recipient, commits or rolls back
with the event, and is delivered exactly once by the outbox (the gateway dedupes on the key).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from immigration.lifecycle import Status
from immigration.models import StatusEvent
from immigration.notify import quiet_hours, texts
from immigration.notify.models import Channel, Follow, Recipient
from immigration.print_jobs import CENTRAL_PRINTING
from immigration.status_changes import StatusChange
from queueing.models import UpstreamOutage
from queueing.outbox import enqueue

SMS_TOPIC = "notify.sms"
PUSH_TOPIC = "notify.push"

_PRINTED_ONWARD = {Status.SENT_TO_CENTRAL, Status.PRINTING, Status.PRINTED}


def kind_of(change: StatusChange) -> str | None:
    """Which notification a status change is worth, if any."""
    to, came_from = change.to_status, change.from_status
    if to == Status.QUEUED_FOR_PRINTING and came_from in {Status.RECEIVED,
                                                          Status.NEEDS_ATTENTION}:
        return texts.QUEUED  # approved (or approved again after a correction)
    if came_from == Status.QUEUED_FOR_PRINTING and to in _PRINTED_ONWARD:
        # Central's callbacks may overtake our own delivery record: the first step past the
        # queue is "central has it", whichever step it is.
        return texts.SENT
    return {Status.READY_FOR_PICKUP: texts.READY, Status.NEEDS_ATTENTION: texts.NEEDS_ATTENTION,
            Status.REJECTED: texts.REJECTED}.get(Status(to))


class _Zones(dict[str, zoneinfo.ZoneInfo]):
    def __missing__(self, office_id: str) -> zoneinfo.ZoneInfo:
        zone = self[office_id] = quiet_hours.office_zone(office_id)
        return zone


def notification_enqueue(*, recipient: Recipient, kind: str, refs: list[str], key: str,
                         office_id: str, zones: _Zones, now: dt.datetime) -> None:
    """One message to one recipient. Caller is inside the transaction of the event."""
    urgent = kind in texts.URGENT
    priority = 1 if urgent else 0
    if recipient.channel == Channel.SMS:
        hold = None if urgent else quiet_hours.held_until(now, zones[office_id])
        payload: dict[str, Any] = {
            "recipient_id": recipient.pk, "office": office_id, "urgent": urgent,
            "text": texts.sms_text(kind, recipient.language, refs,
                                   stop_token=recipient.stop_token),
        }
        enqueue(topic=SMS_TOPIC, key=key, payload=payload, priority=priority, not_before=hold)
    else:
        data = texts.push_data(kind, recipient.language, refs, stop_token=recipient.stop_token,
                               tag=key)
        enqueue(topic=PUSH_TOPIC, key=key,
                payload={"recipient_id": recipient.pk, "urgent": urgent, "data": data},
                priority=priority)


def on_status_changes(changes: Sequence[StatusChange]) -> None:
    """Status hook (immigration.status_changes): runs in the transaction of the changes."""
    worth = [(change, kind) for change in changes if (kind := kind_of(change))]
    if not worth:
        return
    follows: dict[int, list[Recipient]] = defaultdict(list)
    for follow in Follow.objects.filter(
        application_id__any=list({change.application_id for change, _ in worth})
    ).select_related("recipient"):
        follows[follow.application_id].append(follow.recipient)
    if not follows:
        return
    zones, now = _Zones(), timezone.now()
    for change, kind in worth:
        for recipient in follows.get(change.application_id, []):
            notification_enqueue(
                recipient=recipient, kind=kind, refs=[change.reference],
                key=f"event-{change.event_id}.r{recipient.pk}", office_id=change.office_id,
                zones=zones, now=now,
            )


def on_upstream_recovered(sender: Any, upstream: str, outage: UpstreamOutage,
                          **kwargs: Any) -> None:
    """"Printing has resumed": once per recipient (a phone or a browser), however many of the
    applications it follows were waiting; sent inside the transaction that closed the outage,
    keyed by the outage, so a second closing of the same outage cannot make a second message."""
    if upstream != CENTRAL_PRINTING:
        return
    # Whose applications the outage held up: still waiting, or sent on since it began (the
    # breaker closes only after the first batches went through, so most have moved on).
    moved_on = StatusEvent.objects.filter(
        application=OuterRef("application"), from_status=Status.QUEUED_FOR_PRINTING,
        to_status__in=[*_PRINTED_ONWARD, Status.READY_FOR_PICKUP], at__gte=outage.opened_at)
    waiting: dict[int, tuple[Recipient, list[tuple[str, str]]]] = {}
    for follow in Follow.objects.filter(
        Q(application__status=Status.QUEUED_FOR_PRINTING) | Exists(moved_on)
    ).select_related("recipient", "application"):
        entry = waiting.setdefault(follow.recipient_id, (follow.recipient, []))
        entry[1].append((follow.application.reference, follow.application.office_id))
    zones, now = _Zones(), timezone.now()
    for recipient, applications in waiting.values():
        applications.sort()
        notification_enqueue(
            recipient=recipient, kind=texts.RESUMED, refs=[ref for ref, _ in applications],
            key=f"outage-{outage.pk}.r{recipient.pk}", office_id=applications[0][1],
            zones=zones, now=now,
        )
