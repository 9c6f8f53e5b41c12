"""Queries and writes of retention: which cases may go, removing one case, the removal records.

Removal follows the foreign keys instead of a hand-kept list of tables: every row that refers to
the case, directly or through a row that does (a route instance's tasks, deadlines and events),
is deleted, children first. A table added later (the anonymous consultation, say) is covered as
soon as its rows carry a foreign key to the case or one of its rows. The access log and the
retention records themselves have no foreign key to the case and stay: they hold no personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, Table, case, delete, func, or_, select, update
from sqlmodel import SQLModel

from kovflow.store import repo
from kovflow.store.retention_tables import RetentionRecord

records = RetentionRecord.__table__  # type: ignore[attr-defined]
_KEPT = frozenset({"access_log", "retention_records"})


def witness(chain: str, seq: int, digest: str) -> str:
    """The ``what`` of the access-log record that witnesses a removal (fits its 120 characters)."""
    return f"retention: {chain} verwijderd na gebeurtenis {seq} ({digest[:16]})"


# --- which cases ------------------------------------------------------------------------------

def case_summaries(conn: Connection) -> Sequence[Row[Any]]:
    """Per case: id, number, opening, number of routes, open routes and the last closing."""
    inst = repo.instances
    is_open = inst.c.closed_at.is_(None) & inst.c.id.is_not(None)
    q = (select(repo.cases.c.id, repo.cases.c.case_number, repo.cases.c.created_at,
                func.count(inst.c.id).label("routes"),
                func.coalesce(func.sum(case((is_open, 1), else_=0)), 0).label("open_routes"),
                func.max(inst.c.closed_at).label("last_closed"))
         .select_from(repo.cases.outerjoin(inst, inst.c.case_id == repo.cases.c.id))
         .group_by(repo.cases.c.id, repo.cases.c.case_number, repo.cases.c.created_at)
         .order_by(repo.cases.c.id))
    return conn.execute(q).all()


def closed_results(conn: Connection, case_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    """The (route, state at closing) of every closed route instance of the cases."""
    out: dict[int, list[tuple[str, str]]] = {cid: [] for cid in case_ids}
    if not case_ids:
        return out
    inst = repo.instances
    q = (select(inst.c.case_id, inst.c.route_id, inst.c.state)
         .where(inst.c.case_id.in_(list(case_ids)), inst.c.closed_at.is_not(None))
         .order_by(inst.c.id))
    for row in conn.execute(q):
        out[int(row.case_id)].append((str(row.route_id), str(row.state)))
    return out


def last_event_moments(conn: Connection, case_ids: Sequence[int]) -> dict[int, datetime]:
    """The moment of the last event of each case (its last change)."""
    if not case_ids:
        return {}
    ev = repo.events
    q = (select(ev.c.case_id, func.max(ev.c.at).label("last"))
         .where(ev.c.case_id.in_(list(case_ids))).group_by(ev.c.case_id))
    return {int(r.case_id): r.last for r in conn.execute(q) if r.last is not None}


def case_facts(conn: Connection, case_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not case_ids:
        return {}
    q = select(repo.cases.c.id, repo.cases.c.facts).where(repo.cases.c.id.in_(list(case_ids)))
    return {int(r.id): dict(r.facts or {}) for r in conn.execute(q)}


def set_facts(conn: Connection, case_id: int, facts: Mapping[str, Any]) -> None:
    conn.execute(update(repo.cases).where(repo.cases.c.id == case_id).values(facts=dict(facts)))


# --- removing one case ------------------------------------------------------------------------

def _selections(case_id: int) -> list[tuple[Table, Select[Any]]]:
    """Every table holding rows of the case, parents first, each with a select of those ids.

    A table's rows belong to the case when one of its foreign keys points at a row that does;
    the case row itself is the root.
    """
    chosen: dict[str, tuple[Table, Select[Any]]] = {}
    for table in SQLModel.metadata.sorted_tables:  # parents before children
        if table.name in _KEPT:
            continue
        if table.name == "cases":
            chosen["cases"] = (table, select(table.c.id).where(table.c.id == case_id))
            continue
        links = [fk.parent.in_(chosen[fk.column.table.name][1])
                 for fk in table.foreign_keys
                 if fk.column.table.name in chosen and fk.column.table.name != table.name]
        if links and "id" in table.c:
            chosen[table.name] = (table, select(table.c.id).where(or_(*links)))
    return list(chosen.values())


def remove_case(conn: Connection, case_id: int) -> dict[str, int]:
    """Delete the case and every row hanging off it, children first; count per table."""
    counts: dict[str, int] = {}
    selections = _selections(case_id)
    for table, ids in reversed(selections):
        # Materialise the ids first: a delete whose subquery reads the same table is not allowed
        # everywhere, and the parents' selections must still see the rows deleted just before.
        found = [int(r[0]) for r in conn.execute(ids)]
        if found:
            conn.execute(delete(table).where(table.c.id.in_(found)))
        counts[table.name] = len(found)
    return counts


def count_case_rows(conn: Connection, case_id: int) -> dict[str, int]:
    """What ``remove_case`` would delete, per table (for the dry run)."""
    return {table.name: len(conn.execute(ids).all()) for table, ids in _selections(case_id)}


# --- the records ------------------------------------------------------------------------------

def add_record(conn: Connection, row: Mapping[str, Any]) -> None:
    repo.add_rows(conn, records, [dict(row)])


def all_records(conn: Connection) -> Sequence[Row[Any]]:
    return conn.execute(select(records).order_by(records.c.id)).all()


def records_by_chain(conn: Connection) -> dict[str, list[Row[Any]]]:
    out: dict[str, list[Row[Any]]] = {}
    for row in all_records(conn):
        out.setdefault(str(row.chain), []).append(row)
    return out


def access_records_at(conn: Connection, seqs: Iterable[int]) -> dict[int, Row[Any]]:
    """Access-log records by number (the witnesses of removals)."""
    wanted = sorted(set(seqs))
    if not wanted:
        return {}
    log = repo.access_log
    q = select(log).where(log.c.chain == "access", log.c.seq.in_(wanted))
    return {int(r.seq): r for r in conn.execute(q)}


# --- the subject-access export ------------------------------------------------------------------

def case_consultations(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    """The anonymous consultations asked about a case (question, advice, moments), oldest first.

    Looked up by name so the export keeps working while that feature's table evolves; an
    installation without the table has none.
    """
    table = SQLModel.metadata.tables.get("consultations")
    if table is None or "case_id" not in table.c:
        return []
    wanted = [c for c in ("to_role", "age_band", "wijk", "question", "asked_at", "answered_at",
                          "advice") if c in table.c]
    q = (select(*(table.c[c] for c in wanted)).where(table.c.case_id == case_id)
         .order_by(table.c.id))
    return [dict(r._mapping) for r in conn.execute(q)]
