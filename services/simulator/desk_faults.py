"""The fault knobs every side upstream of the simulator honours (billing, the SMS gateway):
down, a failure rate, a delay, hanging until the caller times out, and answers dropped after the
work was done. Central's own handler has more knobs (blobs, link emulation) and its own code."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from services.signing import SignatureError, verify

if TYPE_CHECKING:
    from services.simulator.server import Handler


def serve_with_faults(handler: Handler, desk: Any, method: str, path: str, body: bytes,
                      dispatch: Callable[..., tuple[int, dict[str, Any]]]) -> None:
    """Answer one request to `desk` through its fault knobs; `dispatch` does the real work."""
    from services.simulator.server import Reply, _retry_after

    config = desk.config()
    desk._count(down=config.mode == "down")
    if config.delay_seconds:
        time.sleep(config.delay_seconds)
    unavailable = {"Retry-After": _retry_after(config.retry_after)}
    if config.mode == "down" or (config.fail_rate and random.random() < config.fail_rate):  # noqa: S311
        raise Reply(503, {"error": "unavailable"}, unavailable)
    if config.mode == "timeout":
        time.sleep(config.hang_seconds)
        handler._vanish("timeout")
        return
    try:
        verify(desk.secrets, body, handler.headers)
    except SignatureError as exc:
        raise Reply(401, {"error": "unauthorized", "detail": str(exc)}) from None
    status, reply = dispatch(handler, desk, method, path, body)
    if config.mode == "drop":
        handler._vanish("dropped")  # done above; only the answer is lost
        return
    handler._send(status, reply)
