"""The NIK (Nomor Induk Kependudukan), the 16-digit Indonesian national identity number.

Layout: PP KK CC DDMMYY SSSS
  PP   province code (Kemendagri), KK regency/city, CC district
  DD   day of birth, plus 40 for women
  MMYY month and two-digit year of birth
  SSSS serial, never 0000
A clerk checks exactly these things by eye; we check them the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

# Province codes in use (Kemendagri), including the Papua provinces created in 2022.
PROVINCE_CODES: frozenset[str] = frozenset(
    """11 12 13 14 15 16 17 18 19 21 31 32 33 34 35 36 51 52 53 61 62 63 64 65
    71 72 73 74 75 76 81 82 91 92 93 94 95 96""".split()
)


@dataclass(frozen=True)
class NikProblem:
    code: str
    message: str  # in the requester's language (checked during the request)


def check_nik(nik: str, *, date_of_birth: dt.date | None, sex: str | None) -> NikProblem | None:
    """Return the first problem with `nik`, or None when it is consistent.

    `date_of_birth`/`sex` may be None when those fields are themselves invalid; the NIK is then
    only checked on its own.
    """
    if len(nik) != 16 or not nik.isascii() or not nik.isdigit():
        return NikProblem("nik_format", _("NIK must be exactly 16 digits."))
    if nik[:2] not in PROVINCE_CODES:
        return NikProblem("nik_region", _("The NIK's province code does not exist."))
    if nik[2:4] == "00" or nik[4:6] == "00":
        return NikProblem("nik_region", _("The NIK's regency or district code is not valid."))
    if nik[12:] == "0000":
        return NikProblem("nik_serial", _("The NIK's serial number cannot be 0000."))
    day, month, year2 = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    is_female_code = day > 40
    real_day = day - 40 if is_female_code else day
    if not (1 <= real_day <= 31 and 1 <= month <= 12):
        return NikProblem("nik_birth_date", _("The NIK does not contain a valid birth date."))
    if date_of_birth is not None:
        if (real_day, month, year2) != (date_of_birth.day, date_of_birth.month,
                                         date_of_birth.year % 100):
            return NikProblem(
                "nik_birth_date", _("The NIK does not match the date of birth.")
            )
    if sex is not None and sex in {"M", "F"} and is_female_code != (sex == "F"):
        return NikProblem(
            "nik_sex", _("The NIK does not match the sex (women's birth day is +40).")
        )
    return None


def make_nik(*, region: str, date_of_birth: dt.date, sex: str, serial: int) -> str:
    """Build a NIK consistent with the given data (test data and demos)."""
    day = date_of_birth.day + (40 if sex == "F" else 0)
    return f"{region}{day:02d}{date_of_birth:%m%y}{serial:04d}"
