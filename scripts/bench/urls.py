"""The project's URLs plus the baseline endpoint."""

from __future__ import annotations

from django.urls import include, path

from scripts.bench.views import BareApplicationCreate

urlpatterns = [
    path("bench/bare-applications", BareApplicationCreate.as_view(), name="bench-bare-create"),
    path("", include("immigration.urls")),
]
