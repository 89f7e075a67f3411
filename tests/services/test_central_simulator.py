"""The simulator's own behaviour: progression, callbacks, restore, durability, control."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from services.central_printing import CentralPrintingClient
from services.signing import verify
from services.simulator.process import SimulatorControl, SimulatorProcess
from tests.fixtures.central import CallbackReceiver, make_print_job, wait_until


def statuses(receiver: CallbackReceiver, key: str) -> list[str]:
    return [e["status"] for e in receiver.events(key)]


def test_callbacks_arrive_signed_and_in_order(central, callback_receiver):
    central.control.configure(step_seconds=0.05)
    job = make_print_job(callback_url=callback_receiver.url)
    with central.client() as client:
        receipt = client.submit(job)

    wait_until(lambda: len(callback_receiver.events(job["key"])) == 3)

    assert statuses(callback_receiver, job["key"]) == ["printing", "printed", "dispatched"]
    for received in callback_receiver.received:
        verify([central.secret], received.body, received.headers)
        event = received.json()
        assert received.headers["webhook-id"] == event["event_id"]
        assert event["job_id"] == receipt.job_id
        assert "reason" not in event
    # The receiver records before it answers, so central may not have noted the last one yet.
    wait_until(lambda: central.control.stats()["callbacks"]["delivered"] == 3)


def test_step_zero_moves_jobs_only_when_told(central, callback_receiver):
    job = make_print_job(callback_url=callback_receiver.url)
    with central.client() as client:
        client.submit(job)

        assert central.control.advance() == 1
        wait_until(lambda: statuses(callback_receiver, job["key"]) == ["printing"])
        assert client.get(job["key"])["status"] == "printing"

        central.control.advance()
        central.control.advance()
        assert central.control.advance() == 0  # dispatched is final
        assert client.get(job["key"])["status"] == "dispatched"
    wait_until(lambda: len(callback_receiver.events(job["key"])) == 3)
    assert statuses(callback_receiver, job["key"]) == ["printing", "printed", "dispatched"]


def test_job_with_mismatching_data_is_called_back_rejected(central, callback_receiver):
    job = make_print_job(callback_url=callback_receiver.url)
    central.control.configure(reject_references=[job["reference"]])
    with central.client() as client:
        assert client.submit(job).created

        central.control.advance()
        assert central.control.advance() == 0  # rejected is final

        assert client.get(job["key"])["status"] == "rejected"
    event = wait_until(lambda: callback_receiver.events(job["key"]))[0]
    assert event["status"] == "rejected"
    assert event["reason"] == "data mismatch at central"


def test_failed_callback_is_retried_until_accepted_keeping_order(central, callback_receiver):
    callback_receiver.answers = [500, 503]
    job = make_print_job(callback_url=callback_receiver.url)
    with central.client() as client:
        client.submit(job)
    central.control.advance()
    central.control.advance()

    wait_until(lambda: central.control.stats()["callbacks"]["delivered"] == 2)

    events = callback_receiver.events(job["key"])
    assert [e["status"] for e in events] == ["printing", "printing", "printing", "printed"]
    assert len({e["event_id"] for e in events[:3]}) == 1  # retries reuse the event id


def test_callback_refused_with_4xx_is_given_up(central, callback_receiver):
    callback_receiver.answers = [410]
    job = make_print_job(callback_url=callback_receiver.url)
    with central.client() as client:
        client.submit(job)
    central.control.advance()

    wait_until(lambda: central.control.stats()["callbacks"]["abandoned"] == 1)

    assert len(callback_receiver.events(job["key"])) == 1


def test_dead_callback_target_does_not_block_intake(central):
    central.control.configure(step_seconds=0.05)
    with central.client() as client:
        for _ in range(5):
            assert client.submit(make_print_job(callback_url="http://127.0.0.1:9/cb")).created

    def all_dispatched():
        stats = central.control.stats()
        return stats if stats["jobs_by_status"].get("dispatched") == 5 else None

    stats = wait_until(all_dispatched)
    assert stats["callbacks"]["delivered"] == 0
    assert stats["callbacks"]["pending"] == 15  # three events per job, all waiting


def test_restore_loses_later_jobs_but_keeps_print_ledger(central):
    before = make_print_job()
    after = make_print_job()
    with central.client() as client:
        client.submit(before)
        assert central.control.restore_point() == 1
        client.submit(after)

        assert central.control.restore() == 1

        assert client.get(before["key"]) is not None
        assert client.get(after["key"]) is None
        stats = central.control.stats()
        assert stats["jobs"] == 1
        assert stats["print_counts"] == {before["key"]: 1, after["key"]: 1}
        # Resending what central lost prints it again: the ledger shows the damage.
        assert client.submit(after).created
    assert central.control.stats()["printed_twice"] == [after["key"]]


def test_restore_also_rewinds_job_status(central):
    job = make_print_job()
    with central.client() as client:
        client.submit(job)
        central.control.restore_point()
        central.control.advance()

        central.control.restore()

        assert client.get(job["key"])["status"] == "queued"


def test_reset_empties_store_ledger_counters_and_config(central):
    with central.client() as client:
        client.submit(make_print_job())
    central.control.configure(mode="down", fail_rate=0.5)

    central.control.reset()

    stats = central.control.stats()
    assert stats["jobs"] == 0
    assert stats["print_counts"] == {}
    assert stats["calls"]["total"] == 0
    assert central.control.config()["mode"] == "up"
    assert central.control.config()["fail_rate"] == 0.0


def test_stats_count_calls_by_path_and_outcome(central):
    with central.client() as client:
        client.health()
        client.submit(make_print_job())
        client.get("nope")
    httpx.get(f"{central.base_url}/v1/health")

    calls = central.control.stats()["calls"]

    assert calls["total"] == 4
    assert calls["by_path"] == {
        "GET /v1/health": 2,
        "POST /v1/print-jobs": 1,
        "GET /v1/print-jobs/{key}": 1,
    }
    assert calls["by_outcome"]["2xx"] == 2
    assert calls["by_outcome"]["401"] == 1
    assert calls["by_outcome"]["404"] == 1


def test_unknown_control_knob_is_refused(central):
    with pytest.raises(ValueError, match="unknown knobs"):
        central.control.configure(colour="blue")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="mode"):
        central.control.configure(mode="sideways")  # type: ignore[arg-type]


def test_committed_jobs_survive_a_crash(tmp_path):
    with SimulatorProcess(db_path=tmp_path / "central.sqlite3", step_seconds=0) as central:
        job = make_print_job()
        with central_client(central) as client:
            client.submit(job)

        central.kill()
        central.start()

        with central_client(central) as client:
            assert not client.submit(job).created
        assert central.control.stats()["print_counts"] == {job["key"]: 1}


def test_simulator_refuses_to_start_without_a_secret(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CENTRAL_PRINTING_SECRET"}

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.simulator",
            "--port",
            "0",
            "--db",
            str(tmp_path / "c.sqlite3"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    assert "secret is required" in result.stderr


def test_simulator_process_uses_the_default_step_time(tmp_path):
    with SimulatorProcess(db_path=tmp_path / "c.sqlite3") as central:
        with SimulatorControl(central.base_url) as control:
            assert control.config()["step_seconds"] == 1.0
            assert control.config()["mode"] == "up"


def central_client(process: SimulatorProcess) -> CentralPrintingClient:
    return CentralPrintingClient(process.base_url, process.secret, timeout=5.0)
