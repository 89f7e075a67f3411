from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authtoken.views import obtain_auth_token

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("immigration.api.urls")),
    path("api/v1/auth/token", obtain_auth_token, name="auth-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (a strict CSP allows no
    # inline script); the template moves its inline style to a file too.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(
        url_name="schema", template_name="frontend/api_docs.html"), name="docs"),
    path("", include("frontend.urls")),
]

# Unmatched URLs under /api/ answer in the API's JSON error shape, not Django's HTML page.
handler404 = "immigration.api.errors.not_found"
