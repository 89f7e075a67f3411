"""Each office keeps its own wall clock; times people read are written in it, Indonesian style."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from immigration.models import Office
from immigration.office_time import format_datetime, format_moment, format_time, zone_of

UTC = dt.UTC


@pytest.mark.django_db
def test_seeded_offices_have_their_zones() -> None:
    zones = dict(Office.objects.values_list("code", "timezone"))
    assert zones["NNK"] == "Asia/Makassar"
    assert zones["DPS"] == "Asia/Makassar"
    assert zones["TPK"] == "Asia/Jakarta"
    assert zones["JKS"] == "Asia/Jakarta"


@pytest.mark.django_db
def test_a_new_office_defaults_to_wib() -> None:
    office = Office.objects.create(code="XYZ", name="Kantor Baru")
    assert office.timezone == "Asia/Jakarta"


def test_an_unknown_zone_name_is_refused() -> None:
    office = Office(code="XYZ", name="Kantor Baru", timezone="Asia/Nunukan")
    with pytest.raises(ValidationError) as caught:
        office.full_clean(validate_unique=False)
    assert "timezone" in caught.value.message_dict


def test_nunukan_reads_wita_and_tanjung_perak_wib() -> None:
    moment = dt.datetime(2026, 11, 29, 6, 5, tzinfo=UTC)
    nnk = Office(code="NNK", name="Nunukan", timezone="Asia/Makassar")
    tpk = Office(code="TPK", name="Tanjung Perak", timezone="Asia/Jakarta")
    assert format_datetime(moment, nnk) == "29 Nov 2026 14.05 WITA"
    assert format_datetime(moment, tpk) == "29 Nov 2026 13.05 WIB"
    assert format_datetime(moment, nnk, "en") == "29 Nov 2026 14:05 WITA"
    assert format_time(moment, nnk) == "14.05 WITA"
    papua = Office(code="JYP", name="Jayapura", timezone="Asia/Jayapura")
    assert format_time(moment, papua) == "15.05 WIT"


def test_month_names_are_indonesian() -> None:
    nnk = Office(code="NNK", name="Nunukan", timezone="Asia/Makassar")
    assert format_datetime(dt.datetime(2026, 8, 17, 2, 0, tzinfo=UTC), nnk) == \
        "17 Agu 2026 10.00 WITA"
    assert format_datetime(dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC), nnk, "en") == \
        "1 Dec 2026 10:00 WITA"


def test_the_date_is_the_offices_date_not_utcs() -> None:
    # 17.30 UTC on the 28th is already 01.30 on the 29th in Nunukan.
    nnk = Office(code="NNK", name="Nunukan", timezone="Asia/Makassar")
    assert format_datetime(dt.datetime(2026, 11, 28, 17, 30, tzinfo=UTC), nnk) == \
        "29 Nov 2026 01.30 WITA"


def test_today_is_written_as_a_time_alone() -> None:
    nnk = Office(code="NNK", name="Nunukan", timezone="Asia/Makassar")
    now = dt.datetime.now(UTC)
    assert format_moment(now, nnk) == format_time(now, nnk)
    long_ago = now - dt.timedelta(days=3)
    assert format_moment(long_ago, nnk) == format_datetime(long_ago, nnk)


def test_a_zone_missing_from_the_system_falls_back_to_wib() -> None:
    broken = Office(code="XYZ", name="Broken", timezone="Not/AZone")
    assert zone_of(broken).key == "Asia/Jakarta"
