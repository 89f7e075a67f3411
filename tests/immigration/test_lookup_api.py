"""GET /api/v1/applications/{reference}: capabilities, not accounts."""

from __future__ import annotations

import pytest

from tests.conftest import application_payload, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def sitis_receipt(submit, siti):
    return submit(siti).json()


def test_access_code_opens_the_application(api, sitis_receipt):
    response = api.get(f"/api/v1/applications/{sitis_receipt['reference']}",
                       HTTP_X_ACCESS_CODE=sitis_receipt["access_code"])
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "received"
    assert [e["status"] for e in body["timeline"]] == ["received"]
    assert body["office"]["code"] == "NNK"
    assert "applicant" not in body  # applicants do not get their data echoed back
    assert response["Cache-Control"] == "no-store"


def test_code_is_accepted_in_lower_case_without_dash(api, sitis_receipt):
    code = sitis_receipt["access_code"].lower().replace("-", "")
    response = api.get(f"/api/v1/applications/{sitis_receipt['reference']}",
                       HTTP_X_ACCESS_CODE=code)
    assert response.status_code == 200


def test_english_labels_on_request(api, sitis_receipt):
    response = api.get(f"/api/v1/applications/{sitis_receipt['reference']}",
                       HTTP_X_ACCESS_CODE=sitis_receipt["access_code"],
                       HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["status_label"] == "Received by the office, awaiting verification"


def test_wrong_code_and_unknown_reference_look_the_same(api, sitis_receipt):
    wrong = api.get(f"/api/v1/applications/{sitis_receipt['reference']}",
                    HTTP_X_ACCESS_CODE="AAAAA-AAAAA")
    missing_code = api.get(f"/api/v1/applications/{sitis_receipt['reference']}")
    unknown = api.get("/api/v1/applications/NNK-0000-0000",
                      HTTP_X_ACCESS_CODE=sitis_receipt["access_code"])
    garbage = api.get("/api/v1/applications/%3Cscript%3E",
                      HTTP_X_ACCESS_CODE=sitis_receipt["access_code"])
    assert wrong.status_code == missing_code.status_code == unknown.status_code == 404
    assert garbage.status_code == 404
    assert wrong.content == unknown.content == missing_code.content == garbage.content


def test_one_applicants_code_does_not_open_another_application(api, submit, sitis_receipt):
    other = submit(application_payload()).json()
    response = api.get(f"/api/v1/applications/{other['reference']}",
                       HTTP_X_ACCESS_CODE=sitis_receipt["access_code"])
    assert response.status_code == 404


def test_staff_of_the_office_see_it_with_applicant_data(bambang, sitis_receipt):
    response = client_for(bambang).get(f"/api/v1/applications/{sitis_receipt['reference']}")
    assert response.status_code == 200
    assert response.json()["applicant"]["full_name"] == "Siti Aminah"


def test_staff_of_another_office_do_not(dewi, sitis_receipt):
    response = client_for(dewi).get(f"/api/v1/applications/{sitis_receipt['reference']}")
    assert response.status_code == 404


def test_office_board_is_public(api, nunukan):
    body = api.get("/api/v1/offices/NNK/status").json()
    assert body["central"]["state"] == "up"
    assert set(body["services"]) == {"registration", "express", "printing", "pickup"}
    assert body["backlog"]["waiting_for_central"] == 0


def test_unknown_office_board_is_404(api, nunukan):
    assert api.get("/api/v1/offices/ZZZ/status").status_code == 404


def test_schema_and_docs_are_served(api, db):
    assert api.get("/api/schema/").status_code == 200
    assert api.get("/api/docs/").status_code == 200
