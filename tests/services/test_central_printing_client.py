"""The central printing client against the real simulator, in each of its fault modes."""

from __future__ import annotations

import httpx
import pytest

from services.base import UpstreamError
from services.central_printing import (
    MAX_BATCH,
    CentralPrintingClient,
    PrintJobReceipt,
    encode_body,
)
from services.signing import new_secret, sign_headers
from tests.fixtures.central import make_print_job


@pytest.fixture
def client(central):
    with central.client(timeout=5.0, connect_timeout=2.0) as client:
        yield client


def test_first_submission_creates_the_job(central, client):
    job = make_print_job()

    receipt = client.submit(job)

    assert receipt.created
    assert receipt.key == job["key"]
    assert receipt.status == "accepted"
    assert receipt.job_id.startswith("cp_")
    assert central.control.stats()["print_counts"] == {job["key"]: 1}


def test_replay_with_same_key_and_body_returns_original(central, client):
    job = make_print_job()
    first = client.submit(job)

    again = client.submit(dict(job))

    assert not again.created
    assert again.job_id == first.job_id
    assert central.control.stats()["print_counts"][job["key"]] == 1


def test_same_key_with_other_body_is_permanent(client):
    job = make_print_job()
    client.submit(job)

    with pytest.raises(UpstreamError) as caught:
        client.submit({**job, "service": "express"})

    assert caught.value.permanent
    assert caught.value.status == 422
    assert caught.value.code == "key_reused"


def test_invalid_job_is_permanent_and_detail_names_field_not_value(client):
    job = make_print_job()
    job["applicant"]["nik"] = "12345"

    with pytest.raises(UpstreamError) as caught:
        client.submit(job)

    error = caught.value
    assert error.permanent
    assert error.code == "invalid"
    assert error.detail == "applicant.nik: must be 16 digits"
    assert job["applicant"]["full_name"] not in repr(error)


@pytest.mark.parametrize(
    "field",
    [
        "office",
        "reference",
        "service",
        "passport_type",
        "priority",
        "approved_at",
        "callback_url",
        "applicant",
    ],
)
def test_job_missing_a_field_is_refused(client, field):
    job = make_print_job()
    del job[field]

    with pytest.raises(UpstreamError) as caught:
        client.submit(job)

    assert caught.value.permanent
    assert caught.value.detail is not None
    assert caught.value.detail.startswith(field)


def test_refused_reference_is_permanent(central, client):
    job = make_print_job()
    central.control.configure(refuse_references=[job["reference"]])

    with pytest.raises(UpstreamError) as caught:
        client.submit(job)

    assert caught.value.permanent
    assert caught.value.code == "refused"
    assert central.control.stats()["jobs"] == 0


def test_central_down_is_transient_with_retry_after(central, client):
    central.control.configure(mode="down", retry_after=7)

    with pytest.raises(UpstreamError) as caught:
        client.submit(make_print_job())

    error = caught.value
    assert not error.permanent
    assert not error.ambiguous
    assert error.status == 503
    assert error.retry_after == 7.0
    assert client.health() is False
    stats = central.control.stats()
    assert stats["jobs"] == 0
    assert stats["calls_while_down"] == 2
    assert stats["calls"]["by_outcome"]["503"] == 2


def test_failing_fraction_of_calls_answers_503(central, client):
    central.control.configure(fail_rate=1.0, retry_after=0.5)

    with pytest.raises(UpstreamError) as caught:
        client.submit(make_print_job())

    assert caught.value.status == 503
    assert caught.value.retry_after == 0.5


def test_rate_limit_answers_429_with_retry_after(central, client):
    central.control.configure(rate_limit_per_second=1)
    client.submit(make_print_job())

    with pytest.raises(UpstreamError) as caught:
        client.submit(make_print_job())

    error = caught.value
    assert not error.permanent
    assert error.status == 429
    assert error.retry_after is not None and error.retry_after >= 1
    assert central.control.stats()["jobs"] == 1


def test_timeout_is_ambiguous_and_commits_nothing(central):
    central.control.configure(mode="timeout", hang_seconds=1.0)
    job = make_print_job()

    with central.client(timeout=0.3) as impatient:
        with pytest.raises(UpstreamError) as caught:
            impatient.submit(job)

    error = caught.value
    assert not error.permanent
    assert error.ambiguous
    assert error.status is None
    central.control.configure(mode="up")
    with central.client() as client:
        assert client.get(job["key"]) is None


def test_dropped_response_is_ambiguous_and_resolved_by_key(central, client):
    central.control.configure(mode="drop")
    job = make_print_job()

    with pytest.raises(UpstreamError) as caught:
        client.submit(job)

    assert caught.value.ambiguous
    assert not caught.value.permanent
    central.control.configure(mode="up")
    assert client.get(job["key"])["status"] == "queued"
    resent = client.submit(job)
    assert not resent.created
    stats = central.control.stats()
    assert stats["print_counts"][job["key"]] == 1
    assert stats["printed_twice"] == []
    assert stats["calls"]["by_outcome"]["dropped"] == 1


def test_unknown_key_gives_none(client):
    assert client.get("job-that-never-was") is None


def test_get_returns_central_view_of_job(client):
    job = make_print_job()
    receipt = client.submit(job)

    found = client.get(job["key"])

    assert found is not None
    assert found["job_id"] == receipt.job_id
    assert found["reference"] == job["reference"]
    assert found["office"] == "NNK"
    assert "applicant" not in found


