"""Whole-database checks: the event chains and the access log chain (tamper evidence)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def verify_against_anchor(engine: Engine, anchor: Mapping[str, Mapping[str, Any]]
                          ) -> list[ChainBreak]:
    """Compare today's chain heads with an exported anchor: finds truncation (a chain shorter
    than it was) and a recomputed chain (same length, other head), which the chain alone hides."""
    heads = chain_heads(engine)
    breaks = []
    for chain, then in anchor.items():
        now = heads.get(chain)
        seq = int(then["seq"])
        if now is None or int(str(now["seq"])) < seq:
            breaks.append(ChainBreak(chain, seq, 0, "chain is shorter than the exported anchor "
                                     "(truncated)"))
        elif int(str(now["seq"])) == seq and now["hash"] != then["hash"]:
            breaks.append(ChainBreak(chain, seq, 0, "chain head differs from the exported "
                                     "anchor (recomputed)"))
    return breaks


def chain_heads(engine: Engine) -> dict[str, dict[str, object]]:
    """The last record of the access log and of every event chain, for an external anchor."""
    with read(engine) as conn:
        seq, digest = repo.access_head(conn)
        heads: dict[str, dict[str, object]] = {"access": {"seq": seq, "hash": digest}}
        for row in repo.chain_events(conn):  # ordered by chain, seq: the last one wins
            heads[str(row.chain)] = {"seq": int(row.seq), "hash": str(row.hash)}
    return heads
