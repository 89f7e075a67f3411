"""The tus server, rule by rule, through the API: what is accepted, what is refused (each a 4xx
with the error shape and a stable code) and that nothing half-stored is ever visible."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import struct
import zlib
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from immigration.dossier import tasks
from immigration.dossier.models import DossierFile, PendingChunk, PendingUpload
from immigration.dossier.storage import open_chunks
from immigration.references import new_reference
from tests.conftest import client_for
from tests.dossier.conftest import Submitted
from tests.dossier.tus import ENDPOINT, TUS, create, head, patch, upload
from tests.fixtures.dossier import small_jpeg, small_pdf, small_png

pytestmark = pytest.mark.django_db


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Tus-Resumable"] == "1.0.0"
    if response.request["REQUEST_METHOD"] == "HEAD":
        return {}  # a HEAD answer has no body
    body = response.json()
    assert body["error"] == code and body["detail"]
    assert response["Tus-Resumable"] == "1.0.0"
    return body  # type: ignore[no-any-return]


def _dossier(api: APIClient, submitted: Submitted) -> dict[str, Any]:
    response = api.get(f"/api/v1/applications/{submitted.reference}",
                       HTTP_X_ACCESS_CODE=submitted.access_code)
    assert response.status_code == 200
    return response.json()["dossier"]  # type: ignore[no-any-return]


def _nothing_stored() -> None:
    assert not DossierFile.objects.exists()


def test_options_advertises_the_version_and_extensions(api: APIClient) -> None:
    response = api.options(ENDPOINT)
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) == {
        "creation", "checksum", "expiration", "termination"}
    assert response["Tus-Max-Size"] == str(10 * 1024 * 1024)
    assert response["Tus-Checksum-Algorithm"] == "sha256"


def test_siti_uploads_her_ktp_in_pieces_and_it_joins_her_dossier(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    data = small_pdf(padding=150_000)
    created = create(api, siti_application.reference, "ktp", data, headers=siti_code)
    assert created.status_code == 201
    url = created["Location"]
    assert url.startswith("/api/v1/uploads/")
    assert created["Upload-Expires"].endswith("GMT")
    assert created["Cache-Control"] == "no-store"

    first = patch(api, url, data[:70_000], offset=0, headers=siti_code)
    assert first.status_code == 204 and first["Upload-Offset"] == "70000"
    probe = head(api, url, headers=siti_code)
    assert probe["Upload-Offset"] == "70000" and probe["Upload-Length"] == str(len(data))
    assert probe["Upload-Metadata"].startswith("reference ")
    assert probe["Cache-Control"] == "no-store"
    _nothing_stored()  # a partial upload is not a file
    assert _dossier(api, siti_application)["files"] == []
    # What is held so far is ciphertext too.
    assert all(b"%PDF" not in bytes(c.data) for c in PendingChunk.objects.all())

    last = patch(api, url, data[70_000:], offset=70_000, headers=siti_code)
    assert last.status_code == 204 and last["Upload-Offset"] == str(len(data))
    stored = DossierFile.objects.get()
    assert b"".join(open_chunks(stored)) == data
    assert PendingChunk.objects.count() == 0  # the bytes moved into the file
    dossier = _dossier(api, siti_application)
    assert [(f["kind"], f["state"], f["sha256"]) for f in dossier["files"]] == [
        ("ktp", "received", hashlib.sha256(data).hexdigest())]
    assert dossier["missing"] == ["kk", "birth_certificate|diploma|marriage_certificate",
                                  "photo", "signature"]
    # A client whose last response was lost asks again: the upload is complete.
    assert head(api, url, headers=siti_code)["Upload-Offset"] == str(len(data))


def test_a_request_without_the_version_header_is_412(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    data = small_jpeg()
    response = api.post(ENDPOINT, HTTP_UPLOAD_LENGTH=str(len(data)), **siti_code)
    body = _error(response, 412, "unsupported_tus_version")
    assert response["Tus-Version"] == "1.0.0"
    assert body["detail"]
    url = create(api, siti_application.reference, "ktp", data, headers=siti_code)["Location"]
    _error(api.head(url, **siti_code), 412, "unsupported_tus_version")


def test_a_wrong_file_hash_is_460_and_the_upload_is_discarded(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    data = small_jpeg()
    response = upload(api, siti_application.reference, "ktp", data, headers=siti_code,
                      sha256=hashlib.sha256(b"something else").hexdigest())
    _error(response, 460, "checksum_mismatch")
    _nothing_stored()
    assert not PendingUpload.objects.exists() and not PendingChunk.objects.exists()


def test_a_wrong_upload_checksum_refuses_that_piece_only(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    data = small_pdf(padding=100_000)
    url = create(api, siti_application.reference, "kk", data, headers=siti_code)["Location"]
    wrong = patch(api, url, data[:50_000], offset=0, headers=siti_code,
                  checksum=hashlib.sha256(b"not this").digest())
    _error(wrong, 460, "checksum_mismatch")
    assert head(api, url, headers=siti_code)["Upload-Offset"] == "0"
    assert not PendingChunk.objects.exists()
    right = patch(api, url, data, offset=0, headers=siti_code,
                  checksum=hashlib.sha256(data).digest())
    assert right.status_code == 204
    assert DossierFile.objects.get().kind == "kk"


def test_an_offset_that_is_not_the_servers_is_409(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    data = small_pdf(padding=100_000)
    url = create(api, siti_application.reference, "kk", data, headers=siti_code)["Location"]
    patch(api, url, data[:1000], offset=0, headers=siti_code)
    _error(patch(api, url, data[500:2000], offset=500, headers=siti_code), 409,
           "offset_mismatch")
    _error(patch(api, url, data[1000:], offset=0, headers=siti_code), 409, "offset_mismatch")
    assert head(api, url, headers=siti_code)["Upload-Offset"] == "1000"
    assert patch(api, url, data[1000:], offset=1000, headers=siti_code).status_code == 204


def test_50_mb_declared_is_413_before_any_byte(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    response = create(api, siti_application.reference, "ktp", b"x", length=50 * 1024 * 1024,
                      headers=siti_code)
    _error(response, 413, "too_large")
    assert not PendingUpload.objects.exists()


def test_a_body_beyond_the_declared_length_is_413(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    data = small_jpeg()
    url = create(api, siti_application.reference, "ktp", data, headers=siti_code)["Location"]
    _error(patch(api, url, data + b"extra", offset=0, headers=siti_code), 413,
           "upload_length_exceeded")


def test_a_file_of_another_type_is_415_at_its_first_bytes(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    data = gif.getvalue() * 40
    url = create(api, siti_application.reference, "ktp", data, headers=siti_code)["Location"]
    _error(patch(api, url, data[:100], offset=0, headers=siti_code), 415, "unsupported_type")
    assert not PendingUpload.objects.exists()
    _nothing_stored()


@pytest.mark.parametrize("declared", [{"filename": "ktp.jpg"}, {"filetype": "image/jpeg"}])
def test_a_png_named_jpeg_is_415(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
    declared: dict[str, str],
) -> None:
    response = upload(api, siti_application.reference, "ktp", small_png(), headers=siti_code,
                      **declared)
    _error(response, 415, "type_mismatch")
    _nothing_stored()


def test_a_truncated_image_is_422(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    whole = small_jpeg(width=400, height=300, seed=9)
    truncated = whole[: len(whole) * 2 // 3]  # its own hash: every byte of it arrived
    response = upload(api, siti_application.reference, "ktp", truncated, headers=siti_code)
    _error(response, 422, "corrupt_file")
    _nothing_stored()
    assert not PendingUpload.objects.exists()


def test_a_truncated_pdf_is_422(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    response = upload(api, siti_application.reference, "kk", small_pdf(padding=5000)[:3000],
                      headers=siti_code)
    _error(response, 422, "corrupt_file")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims `width` x `height` pixels in a few hundred bytes (a bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("size", [(6000, 5000), (12000, 12000), (40000, 40000)])
def test_a_decompression_bomb_is_422_before_its_pixels_exist(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
    size: tuple[int, int],
) -> None:
    response = upload(api, siti_application.reference, "ktp", _png_header_only(*size),
                      headers=siti_code)
    _error(response, 422, "image_too_large")
    _nothing_stored()


def test_bambang_takes_the_photo_and_it_is_stored_without_its_exif(
    siti_application: Submitted, bambang: User,
) -> None:
    exif = Image.Exif()
    exif[0x010F] = "CounterCam"
    exif[0x8825] = {1: "N", 2: (3.0, 45.0, 0.0)}
    sent = small_jpeg(width=300, height=400, seed=5, exif=exif.tobytes())
    response = upload(client_for(bambang), siti_application.reference, "photo", sent)
    assert response.status_code == 204
    photo = DossierFile.objects.get()
    kept = b"".join(open_chunks(photo))
    assert b"CounterCam" not in kept and not Image.open(io.BytesIO(kept)).getexif()
    assert photo.sha256 == hashlib.sha256(kept).hexdigest() != hashlib.sha256(sent).hexdigest()
    assert photo.state == "checked"  # taken by the clerk at the counter


def test_a_pdf_is_refused_as_a_photo_or_signature(
    siti_application: Submitted, bambang: User,
) -> None:
    for kind in ["photo", "signature"]:
        response = upload(client_for(bambang), siti_application.reference, kind, small_pdf())
        _error(response, 415, "pdf_not_allowed")
    _nothing_stored()


def test_applicants_upload_documents_not_the_photo(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    response = create(api, siti_application.reference, "photo", small_jpeg(), headers=siti_code)
    _error(response, 403, "kind_not_allowed")


def test_wrong_code_and_unknown_reference_look_the_same(
    api: APIClient, siti_application: Submitted,
) -> None:
    data = small_jpeg()
    wrong = create(api, siti_application.reference, "ktp", data,
                   headers={"HTTP_X_ACCESS_CODE": "AAAAA-BBBBB"})
    unknown = create(api, new_reference("NNK"), "ktp", data,
                     headers={"HTTP_X_ACCESS_CODE": siti_application.access_code})
    none = create(api, siti_application.reference, "ktp", data)
    for response in (wrong, unknown, none):
        _error(response, 404, "not_found")
    assert wrong.json() == unknown.json() == none.json()


def test_nobody_touches_another_persons_or_another_offices_uploads(
    api: APIClient, submit: Any, siti_application: Submitted, siti_code: dict[str, str],
    dewi: User, joko: User,
) -> None:
    data = small_pdf(padding=20_000)
    url = create(api, siti_application.reference, "ktp", data, headers=siti_code)["Location"]
    other = submit().json()  # somebody else at Nunukan, with her own valid code
    others_code = {"HTTP_X_ACCESS_CODE": other["access_code"]}
    dewi_api = client_for(dewi)
    for client, headers in [(api, others_code), (dewi_api, {}), (client_for(joko), {})]:
        _error(head(client, url, headers=headers), 404, "not_found")
        _error(patch(client, url, data, offset=0, headers=headers), 404, "not_found")
        _error(client.delete(url, **TUS, **headers), 404, "not_found")
    # Nor can Dewi (Tanjung Perak) start one on a Nunukan application, or anyone on Siti's
    # with another application's code.
    _error(create(dewi_api, siti_application.reference, "photo", small_jpeg()), 404, "not_found")
    _error(create(api, siti_application.reference, "ktp", data, headers=others_code), 404,
           "not_found")
    assert head(api, url, headers=siti_code)["Upload-Offset"] == "0"
    _nothing_stored()


@pytest.mark.parametrize(("raw", "field"), [
    ("reference Tk5L,kind a3Rw", None),  # no sha256
    ("reference !!!,kind a3Rw", None),  # not base64
    ("kind a3Rw sha256 x", None),  # three parts
])
def test_bad_metadata_is_400(api: APIClient, siti_application: Submitted,
                             siti_code: dict[str, str], raw: str, field: str | None) -> None:
    response = api.post(ENDPOINT, **TUS, **siti_code, HTTP_UPLOAD_LENGTH="100",
                        HTTP_UPLOAD_METADATA=raw)
    _error(response, 400, "invalid_metadata")


def test_unknown_kind_and_bad_hash_are_named_in_fields(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    response = create(api, siti_application.reference, "selfie", small_jpeg(), sha256="abc",
                      headers=siti_code)
    body = _error(response, 400, "invalid_metadata")
    assert set(body["fields"]) == {"kind", "sha256"}


def test_patch_needs_the_offset_stream_content_type_and_an_offset(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    data = small_jpeg()
    url = create(api, siti_application.reference, "ktp", data, headers=siti_code)["Location"]
    wrong_type = api.generic("PATCH", url, data, content_type="image/jpeg", **TUS,
                             HTTP_UPLOAD_OFFSET="0", **siti_code)
    _error(wrong_type, 415, "invalid_content_type")
    no_offset = api.generic("PATCH", url, data, content_type="application/offset+octet-stream",
                            **TUS, **siti_code)
    _error(no_offset, 400, "invalid_offset")
    response = patch(api, url, data, offset=0, headers={
        **siti_code, "HTTP_UPLOAD_CHECKSUM": "md5 AAAA"})
    _error(response, 400, "checksum_algorithm_unsupported")


def test_termination_forgets_the_upload(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    data = small_pdf(padding=10_000)
    url = create(api, siti_application.reference, "ktp", data, headers=siti_code)["Location"]
    patch(api, url, data[:4000], offset=0, headers=siti_code)
    response = api.delete(url, **TUS, **siti_code)
    assert response.status_code == 204
    assert not PendingChunk.objects.exists()
    _error(head(api, url, headers=siti_code), 404, "not_found")


def test_abandoned_uploads_expire_and_the_beat_task_purges_them(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    data = small_pdf(padding=10_000)
    url = create(api, siti_application.reference, "ktp", data, headers=siti_code)["Location"]
    patch(api, url, data[:4000], offset=0, headers=siti_code)
    fresh = create(api, siti_application.reference, "kk", data, headers=siti_code)["Location"]
    PendingUpload.objects.filter(pk=url.rsplit("/", 1)[1]).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1))
    _error(head(api, url, headers=siti_code), 410, "upload_expired")
    _error(patch(api, url, data[4000:], offset=4000, headers=siti_code), 410, "upload_expired")
    assert tasks.purge_expired_uploads() == 1
    _error(head(api, url, headers=siti_code), 404, "not_found")
    assert head(api, fresh, headers=siti_code).status_code == 200
    assert not PendingChunk.objects.filter(upload_id=url.rsplit("/", 1)[1]).exists()


def test_too_many_unfinished_uploads_are_refused(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str], settings: Any,
) -> None:
    from immigration.dossier.uploads import MAX_OPEN_UPLOADS

    for _ in range(MAX_OPEN_UPLOADS):
        assert create(api, siti_application.reference, "ktp", b"x" * 10,
                      headers=siti_code).status_code == 201
    _error(create(api, siti_application.reference, "ktp", b"x" * 10, headers=siti_code), 429,
           "too_many_uploads")


def test_an_approved_application_takes_no_more_files(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str], bambang: User,
) -> None:
    from tests.fixtures.approvable import make_approvable

    make_approvable(siti_application.application, bambang)
    assert client_for(bambang).post(
        f"/api/v1/applications/{siti_application.reference}/approve").status_code == 200
    _error(create(api, siti_application.reference, "ktp", small_jpeg(), headers=siti_code),
           409, "application_closed")


def test_refusals_speak_bahasa_indonesia_by_default_and_english_on_request(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str],
) -> None:
    data = small_jpeg(width=400, height=300)[:500]
    indonesian = upload(api, siti_application.reference, "ktp", data, headers=siti_code)
    assert _error(indonesian, 422, "corrupt_file")["detail"] == "Gambar tidak lengkap atau rusak."
    english = upload(api, siti_application.reference, "ktp", data,
                     headers={**siti_code, "HTTP_ACCEPT_LANGUAGE": "en"})
    assert _error(english, 422, "corrupt_file")["detail"] == "The image is incomplete or damaged."


def test_tus_requests_are_throttled_per_client(
    api: APIClient, siti_application: Submitted, siti_code: dict[str, str], monkeypatch: Any,
) -> None:
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES",
                        {**ScopedRateThrottle.THROTTLE_RATES, "upload": "3/min"})
    url = create(api, siti_application.reference, "ktp", small_jpeg(),
                 headers=siti_code)["Location"]
    assert head(api, url, headers=siti_code).status_code == 200
    assert head(api, url, headers=siti_code).status_code == 200
    _error(create(api, siti_application.reference, "ktp", small_jpeg(), headers=siti_code),
           429, "throttled")


def test_the_purge_runs_hourly_from_beat(settings: Any) -> None:
    from immigration.celery import app

    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE["dossier-purge-expired-uploads"]
    assert schedule["task"] in app.tasks and schedule["schedule"] == 3600.0
