"""Request guards that must hold for every view, DRF or not."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from immigration.api.errors import database_unavailable_body, error_body

UPLOADS_PATH = "/api/v1/uploads/"


class RequestGuardMiddleware:
    """Too-large bodies get 413 before anything reads them (DRF reads the WSGI stream itself, so
    Django's own DATA_UPLOAD_MAX_MEMORY_SIZE check does not cover API views), and a database
    outage outside DRF views becomes a JSON 503 rather than an HTML 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse(error_body("bad_request", _("Invalid Content-Length.")), status=400)
        # tus PATCH bodies are streamed into chunks by the upload view, which enforces the
        # 10 MB file limit itself.
        if limit is not None and length > limit and not request.path.startswith(UPLOADS_PATH):
            return JsonResponse(
                error_body("too_large",
                           _("Request bodies are limited to %(limit)d bytes.") % {"limit": limit}),
                status=413,
            )
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError):
            return JsonResponse(database_unavailable_body(), status=503,
                                headers={"Retry-After": "5"})
        return None


class PrivateByDefaultMiddleware:
    """Dynamic responses are `Cache-Control: no-store` unless the view said otherwise.

    Most API and staff responses carry personal data, and a view that forgets the header would
    leave it in a browser or proxy cache. So the safe answer is the default: only a view that
    sets its own Cache-Control (the status labels, the consent text, the shell's pages) is
    cacheable. Static files are served before this by WhiteNoise and keep their caching."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response
