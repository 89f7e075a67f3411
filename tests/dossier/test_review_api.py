"""Staff view and review the files of their own office; applicants see what is missing and
why a file was refused; approval waits for a complete, checked dossier."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.dossier.conftest import Submitted
from tests.dossier.tus import upload
from tests.fixtures.dossier import small_jpeg, small_pdf, small_png

pytestmark = pytest.mark.django_db


def _files(client: APIClient, submitted: Submitted, **headers: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/applications/{submitted.reference}", **headers)
    assert response.status_code == 200
    return response.json()["dossier"]  # type: ignore[no-any-return]


def _siti_uploads(api: APIClient, submitted: Submitted, kind: str, data: bytes) -> int:
    response = upload(api, submitted.reference, kind, data,
                      headers={"HTTP_X_ACCESS_CODE": submitted.access_code})
    assert response.status_code == 204, response.content
    dossier = _files(api, submitted, HTTP_X_ACCESS_CODE=submitted.access_code)
    return next(f["id"] for f in dossier["files"] if f["kind"] == kind)  # type: ignore[no-any-return]


def test_bambang_downloads_a_file_as_an_uncached_attachment(
    api: APIClient, siti_application: Submitted, bambang: User,
) -> None:
    data = small_pdf(padding=200_000)
    file_id = _siti_uploads(api, siti_application, "ktp", data)
    url = f"/api/v1/applications/{siti_application.reference}/files/{file_id}/content"
    response = client_for(bambang).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(data))
    assert response["Content-Disposition"] == (
        f'attachment; filename="{siti_application.reference}-ktp.pdf"')
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_only_staff_of_the_office_may_download(
    api: APIClient, siti_application: Submitted, dewi: User, joko: User,
) -> None:
    file_id = _siti_uploads(api, siti_application, "ktp", small_jpeg())
    url = f"/api/v1/applications/{siti_application.reference}/files/{file_id}/content"
    assert client_for(dewi).get(url).json()["error"] == "not_found"
    assert client_for(joko).get(url).status_code == 403
    assert api.get(url, HTTP_X_ACCESS_CODE=siti_application.access_code).status_code in (401, 403)


def test_a_refused_file_tells_siti_why_and_is_missing_again(
    api: APIClient, siti_application: Submitted, bambang: User,
) -> None:
    file_id = _siti_uploads(api, siti_application, "ktp", small_jpeg(seed=1))
    review = f"/api/v1/applications/{siti_application.reference}/files/{file_id}/review"
    staff = client_for(bambang)
    no_reason = staff.post(review, {"result": "refused"}, format="json")
    assert no_reason.status_code == 400 and no_reason.json()["error"] == "reason_required"
    response = staff.post(review, {"result": "refused", "reason": "Foto KTP buram"},
                          format="json")
    assert response.status_code == 200 and response.json()["state"] == "refused"
    seen = _files(api, siti_application, HTTP_X_ACCESS_CODE=siti_application.access_code)
    assert seen["files"][0]["refusal_reason"] == "Foto KTP buram"
    assert "ktp" in seen["missing"]
    # She sends a sharper picture: it supersedes the refused one.
    newer = _siti_uploads(api, siti_application, "ktp", small_jpeg(seed=2))
    seen = _files(api, siti_application, HTTP_X_ACCESS_CODE=siti_application.access_code)
    assert [f["id"] for f in seen["files"]] == [newer]
    assert "ktp" not in seen["missing"]
    stale = staff.post(review, {"result": "checked"}, format="json")
    assert stale.status_code == 409 and stale.json()["error"] == "superseded"
    bad = staff.post(review, {"result": "maybe"}, format="json")
    assert bad.status_code == 400


def test_dewi_cannot_review_a_nunukan_file(
    api: APIClient, siti_application: Submitted, dewi: User,
) -> None:
    file_id = _siti_uploads(api, siti_application, "ktp", small_jpeg())
    review = f"/api/v1/applications/{siti_application.reference}/files/{file_id}/review"
    assert client_for(dewi).post(review, {"result": "checked"}, format="json").status_code == 404


def test_approval_waits_for_a_complete_checked_dossier(
    api: APIClient, siti_application: Submitted, bambang: User,
) -> None:
    staff = client_for(bambang)
    ref = siti_application.reference
    approve = f"/api/v1/applications/{ref}/approve"

    refused = staff.post(approve)
    assert refused.status_code == 409 and refused.json()["error"] == "not_ready"
    assert [b["code"] for b in refused.json()["blockers"]] == [
        "documents_missing", "photo_missing", "signature_missing"]

    ids = [_siti_uploads(api, siti_application, kind, small_jpeg(seed=i))
           for i, kind in enumerate(["ktp", "kk", "diploma"])]
    assert upload(staff, ref, "photo", small_jpeg(width=300, height=400, seed=7)).status_code \
        == 204
    assert upload(staff, ref, "signature", small_png(width=300, height=100)).status_code == 204
    listed = staff.get("/api/v1/applications", HTTP_X_SEARCH=ref).json()["results"][0]
    assert listed["dossier"]["missing"] == []
    assert [b["code"] for b in staff.post(approve).json()["blockers"]] == [
        "documents_unchecked"]

    for file_id in ids:
        assert staff.post(f"/api/v1/applications/{ref}/files/{file_id}/review",
                          {"result": "checked"}, format="json").status_code == 200
    approved = staff.post(approve)
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "queued_for_printing"


def test_the_staff_list_says_what_is_missing(
    api: APIClient, siti_application: Submitted, bambang: User,
) -> None:
    _siti_uploads(api, siti_application, "kk", small_jpeg())
    row = client_for(bambang).get("/api/v1/applications").json()["results"][0]
    assert row["dossier"]["missing"] == [
        "ktp", "birth_certificate|diploma|marriage_certificate", "photo", "signature"]
    (kk,) = row["dossier"]["files"]
    assert kk["kind"] == "kk" and kk["state"] == "received" and len(kk["sha256"]) == 64
