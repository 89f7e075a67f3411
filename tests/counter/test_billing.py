"""The billing upstream: the client against the simulator's billing, and payments and print jobs
draining independently through the real delivery functions when one upstream is down."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from immigration.counter.fees import PAYMENT_TOPIC, payment_record
from immigration.counter.models import Payment
from immigration.models import PRINT_JOB_TOPIC, PassportApplication
from queueing import breaker, deliver
from queueing.models import OutboxMessage
from services.base import UpstreamError
from services.billing import BillingClient
from services.signing import new_secret
from services.simulator.billing import BillingControl
from tests.conftest import application_payload
from tests.fixtures.approvable import make_approvable
from tests.fixtures.central import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _payment(key="NNK-TEST-0001:pay1", **overrides):
    return {"key": key, "office": "NNK", "reference": key.split(":")[0], "amount": 650_000,
            "currency": "IDR", "method": "cash", "receipt_no": "KW/1",
            "paid_at": "2026-11-29T09:00:00+08:00", **overrides}


@pytest.fixture
def billing(central):
    with BillingClient(f"{central.base_url}/billing", central.secret, timeout=2) as client:
        yield client


@pytest.fixture
def billing_control(central):
    control = BillingControl(central.base_url)
    yield control
    control.close()


def test_billing_records_once_and_answers_repeats_with_the_same_id(billing, billing_control):
    first = billing.pay(_payment())
    again = billing.pay(_payment())
    assert first.created and not again.created
    assert again.payment_id == first.payment_id
    assert billing.get("NNK-TEST-0001:pay1")["payment_id"] == first.payment_id
    assert billing.get("NNK-NONE-0000:pay1") is None
    with pytest.raises(UpstreamError) as reused:
        billing.pay(_payment(amount=1))
    assert reused.value.permanent and reused.value.code == "key_reused"
    assert billing_control.stats()["payments"] == 1


def test_billing_refuses_unsigned_calls_and_has_its_own_fault_knobs(central, billing,
                                                                    billing_control):
    with BillingClient(f"{central.base_url}/billing", new_secret(), timeout=2) as forger, \
            pytest.raises(UpstreamError) as refused:
        forger.pay(_payment())
    assert refused.value.status == 401
    billing_control.configure(mode="down", retry_after=0.1)
    assert billing.health() is False
    with central.client() as printing:
        assert printing.health() is True  # central printing is not billing
    with pytest.raises(UpstreamError) as down:
        billing.pay(_payment())
    assert not down.value.permanent and down.value.retry_after == 0.1
    billing_control.configure(mode="up")
    central.control.configure(mode="down")
    assert billing.health() is True


def _approved_and_paid(submit, bambang_api, n):
    bambang = User.objects.get(username="bambang")
    references = []
    for _ in range(n):
        reference = submit(application_payload()).json()["reference"]
        make_approvable(reference, bambang)  # records the fee: a billing.payment message
        assert bambang_api.post(f"/api/v1/applications/{reference}/approve").status_code == 200
        references.append(reference)
    return references


def _due_now():
    OutboxMessage.objects.filter(status="pending").update(next_attempt_at=timezone.now())


def _pending(topic):
    return OutboxMessage.objects.filter(topic=topic, status="pending").count()


def test_billing_down_printing_still_drains_then_payments_follow(
    wired, submit, bambang_api, billing_control
):
    references = _approved_and_paid(submit, bambang_api, 4)
    billing_control.configure(mode="down", retry_after=0.1)
    for _ in range(8):
        _due_now()
        deliver.drain(budget_seconds=0.5)
    statuses = set(PassportApplication.objects.filter(reference__in=references)
                   .values_list("status", flat=True))
    assert statuses == {"sent_to_central"}  # printing drained on its own
    assert _pending(PAYMENT_TOPIC) == 4
    assert breaker.state("billing").state == "open"
    assert breaker.state("central_printing").state == "closed"
    assert set(Payment.objects.values_list("billing_state", flat=True)) == {"pending"}

    billing_control.configure(mode="up")
    wait_until(lambda: (_due_now(), deliver.drain(budget_seconds=1))
               and _pending(PAYMENT_TOPIC) == 0, timeout=20)
    assert set(Payment.objects.values_list("billing_state", flat=True)) == {"recorded"}
    stats = billing_control.stats()
    assert stats["payments"] == 4 and stats["recorded_twice"] == []


def test_central_down_payments_still_reach_billing(wired, submit, bambang_api, billing_control):
    wired.control.configure(mode="down", retry_after=0.1)
    references = _approved_and_paid(submit, bambang_api, 3)
    for _ in range(8):
        _due_now()
        deliver.drain(budget_seconds=0.5)
    assert _pending(PAYMENT_TOPIC) == 0
    assert set(Payment.objects.values_list("billing_state", flat=True)) == {"recorded"}
    assert _pending(PRINT_JOB_TOPIC) == 3
    assert breaker.state("central_printing").state == "open"
    assert breaker.state("billing").state == "closed"

    wired.control.configure(mode="up")
    wait_until(lambda: (_due_now(), deliver.drain(budget_seconds=1)) and set(
        PassportApplication.objects.filter(reference__in=references)
        .values_list("status", flat=True)) == {"sent_to_central"}, timeout=20)
    assert billing_control.stats()["recorded_twice"] == []


def test_a_dropped_billing_answer_is_resolved_by_key(wired, submit, bambang, billing_control):
    reference = submit(application_payload()).json()["reference"]
    with transaction.atomic():
        application = PassportApplication.objects.select_for_update().get(reference=reference)
        payment_record(application=application, clerk=bambang, method="cash",
                       billing_code="820261129000042")
    billing_control.configure(mode="drop")
    deliver.drain(budget_seconds=1)
    message = OutboxMessage.objects.get(topic=PAYMENT_TOPIC)
    assert message.status == "pending" and message.outcome_unknown
    billing_control.configure(mode="up")
    wait_until(lambda: (_due_now(), deliver.drain(budget_seconds=1))
               and Payment.objects.get().billing_state == "recorded", timeout=20)
    stats = billing_control.stats()
    assert stats["payments"] == 1 and stats["recorded_twice"] == []
