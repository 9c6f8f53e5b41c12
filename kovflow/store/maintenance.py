"""Whole-database checks: the event chains (tamper evidence)."""

from __future__ import annotations

from kovflow.history import ChainBreak, verify
from kovflow.store import repo
from kovflow.store.db import Engine, read


def verify_events(engine: Engine) -> tuple[int, list[ChainBreak]]:
    """Check every event chain; return the number of events read and the breaks found."""
    with read(engine) as conn:
        rows = [dict(r._mapping) for r in repo.chain_events(conn)]
    return len(rows), verify(rows)
