from __future__ import annotations

from django.urls import path

from immigration.signin import api

urlpatterns = [
    path("token", api.TokenObtainView.as_view(), name="auth-token"),
    path("tokens", api.TokensView.as_view(), name="auth-tokens"),
    path("tokens/<str:token_id>", api.TokenRevokeView.as_view(), name="auth-token-revoke"),
]
