"""HTTP for the dossier: the tus 1.0 server at /api/v1/uploads/ and the staff file endpoints.

Each view parses headers, checks who may touch which application, calls one domain function and
renders. Errors use the API's JSON shape with a stable `error` code; every tus response carries
`Tus-Resumable` and `Cache-Control: no-store`.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import http_date
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from immigration.api.errors import ApiError
from immigration.api.permissions import IsCounterStaff, is_counter_staff
from immigration.audit import audit_record
from immigration.dossier import files, requirements, uploads
from immigration.dossier.content import MAX_BYTES, ContentRejected, declared_media_type
from immigration.dossier.models import COUNTER_KINDS, DossierFile, FileState, Kind, PendingUpload
from immigration.dossier.selectors import file_view
from immigration.dossier.storage import open_chunks
from immigration.models import PassportApplication
from immigration.references import normalize_reference

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,checksum,expiration,termination"
OFFSET_STREAM = "application/offset+octet-stream"
EXTENSION_OF = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _refused(exc: ContentRejected) -> ApiError:
    return ApiError(exc.code, exc.detail, exc.status)


def _not_found() -> ApiError:
    # Unknown reference, wrong access code, another office's application, an upload that is
    # not yours: one answer, so a guesser learns nothing.
    return ApiError("not_found", _("No such upload or application for these credentials."), 404)


def _may_touch(request: Request, application: PassportApplication, kind: str) -> bool:
    """Staff of the application's office may upload any kind; the applicant (reference plus
    access code) documents only."""
    if is_counter_staff(request.user):
        return bool(application.office_id == request.user.membership.office_id)  # type: ignore[union-attr]
    code = request.headers.get("X-Access-Code", "")
    return bool(code) and kind not in COUNTER_KINDS and application.access_code_matches(code)


def parse_metadata(header: str) -> dict[str, str]:
    """tus Upload-Metadata: "key base64value,key2 base64value2" (a value may be absent)."""
    metadata: dict[str, str] = {}
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        if not parts[0] or len(parts) > 2 or parts[0] in metadata:
            raise ValueError(_("Upload-Metadata is malformed."))
        try:
            value = base64.b64decode(parts[1], validate=True).decode() if len(parts) == 2 else ""
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError(_("Upload-Metadata values must be base64 of UTF-8 text.")) from exc
        metadata[parts[0]] = value
    return metadata


def _int_header(request: Request, name: str, code: str) -> int:
    raw = request.headers.get(name, "")
    if not raw.isdigit() or len(raw) > 15:
        raise ApiError(code, _("%(name)s must be a non-negative integer.") % {"name": name}, 400)
    return int(raw)


class TusView(APIView):
    """What every tus endpoint shares: the version header, throttling, response headers."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "upload"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise ApiError("unsupported_tus_version",
                           _("Send Tus-Resumable: 1.0.0 (the only version served)."), 412)
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request: Request, response: Response, *args: Any,
                          **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = TUS_VERSION
        response["Cache-Control"] = "no-store"
        if response.status_code == 412:
            response["Tus-Version"] = TUS_VERSION
        return response

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        response = Response(status=204)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = TUS_EXTENSIONS
        response["Tus-Max-Size"] = str(MAX_BYTES)
        response["Tus-Checksum-Algorithm"] = "sha256"
        return response

    def _upload(self, request: Request, upload_id: uuid.UUID) -> PendingUpload:
        upload = (PendingUpload.objects.select_related("application")
                  .filter(pk=upload_id).first())
        if upload is None or not _may_touch(request, upload.application, upload.kind):
            raise _not_found()
        return upload


def _upload_headers(response: HttpResponse, upload: PendingUpload) -> HttpResponse:
    response["Upload-Offset"] = str(upload.length if upload.file_id else upload.offset)
    response["Upload-Length"] = str(upload.length)
    response["Upload-Expires"] = http_date(upload.expires_at.timestamp())
    return response


TUS_HEADER = OpenApiParameter("Tus-Resumable", OpenApiTypes.STR, OpenApiParameter.HEADER,
                              required=True, description="1.0.0")


