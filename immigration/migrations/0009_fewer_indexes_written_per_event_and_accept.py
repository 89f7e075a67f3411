"""Two more indexes written on every accept (issue 13), found by introspection as in 0008:

- status events' user: most events have none (the applicant's, the delivery's); a partial index
  over the staff ones replaces the full one;
- replay records' application: read only by retention, on a table holding one day of
  submissions.
"""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def drop_single_column_index(table: str, column: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        connection = schema_editor.connection
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, table)
        for name, info in constraints.items():
            if (info["index"] and not info["unique"] and not info["primary_key"]
                    and info["columns"] == [column]):
                schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("immigration", "0008_application_indexes_paid_on_each_accept"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="statusevent",
                    name="user",
                    field=models.ForeignKey(
                        blank=True, db_index=False, null=True,
                        on_delete=django.db.models.deletion.PROTECT, related_name="+",
                        to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name="idempotencyrecord",
                    name="application",
                    field=models.ForeignKey(
                        db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE,
                        related_name="+", to="immigration.passportapplication"),
                ),
            ],
            database_operations=[
                migrations.RunPython(
                    drop_single_column_index("immigration_statusevent", "user_id"),
                    migrations.RunPython.noop),
                migrations.RunPython(
                    drop_single_column_index("immigration_idempotencyrecord", "application_id"),
                    migrations.RunPython.noop),
            ],
        ),
        migrations.AddIndex(
            model_name="statusevent",
            index=models.Index(condition=models.Q(("user__isnull", False)), fields=["user"],
                               name="statusevent_staff_user"),
        ),
    ]
