"""Hash-chained event history: the canonical form of an event and the chain check.

Each event carries the hash of the previous event of its chain (a case, or a location), so editing,
deleting or reordering a stored event breaks the chain. Pure: the store reads and writes rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
HASHED_FIELDS = ("chain", "seq", "case_id", "instance_id", "at", "actor", "kind", "route_id",
                 "route_version", "trigger", "from_state", "to_state", "payload", "prev_hash")


ACCESS_FIELDS = ("chain", "seq", "at", "actor", "on_behalf", "case_id", "case_number", "action",
                 "what", "outcome", "prev_hash")


def event_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the hashed fields of an event ``row``."""
    return _hash(row, HASHED_FIELDS)


def access_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the hashed fields of an access-log ``row``."""
    return _hash(row, ACCESS_FIELDS)


def _hash(row: Mapping[str, Any], fields: tuple[str, ...]) -> str:
    doc = {k: row.get(k) for k in fields}
    at = doc["at"]
    if isinstance(at, datetime):
        doc["at"] = at.astimezone(UTC).isoformat(timespec="microseconds")
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """Where a chain stops being valid, and why."""

    chain: str
    seq: int
    event_id: int
    problem: str


def verify(rows: Iterable[Mapping[str, Any]],
           hash_of: Callable[[Mapping[str, Any]], str] = event_hash) -> list[ChainBreak]:
    """Check rows ordered by (chain, seq): numbering, links and hashes."""
    breaks: list[ChainBreak] = []
    chain, prev, expected_seq = None, GENESIS, 1
    for row in rows:
        if row["chain"] != chain:
            chain, prev, expected_seq = row["chain"], GENESIS, 1
        where = (str(row["chain"]), int(row["seq"]), int(row["id"]))
        if row["seq"] != expected_seq:
            breaks.append(ChainBreak(*where, f"expected event {expected_seq}, found {row['seq']}"))
        if row["prev_hash"] != prev:
            breaks.append(ChainBreak(*where, "link to the previous event is broken"))
        if hash_of(row) != row["hash"]:
            breaks.append(ChainBreak(*where, "content does not match its hash (edited)"))
        prev, expected_seq = row["hash"], int(row["seq"]) + 1
    return breaks