class UploadsView(TusView):
    """tus creation: POST with Upload-Length and Upload-Metadata (reference, kind, sha256)."""

    @extend_schema(
        operation_id="uploads_create", request=None, responses={201: None},
        parameters=[
            TUS_HEADER,
            OpenApiParameter("Upload-Length", OpenApiTypes.INT, OpenApiParameter.HEADER,
                             required=True),
            OpenApiParameter("Upload-Metadata", OpenApiTypes.STR, OpenApiParameter.HEADER,
                             required=True, description="reference, kind, sha256 (base64)"),
            OpenApiParameter("X-Access-Code", OpenApiTypes.STR, OpenApiParameter.HEADER),
        ],
    )
    def post(self, request: Request) -> HttpResponse:
        if "Upload-Defer-Length" in request.headers:
            raise ApiError("length_required", _("Upload-Length is required."), 400)
        length = _int_header(request, "Upload-Length", "invalid_length")
        if length > MAX_BYTES:
            raise ApiError("too_large", _("Files are limited to 10 MB."), 413)
        try:
            metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
        except ValueError as exc:
            raise ApiError("invalid_metadata", str(exc), 400) from exc
        problems: dict[str, list[str]] = {}
        kind = metadata.get("kind", "")
        if kind not in Kind.values:
            problems["kind"] = [_("Unknown file kind.")]
        sha256 = metadata.get("sha256", "").lower()
        if not _HEX64.match(sha256):
            problems["sha256"] = [_("Must be the file's SHA-256 in hexadecimal.")]
        reference = normalize_reference(metadata.get("reference", ""))
        if reference is None:
            problems["reference"] = [_("Not an application reference.")]
        if problems:
            raise ApiError("invalid_metadata", _("Upload-Metadata is not valid."), 400,
                           fields=problems)
        application = PassportApplication.objects.filter(reference=reference).first()
        if application is None:
            raise _not_found()
        if not _may_touch(request, application, kind):
            if kind in COUNTER_KINDS and not is_counter_staff(request.user) and \
                    application.access_code_matches(request.headers.get("X-Access-Code", "")):
                raise ApiError("kind_not_allowed",
                               _("The photo and signature are taken at the counter."), 403)
            raise _not_found()
        declared = declared_media_type(filename=metadata.get("filename", ""),
                                       filetype=metadata.get("filetype", ""))
        try:
            upload = uploads.upload_create(application=application, kind=kind, length=length,
                                           declared_sha256=sha256, declared_type=declared,
                                           by=request.user)
        except ContentRejected as exc:
            raise _refused(exc) from exc
        response = HttpResponse(status=201)
        response["Location"] = f"/api/v1/uploads/{upload.pk}"
        return _upload_headers(response, upload)


