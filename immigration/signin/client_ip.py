"""The client's address, as one function every limit uses (DRF throttles, axes, our own).

X-Forwarded-For can be written by anyone; only the entries appended by our own proxies are
true. With TRUSTED_PROXIES = n, the n-th entry from the right is the address the outermost of
our proxies saw (the same rule as DRF's NUM_PROXIES); with 0 the header is ignored.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str:
    """`request` is a Django HttpRequest or a DRF Request (both expose META)."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies = int(getattr(settings, "TRUSTED_PROXIES", 0))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in str(forwarded).split(",") if hop.strip()]
    if not hops:
        return remote
    return hops[-min(proxies, len(hops))]
