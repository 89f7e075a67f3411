"""Personal data stays encrypted at rest, survives key rotation, and never reaches the logs."""

from __future__ import annotations

import base64
import logging
import os
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from immigration import personal_data
from immigration.models import PassportApplication
from queueing import deliver
from tests.fixtures.approvable import make_approvable

pytestmark = pytest.mark.django_db(transaction=True)


def _raw(column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM immigration_passportapplication")
        return cursor.fetchone()[0]


@pytest.fixture
def rotated_keys(settings):
    old = settings.PII_KEYS
    new = "9:" + base64.b64encode(os.urandom(32)).decode()
    yield old, new
    settings.PII_KEYS = old
    personal_data.keyring.cache_clear()


def test_key_rotation_reencrypts_and_old_key_can_then_be_dropped(submit, siti, settings,
                                                                  rotated_keys):
    old, new = rotated_keys
    reference = submit(siti).json()["reference"]
    assert not _raw("full_name").startswith("v9:")

    settings.PII_KEYS = f"{new},{old}"  # new key first: it encrypts; the old one still decrypts
    personal_data.keyring.cache_clear()
    assert PassportApplication.objects.get(reference=reference).full_name == "Siti Aminah"
    call_command("rotate_pii_keys", stdout=StringIO())
    assert _raw("full_name").startswith("v9:")

    settings.PII_KEYS = new  # the old key is gone
    personal_data.keyring.cache_clear()
    application = PassportApplication.objects.get(reference=reference)
    assert application.full_name == "Siti Aminah"
    assert application.nik == siti["applicant"]["nik"]


def test_rotation_covers_every_encrypted_field_of_every_part(submit, siti, bambang, settings,
                                                           rotated_keys):
    from immigration.counter.models import Interview
    from immigration.management.commands.rotate_pii_keys import encrypted_tables
    from immigration.notify.models import Recipient

    old, new = rotated_keys
    reference = submit(siti).json()["reference"]
    application = PassportApplication.objects.get(reference=reference)
    Interview.objects.create(application=application, note="ibu kandung: Aminah", by=bambang)
    Recipient.objects.create(channel="sms", address="+6281234567890", stop_token="t0k3n",
                             address_index="a" * 64, stop_index="s" * 64)
    tables = {model._meta.label: fields for model, fields in encrypted_tables()}
    assert {"counter.Interview", "notify.Recipient", "immigration.PassportApplication"} <= set(
        tables)

    settings.PII_KEYS = f"{new},{old}"
    personal_data.keyring.cache_clear()
    call_command("rotate_pii_keys", stdout=StringIO())
    settings.PII_KEYS = new  # the old key is gone: everything must still read
    personal_data.keyring.cache_clear()
    for label, fields in tables.items():
        meta = apps.get_model(label)._meta
        columns = ", ".join(meta.get_field(f).column for f in fields)
        with connection.cursor() as cursor:  # the stored text, not what the model decrypts
            cursor.execute(f"SELECT {columns} FROM {meta.db_table}")
            for row in cursor.fetchall():
                assert all(v == "" or v.startswith("v9:") for v in row), (label, fields)
    assert Interview.objects.get().note == "ibu kandung: Aminah"
    assert Recipient.objects.get().address == "+6281234567890"


def test_ciphertext_moved_to_another_column_does_not_decrypt(submit, siti):
    submit(siti)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE immigration_passportapplication SET mother_name = full_name")
    with pytest.raises(ValueError, match="could not be decrypted"):
        PassportApplication.objects.get().mother_name


def test_encrypted_fields_cannot_be_filtered_in_sql(db):
    with pytest.raises(TypeError):
        PassportApplication.objects.filter(nik="6504014101900001").exists()


def test_no_personal_data_in_logs_through_the_whole_path(
    wired, submit, siti, bambang_api, api, caplog
):
    caplog.set_level(logging.DEBUG)
    bad = {**siti, "applicant": {**siti["applicant"], "phone": "12"}}
    submit(bad)  # a 400 is logged as a warning
    receipt = submit(siti).json()
    submit(siti)  # a 409 for the same NIK
    api.get(f"/api/v1/applications/{receipt['reference']}", HTTP_X_ACCESS_CODE="WRONG-CODE1")
    make_approvable(receipt['reference'], User.objects.get(username="bambang"))
    bambang_api.post(f"/api/v1/applications/{receipt['reference']}/approve")
    wired.control.configure(mode="down")
    deliver.drain(budget_seconds=1)
    wired.control.configure(mode="up")
    deliver.drain(budget_seconds=5)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged  # the path did log (warnings for the 400/409/404, breaker changes)
    # Every value long enough to mean something (sex "F" appears in any English text).
    secrets = [receipt["access_code"], *[v for v in siti["applicant"].values() if len(v) > 3]]
    for value in secrets:
        assert str(value) not in logged
