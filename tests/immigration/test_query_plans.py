"""The drain's statements reach their rows by primary key whatever PostgreSQL's statistics say.

A backlog is bulk-built during an outage and drained right after recovery, before autovacuum has
looked at it (the test server runs with autovacuum off, as this machine's does): the planner then
believes what the statistics said before the outage. Moving a batch to "sent to central" with
the status as a constant let it walk every queued application for each batch, 40-50 ms at
30,000 waiting and up to 1.4 s (issue 13, fourth pass; docs/benchmarks.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from immigration.lifecycle import Status
from immigration.models import PassportApplication, move_to_sent_statement
from tests.conftest import applicant

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's planner"),
]

QUEUED = 5000  # enough pages that reading them all costs the planner more than 300 lookups


def _copies_of(template: PassportApplication, count: int, *, status: str) -> None:
    """`count` copies of one application row, each with its own reference and NIK index: a
    backlog of that size in a blink (building each would encrypt its fields)."""
    table = PassportApplication._meta.db_table
    columns = [f.column for f in PassportApplication._meta.concrete_fields if f.column != "id"]
    made = {"reference": "'T-' || g", "nik_index": "md5(g::text)", "status": "%s"}
    select = ", ".join(made.get(c, connection.ops.quote_name(c)) for c in columns)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {select} "
            f"FROM {table}, generate_series(1, %s) AS g WHERE id = %s",
            [status, count, template.pk],
        )


def _scans_of(plan: dict[str, Any], relation: str) -> list[dict[str, Any]]:
    found = [plan] if plan.get("Relation Name") == relation and "Scan" in plan["Node Type"] \
        else []
    for child in plan.get("Plans", []):
        found += _scans_of(child, relation)
    return found


def test_a_batch_moves_to_sent_by_primary_key_though_the_statistics_saw_no_backlog(nunukan):
    template, _ = PassportApplication.build(
        office=nunukan, applicant=applicant(), service="regular", passport_type="electronic",
        application_type="new")
    template.status = Status.SENT_TO_CENTRAL
    template.save()
    table = PassportApplication._meta.db_table
    # Statistics taken while nothing waited for central, then an outage's backlog.
    _copies_of(template, QUEUED, status=Status.SENT_TO_CENTRAL)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
        cursor.execute(f"UPDATE {table} SET status = %s WHERE reference LIKE 'T-%%'",
                       [Status.QUEUED_FOR_PRINTING])
    batch = list(PassportApplication.objects.filter(status=Status.QUEUED_FOR_PRINTING)
                 .order_by("-id").values_list("id", "data_version")[:300])
    jobs = {job: f"job {job[0]}" for job in batch}
    sql, params = move_to_sent_statement(jobs, {app_id: "" for app_id, _ in batch},
                                         timezone.now())

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        explained = cursor.fetchone()[0]
        (plan,) = json.loads(explained) if isinstance(explained, str) else explained
        transaction.set_rollback(True)  # ANALYZE ran it: keep the backlog as it was

    scans = _scans_of(plan["Plan"], table)
    assert scans, plan
    assert all(s.get("Index Name") == f"{table}_pkey" for s in scans), scans
    assert sum(s["Actual Rows"] * s["Actual Loops"] for s in scans) == len(batch)
    assert PassportApplication.objects.filter(status=Status.QUEUED_FOR_PRINTING).count() \
        == QUEUED
