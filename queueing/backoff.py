"""Retry delays: exponential backoff with full jitter, capped (AWS architecture blog, 2015).

Full jitter spreads a thundering herd of retries evenly over the window instead of having every
worker retry at the same instant after central comes back.
"""

from __future__ import annotations

import random


def retry_delay(
    attempts: int, *, base: float, cap: float, retry_after: float | None = None
) -> float:
    """Seconds to wait before attempt number `attempts + 1`. Never sooner than Retry-After."""
    ceiling = min(cap, base * (2 ** max(attempts - 1, 0)))
    delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
