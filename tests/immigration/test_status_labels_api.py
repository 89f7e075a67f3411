"""GET /api/v1/statuses: the one table of applicant-facing status labels, which the PWA caches
for offline use instead of keeping its own."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from immigration.lifecycle import Status

pytestmark = pytest.mark.django_db


def test_every_status_is_labelled_in_both_languages_without_logging_in(api: APIClient) -> None:
    response = api.get("/api/v1/statuses")
    assert response.status_code == 200
    labels = response.json()["labels"]
    assert set(labels) == {"id", "en"}
    for table in labels.values():
        assert set(table) == {status.value for status in Status}
        assert all(text.strip() for text in table.values())
    assert labels["id"]["ready_for_pickup"] != labels["en"]["ready_for_pickup"]


def test_labels_are_the_words_the_application_itself_carries(submit: Any, siti: Any,
                                                             api: APIClient) -> None:
    # Siti's receipt and the table must say the same thing for "received", in each language.
    labels = api.get("/api/v1/statuses").json()["labels"]
    receipt = submit(siti).json()
    assert receipt["status_label"] == labels["id"]["received"]
    detail = api.get(f"/api/v1/applications/{receipt['reference']}",
                     HTTP_X_ACCESS_CODE=receipt["access_code"], HTTP_ACCEPT_LANGUAGE="en").json()
    assert detail["status_label"] == labels["en"][detail["status"]]
    assert [e["label"] for e in detail["timeline"]] == [labels["en"]["received"]]
