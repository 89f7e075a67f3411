from __future__ import annotations

from django.apps import AppConfig


class SigninConfig(AppConfig):
    name = "immigration.signin"
    label = "signin"
    verbose_name = "Sign-in"
