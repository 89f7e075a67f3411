"""Reactions to status changes, run inside the transaction that changes the status.

`PassportApplication._transition` (and the bulk "sent to central" path a delivered batch takes)
is the one place statuses change; both call `status_changed` with what changed, so a reaction
registered here (notifications, say) commits or rolls back with the change itself. Hooks get
whole batches: the delivery worker moves hundreds of applications per transaction and a hook
must not turn that into hundreds of round trips.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StatusChange:
    application_id: int
    office_id: str
    reference: str
    from_status: str
    to_status: str
    event_id: int  # the StatusEvent row: unique per change, so a key for "once per change"
    note: str = ""


Hook = Callable[[Sequence[StatusChange]], None]
_hooks: dict[str, Hook] = {}


def register(name: str, hook: Hook) -> None:
    """Register (or replace) a named hook; called from an AppConfig.ready."""
    _hooks[name] = hook


def status_changed(changes: Sequence[StatusChange]) -> None:
    """Run every hook on a batch of changes. Caller is inside the changing transaction."""
    if not changes:
        return
    for hook in _hooks.values():
        hook(changes)


def status_hooks_registered() -> bool:
    """Whether any hook listens (lets a bulk path skip building changes nobody reads)."""
    return bool(_hooks)
