"""What must be true before staff may approve an application for printing.

Parts of the office that own a precondition register a named check at start-up: the dossier
(required documents checked, photo and signature present), fees (paid), a second pair of eyes
(supervisor sign-off). The core names none of them, so they depend on it and never the reverse.

`settings.APPROVAL_CHECKS` selects which registered checks apply ("all" by default). Turning a
check off is for benchmarks and drills that measure something else (delivery, not the counter);
the product and its tests run with every check on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from immigration.models import PassportApplication


@dataclass(frozen=True)
class Blocker:
    """One reason an application cannot be approved yet."""

    code: str  # stable and machine-readable, e.g. "documents_unchecked"
    detail: str  # for the clerk, in the request's language


Check = Callable[["PassportApplication"], Iterable[Blocker]]

_checks: dict[str, Check] = {}


class NotReady(Exception):
    def __init__(self, blockers: list[Blocker]) -> None:
        super().__init__("; ".join(b.detail for b in blockers))
        self.blockers = blockers


def register(name: str, check: Check) -> None:
    _checks[name] = check


def _enabled() -> list[Check]:
    wanted = getattr(settings, "APPROVAL_CHECKS", "all")
    if wanted == "all":
        return list(_checks.values())
    names = {n.strip() for n in wanted.replace(",", " ").split()}
    return [check for name, check in _checks.items() if name in names]


def blockers(application: PassportApplication) -> list[Blocker]:
    """Every reason this application cannot be approved now (empty when it can)."""
    return [b for check in _enabled() for b in check(application)]


def ensure_ready(application: PassportApplication) -> None:
    """Raise NotReady when any enabled check has a blocker. Caller holds the row lock."""
    found = blockers(application)
    if found:
        raise NotReady(found)
