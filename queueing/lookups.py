"""`field__any=[...]`: membership in a list sent as one array parameter on PostgreSQL.

The delivery loop filters by the ids of a whole batch several times per round. `__in` writes one
placeholder per id, and psycopg's client-side binding (Django's default) re-parses a statement
that long on every call instead of caching it: profiled, that parsing was a tenth of a drain
worker's CPU with batches of 300. `= ANY(%s)` is one short statement whatever the batch size.
Other databases get a plain IN (...).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import models
from django.db.models import Lookup


def int_array(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal of whole numbers ("{1,2,3}"), to pass as one text parameter
    cast to `bigint[]`: psycopg's client-side binding quotes a Python list element by element,
    in Python. operator.index() refuses anything that is not an integer (a float, a string),
    so the literal holds only numbers."""
    return "{" + ",".join([str(operator.index(v)) for v in values]) + "}"


class AnyOf(Lookup):  # type: ignore[type-arg]
    lookup_name = "any"
    prepare_rhs = False  # a list of values, not one value of the field's type

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        if connection.vendor != "postgresql":
            values = [field.get_db_prep_value(v, connection) for v in self.rhs]
            if not values:
                raise EmptyResultSet
            return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]
        # A foreign key compares as its target field.
        if isinstance(getattr(field, "target_field", field), models.IntegerField):
            # Ids, the common case: preparing each one through the field and having psycopg
            # quote the list element by element was 8% of a drain worker's CPU (cProfile, 300
            # ids four times per round).
            return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, int_array(self.rhs)]
        values = [field.get_db_prep_value(v, connection) for v in self.rhs]
        return f"{lhs} = ANY(%s)", [*lhs_params, values]


models.Field.register_lookup(AnyOf)
models.ForeignObject.register_lookup(AnyOf)  # foreign keys keep lookups of their own
