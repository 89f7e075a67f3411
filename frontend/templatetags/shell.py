"""`{% pwa_meta %}`: django-pwa's meta tags without its comments, blank lines and console
logging. They are repeated in every cached page of the shell, which must stay within 100 KB."""

from __future__ import annotations

from typing import Any

from django import template
from pwa import app_settings

register = template.Library()


@register.inclusion_tag("frontend/pwa_meta.html")
def pwa_meta() -> dict[str, Any]:
    return {name: getattr(app_settings, name) for name in dir(app_settings)
            if name.startswith("PWA_")}
