"""What identifies a print job, in one place: the topic it travels on, the upstream it goes to,
and its key. Models, delivery, callbacks, reconciliation and the staff pages all
read these; none of them spells a key or an upstream name by hand.
"""

from __future__ import annotations

import re

# The upstream (breaker, rate limit, health row) and the outbox topic for print jobs.
CENTRAL_PRINTING = "central_printing"
PRINT_JOB_TOPIC = f"{CENTRAL_PRINTING}.print_job"

_VERSION_MARK = ":v"
# ASCII digits only and a sane length: str.isdigit() also accepts "²" and int() refuses numbers
# past 4,300 digits, and both reach here from signed but malformed callbacks.
_VERSION = re.compile(r"[0-9]{1,9}")


def print_job_key(reference: str, data_version: int) -> str:
    """Central dedupes on this key: one (application, data version) is one job. A correction
    bumps the data version, so central sees a new job rather than a reused key with a new body."""
    return f"{reference}{_VERSION_MARK}{data_version}"


def parse_print_job_key(key: str) -> tuple[str, int] | None:
    """(reference, data version) of a key made by `print_job_key`, or None if it is not one."""
    reference, _, version = key.rpartition(_VERSION_MARK)
    if not reference or not _VERSION.fullmatch(version):
        return None
    return reference, int(version)


def office_key_prefix(office_code: str) -> str:
    """Every print-job key of an office starts with this (references start with the office
    code and a dash), so an office's jobs can be selected without a join."""
    return f"{office_code}-"

