"""Every change made through the Django admin is an `admin.change` audit entry.

The admin writes a LogEntry for each addition, change and deletion, in the transaction of the
change itself; following those (rather than each ModelAdmin) covers every model, including the
ones other apps register (users, groups, tokens). Deleting several objects at once writes its
LogEntries with bulk_create, which sends no signal: `audited_delete_selected` covers that path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model

from immigration.audit import audit_record

FLAGS = {ADDITION: "add", CHANGE: "change", DELETION: "delete"}


def changed_fields(change_message: str) -> str:
    """The field names (never values) out of the admin's JSON change message."""
    try:
        parts = json.loads(change_message or "[]")
    except ValueError:
        return ""
    names: list[str] = []
    for part in parts if isinstance(parts, list) else []:
        for verb in ("added", "changed", "deleted"):
            body = part.get(verb) if isinstance(part, dict) else None
            if isinstance(body, dict):
                fields = body.get("fields") or ([body["name"]] if "name" in body else [])
                names.extend(str(f) for f in fields)
    return ",".join(dict.fromkeys(names))


def record_admin_change(*, user: Any, model: str, object_id: Any, flag: str,
                        fields: str = "") -> None:
    application = None
    if model == "immigration.passportapplication" and flag != "delete":
        from immigration.models import PassportApplication

        application = PassportApplication.objects.filter(pk=object_id).first()
    detail: dict[str, str | int | bool] = {"model": model, "object": str(object_id),
                                           "flag": flag}
    if fields:
        detail["fields"] = fields[:500]
    audit_record(actor=user, action="admin.change", application=application, detail=detail)


def on_log_entry_saved(sender: type[LogEntry], instance: LogEntry, created: bool,
                       raw: bool = False, **kwargs: Any) -> None:
    if not created or raw:
        return
    content_type = (ContentType.objects.get_for_id(instance.content_type_id)
                    if instance.content_type_id else None)
    model = f"{content_type.app_label}.{content_type.model}" if content_type else "?"
    record_admin_change(user=instance.user, model=model, object_id=instance.object_id,
                        flag=FLAGS.get(instance.action_flag, str(instance.action_flag)),
                        fields=changed_fields(instance.change_message))


def record_bulk_deletion(*, user: Any, objects: Iterable[Model]) -> None:
    for obj in objects:
        record_admin_change(user=user, model=obj._meta.label_lower, object_id=obj.pk,
                            flag="delete")