def test_unsigned_request_is_refused(central):
    response = httpx.post(f"{central.base_url}/v1/print-jobs", json=make_print_job())

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert central.control.stats()["jobs"] == 0


def test_wrong_secret_is_permanent_and_health_says_so(central):
    with CentralPrintingClient(central.base_url, new_secret(), timeout=5.0) as mallory:
        with pytest.raises(UpstreamError) as caught:
            mallory.submit(make_print_job())
        assert caught.value.permanent
        assert caught.value.status == 401
        with pytest.raises(UpstreamError):
            mallory.health()


def test_rotated_secrets_are_accepted(central):
    with CentralPrintingClient(central.base_url, [new_secret(), central.secret]) as client:
        assert client.submit(make_print_job()).created


def test_idempotency_key_must_match_body_key(central):
    job = make_print_job()
    body = encode_body(job)
    headers = {**sign_headers(central.secret, body), "idempotency-key": "some-other-key"}

    response = httpx.post(f"{central.base_url}/v1/print-jobs", content=body, headers=headers)

    assert response.status_code == 400


def test_health_is_true_when_up(client):
    assert client.health() is True


# -- batch -------------------------------------------------------------------------------


def test_batch_applies_each_job_independently_in_order(central, client):
    known = make_print_job()
    first = client.submit(known)
    invalid = make_print_job(service="overnight")
    reused = {**known, "priority": 5}
    fresh = make_print_job()

    results = client.submit_batch([fresh, known, invalid, reused])

    assert isinstance(results[0], PrintJobReceipt) and results[0].created
    assert isinstance(results[1], PrintJobReceipt) and not results[1].created
    assert results[1].job_id == first.job_id
    assert isinstance(results[2], UpstreamError) and results[2].permanent
    assert results[2].code == "invalid"
    assert isinstance(results[3], UpstreamError) and results[3].code == "key_reused"
    assert central.control.stats()["print_counts"] == {known["key"]: 1, fresh["key"]: 1}


def test_batch_against_central_down_raises(central, client):
    central.control.configure(mode="down")

    with pytest.raises(UpstreamError) as caught:
        client.submit_batch([make_print_job(), make_print_job()])

    assert caught.value.status == 503
    assert not caught.value.permanent


def test_batch_beyond_rate_limit_is_partly_refused(central, client):
    central.control.configure(rate_limit_per_second=2)

    results = client.submit_batch([make_print_job() for _ in range(5)])

    accepted = [r for r in results if isinstance(r, PrintJobReceipt)]
    limited = [r for r in results if isinstance(r, UpstreamError)]
    assert len(accepted) == 2
    assert len(limited) == 3
    assert all(e.status == 429 and not e.permanent and e.retry_after for e in limited)
    assert central.control.stats()["jobs"] == 2


def test_batch_with_no_room_at_all_is_refused_whole(central, client):
    central.control.configure(rate_limit_per_second=1)
    client.submit(make_print_job())

    with pytest.raises(UpstreamError) as caught:
        client.submit_batch([make_print_job(), make_print_job()])

    assert caught.value.status == 429


def test_dropped_batch_is_ambiguous_but_committed(central, client):
    jobs = [make_print_job() for _ in range(3)]
    central.control.configure(mode="drop")

    with pytest.raises(UpstreamError) as caught:
        client.submit_batch(jobs)

    assert caught.value.ambiguous
    central.control.configure(mode="up")
    results = client.submit_batch(jobs)
    assert all(isinstance(r, PrintJobReceipt) and not r.created for r in results)
    assert central.control.stats()["printed_twice"] == []


def test_batch_size_is_limited(client):
    with pytest.raises(ValueError, match="at most"):
        client.submit_batch([make_print_job() for _ in range(MAX_BATCH + 1)])


def test_empty_batch_makes_no_call(central, client):
    assert client.submit_batch([]) == []
    assert central.control.stats()["calls"]["total"] == 0


# -- inventory ---------------------------------------------------------------------------


def test_inventory_pages_through_one_office_in_acceptance_order(client):
    nunukan = [make_print_job(office="NNK") for _ in range(7)]
    perak = [make_print_job(office="TPK") for _ in range(3)]
    for job in [*nunukan[:4], *perak, *nunukan[4:]]:
        client.submit(job)

    keys, pages, cursor = [], 0, None
    while True:
        page = client.inventory("NNK", cursor=cursor, limit=3)
        keys += [j["key"] for j in page.jobs]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    assert keys == [j["key"] for j in nunukan]
    assert pages == 3


def test_inventory_since_skips_older_jobs(client):
    older, middle, newest = make_print_job(), make_print_job(), make_print_job()
    for job in (older, middle, newest):
        client.submit(job)
    since = client.get(middle["key"])["created_at"]

    page = client.inventory("NNK", since=since)

    assert [j["key"] for j in page.jobs] == [middle["key"], newest["key"]]
    assert client.inventory("NNK", since="2999-01-01T00:00:00+00:00").jobs == []


def test_inventory_with_bad_cursor_is_permanent(client):
    with pytest.raises(UpstreamError) as caught:
        client.inventory("NNK", cursor="not-a-cursor")

    assert caught.value.permanent
