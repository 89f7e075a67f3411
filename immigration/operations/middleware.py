"""One middleware for what every request needs operationally: its id and its latency."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from immigration.operations import request_ids
from queueing import metrics


class RequestTracingMiddleware:
    """Outermost: binds the request id (a sane incoming `X-Request-ID`, else a new one) for the
    log lines and tasks the request causes, echoes it in the response, and times the request
    into `tangguh_http_request_duration_seconds` labelled by view name, never by path (paths
    carry references)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_ids.sanitized(request.META.get(request_ids.META_KEY))
        request_id = request_id or request_ids.new_id()
        # Not reset on the way out: Django logs 4xx/5xx ("Bad Request: ...") after the
        # middleware chain returns, and that line must carry the id too. The id is cleared when
        # the response is closed (request_finished, see request_ids.py).
        request_ids.bind(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response[request_ids.HEADER] = request_id
        metrics.REQUEST_LATENCY.labels(
            view=view_label(request), method=method_label(request.method),
            status=f"{response.status_code // 100}xx",
        ).observe(time.perf_counter() - started)
        return response


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str | None) -> str:
    # A client can send any method token; an unbounded label set would grow without end.
    return method if method in _METHODS else "other"


def view_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match._func_path
    if request.path.startswith(settings.STATIC_URL or "/static/"):
        return "static"
    return "unmatched"
