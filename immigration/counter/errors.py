"""One base for the counter's refusals, so views never catch them: the API's exception handler
turns any `CounterRefused` into its error body (registered in apps.py)."""

from __future__ import annotations

from typing import Any


class CounterRefused(Exception):
    """A counter rule said no. `code` is the API error code, `extra` joins the error body
    (e.g. `nearest` for a full slot, `note` for a closed service)."""

    def __init__(self, code: str, detail: str, status: int = 409, **extra: Any) -> None:
        super().__init__(detail)
        self.code, self.detail, self.status, self.extra = code, detail, status, extra
