"""Whole-database checks: the event chains and the access log chain (tamper evidence)."""

from __future__ import annotations

from kovflow.history import ChainBreak, access_hash, verify
from kovflow.store import repo
from kovflow.store.db import Engine, read


def verify_events(engine: Engine) -> tuple[int, list[ChainBreak]]:
    """Check every event chain; return the number of events read and the breaks found."""
    with read(engine) as conn:
        rows = [dict(r._mapping) for r in repo.chain_events(conn)]
    return len(rows), verify(rows)


def verify_access_log(engine: Engine) -> tuple[int, list[ChainBreak]]:
    """Check the access log's chain; return the number of records read and the breaks found."""
    with read(engine) as conn:
        rows = [dict(r._mapping) for r in repo.access_rows(conn)]
    return len(rows), verify(rows, access_hash)


def chain_heads(engine: Engine) -> dict[str, dict[str, object]]:
    """The last record of the access log and of every event chain, for an external anchor."""
    with read(engine) as conn:
        seq, digest = repo.access_head(conn)
        heads: dict[str, dict[str, object]] = {"access": {"seq": seq, "hash": digest}}
        for row in repo.chain_events(conn):  # ordered by chain, seq: the last one wins
            heads[str(row.chain)] = {"seq": int(row.seq), "hash": str(row.hash)}
    return heads
