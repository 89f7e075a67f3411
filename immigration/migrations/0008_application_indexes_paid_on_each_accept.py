"""Fewer indexes on applications: every one is written on each accept (issue 13).

- The office's own index: (office, status) already serves every lookup by office.
- PostgreSQL's "_like" (varchar_pattern_ops) copies Django adds to unique and indexed text
  columns: the reference, the office code and the NIK's blind index are only ever looked up by
  exact value, so pattern indexes are never used.

Found by introspection rather than by their generated names, so a database whose names differ
still loses exactly these. The unique reference, the NIK's blind-index index and the partial
unique "one active application per NIK" index stay.
"""

from typing import Any

from django.db import migrations, models
import django.db.models.deletion

TABLE = "immigration_passportapplication"


def drop_unused_indexes(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    for name, info in constraints.items():
        if not info["index"] or info["unique"] or info["primary_key"]:
            continue
        office_only = info["columns"] == ["office_id"]
        if office_only or name.endswith("_like"):
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):

    dependencies = [
        ("immigration", "0007_consent_and_anonymisation"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="passportapplication",
                    name="office",
                    field=models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.PROTECT,
                        related_name="applications", to="immigration.office"),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_unused_indexes, migrations.RunPython.noop),
            ],
        ),
    ]
