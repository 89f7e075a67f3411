from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from immigration.audit import audit_record
from immigration.lifecycle import Actor
from immigration.models import Office, PassportApplication
from tests.conftest import applicant


def new_application(office: Office, clerk: User | None = None) -> PassportApplication:
    """An accepted application with its first event, the way intake makes one."""
    application, _code = PassportApplication.build(
        office=office, applicant=applicant(), service="regular", passport_type="electronic",
        application_type="new",
    )
    application.save()
    application.record_received(actor=Actor.APPLICANT)
    return application


@pytest.fixture
def history(nunukan: Office, bambang: User) -> list[PassportApplication]:
    """Three applications, each with a received event, a dossier read and a rejection:
    nine chain entries interleaving both kinds."""
    apps = []
    for _ in range(3):
        application = new_application(nunukan)
        audit_record(actor=bambang, action="dossier.open", application=application)
        application.reject(by=bambang, reason="foto buram")
        apps.append(application)
    return apps


def sql(statement: str, *params: Any) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
