"""The fault drill in CI size (the long version: scripts/fault_drill.py)."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

from tests.drill.cluster import Cluster, database_url
from tests.drill.fault_drill import run_drill

pytestmark = [pytest.mark.drill, pytest.mark.django_db(transaction=True)]


BLOB_CHUNK = 16 * 1024


def test_nothing_lost_nothing_duplicated_across_crashes_and_outages(tmp_path, nunukan,
                                                                    capsys):
    cluster = Cluster(
        workdir=tmp_path,
        database_url=database_url(connection.settings_dict),
        shared_secrets={"SECRET_KEY": settings.SECRET_KEY, "PII_KEYS": settings.PII_KEYS,
                        "PII_INDEX_KEY": settings.PII_INDEX_KEY},
        extra_env={
            "QUEUE_SWEEP_SECONDS": "1",
            "QUEUE_BATCH_SIZE": "20",
            "QUEUE_LEASE_SECONDS": "10",
            "QUEUE_BACKOFF_BASE_SECONDS": "0.2",
            "QUEUE_BACKOFF_CAP_SECONDS": "2",
            "QUEUE_BREAKER_COOLDOWN_SECONDS": "1",
            "QUEUE_BREAKER_COOLDOWN_CAP": "2",
            "QUEUE_DRAIN_BUDGET_SECONDS": "5",
            "CENTRAL_PRINTING_TIMEOUT": "2",
            # The drill measures delivery, not the counter: each application gets the photo
            # and signature central needs, not the documents the clerk checks, so approval
            # skips the readiness checks.
            "APPROVAL_CHECKS": "none",
            "CENTRAL_BLOB_CHUNK_BYTES": str(BLOB_CHUNK),
            "CENTRAL_PRINTING_BATCH_SIZE": "10",
        },
        # Jobs stay at "queued" at central, so reconciliation after the blob-store loss has
        # every job to repair (a job central already dispatched needs no photo any more).
        step_seconds=0,
    )
    n = int(os.environ.get("DRILL_APPLICATIONS", "60"))
    with cluster.start(workers=2):
        result = run_drill(cluster, applications=n, log=print, dossiers=True,
                           blob_chunk_bytes=BLOB_CHUNK)
    with capsys.disabled():
        print("\n" + result.summary())
    assert result.accepted == n  # every phone's application was accepted during the outage
    assert result.lost == []
    assert result.printed_twice == []
    assert result.unexpected == []
    # Bounded by the probe rate (1 per 1-2 s cooldown), not by the backlog of n jobs.
    assert result.calls_while_down < n / 2
    assert len(result.faults) >= 10
    # Dossiers: every photo and signature at central is the office's, byte for byte, after the
    # cuts, the kills and the blob-store loss; none was sent in full twice; a cut costs at most
    # the chunk in flight.
    assert result.blobs_checked == 2 * n
    assert result.blobs_not_identical == []
    assert result.blobs_sent_twice == []
    assert result.blob_bytes_discarded <= max(result.link_cuts, 1) * BLOB_CHUNK * 2
