"""Shared by the operations tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def database_unreachable() -> Iterator[None]:
    """The default connection points nowhere (PostgreSQL: port 1; SQLite: a file in a folder
    that does not exist) until the block ends; then it is restored."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = 1 if connection.vendor == "postgresql" else saved["PORT"]
    if connection.vendor != "postgresql":
        connection.settings_dict["NAME"] = "/nonexistent/dir/db.sqlite3"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
