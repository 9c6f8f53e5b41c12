"""Whole-database checks: the event chains and the access log chain (tamper evidence).

Retention removes whole case chains on purpose. Such a chain counts as removed, not as tampered
with, only when a retention record names it with its head at removal and the hash-chained access
log holds the record's witness; a chain deleted in any other way is still reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from kovflow.history import ChainBreak, access_hash, verify
from kovflow.store import repo, retention_repo
from kovflow.store.db import Engine, read


def verify_events(engine: Engine) -> tuple[int, list[ChainBreak]]:
    """Check every event chain; return the number of events read and the breaks found."""
    with read(engine) as conn:
        rows = [dict(r._mapping) for r in repo.chain_events(conn)]
        empty = _cases_without_events(conn)
    # A case is opened with an event, so a case without any means its whole chain was deleted
    # (the chain check alone cannot see a chain that is no longer there).
    return len(rows), verify(rows) + [
        ChainBreak(f"case:{cid}", 1, 0, "every event of this case is missing (deleted)")
        for cid in empty]


def _cases_without_events(conn: Any) -> list[int]:
    ev, cases = repo.events, repo.cases
    q = (select(cases.c.id).select_from(cases.outerjoin(ev, ev.c.case_id == cases.c.id))
         .group_by(cases.c.id).having(func.count(ev.c.id) == 0).order_by(cases.c.id))
    return [int(r.id) for r in conn.execute(q)]


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
    removed = removed_chains(engine)
    breaks = []
    for chain, then in anchor.items():
        now = heads.get(chain)
        seq = int(then["seq"])
        if _covered(removed.get(chain, []), then):
            # Removed by retention, as recorded and witnessed. The chain may exist again: on
            # SQLite a new case can get a removed case's id, and its chain starts anew.
            continue
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


def removed_chains(engine: Engine) -> dict[str, list[tuple[int, str]]]:
    """Chains retention removed, with their head (seq, hash) at removal: only records whose
    witness in the access log matches (same case, same head) count."""
    with read(engine) as conn:
        by_chain = retention_repo.records_by_chain(conn)
        witnesses = retention_repo.access_records_at(
            conn, [r.access_seq for rows in by_chain.values() for r in rows])
    out: dict[str, list[tuple[int, str]]] = {}
    for chain, rows in by_chain.items():
        for r in rows:
            w = witnesses.get(int(r.access_seq))
            if (w is not None and w.case_id == r.case_id
                    and w.what == retention_repo.witness(chain, int(r.chain_seq), str(r.chain_hash))):
                out.setdefault(chain, []).append((int(r.chain_seq), str(r.chain_hash)))
    return out


def _covered(heads: list[tuple[int, str]], then: Mapping[str, Any]) -> bool:
    """Whether a removal recorded a head at or after the anchored one (the same, if equal)."""
    seq, digest = int(then["seq"]), str(then["hash"])
    return any(s > seq or (s == seq and h == digest) for s, h in heads)
