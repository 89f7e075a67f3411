"""Files at rest: encrypted chunk by chunk, read back in pieces, superseded by kind, found by
hash; the requirements and the readiness check."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.contrib.auth.models import User
from PIL import Image

from immigration import readiness
from immigration.dossier import requirements, selectors, storage
from immigration.dossier.content import ContentRejected
from immigration.dossier.files import file_review
from immigration.dossier.models import DossierFile, FileChunk, FileState, Requirement
from tests.dossier.conftest import Submitted
from tests.fixtures.approvable import make_approvable
from tests.fixtures.dossier import complete_dossier, dossier_store, small_jpeg, small_pdf, small_png

pytestmark = pytest.mark.django_db(transaction=False)


def _content(file: DossierFile) -> bytes:
    return b"".join(storage.open_chunks(file))


def test_a_pdf_is_stored_in_encrypted_chunks_and_read_back_byte_for_byte(
    siti_application: Submitted,
) -> None:
    data = small_pdf(padding=300_000)
    stored = dossier_store(siti_application.application, "ktp", data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    chunks = list(FileChunk.objects.filter(file=stored).order_by("index"))
    assert len(chunks) == -(-len(data) // storage.CHUNK_SIZE)
    for chunk in chunks:
        sealed = bytes(chunk.data)
        assert len(sealed) <= storage.CHUNK_SIZE + 28  # nonce + tag: never more than a chunk
        assert b"%PDF" not in sealed and b"xxxxxxxx" not in sealed  # ciphertext only
    assert _content(stored) == data
    # From any offset, in any piece size.
    assert b"".join(storage.open_chunks(stored, offset=70_001, chunk_size=1000)) == data[70_001:]
    assert max(len(p) for p in storage.open_chunks(stored, chunk_size=1000)) == 1000


def test_a_chunk_moved_to_another_place_does_not_decrypt(siti_application: Submitted) -> None:
    stored = dossier_store(siti_application.application, "kk", small_pdf(padding=150_000))
    first, second = FileChunk.objects.filter(file=stored).order_by("index")[:2]
    first.data, second.data = bytes(second.data), bytes(first.data)
    first.save()
    second.save()
    with pytest.raises(storage.CorruptChunk):
        _content(stored)


def test_images_are_stored_without_exif_and_gps(siti_application: Submitted) -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (3.0, 45.0, 0.0), 3: "E", 4: (117.0, 40.0, 0.0)}  # GPS
    sent = small_jpeg(width=200, height=100, seed=3, exif=exif.tobytes())
    assert b"PhoneMaker" in sent
    stored = dossier_store(siti_application.application, "ktp", sent)
    kept = _content(stored)
    assert b"PhoneMaker" not in kept and b"Exif" not in kept
    assert not Image.open(io.BytesIO(kept)).getexif()
    assert stored.sha256 == hashlib.sha256(kept).hexdigest()
    assert Image.open(io.BytesIO(kept)).size == (200, 100)


def test_a_pdf_is_refused_as_a_photo(siti_application: Submitted, bambang: User) -> None:
    with pytest.raises(ContentRejected) as refused:
        dossier_store(siti_application.application, "photo", small_pdf(), by=bambang)
    assert refused.value.code == "pdf_not_allowed"
    assert not DossierFile.objects.exists()


def test_a_newer_file_of_the_same_kind_supersedes_the_older(
    siti_application: Submitted,
) -> None:
    application = siti_application.application
    old = dossier_store(application, "ktp", small_jpeg(seed=1))
    new = dossier_store(application, "ktp", small_png(seed=2))
    old.refresh_from_db()
    assert old.superseded_at is not None and new.superseded_at is None
    assert [f["id"] for f in selectors.dossier_view(application)["files"]] == [new.pk]
    assert selectors.file_by_sha256(new.sha256) == new
    assert selectors.file_by_sha256("0" * 64) is None


def test_requirements_come_from_the_table_and_the_admin_can_change_them(
    siti_application: Submitted,
) -> None:
    application = siti_application.application
    assert requirements.required(application) == [
        "ktp", "kk", "birth_certificate|diploma|marriage_certificate", "photo", "signature"]
    dossier_store(application, "diploma", small_jpeg(seed=4))
    assert requirements.missing(application) == ["ktp", "kk", "photo", "signature"]
    Requirement.objects.filter(application_type="new", kinds="kk").delete()
    assert requirements.missing(application) == ["ktp", "photo", "signature"]


def test_readiness_needs_documents_checked_and_photo_and_signature(
    siti_application: Submitted, bambang: User,
) -> None:
    application = siti_application.application
    codes = [b.code for b in readiness.blockers(application)]
    assert codes == ["documents_missing", "photo_missing", "signature_missing"]
    ktp = dossier_store(application, "ktp", small_jpeg(seed=5))
    dossier_store(application, "kk", small_jpeg(seed=6))
    dossier_store(application, "marriage_certificate", small_pdf())
    assert [b.code for b in readiness.blockers(application)] == [
        "documents_unchecked", "photo_missing", "signature_missing"]
    file_review(file=ktp, by=bambang, result=FileState.REFUSED, reason="Foto KTP buram")
    assert "ktp" in requirements.missing(application)
    complete_dossier(application, bambang)
    assert readiness.blockers(application) == []


def test_print_job_files_name_photo_signature_and_documents(
    siti_application: Submitted, bambang: User,
) -> None:
    application = siti_application.application
    make_approvable(application, bambang)
    files = selectors.print_job_files(application)
    photo = DossierFile.objects.current().get(application=application, kind="photo")
    assert files["photo"] == {"sha256": photo.sha256, "size": photo.size,
                              "media_type": "image/jpeg"}
    assert files["signature"]["media_type"] == "image/png"
    assert [d["kind"] for d in files["documents"]] == ["birth_certificate", "kk", "ktp"]


def test_a_phone_photo_taken_sideways_is_stored_upright(siti_application: Submitted) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    sent = small_jpeg(width=200, height=100, seed=8, exif=exif.tobytes())
    kept = _content(dossier_store(siti_application.application, "kk", sent))
    assert Image.open(io.BytesIO(kept)).size == (100, 200)
    assert not Image.open(io.BytesIO(kept)).getexif()


def test_a_requirement_naming_an_unknown_kind_is_refused_in_the_admin(db: None) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        Requirement(application_type="new", kinds="ktp|selfie").full_clean()
    Requirement(application_type="renewal", kinds="kk").full_clean()
