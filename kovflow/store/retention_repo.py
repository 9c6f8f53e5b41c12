"""Queries and writes of retention: which cases may go, removing one case, the removal records.

Removal follows the foreign keys instead of a hand-kept list of tables: every row that refers to
the case, directly or through a row that does (a route instance's tasks, deadlines and events),
is deleted, children first; a row with a case id is found by it (indexed). A table added later
(the anonymous consultation, say) is covered as soon as its rows carry a foreign key to the case
or one of its rows. The access log and the
retention records themselves have no foreign key to the case and stay: they hold no personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    Table,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlmodel import SQLModel

from kovflow.store import repo
from kovflow.store.retention_tables import RetentionRecord

records = RetentionRecord.__table__  # type: ignore[attr-defined]
_KEPT = frozenset({"access_log", "retention_records"})


def witness(chain: str, seq: int, digest: str) -> str:
    """The ``what`` of the access-log record that witnesses a removal (fits its 120 characters)."""
    return f"retention: {chain} verwijderd na gebeurtenis {seq} ({digest[:16]})"


# --- which cases ------------------------------------------------------------------------------

def case_summaries(conn: Connection, case_id: int | None = None) -> Sequence[Row[Any]]:
    """Per case (or the one case): id, number, opening, routes, open routes, the last closing."""
    inst = repo.instances
    is_open = inst.c.closed_at.is_(None) & inst.c.id.is_not(None)
    q = (select(repo.cases.c.id, repo.cases.c.case_number, repo.cases.c.created_at,
                func.count(inst.c.id).label("routes"),
                func.coalesce(func.sum(case((is_open, 1), else_=0)), 0).label("open_routes"),
                func.max(inst.c.closed_at).label("last_closed"))
         .select_from(repo.cases.outerjoin(inst, inst.c.case_id == repo.cases.c.id))
         .group_by(repo.cases.c.id, repo.cases.c.case_number, repo.cases.c.created_at)
         .order_by(repo.cases.c.id))
    if case_id is not None:
        q = q.where(repo.cases.c.id == case_id)
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

_SELECTIONS: list[tuple[Table, Select[Any], Any]] = []


def _selections() -> list[tuple[Table, Select[Any], Any]]:
    """Every table holding rows of a case, parents first: the table, a select of the ids of the
    case's rows (bind parameter ``case_id``) and the delete of given ids (``ids``).

    A table's rows belong to the case when one of its foreign keys points at a row that does;
    the case row itself is the root. Built once: the statements are the same for every case.
    """
    if _SELECTIONS:
        return _SELECTIONS
    chosen: dict[str, Select[Any]] = {}
    out = []
    for table in SQLModel.metadata.sorted_tables:  # parents before children
        if table.name in _KEPT:
            continue
        if table.name == "cases":
            ids = select(table.c.id).where(table.c.id == bindparam("case_id"))
        else:
            links: list[ColumnElement[bool]] = [
                fk.parent.in_(chosen[fk.column.table.name]) for fk in table.foreign_keys
                if fk.column.table.name in chosen and fk.column.table.name != table.name]
            # Rows of a case carry its id (the services set it with the instance), and that
            # column is indexed: one indexed lookup instead of an OR that scans the table. A row
            # linked only through an instance would still block the instance's delete (foreign
            # key), rolling the case's transaction back rather than leaving it half removed.
            direct: list[ColumnElement[bool]] = [
                fk.parent == bindparam("case_id") for fk in table.foreign_keys
                if fk.column.table.name == "cases"]
            links = direct or links
            if not links or "id" not in table.c:
                continue
            ids = select(table.c.id).where(or_(*links))
        chosen[table.name] = ids
        out.append((table, ids,
                    delete(table).where(table.c.id.in_(bindparam("ids", expanding=True)))))
    _SELECTIONS.extend(out)
    return _SELECTIONS


def remove_case(conn: Connection, case_id: int) -> dict[str, int]:
    """Delete the case and every row hanging off it, children first; count per table."""
    counts: dict[str, int] = {}
    for table, ids, remove in reversed(_selections()):
        # Ids first: a delete whose subquery reads the same table is not allowed everywhere, and
        # the selections of the parents must still see their rows while the children go.
        found = [int(r[0]) for r in conn.execute(ids, {"case_id": case_id})]
        if found:
            conn.execute(remove, {"ids": found})
        counts[table.name] = len(found)
    return counts


def count_case_rows(conn: Connection, case_id: int) -> dict[str, int]:
    """What ``remove_case`` would delete, per table (for the dry run)."""
    return {table.name: len(conn.execute(ids, {"case_id": case_id}).all())
            for table, ids, _ in _selections()}


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


def highest_removed_case_id(conn: Connection) -> int:
    """The highest case id retention removed (0: none). A new case must get a higher id: SQLite
    hands out the highest deleted rowid again, and with it the case number and the old case's
    access-log records."""
    return int(conn.execute(select(func.max(records.c.case_id))).scalar_one() or 0)
