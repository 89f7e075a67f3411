"""The audit trail: who did what to which application, in one hash chain with the status events.

`audit_record` is the one way to write an entry; it is imported from here by every part
(`from immigration.audit import audit_record`). The models live in `immigration.audit.models`;
this module imports them lazily because Django imports an app's package before its models are
ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from immigration.models import Office, PassportApplication

__all__ = ["audit_record"]


def audit_record(
    *,
    actor: Any | None,
    action: str,
    office: Office | None = None,
    application: PassportApplication | None = None,
    detail: Mapping[str, str | int | bool] | None = None,
) -> None:
    """Append an audit entry in the caller's transaction (so a rolled-back action leaves no
    entry, and a committed one always has its entry). `actor` is the staff or admin user (None
    or an anonymous user for the system). `detail` must never hold personal data: a reference
    or the names of the fields touched are fine, their values are not. Appending takes no lock:
    the sealer (`immigration.audit.chain.seal`) links entries into the chain afterwards."""
    from immigration.audit.records import record

    record(actor=actor, action=action, office=office, application=application, detail=detail)
