"""Dead letters: messages upstream refused for good (or that ran out of attempts)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from queueing import topics
from queueing.kick import kick
from queueing.models import MessageStatus, OutboxMessage


class NotDead(Exception):
    pass


def dead_letter_retry(*, message_id: int) -> OutboxMessage:
    """Put a dead message back in the queue as new. The topic's `on_retry` runs in the same
    transaction (e.g. to move the domain object back to "waiting")."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(id=message_id)
        if message.status != MessageStatus.DEAD:
            raise NotDead(f"message {message_id} is {message.status}, not dead")
        message.status = MessageStatus.PENDING
        message.attempts = 0
        message.next_attempt_at = timezone.now()
        message.dead_at = None
        message.save(update_fields=["status", "attempts", "next_attempt_at", "dead_at",
                                    "updated_at"])
        topics.get(message.topic).on_retry(message)
        transaction.on_commit(kick)
    return message


def dead_letter_retry_all() -> int:
    ids = list(OutboxMessage.objects.filter(status=MessageStatus.DEAD).values_list("id", flat=True))
    for message_id in ids:
        dead_letter_retry(message_id=message_id)
    return len(ids)
