"""Two requests racing for the same upload: the offset is re-checked under the row lock, so one
wins and the other gets 409 with nothing of it kept."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

import pytest
from django.db import connection

from immigration.dossier.content import ContentRejected
from immigration.dossier.models import DossierFile, PendingChunk, PendingUpload
from immigration.dossier.storage import open_chunks
from immigration.dossier.uploads import upload_append, upload_create
from tests.dossier.conftest import Submitted
from tests.fixtures.dossier import small_pdf

pytestmark = pytest.mark.django_db(transaction=True)


def _reader(data: bytes, *, pause_after: int | None = None,
            paused: threading.Event | None = None,
            go_on: threading.Event | None = None) -> Callable[[int], bytes]:
    position = 0

    def read(n: int) -> bytes:
        nonlocal position
        if pause_after is not None and position >= pause_after and go_on and not go_on.is_set():
            assert paused is not None
            paused.set()
            go_on.wait(30)
        piece = data[position:position + n]
        position += len(piece)
        return piece

    return read


def test_a_slow_patch_overtaken_by_another_loses_with_409(siti_application: Submitted) -> None:
    data = small_pdf(padding=300_000)
    upload = upload_create(application=siti_application.application, kind="ktp",
                           length=len(data), declared_sha256=hashlib.sha256(data).hexdigest())
    paused, go_on = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def slow() -> None:
        try:
            mine = PendingUpload.objects.get(pk=upload.pk)
            upload_append(upload=mine, offset=0, length=150_000,
                          read=_reader(data, pause_after=70_000, paused=paused, go_on=go_on))
            outcome["slow"] = "ok"
        except ContentRejected as refused:
            outcome["slow"] = refused.code
        finally:
            connection.close()

    thread = threading.Thread(target=slow)
    thread.start()
    assert paused.wait(30)  # the slow request has staged 64 KB and stalls mid-body
    fast = upload_append(upload=PendingUpload.objects.get(pk=upload.pk), offset=0,
                         length=len(data), read=_reader(data))
    assert fast.file is not None
    go_on.set()
    thread.join(30)
    assert outcome["slow"] == "offset_mismatch"
    assert not PendingChunk.objects.exists()  # the loser's rows are gone, the winner's moved
    assert b"".join(open_chunks(DossierFile.objects.get())) == data


def test_a_repeated_final_empty_patch_is_accepted_and_others_are_409(
    siti_application: Submitted,
) -> None:
    data = small_pdf(padding=1000)
    upload = upload_create(application=siti_application.application, kind="kk",
                           length=len(data), declared_sha256=hashlib.sha256(data).hexdigest())
    done = upload_append(upload=upload, offset=0, length=len(data), read=_reader(data))
    assert upload_append(upload=done, offset=len(data), length=0, read=_reader(b"")) == done
    with pytest.raises(ContentRejected) as refused:
        upload_append(upload=done, offset=0, length=len(data), read=_reader(data))
    assert refused.value.code == "offset_mismatch"
    assert DossierFile.objects.count() == 1


def test_a_whole_file_patch_overtaken_by_a_partial_one_loses_and_the_upload_goes_on(
    siti_application: Submitted,
) -> None:
    data = small_pdf(padding=300_000)
    upload = upload_create(application=siti_application.application, kind="kk",
                           length=len(data), declared_sha256=hashlib.sha256(data).hexdigest())
    paused, go_on = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def slow_whole_file() -> None:
        try:
            upload_append(upload=PendingUpload.objects.get(pk=upload.pk), offset=0,
                          length=len(data),
                          read=_reader(data, pause_after=70_000, paused=paused, go_on=go_on))
            outcome["slow"] = "ok"
        except ContentRejected as refused:
            outcome["slow"] = refused.code
        finally:
            connection.close()

    thread = threading.Thread(target=slow_whole_file)
    thread.start()
    assert paused.wait(30)
    part = upload_append(upload=PendingUpload.objects.get(pk=upload.pk), offset=0,
                         length=100_000, read=_reader(data))
    assert part.offset == 100_000
    go_on.set()
    thread.join(30)
    assert outcome["slow"] == "offset_mismatch"
    assert not DossierFile.objects.exists()
    rest = upload_append(upload=PendingUpload.objects.get(pk=upload.pk), offset=100_000,
                         length=len(data) - 100_000, read=_reader(data[100_000:]))
    assert rest.file is not None
    assert b"".join(open_chunks(DossierFile.objects.get())) == data
