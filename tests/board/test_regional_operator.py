"""Rina works at the Kanwil (regional office) of North Kalimantan and East Java: she watches the
Nunukan and Tanjung Perak queues and boards, and nothing else; she acts on no application.
Bambang, a Nunukan clerk, still sees only Nunukan."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from immigration.models import Office, PassportApplication, StaffMembership
from immigration.oversight.access import watched_offices
from immigration.oversight.models import RegionalOperator
from tests.conftest import application_payload, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def rina(nunukan: Office, tanjung_perak: Office) -> User:
    user = User.objects.create_user(username="rina", password="not-used")
    role = RegionalOperator.objects.create(user=user, region="Kanwil Kaltara dan Jatim")
    role.offices.set([nunukan, tanjung_perak])
    return user


@pytest.fixture
def jakarta_selatan(db: Any) -> Office:
    return Office.objects.get_or_create(code="JKS", defaults={"name": "Jakarta Selatan"})[0]


def browser_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def submitted(office: str) -> PassportApplication:
    answer = client_for(None).post("/api/v1/applications", application_payload(office=office),
                                   format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert answer.status_code == 201, answer.content
    return PassportApplication.objects.get(reference=answer.json()["reference"])


def test_a_regional_operator_sees_exactly_their_offices_boards(
        rina: User, jakarta_selatan: Office) -> None:
    api = client_for(rina)
    assert api.get("/api/v1/offices/NNK/operations").status_code == 200
    assert api.get("/api/v1/offices/TPK/operations").status_code == 200
    refused = api.get("/api/v1/offices/JKS/operations")
    assert refused.status_code == 404
    assert refused.json() == {"error": "not_found",
                              "detail": "Kantor ini tidak termasuk kantor yang Anda pantau."}
    assert api.get("/api/v1/offices/NOPE/operations").status_code == 404
    assert list(watched_offices(rina).values_list("code", flat=True)) == ["NNK", "TPK"]

    web = browser_for(rina)
    overview = web.get("/staff/regional")
    assert overview.status_code == 200
    shown = re.findall(r'data-office="([A-Z]+)"', overview.content.decode())
    assert shown == ["NNK", "TPK"]
    assert web.get("/staff/board/NNK").status_code == 200
    assert web.get("/staff/board/tpk").status_code == 200
    assert web.get("/staff/board/JKS").status_code == 404
    # The login page sends everyone to /staff/; Rina, no clerk, lands on her overview.
    landing = web.get("/staff/")
    assert landing.status_code == 302 and landing.url == "/staff/regional"


def test_a_regional_operator_sees_application_counts_but_no_personal_data(
        rina: User, nunukan: Office) -> None:
    application = submitted("NNK")
    answer = client_for(rina).get("/api/v1/offices/NNK/operations")
    assert answer.json()["applications"] == [
        {"status": "received", "label": answer.json()["applications"][0]["label"], "count": 1}]
    body = answer.content.decode()
    applicant = application.applicant_data()
    for value in [applicant["nik"], applicant["full_name"], applicant["phone"],
                  application.reference]:
        assert value not in body


def test_a_regional_operator_cannot_act_on_applications(rina: User, nunukan: Office) -> None:
    application = submitted("NNK")
    api = client_for(rina)
    approve = api.post(f"/api/v1/applications/{application.reference}/approve")
    assert approve.status_code == 403
    assert api.post(f"/api/v1/applications/{application.reference}/reject",
                    {"reason": "Tidak lengkap"}, format="json").status_code == 403
    assert api.get("/api/v1/applications").status_code == 403  # no personal data either
    assert api.get(f"/api/v1/applications/{application.reference}").status_code in {403, 404}
    assert api.get("/api/v1/queue/dead").status_code == 403  # retrying is a clerk's job
    application.refresh_from_db()
    assert application.status == "received"
    web = browser_for(rina)
    assert web.get("/staff/applications").status_code == 403
    assert web.get("/staff/counter").status_code == 403


def test_a_regional_operator_who_is_also_a_clerk_acts_only_at_their_own_office(
        rina: User, nunukan: Office) -> None:
    rina.groups.add(Group.objects.get_or_create(name="counter")[0])
    StaffMembership.objects.create(user=rina, office=nunukan)
    tpk_application = submitted("TPK")
    api = client_for(rina)
    # Tanjung Perak is watched, not staffed: its applications are not hers to touch.
    assert api.post(f"/api/v1/applications/{tpk_application.reference}/approve"
                    ).status_code == 404
    assert api.get("/api/v1/applications", {"search": tpk_application.reference}
                   ).json()["count"] == 0
    # Her own office works as for any clerk, and /staff/ is her clerk's page again.
    assert api.get("/api/v1/queue").status_code == 200
    assert browser_for(rina).get("/staff/").status_code == 200
    assert api.get("/api/v1/offices/TPK/operations").status_code == 200


def test_a_clerk_still_sees_only_their_office(bambang: User, tanjung_perak: Office) -> None:
    api = client_for(bambang)
    assert api.get("/api/v1/offices/NNK/operations").status_code == 200
    assert api.get("/api/v1/offices/TPK/operations").status_code == 404
    web = browser_for(bambang)
    assert web.get("/staff/board/NNK").status_code == 200
    assert web.get("/staff/board/TPK").status_code == 404
    assert web.get("/staff/regional").status_code == 200  # his one office
    page = web.get("/staff/")
    assert page.status_code == 200
    assert re.findall(r'data-operations="([^"]+)"', page.content.decode()) == \
        ["/api/v1/offices/NNK/operations"]


def test_nobody_else_sees_a_board(joko: User, nunukan: Office) -> None:
    assert client_for(joko).get("/api/v1/offices/NNK/operations").status_code == 404
    assert client_for(None).get("/api/v1/offices/NNK/operations").status_code in {401, 403}
    assert browser_for(joko).get("/staff/regional").status_code == 403
    assert Client().get("/staff/regional").status_code == 302  # to the login page
