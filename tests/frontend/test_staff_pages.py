"""The staff console as Django serves it: the clerk's office goes into the page, and none of
the console is part of the applicants' offline shell."""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib.auth.models import User
from django.test import Client


def test_queue_page_announces_for_the_clerks_own_office(client: Client, bambang: User,
                                                        dewi: User) -> None:
    client.force_login(bambang)
    assert 'data-office="NNK"' in client.get("/staff/").content.decode()
    client.force_login(dewi)
    assert 'data-office="TPK"' in client.get("/staff/").content.decode()


def test_status_filter_offers_every_status_in_indonesian(client: Client, bambang: User) -> None:
    client.force_login(bambang)
    html = client.get("/staff/applications").content.decode()
    assert '<option value="needs_attention" data-i18n="st.needs_attention">' in html
    assert "Diterima kantor, menunggu verifikasi" in html


def test_staff_scripts_stay_out_of_the_offline_shell(client: Client, db: Any) -> None:
    source = client.get("/serviceworker.js").content.decode()
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", source).group(1))  # type: ignore[union-attr]
    assert not [url for url in shell if "staff" in url]
