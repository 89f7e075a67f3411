"""An office's wall clock: "now" and times written the way its staff read them.

Every office keeps its own IANA zone (`Office.timezone`): Nunukan and Bali are on WITA
(Asia/Makassar), Java and Sumatra on WIB (Asia/Jakarta), Papua on WIT (Asia/Jayapura). The
database and the API stay in UTC; only what a person reads is converted here.

Indonesian style (PUEBI): day, short month, year, 24-hour time with a full stop, and the zone's
abbreviation: "29 Nov 2026 14.05 WITA". English gets a colon: "29 Nov 2026 14:05 WITA".
Month names are written out here rather than through the locale's strftime: the machine's C
library locales are not something a deployment can rely on, and Django's date filter would give
full month names in Indonesian.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import cache
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils import timezone

if TYPE_CHECKING:
    from immigration.models import Office

DEFAULT_OFFICE_TIMEZONE = "Asia/Jakarta"

MONTHS = {
    "id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone_name(name: str) -> None:
    if name not in _known_zones():
        raise ValidationError("%(name)s is not an IANA time zone name.", params={"name": name},
                              code="invalid_timezone")


def zone_of(office: Office) -> zoneinfo.ZoneInfo:
    """The office's zone; a name the system's tz database lacks falls back to the default
    rather than failing a page (the field's validator keeps bad names out in the first place)."""
    try:
        return zoneinfo.ZoneInfo(office.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(DEFAULT_OFFICE_TIMEZONE)


def office_now(office: Office) -> dt.datetime:
    return timezone.now().astimezone(zone_of(office))


def local(moment: dt.datetime, office: Office) -> dt.datetime:
    return moment.astimezone(zone_of(office))


def zone_abbreviation(moment: dt.datetime, office: Office) -> str:
    """WIB / WITA / WIT for Indonesian zones (the tz database has these names); elsewhere
    whatever the database has, e.g. "+08"."""
    return local(moment, office).tzname() or office.timezone


def _lang(language: str) -> str:
    return "en" if language.startswith("en") else "id"


def format_time(moment: dt.datetime, office: Office, language: str = "id", *,
                seconds: bool = False) -> str:
    """ "14.05 WITA" (Indonesian) / "14:05 WITA" (English); with `seconds` "14.05.09 WITA"."""
    at = local(moment, office)
    sep = ":" if _lang(language) == "en" else "."
    clock = f"{at.hour:02d}{sep}{at.minute:02d}" + (f"{sep}{at.second:02d}" if seconds else "")
    return f"{clock} {zone_abbreviation(moment, office)}"


def format_datetime(moment: dt.datetime, office: Office, language: str = "id") -> str:
    """ "29 Nov 2026 14.05 WITA"."""
    at = local(moment, office)
    month = MONTHS[_lang(language)][at.month - 1]
    return f"{at.day} {month} {at.year} {format_time(moment, office, language)}"


def format_moment(moment: dt.datetime, office: Office, language: str = "id") -> str:
    """The time alone when `moment` is today in the office, else date and time: what a status
    line needs ("sejak 10.42 WITA" / "sejak 28 Nov 2026 22.10 WITA")."""
    if local(moment, office).date() == office_now(office).date():
        return format_time(moment, office, language)
    return format_datetime(moment, office, language)
