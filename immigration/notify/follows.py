"""Opting in and out. Callers hold the application (by its capability) and run these inside
one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from immigration.models import PassportApplication
from immigration.notify.models import Channel, Follow, Recipient


@dataclass(frozen=True, slots=True)
class PushKeys:
    endpoint: str
    p256dh: str
    auth: str


def _recipient(*, channel: str, address: str, language: str) -> Recipient:
    """The recipient for an address, made on first use; its language follows the latest
    choice (one phone, one language, across every application it follows)."""
    found = Recipient.objects.with_address(channel, address).first()
    if found is None:
        try:
            with transaction.atomic():  # savepoint: two opt-ins for one phone may race
                found = Recipient.build(channel=channel, address=address, language=language)
                found.save()
        except IntegrityError:
            found = Recipient.objects.with_address(channel, address).get()
    if found.language != language:
        Recipient.objects.filter(pk=found.pk).update(language=language)
        found.language = language
    return found


def _forget_if_unused(recipient_ids: list[int]) -> None:
    Recipient.objects.filter(pk__in=recipient_ids, follows__isnull=True).delete()


def notifications_set(*, application: PassportApplication, sms: bool, language: str,
                      push: PushKeys | None = None, push_off_endpoint: str = "") -> None:
    """Set what this application's holder wants: SMS to the phone on the application (never a
    number typed in now), Web Push to this browser's subscription."""
    if sms:
        recipient = _recipient(channel=Channel.SMS, address=application.phone, language=language)
        Follow.objects.get_or_create(recipient=recipient, application=application)
    else:
        _unfollow(application, Channel.SMS)
    if push is not None:
        recipient = _recipient(channel=Channel.PUSH, address=push.endpoint, language=language)
        if (recipient.push_p256dh, recipient.push_auth) != (push.p256dh, push.auth):
            # A browser that renewed its subscription keys under the same endpoint.
            recipient.push_p256dh, recipient.push_auth = push.p256dh, push.auth
            recipient.save(update_fields=["push_p256dh", "push_auth"])
        Follow.objects.get_or_create(recipient=recipient, application=application)
    if push_off_endpoint:
        _unfollow(application, Channel.PUSH,
                  Recipient.objects.with_address(Channel.PUSH, push_off_endpoint))
    # The language is one per application's followers: keep them in step with this choice.
    Recipient.objects.filter(follows__application=application).exclude(
        language=language).update(language=language)


def _unfollow(application: PassportApplication, channel: str,
              recipients: QuerySet[Recipient] | None = None) -> None:
    follows = Follow.objects.filter(application=application, recipient__channel=channel)
    if recipients is not None:
        follows = follows.filter(recipient__in=recipients)
    ids = list(follows.values_list("recipient_id", flat=True))
    follows.delete()
    _forget_if_unused(ids)


def notifications_of(application: PassportApplication) -> dict[str, object]:
    channels = list(Follow.objects.filter(application=application)
                    .values_list("recipient__channel", "recipient__language"))
    return {
        "sms": any(channel == Channel.SMS for channel, _ in channels),
        "push_devices": sum(1 for channel, _ in channels if channel == Channel.PUSH),
        "language": channels[0][1] if channels else "id",
    }


def push_followed(application: PassportApplication, endpoint: str) -> bool:
    return Follow.objects.filter(
        application=application,
        recipient__in=Recipient.objects.with_address(Channel.PUSH, endpoint)).exists()


def recipient_stop(*, token: str) -> bool:
    """The unsubscribe link: forget the recipient (all its follows). True if there was one."""
    deleted, _ = Recipient.objects.with_token(token).delete()
    return bool(deleted)


def phone_stop(*, phone: str) -> bool:
    """A "STOP" reply from a phone: no more texts to it, for any application."""
    deleted, _ = Recipient.objects.with_address(Channel.SMS, phone).delete()
    return bool(deleted)
