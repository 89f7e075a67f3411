"""One small base for every upstream HTTP client, and the one error type they raise.

Callers (the outbox delivery loop above all) decide what to do from three facts carried
by `UpstreamError`: is retrying pointless (`permanent`), how long upstream asked us to
wait (`retry_after`), and whether the request may have been committed upstream even
though we got no answer (`ambiguous`) — the case that must be resolved by asking
upstream, or by resending under the same idempotency key, never by assuming failure.
"""

from __future__ import annotations

import email.utils
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx

__all__ = [
    "UpstreamClient",
    "UpstreamError",
    "error_for_exception",
    "error_for_status",
    "parse_retry_after",
]

# Statuses that say "the same request can succeed later". Every other 4xx means our
# request itself is wrong, so sending it again unchanged can never help.
TRANSIENT_4XX = frozenset({408, 425, 429})

# An upstream `detail` is kept for operators, but bounded: a misbehaving upstream echoing
# a whole payload back must not turn an error attribute into a copy of personal data.
MAX_DETAIL_CHARS = 200


class UpstreamError(Exception):
    """A call to an upstream system did not succeed.

    The message names the method, path and status or transport failure only — never
    a request body, which carries applicants' personal data and ends up in logs.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        status: int | None = None,
        ambiguous: bool = False,
        code: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status
        self.ambiguous = ambiguous
        # Upstream's machine-readable error code (e.g. "key_reused") and its short
        # explanation, for dead-letter reasons shown to staff.
        self.code = code
        self.detail = detail

    def __repr__(self) -> str:
        return (
            f"UpstreamError({str(self)!r}, permanent={self.permanent}, "
            f"retry_after={self.retry_after}, status={self.status}, "
            f"ambiguous={self.ambiguous}, code={self.code!r})"
        )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date).

    Fractional seconds are accepted too (the simulator uses them to keep tests fast).
    Anything unparseable gives None, so the caller falls back to its own backoff
    rather than trusting garbage.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are always GMT; a naive result means the zone was "-0000".
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def _error_fields(body: Any) -> tuple[str | None, str | None]:
    if not isinstance(body, Mapping):
        return None, None
    code = body.get("error")
    detail = body.get("detail")
    code_str = code[:MAX_DETAIL_CHARS] if isinstance(code, str) else None
    if detail is None:
        detail_str = None
    else:
        text = detail if isinstance(detail, str) else json.dumps(detail, sort_keys=True)
        detail_str = text[:MAX_DETAIL_CHARS]
    return code_str, detail_str


def error_for_status(
    status: int,
    *,
    what: str,
    body: Any = None,
    retry_after: float | None = None,
) -> UpstreamError:
    """Map a non-success HTTP status to an `UpstreamError`.

    `what` names the call ("POST /v1/print-jobs"); `body` is the parsed upstream response
    (its `error`/`detail` fields are kept as attributes, not in the message).
    """
    code, detail = _error_fields(body)
    permanent = 400 <= status < 500 and status not in TRANSIENT_4XX
    message = f"{what}: HTTP {status}" + (f" ({code})" if code else "")
    return UpstreamError(
        message,
        permanent=permanent,
        # A permanent refusal has nothing to wait for, whatever header came with it.
        retry_after=None if permanent else retry_after,
        status=status,
        ambiguous=False,
        code=code,
        detail=detail,
    )


def error_for_exception(exc: httpx.HTTPError, *, what: str) -> UpstreamError:
    """Map an httpx transport failure to a transient `UpstreamError`.

    Failures before the request could leave this host (no connection, no pool slot)
    are unambiguous: upstream cannot have acted on it. Once bytes may have been sent,
    upstream may have committed the request and only the answer was lost.
    """
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError | httpx.PoolTimeout):
        kind = "connect timeout" if isinstance(exc, httpx.ConnectTimeout) else "cannot connect"
        if isinstance(exc, httpx.PoolTimeout):
            kind = "no free connection in pool"
        return UpstreamError(f"{what}: {kind}", permanent=False, ambiguous=False)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        # A broken base URL is configuration; retrying it forever would hide the mistake.
        return UpstreamError(f"{what}: invalid upstream URL", permanent=True, ambiguous=False)
    if isinstance(exc, httpx.TimeoutException):
        kind = "read timeout" if isinstance(exc, httpx.ReadTimeout) else "timeout"
        return UpstreamError(f"{what}: {kind}", permanent=False, ambiguous=True)
    if isinstance(exc, httpx.RemoteProtocolError):
        return UpstreamError(
            f"{what}: connection closed without a response", permanent=False, ambiguous=True
        )
    # Read/write errors and anything else on the wire: we cannot know how far it got.
    # Only the exception's type is named, so messages stay a small fixed vocabulary that
    # log alerts can match on; the original stays chained for debugging.
    return UpstreamError(f"{what}: {type(exc).__name__}", permanent=False, ambiguous=True)


class UpstreamClient:
    """Base for upstream clients: one pooled `httpx.Client`, explicit timeouts, error mapping.

    One instance is meant to live for the whole process (a Celery worker, a web process)
    and be shared by its threads: httpx.Client is thread-safe, and reusing its pool keeps
    TLS handshakes off the hot path when a backlog drains.
    """

    #: Per-request connect timeout. Kept short: a host that does not accept a connection
    #: within seconds is down, and the delivery loop should back off, not wait.
    connect_timeout: float = 3.0
    #: Per-read timeout. A timed-out read is ambiguous, so it should be comfortably longer
    #: than upstream's normal latency.
    read_timeout: float = 10.0
    max_connections: int = 20

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        max_connections: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        connect = self.connect_timeout if connect_timeout is None else connect_timeout
        read = self.read_timeout if read_timeout is None else read_timeout
        limit = self.max_connections if max_connections is None else max_connections
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=connect),
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
            headers=dict(headers or {}),
            # A redirect from an API is a misconfiguration; following it could resend a
            # signed body somewhere we never meant to.
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes = b"",
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send one request; return the response if 2xx or a status listed in `accept`.

        Raises `UpstreamError` for every other status and for transport failures.
        """
        what = f"{method} {path}"
        try:
            response = self._http.request(
                method, path, content=content, headers=headers, params=params
            )
        except httpx.HTTPError as exc:
            raise error_for_exception(exc, what=what) from exc
        if response.is_success or response.status_code in accept:
            return response
        raise error_for_status(
            response.status_code,
            what=what,
            body=_json_or_none(response),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
