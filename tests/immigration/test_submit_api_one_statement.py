"""The submission tests again, outside any test transaction: on PostgreSQL a first submission
is then accepted in one statement (immigration/intake.py `_accept_in_one_statement`), which the
module next door, run inside a transaction, never reaches. Same behaviour expected, byte for
byte."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.immigration.test_submit_api import *  # noqa: F403  (every test, collected again)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_first_submission_is_one_statement_on_postgresql(submit, siti):
    key = str(uuid.uuid4())
    with CaptureQueriesContext(connection) as queries:
        response = submit(siti, key=key)
    assert response.status_code == 201
    statements = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert len(statements) == 1 and statements[0].startswith("WITH o AS")
    else:
        assert any(s.startswith("INSERT") for s in statements)
    # What the one statement wrote is what the general path writes: the replay answers with it.
    again = submit(siti, key=key)
    assert again.content == response.content and again["Idempotent-Replayed"] == "true"
