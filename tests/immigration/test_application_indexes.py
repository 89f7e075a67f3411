"""Each index on applications is written on every accept (issue 13): only the ones lookups use
are kept, and the rules the database enforces are still there after migration 0008."""

from __future__ import annotations

import pytest
from django.db import connection

from immigration.models import PassportApplication

pytestmark = pytest.mark.django_db


def test_applications_carry_only_the_indexes_lookups_use():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, PassportApplication._meta.db_table)
    indexes = {(tuple(info["columns"]), bool(info["unique"]))
               for name, info in constraints.items()
               if (info["index"] or info["unique"]) and not info["primary_key"]
               and not info["foreign_key"] and not name.endswith("_like")}
    assert indexes == {
        (("reference",), True),
        (("nik_index",), True),  # one active application per NIK (partial)
        (("nik_index",), False),  # staff search by NIK, every status
        (("office_id", "status"), False),
    }
    assert not [name for name in constraints if name.endswith("_like")]


def _indexed_columns(model: type) -> list[list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [info["columns"] for info in constraints.values()
            if info["index"] and not info["primary_key"]]


def test_events_index_only_staff_users_and_replay_records_not_their_application():
    from immigration.models import IdempotencyRecord, StatusEvent

    with connection.cursor() as cursor:
        event_indexes = connection.introspection.get_constraints(
            cursor, StatusEvent._meta.db_table)
    (user_index,) = [name for name, info in event_indexes.items()
                     if info["index"] and info["columns"] == ["user_id"]]
    assert user_index == "statusevent_staff_user"  # the partial one: WHERE user_id IS NOT NULL
    assert ["application_id"] not in _indexed_columns(IdempotencyRecord)
