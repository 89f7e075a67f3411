"""Encrypted backups of the office database (files included: they live in it as sealed chunks).

`archive` is the file format, `postgres` and `sqlite` dump and load each database, `office`
ties them together for `manage.py backup` and `manage.py restore`.
"""
