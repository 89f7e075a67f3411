"""`field__any=[...]`: membership in a list sent as one array parameter on PostgreSQL.

The delivery loop filters by the ids of a whole batch several times per round. `__in` writes one
placeholder per id, and psycopg's client-side binding (Django's default) re-parses a statement
that long on every call instead of caching it: profiled, that parsing was a tenth of a drain
worker's CPU with batches of 300. `= ANY(%s)` is one short statement whatever the batch size.
Other databases get a plain IN (...).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import models
from django.db.models import Lookup


class AnyOf(Lookup):  # type: ignore[type-arg]
    lookup_name = "any"
    prepare_rhs = False  # a list of values, not one value of the field's type

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [self.lhs.output_field.get_db_prep_value(v, connection) for v in self.rhs]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            raise EmptyResultSet
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


models.Field.register_lookup(AnyOf)
models.ForeignObject.register_lookup(AnyOf)  # foreign keys keep lookups of their own