class UploadView(TusView):
    """tus core (HEAD, PATCH) and termination (DELETE) for one upload."""

    @extend_schema(operation_id="uploads_offset", parameters=[TUS_HEADER],
                   responses={200: None})
    def head(self, request: Request, upload_id: uuid.UUID) -> HttpResponse:
        upload = self._upload(request, upload_id)
        try:
            uploads.ensure_live(upload)
        except ContentRejected as exc:
            raise _refused(exc) from exc
        response = _upload_headers(HttpResponse(status=200), upload)
        # tus asks HEAD to repeat the metadata; a filename is not kept (it may name the person).
        response["Upload-Metadata"] = ",".join(
            f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in
            [("reference", upload.application.reference), ("kind", upload.kind),
             ("sha256", upload.declared_sha256)])
        return response

    @extend_schema(
        operation_id="uploads_append", request={OFFSET_STREAM: OpenApiTypes.BINARY},
        responses={204: None},
        parameters=[
            TUS_HEADER,
            OpenApiParameter("Upload-Offset", OpenApiTypes.INT, OpenApiParameter.HEADER,
                             required=True),
            OpenApiParameter("Upload-Checksum", OpenApiTypes.STR, OpenApiParameter.HEADER,
                             description="sha256 <base64 of the body's digest>"),
        ],
    )
    def patch(self, request: Request, upload_id: uuid.UUID) -> HttpResponse:
        if request.content_type.split(";")[0].strip() != OFFSET_STREAM:
            raise ApiError("invalid_content_type",
                           _("PATCH bodies must be application/offset+octet-stream."), 415)
        offset = _int_header(request, "Upload-Offset", "invalid_offset")
        if not request.META.get("CONTENT_LENGTH", "").isdigit():
            raise ApiError("length_required", _("Send a Content-Length."), 411)
        length = int(request.META["CONTENT_LENGTH"])
        checksum = self._checksum(request)
        upload = self._upload(request, upload_id)
        raw = request._request  # the WSGI stream itself: DRF must not buffer the body
        try:
            upload = uploads.upload_append(upload=upload, offset=offset, length=length,
                                           read=raw.read, checksum=checksum)
        except ContentRejected as exc:
            raise _refused(exc) from exc
        return _upload_headers(HttpResponse(status=204), upload)

    @staticmethod
    def _checksum(request: Request) -> bytes | None:
        header = request.headers.get("Upload-Checksum")
        if header is None:
            return None
        algorithm, _sep, value = header.strip().partition(" ")
        if algorithm.lower() != "sha256":
            raise ApiError("checksum_algorithm_unsupported",
                           _("Only sha256 checksums are supported."), 400)
        try:
            digest = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ApiError("invalid_checksum", _("Upload-Checksum is not base64."), 400) from exc
        if len(digest) != 32:
            raise ApiError("invalid_checksum", _("Upload-Checksum is not a SHA-256."), 400)
        return digest

    @extend_schema(operation_id="uploads_terminate", parameters=[TUS_HEADER],
                   responses={204: None})
    def delete(self, request: Request, upload_id: uuid.UUID) -> HttpResponse:
        uploads.upload_discard(self._upload(request, upload_id))
        return HttpResponse(status=204)


# --- staff: view and review files -------------------------------------------------------------


def _staff_file(request: Request, reference: str, file_id: int) -> DossierFile:
    normalized = normalize_reference(reference)
    file = (DossierFile.objects.select_related("application")
            .filter(pk=file_id, application__reference=normalized,
                    application__office_id=request.user.membership.office_id)  # type: ignore[union-attr]
            .first()) if normalized else None
    if file is None:
        raise ApiError("not_found", _("No such file at your office."), 404)
    return file


class FileContentView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="dossier_file_content",
                   responses={(200, "*/*"): OpenApiTypes.BINARY})
    def get(self, request: Request, reference: str, file_id: int) -> StreamingHttpResponse:
        file = _staff_file(request, reference, file_id)
        audit_record(actor=request.user, action="dossier.download", application=file.application,
                     detail={"file": file.pk, "kind": file.kind})
        response = StreamingHttpResponse(open_chunks(file), content_type=file.media_type)
        response["Content-Length"] = str(file.size)
        # Never shown inline, never kept by a browser or proxy; the name carries no personal data.
        name = f"{file.application.reference}-{file.kind}.{EXTENSION_OF[file.media_type]}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class ReviewInput(serializers.Serializer):  # type: ignore[type-arg]
    result = serializers.ChoiceField(choices=[FileState.CHECKED, FileState.REFUSED])
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class FileReviewView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="dossier_file_review", request=ReviewInput,
                   responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, reference: str, file_id: int) -> Response:
        form = ReviewInput(data=request.data)
        form.is_valid(raise_exception=True)
        file = _staff_file(request, reference, file_id)
        try:
            file = files.file_review(file=file, by=request.user,
                                     result=form.validated_data["result"],
                                     reason=form.validated_data.get("reason", ""))
        except ContentRejected as exc:
            raise _refused(exc) from exc
        response = Response(file_view(file))
        response["Cache-Control"] = "no-store"
        return response


# --- public: what each application type needs ---------------------------------------------------


class RequirementsView(APIView):
    """The office's document rules per application type, so a phone can ask for the right files
    before it has ever submitted (it keeps the last answer for offline use). Not personal."""

    @extend_schema(operation_id="dossier_requirements", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response({"requirements": requirements.all_groups(),
                         "always": list(requirements.ALWAYS)})
