"""The SMS gateway client against the simulator's gateway (a real HTTP server): idempotency by
key, refusals, and the fault knobs mapped onto UpstreamError."""

from __future__ import annotations

import pytest

from services.base import UpstreamError
from services.signing import new_secret
from services.simulator.sms import SmsControl
from services.sms_gateway import SmsGatewayClient


@pytest.fixture
def gateway(central):
    control = SmsControl(central.base_url)
    client = SmsGatewayClient(f"{central.base_url}/sms", central.secret, timeout=1.0)
    yield client, control
    client.close()
    control.close()


def test_a_key_is_texted_once_and_answered_again(gateway):
    client, control = gateway
    first = client.send(key="k1", to="+6281234567890", text="Paspor NNK-1: siap diambil.")
    again = client.send(key="k1", to="+6281234567890", text="Paspor NNK-1: siap diambil.")
    assert first.created and not again.created and first.message_id == again.message_id
    assert [m["key"] for m in control.ledger()] == ["k1"]
    assert control.stats()["replays"] == 1
    assert client.get("k1")["message_id"] == first.message_id
    assert client.get("nope") is None


def test_same_key_other_words_and_bad_numbers_are_refused_for_good(gateway):
    client, control = gateway
    client.send(key="k2", to="+6281234567890", text="one")
    with pytest.raises(UpstreamError) as reused:
        client.send(key="k2", to="+6281234567890", text="two")
    assert reused.value.permanent and reused.value.code == "key_reused"
    with pytest.raises(UpstreamError) as invalid:
        client.send(key="k3", to="0812", text="x")
    assert invalid.value.permanent and invalid.value.status == 422
    assert len(control.ledger()) == 1


def test_unsigned_or_wrongly_signed_calls_are_refused(central):
    with SmsGatewayClient(f"{central.base_url}/sms", new_secret()) as client:
        with pytest.raises(UpstreamError) as refused:
            client.send(key="k4", to="+6281234567890", text="x")
    assert refused.value.status == 401 and refused.value.permanent


def test_fault_knobs_map_to_transient_errors(gateway):
    client, control = gateway
    control.configure(mode="down", retry_after=2)
    with pytest.raises(UpstreamError) as down:
        client.send(key="k5", to="+6281234567890", text="x")
    assert not down.value.permanent and down.value.retry_after == 2
    assert not client.health()
    control.configure(mode="drop")
    with pytest.raises(UpstreamError) as dropped:
        client.send(key="k6", to="+6281234567890", text="x")
    assert dropped.value.ambiguous  # sent, answer lost: the ledger has it
    assert [m["key"] for m in control.ledger()] == ["k6"]
    control.configure(mode="up", rate_limit_per_second=0.5)
    client.send(key="k7", to="+6281234567890", text="x")
    with pytest.raises(UpstreamError) as limited:
        client.send(key="k8", to="+6281234567890", text="x")
    assert limited.value.status == 429 and not limited.value.permanent
    assert limited.value.retry_after and limited.value.retry_after >= 1
    control.configure(mode="timeout", hang_seconds=2)
    with pytest.raises(UpstreamError) as timed_out:
        client.send(key="k9", to="+6281234567890", text="x")
    assert timed_out.value.ambiguous and not timed_out.value.permanent
