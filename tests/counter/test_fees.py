"""PNBP fees: the seeded tariff table, recording a payment (billing code or receipt number),
the payment readiness check, the outbox message, and the daily cash report."""

from __future__ import annotations

import csv
import io

import pytest

from immigration.counter.fees import PAYMENT_TOPIC
from immigration.counter.models import Payment, Tariff
from immigration.models import PassportApplication
from queueing.models import OutboxMessage
from tests.conftest import client_for
from tests.counter.conftest import submit_with
from tests.fixtures.dossier import complete_dossier

pytestmark = pytest.mark.django_db


def _pay(client, reference, **body):
    return client.post(f"/api/v1/applications/{reference}/payments",
                       {"method": "cash", **body}, format="json")


def test_tariffs_are_the_published_pnbp_amounts(api, nunukan):
    tariffs = {t["code"]: t["amount"] for t in api.get("/api/v1/tariffs").json()["tariffs"]}
    assert tariffs == {"passport_ordinary_48": 350_000, "passport_electronic_48": 650_000,
                       "express_same_day": 1_000_000}


def test_express_electronic_owes_passport_plus_surcharge(api, bambang_api):
    reference = submit_with(api, service="express", passport_type="electronic").json()[
        "reference"]
    record = bambang_api.get(f"/api/v1/applications/{reference}/counter").json()
    assert record["fee"]["total"] == 1_650_000
    assert record["fee"]["paid"] is False


def test_payment_needs_a_billing_code_or_a_receipt_number_not_both(api, bambang_api):
    reference = submit_with(api).json()["reference"]
    assert _pay(bambang_api, reference).status_code == 400
    both = _pay(bambang_api, reference, billing_code="820261129000001", receipt_no="KW/1")
    assert both.status_code == 400
    assert both.json()["field_codes"]["billing_code"] == ["billing_code_or_receipt"]
    assert not Payment.objects.exists()


def test_recording_a_payment_queues_it_for_billing_in_the_same_transaction(api, bambang_api):
    reference = submit_with(api, passport_type="ordinary").json()["reference"]
    response = _pay(bambang_api, reference, receipt_no="NNK/2026/000123", amount=350_000)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == 350_000 and body["clerk"] == "bambang"
    assert body["billing"]["state"] == "pending"
    message = OutboxMessage.objects.get(topic=PAYMENT_TOPIC)
    assert message.key == f"{reference}:pay1"
    assert message.payload == {"payment_id": body["id"]}  # no personal data in the outbox


def test_a_repeat_is_the_same_payment_and_other_details_are_refused(api, bambang_api):
    reference = submit_with(api).json()["reference"]
    first = _pay(bambang_api, reference, billing_code="820261129000001")
    again = _pay(bambang_api, reference, billing_code="820261129000001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = _pay(bambang_api, reference, receipt_no="KW/9")
    assert (other.status_code, other.json()["error"]) == (409, "already_paid")
    assert OutboxMessage.objects.filter(topic=PAYMENT_TOPIC).count() == 1


def test_a_wrong_amount_is_refused_with_the_amount_due(api, bambang_api):
    reference = submit_with(api, passport_type="electronic").json()["reference"]
    response = _pay(bambang_api, reference, receipt_no="KW/1", amount=350_000)
    assert (response.status_code, response.json()["error"]) == (409, "amount_mismatch")
    assert response.json()["due"] == 650_000


def test_an_unpaid_application_cannot_be_approved(api, bambang, bambang_api):
    reference = submit_with(api).json()["reference"]
    application = PassportApplication.objects.get(reference=reference)
    complete_dossier(application, bambang)
    bambang_api.post(f"/api/v1/applications/{reference}/interview",
                     {"note": "Sesuai dokumen asli", "originals_seen": True}, format="json")
    refused = bambang_api.post(f"/api/v1/applications/{reference}/approve")
    assert refused.status_code == 409
    assert [b["code"] for b in refused.json()["blockers"]] == ["payment_missing"]
    _pay(bambang_api, reference, receipt_no="KW/7")
    assert bambang_api.post(f"/api/v1/applications/{reference}/approve").status_code == 200


def test_the_tariff_table_is_what_the_fee_follows(api, bambang_api):
    Tariff.objects.filter(code="passport_ordinary_48").update(amount=400_000)
    reference = submit_with(api, passport_type="ordinary").json()["reference"]
    assert _pay(bambang_api, reference, receipt_no="KW/2").json()["amount"] == 400_000


def test_other_offices_and_applicants_cannot_record_payments(api, dewi, bambang_api):
    submitted = submit_with(api).json()
    assert _pay(client_for(dewi), submitted["reference"], receipt_no="KW/3").status_code == 404
    api.credentials(HTTP_X_ACCESS_CODE=submitted["access_code"])
    assert _pay(api, submitted["reference"], receipt_no="KW/3").status_code in (401, 403)


def test_cash_report_adds_up_per_clerk_and_downloads_as_csv(api, bambang_api, dewi, sari_api):
    for passport_type, who in [("ordinary", bambang_api), ("electronic", bambang_api),
                               ("electronic", sari_api)]:
        reference = submit_with(api, passport_type=passport_type).json()["reference"]
        assert _pay(who, reference, receipt_no=f"KW/{reference}").status_code == 201
    report = bambang_api.get("/api/v1/offices/NNK/cash-report").json()
    assert report["total"] == 350_000 + 650_000 + 650_000
    assert {c["clerk"]: (c["count"], c["total"]) for c in report["clerks"]} == {
        "bambang": (2, 1_000_000), "sari-nnk": (1, 650_000)}
    only = bambang_api.get("/api/v1/offices/NNK/cash-report?clerk=bambang").json()
    assert only["total"] == 1_000_000

    download = bambang_api.get("/api/v1/offices/NNK/cash-report?format=csv")
    assert download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0][:3] == ["paid_at", "reference", "clerk"]
    assert sum(int(r[6]) for r in rows[1:4]) == 1_650_000
    assert rows[-1] == ["total", "", "NNK", "", "", "", "1650000", ""]
    assert client_for(dewi).get("/api/v1/offices/NNK/cash-report").status_code == 403
