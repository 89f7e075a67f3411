"""Signals the outbox machinery sends about upstreams.

`upstream_recovered(sender=None, upstream: str, outage: UpstreamOutage)` is sent inside the
transaction that closes the outage row, exactly once per outage however many workers see the
breaker close: receivers that enqueue outbox messages there make them commit (or roll back)
together with the closing, so each recovery causes its messages exactly once.
"""

from __future__ import annotations

from django.dispatch import Signal

upstream_recovered = Signal()
