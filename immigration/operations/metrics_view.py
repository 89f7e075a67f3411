"""`/metrics` for Prometheus, restricted to the scraper.

Who may scrape (settings METRICS_ALLOWED_IPS, METRICS_TOKEN):
- a request from an allowed address (default: loopback only), unless it came through a proxy
  (X-Forwarded-For present): behind nginx every client looks like 127.0.0.1, so a proxied
  request is never trusted by its address;
- anyone presenting `Authorization: Bearer <METRICS_TOKEN>`, when a token is configured.
Everyone else gets 403. The figures hold no personal data, but backlog sizes and upstream
states are an operator's business, not the internet's.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from queueing import metrics


def allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.META.get("HTTP_AUTHORIZATION", "")
        if given.startswith("Bearer ") and hmac.compare_digest(
            given.removeprefix("Bearer ").encode(), token.encode()
        ):
            return True
    if request.META.get("HTTP_X_FORWARDED_FOR"):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        return JsonResponse(
            {"error": "forbidden", "detail": "Metrics are for the monitoring system only.",
             "fields": {}},
            status=403,
        )
    body = generate_latest(metrics.registry_for_scrape())
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
