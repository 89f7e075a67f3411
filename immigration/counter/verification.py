"""Verification at the counter: the clerk's interview note (documents themselves are checked in
the dossier), and an optional second pair of eyes: a supervisor's sign-off."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from immigration.counter.errors import CounterRefused
from immigration.counter.models import CounterSettings, Interview, SignOff, audit
from immigration.lifecycle import Status
from immigration.models import PassportApplication
from immigration.readiness import Blocker

SUPERVISOR_GROUP = "supervisor"


class VerificationRefused(CounterRefused):
    """An interview or sign-off rule said no."""


def is_supervisor(user: Any) -> bool:
    return bool(user and user.is_authenticated
                and user.groups.filter(name=SUPERVISOR_GROUP).exists())


def interview_record(*, application: PassportApplication, by: Any, note: str,
                     originals_seen: bool) -> Interview:
    if application.status != Status.RECEIVED:
        raise VerificationRefused("illegal_transition",
                                  _("Interviews are recorded while the application is received."))
    interview = Interview.objects.create(application=application, by=by, note=note,
                                         originals_seen=originals_seen)
    audit(office=application.office_id, action="interview", user=by, application=application,
          note="originals seen" if originals_seen else "originals not seen")
    return interview


def latest_interview(application: PassportApplication) -> Interview | None:
    return Interview.objects.filter(application=application).order_by("-at", "-id").first()


def signoff_record(*, application: PassportApplication, by: Any,
                   note: str = "") -> tuple[SignOff, bool]:
    if application.status != Status.RECEIVED:
        raise VerificationRefused("illegal_transition",
                                  _("Sign-off happens before approval."))
    interview = latest_interview(application)
    if interview is None:
        raise VerificationRefused("interview_missing",
                                  _("The interview has not been recorded yet."))
    if interview.by_id == by.pk:
        raise VerificationRefused("same_person",
                                  _("The sign-off must come from someone other than the clerk "
                                    "who interviewed the applicant."))
    existing = SignOff.objects.filter(application=application, by=by).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            signoff = SignOff.objects.create(application=application, by=by, note=note)
    except IntegrityError:
        return SignOff.objects.get(application=application, by=by), False
    audit(office=application.office_id, action="signoff", user=by, application=application,
          note=note)
    return signoff, True


def interview_blockers(application: PassportApplication) -> Iterable[Blocker]:
    interview = latest_interview(application)
    if interview is None or not interview.originals_seen:
        yield Blocker("interview_missing",
                      _("The interview and the check of the original documents are not "
                        "recorded."))


def signoff_blockers(application: PassportApplication) -> Iterable[Blocker]:
    if not CounterSettings.for_office(application.office_id).requires_signoff:
        return
    interview = latest_interview(application)
    signers = SignOff.objects.filter(application=application, by__groups__name=SUPERVISOR_GROUP)
    if interview is not None:
        signers = signers.exclude(by_id=interview.by_id)
    if not signers.exists():
        yield Blocker("signoff_missing", _("A supervisor has not signed off yet."))
