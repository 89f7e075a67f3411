"""Walking the chain: the first sealed row that was edited, deleted or moved is named."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from immigration.audit.chain import GENESIS, describe, head, link_hash, sealed_rows
from immigration.audit.heads import ExportedHead

Progress = Callable[[int, int], None]


@dataclass
class Verdict:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(
    *, exported: ExportedHead | None = None, progress: Progress | None = None,
    progress_every: int = 10_000,
) -> Verdict:
    """Recompute every link from the genesis hash and compare it with the stored seal. Stops at
    the first break (after it, every later link differs too, which would say nothing new).

    Rewriting a row and recomputing its seal moves the break to the next row; rewriting every
    later seal and the head row too is what an exported head (`exported`) catches."""
    chain = head()
    verdict = Verdict()
    running, expected, last = GENESIS, 1, None
    for row in sealed_rows():
        seq = row.seq or 0
        if seq != expected:
            after = f"after {describe(last)}" if last is not None else "at the start"
            if seq > expected:
                missing = f"#{expected}" if seq == expected + 1 else f"#{expected}-#{seq - 1}"
                verdict.problems.append(
                    f"sealed entry {missing} is missing ({after}): deleted")
            else:
                verdict.problems.append(f"{describe(row)} claims position #{seq} twice: moved")
            return verdict
        if link_hash(running, row) != row.chain_hash:
            verdict.problems.append(
                f"{describe(row)} at #{seq} does not match its seal: edited or moved")
            return verdict
        running, last = row.chain_hash, row
        verdict.checked = seq
        if exported is not None and seq == exported.seq and running != exported.hash:
            verdict.problems.append(
                f"the chain up to #{seq} differs from the head exported {exported.exported_at}:"
                " rewritten")
            return verdict
        if progress is not None and seq % progress_every == 0:
            progress(seq, chain.seq)
        expected += 1
    if verdict.checked < chain.seq:
        first = verdict.checked + 1
        span = f"entry #{first} is" if first == chain.seq else f"entries #{first}-#{chain.seq} are"
        verdict.problems.append(
            f"sealed {span} missing (the chain ends early"
            f"{f' after {describe(last)}' if last else ''}): deleted")
    elif verdict.checked > chain.seq or running != chain.hash:
        verdict.problems.append("the chain head row does not match the last sealed entry")
    if exported is not None and verdict.ok:
        if exported.seq > verdict.checked:
            verdict.problems.append(
                f"the chain has {verdict.checked} entries but the head exported"
                f" {exported.exported_at} had {exported.seq}: truncated")
        elif exported.seq == 0 and exported.hash != GENESIS:
            verdict.problems.append("the exported head is not a head of this chain")
    if progress is not None and (verdict.checked % progress_every or not verdict.checked):
        progress(verdict.checked, chain.seq)  # the last line, unless just printed
    return verdict
