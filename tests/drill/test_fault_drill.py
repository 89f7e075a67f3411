"""The fault drill in CI size (the long version: scripts/fault_drill.py)."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

from tests.drill.cluster import Cluster, database_url
from tests.drill.fault_drill import run_drill

pytestmark = [pytest.mark.drill, pytest.mark.django_db(transaction=True)]


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
            # The drill measures delivery, not the counter: phones send no dossiers here, so
            # approval skips the readiness checks (the dossier drill will turn them back on).
            "APPROVAL_CHECKS": "none",
        },
    )
    n = int(os.environ.get("DRILL_APPLICATIONS", "60"))
    with cluster.start(workers=2):
        result = run_drill(cluster, applications=n, log=print)
    with capsys.disabled():
        print("\n" + result.summary())
    assert result.accepted == n  # every phone's application was accepted during the outage
    assert result.lost == []
    assert result.printed_twice == []
    assert result.unexpected == []
    # Bounded by the probe rate (1 per 1-2 s cooldown), not by the backlog of n jobs.
    assert result.calls_while_down < n / 2
    assert len(result.faults) >= 10
