from __future__ import annotations

from typing import Any

import pytest

from immigration import printing


@pytest.fixture
def wired(central: Any, live_server: Any, settings: Any) -> Any:
    """This office talking to the real simulator, which calls back to the live test server."""
    settings.CENTRAL_PRINTING_URL = central.base_url
    settings.CENTRAL_PRINTING_SECRET = central.secret
    settings.CENTRAL_PRINTING_TIMEOUT = 2.0
    settings.OFFICE_PUBLIC_URL = live_server.url
    settings.QUEUEING = {
        **settings.QUEUEING,
        "BACKOFF_BASE_SECONDS": 0.05,
        "BACKOFF_CAP_SECONDS": 0.2,
        "BREAKER_COOLDOWN_SECONDS": 0.3,
        "BREAKER_COOLDOWN_CAP_SECONDS": 1.0,
    }
    _reset_client()
    yield central
    _reset_client()


def _reset_client() -> None:
    if printing.central_client.cache_info().currsize:
        printing.central_client().close()
    printing.central_client.cache_clear()
