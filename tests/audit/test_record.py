"""audit_record: entries appended in the caller's transaction, never personal data."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from immigration.audit import audit_record
from immigration.audit.chain import seal
from immigration.audit.models import AuditEntry
from immigration.audit.records import AuditDetailRefused
from immigration.models import Office

pytestmark = pytest.mark.django_db


def test_entry_records_actor_action_office_and_detail(bambang: User, nunukan: Office) -> None:
    audit_record(actor=bambang, action="cash_report.download", office=nunukan,
                 detail={"day": "2026-11-29", "rows": 3, "csv": True})

    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.office, entry.application) == (
        bambang, "cash_report.download", nunukan, None)
    assert entry.detail == {"day": "2026-11-29", "rows": 3, "csv": True}
    assert entry.seq is None  # appended unsealed: no lock taken by the caller


def test_anonymous_actor_is_recorded_as_system(nunukan: Office) -> None:
    audit_record(actor=AnonymousUser(), action="application.erase", office=nunukan)
    assert AuditEntry.objects.get().actor is None


def test_entry_rolls_back_with_the_callers_transaction(bambang: User) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=bambang, action="dossier.open")
        raise RuntimeError("the action failed")
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("detail", [
    {"nik": "reference-only"},            # a personal field's name as a key means its value
    {"query": "6504014101900001"},        # a NIK-shaped value
    {"phone_tail": "081234567890"},       # any long digit run
    {"ratio": 0.5},                       # not str/int/bool
])
def test_detail_with_personal_data_is_refused(bambang: User, detail: dict[str, Any]) -> None:
    with pytest.raises(AuditDetailRefused):
        audit_record(actor=bambang, action="application.search_nik", detail=detail)
    assert not AuditEntry.objects.exists()


def test_action_must_be_a_dotted_name(bambang: User) -> None:
    with pytest.raises(ValueError):
        audit_record(actor=bambang, action="Search NIK")


def test_sealer_links_entries_into_the_chain(bambang: User) -> None:
    for n in range(3):
        audit_record(actor=bambang, action="dossier.open", detail={"n": n})
    assert seal() == 3
    seqs = list(AuditEntry.objects.order_by("id").values_list("seq", flat=True))
    assert seqs == [1, 2, 3]
    assert seal() == 0
