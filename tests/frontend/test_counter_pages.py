"""The counter's pages as Django serves them: who may open them, what they carry, and that none
of them (nor the display) is part of the applicants' offline shell."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

STAFF_PAGES = ["/staff/counter", "/staff/desk", "/staff/walk-in", "/staff/office"]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_counter_pages_send_anonymous_visitors_to_login(client: Client, db: Any,
                                                        path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login")


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_counter_pages_are_for_counter_staff_of_an_office(client: Client, bambang: User,
                                                          joko: User, path: str) -> None:
    client.force_login(joko)  # logged in, but no counter clerk
    assert client.get(path).status_code == 403
    client.force_login(bambang)
    html = client.get(path).content.decode()
    assert 'data-office="NNK"' in html


def test_supervisor_tools_show_for_supervisors_only(client: Client, bambang: User) -> None:
    from django.contrib.auth.models import Group

    client.force_login(bambang)
    assert 'id="signoff-list"' not in client.get("/staff/office").content.decode()
    bambang.groups.add(Group.objects.get_or_create(name="supervisor")[0])
    assert 'id="signoff-list"' in client.get("/staff/office").content.decode()


def test_the_waiting_room_display_is_public_and_per_office(client: Client, nunukan: Any) -> None:
    html = client.get("/display/nnk").content.decode()
    assert 'data-office="NNK"' in html and nunukan.name in html
    assert client.get("/display/XXX").status_code == 404


def test_walk_in_page_is_never_stored(client: Client, bambang: User) -> None:
    client.force_login(bambang)
    assert client.get("/staff/walk-in")["Cache-Control"] == "no-store"


def test_counter_pages_and_the_display_stay_out_of_the_offline_shell(client: Client,
                                                                     db: Any) -> None:
    source = client.get("/serviceworker.js").content.decode()
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", source).group(1))  # type: ignore[union-attr]
    on_demand = json.loads(re.search(r"const ON_DEMAND = (\[.*?\]);", source).group(1))  # type: ignore[union-attr]
    # The slot picker is kept once the apply page fetched it (the calendar works offline), but
    # it is not precached: the shell stays under its budget with the documents step.
    assert "/static/frontend/js/slots.js" in on_demand
    assert "/static/frontend/js/slots.js" not in shell
    unwanted = ("staff", "display", "counter", "jsQR", "appointment.js", "qr-scan")
    assert not [url for url in shell if any(word in url for word in unwanted)]
