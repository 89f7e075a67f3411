"""The hash chain over status events and audit entries.

One chain for both kinds: a verifier walks one sequence and compares one head, and an exported
head covers everything (two chains would need two heads kept in step).

Appending is free (no lock on the accept path). The sealer links whatever has been committed
but not sealed yet: under the lock on the chain-head row it gives each new row the next `seq` and
`chain_hash = sha256(previous hash + canonical encoding of the row)`. It seals in its own order
(the rows it can see, oldest first), not strictly by id: a row whose id was allocated early but
whose transaction committed late is simply sealed in a later round, after rows with higher ids.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import json
from collections.abc import Iterator
from typing import Any, Literal

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from immigration.audit.models import GENESIS, AuditEntry, ChainHead
from immigration.models import StatusEvent
from queueing.lookups import int_array

Kind = Literal["status_event", "audit"]
Sealable = StatusEvent | AuditEntry
SEAL_BATCH = 2000


def kind_of(row: Sealable) -> Kind:
    return "status_event" if isinstance(row, StatusEvent) else "audit"


def _instant(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


# The columns each kind hashes, by the name they carry in the canonical encoding.
_EVENT_COLUMNS = {"id": "id", "application": "application_id", "from": "from_status",
                  "to": "to_status", "actor": "actor", "user": "user_id", "note": "note",
                  "at": "at"}
_AUDIT_COLUMNS = {"id": "id", "action": "action", "actor": "actor_id", "office": "office_id",
                  "application": "application_id", "detail": "detail", "at": "at"}


def canonical(row: Sealable) -> bytes:
    """The bytes a link hashes: every stored column of the row except its seal. Field names are
    part of the encoding, so the same values in another column do not hash the same."""
    kind = kind_of(row)
    columns = _EVENT_COLUMNS if kind == "status_event" else _AUDIT_COLUMNS
    return _encode(kind, {name: getattr(row, column) for name, column in columns.items()})


def _encode(kind: Kind, values: dict[str, Any]) -> bytes:
    body = {"kind": kind, **values, "at": _instant(values["at"])}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(previous: str, row: Sealable) -> str:
    return _link(previous, canonical(row))


def _link(previous: str, encoded: bytes) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + encoded).hexdigest()


def describe(row: Sealable) -> str:
    """How verify names a row: kind, id, and the application's id (no personal data)."""
    where = f", application {row.application_id}" if row.application_id else ""
    if isinstance(row, AuditEntry):
        what = row.action
    else:
        what = f"{row.from_status or '-'}->{row.to_status}"
    return f"{kind_of(row)} id {row.pk} ({what}{where})"


def head() -> ChainHead:
    return ChainHead.objects.get_or_create(pk=1)[0]


def seal(*, batch: int = SEAL_BATCH) -> int:
    """Link every committed, unsealed row into the chain; returns how many were sealed.

    Safe to run from several processes at once: the head row's lock makes them take turns, and
    each round re-reads what is still unsealed under that lock."""
    head()  # make sure the row exists before locking it (a fresh database has none)
    total = 0
    while True:
        with transaction.atomic():
            chain = ChainHead.objects.select_for_update().get(pk=1)
            events = _unsealed(StatusEvent, _EVENT_COLUMNS, batch)
            entries = _unsealed(AuditEntry, _AUDIT_COLUMNS, batch)
            rows: list[tuple[Kind, dict[str, Any]]] = [
                *(("status_event", v) for v in events), *(("audit", v) for v in entries)]
            rows.sort(key=lambda r: (r[1]["at"], r[0], r[1]["id"]))
            if rows:
                _check_head(chain)
            previous, seq = chain.hash, chain.seq
            seals: dict[Kind, list[tuple[int, int, str]]] = {"status_event": [], "audit": []}
            for kind, values in rows:
                seq += 1
                previous = _link(previous, _encode(kind, values))
                seals[kind].append((values["id"], seq, previous))
            _write_seals(StatusEvent, seals["status_event"])
            _write_seals(AuditEntry, seals["audit"])
            if rows:
                chain.seq, chain.hash, chain.sealed_at = seq, previous, timezone.now()
                chain.save(update_fields=["seq", "hash", "sealed_at"])
        total += len(rows)
        if len(events) < batch and len(entries) < batch:
            return total


def _unsealed(model: type[StatusEvent] | type[AuditEntry], columns: dict[str, str],
              batch: int) -> list[dict[str, Any]]:
    """The oldest unsealed rows as the values the chain hashes. Read as values, not model
    instances: building instances was most of the sealer's CPU (cProfile), and it runs on the
    same worker cores as a drain, one event per delivered job."""
    names, fields = list(columns), list(columns.values())
    return [dict(zip(names, row, strict=True))
            for row in model.objects.filter(seq__isnull=True).order_by("id")
            .values_list(*fields)[:batch]]


class HeadMismatch(Exception):
    """The head row does not point at the last sealed row (it was reset, or rows at the end of
    the chain were deleted). Sealing stops rather than build on a chain that was tampered with;
    `audit verify` reports where."""


def _check_head(chain: ChainHead) -> None:
    last = max(StatusEvent.objects.aggregate(m=Max("seq"))["m"] or 0,
               AuditEntry.objects.aggregate(m=Max("seq"))["m"] or 0)
    if last != chain.seq:
        raise HeadMismatch(f"the chain head says #{chain.seq} but the last sealed entry is "
                           f"#{last}")


def _write_seals(model: type[StatusEvent] | type[AuditEntry],
                 seals: list[tuple[int, int, str]]) -> None:
    """Store (id, seq, chain hash) of each newly sealed row."""
    if not seals:
        return
    if connection.vendor == "postgresql":
        # One UPDATE joined to arrays: Django's bulk_update builds a CASE per row, which sealed
        # only ~700 rows/s (measured, 100k rows); this keeps up with any accept rate. The
        # arrays go as literals (numbers, and hashes that are hex digits): psycopg quotes a
        # list element by element in Python.
        table = connection.ops.quote_name(model._meta.db_table)
        ids, seqs, hashes = zip(*seals, strict=True)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS t SET seq = v.seq, chain_hash = v.hash "  # noqa: S608
                "FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS v(id, seq, hash) "
                "WHERE t.id = v.id",
                [int_array(ids), int_array(seqs), "{" + ",".join(hashes) + "}"],
            )
    else:
        rows: list[Any] = [model(pk=pk, seq=seq, chain_hash=link) for pk, seq, link in seals]
        model.objects.bulk_update(rows, ["seq", "chain_hash"], batch_size=500)


def sealed_rows(*, chunk: int = 2000) -> Iterator[Sealable]:
    """Every sealed row in chain order (both tables merged by seq), streamed."""
    events: Iterator[Sealable] = (
        StatusEvent.objects.filter(seq__isnull=False).order_by("seq").iterator(chunk))
    entries: Iterator[Sealable] = (
        AuditEntry.objects.filter(seq__isnull=False).order_by("seq").iterator(chunk))
    yield from heapq.merge(events, entries, key=_seq)


def _seq(row: Sealable) -> int:
    return row.seq or 0


__all__ = ["GENESIS", "canonical", "describe", "head", "link_hash", "seal", "sealed_rows"]
