"""Settings for benchmark runs: the project's settings plus the bare-DRF baseline app."""

from __future__ import annotations

from immigration.settings import *  # noqa: F403
from immigration.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "scripts.bench.apps.BenchConfig"]
ROOT_URLCONF = "scripts.bench.urls"
