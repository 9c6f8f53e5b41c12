"""Queries and writes, in SQLAlchemy Core.

A step runs about ten statements; Core keeps each of them cheap (compiled once and cached), where
the ORM would triple the cost of a step (see docs/architecture.md, "Measured facts").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, func, insert, select, union, update

from kovflow.history import GENESIS
from kovflow.store.tables import (
    AccessLog,
    Case,
    Consent,
    Deadline,
    Event,
    Location,
    Outbox,
    Participant,
    RouteInstance,
    Task,
    User,
)

access_log = AccessLog.__table__  # type: ignore[attr-defined]
cases = Case.__table__  # type: ignore[attr-defined]
consents = Consent.__table__  # type: ignore[attr-defined]
deadlines = Deadline.__table__  # type: ignore[attr-defined]
events = Event.__table__  # type: ignore[attr-defined]
locations = Location.__table__  # type: ignore[attr-defined]
outbox = Outbox.__table__  # type: ignore[attr-defined]
participants = Participant.__table__  # type: ignore[attr-defined]
instances = RouteInstance.__table__  # type: ignore[attr-defined]
tasks = Task.__table__  # type: ignore[attr-defined]
users = User.__table__  # type: ignore[attr-defined]


def insert_returning_id(conn: Connection, table: Any, values: Mapping[str, Any]) -> int:
    """Insert one row and return its primary key (works on SQLite and PostgreSQL)."""
    result = conn.execute(insert(table).returning(table.c.id), dict(values))
    return int(result.scalar_one())


# --- users and locations ---------------------------------------------------------------------

def user_by_name(conn: Connection, username: str) -> Row[Any] | None:
    return conn.execute(select(users).where(users.c.username == username)).first()


def location_by_code(conn: Connection, code: str) -> Row[Any] | None:
    return conn.execute(select(locations).where(locations.c.code == code)).first()


def location_by_id(conn: Connection, location_id: int | None) -> Row[Any] | None:
    if location_id is None:
        return None
    return conn.execute(_LOCATION_BY_ID, {"location_id": location_id}).first()


_LOCATION_BY_ID = select(locations).where(locations.c.id == bindparam("location_id"))


def all_locations(conn: Connection) -> Sequence[Row[Any]]:
    return conn.execute(select(locations).order_by(locations.c.code)).all()


def all_users(conn: Connection) -> Sequence[Row[Any]]:
    return conn.execute(select(users).order_by(users.c.username)).all()


# --- cases -----------------------------------------------------------------------------------

# Statements on the step's hot path are built once with bind parameters: building a construct
# per call costs more than running it (measured: a select 129 -> 35 us, an update 250 -> 69 us).
_CASE_BY_NUMBER = select(cases).where(cases.c.case_number == bindparam("number"))
_CASE_BY_ID = select(cases).where(cases.c.id == bindparam("id"))
_CASE_INSTANCES = (select(instances).where(instances.c.case_id == bindparam("case_id"))
                   .order_by(instances.c.id))
_CHAIN_HEAD = (select(events.c.seq, events.c.hash).where(events.c.chain == bindparam("chain"))
               .order_by(events.c.seq.desc()).limit(1))
_CLOSE_TASKS = (update(tasks).where(tasks.c.instance_id == bindparam("b_instance"),
                                    tasks.c.closed_at.is_(None))
                .values(closed_at=bindparam("b_now")))
_CANCEL_DEADLINES = (update(deadlines)
                     .where(deadlines.c.instance_id == bindparam("b_instance"),
                            deadlines.c.fired_at.is_(None), deadlines.c.cancelled_at.is_(None))
                     .values(cancelled_at=bindparam("b_now")))
_STEP_INSTANCE = (update(instances)
                  .where(instances.c.id == bindparam("b_instance"),
                         instances.c.revision == bindparam("old_revision"))
                  .values(revision=bindparam("new_revision"), state=bindparam("new_state"),
                          data=bindparam("new_data"), updated_at=bindparam("b_now"),
                          closed_at=bindparam("closed")))


def case_by_number(conn: Connection, case_number: str) -> Row[Any] | None:
    return conn.execute(_CASE_BY_NUMBER, {"number": case_number}).first()


def case_by_id(conn: Connection, case_id: int) -> Row[Any] | None:
    return conn.execute(_CASE_BY_ID, {"id": case_id}).first()


def next_case_id(conn: Connection) -> int:
    """The id for a new case: after the highest ever used, removed cases included.

    SQLite hands out the highest deleted rowid again, and a count would repeat numbers too; a
    reused id would give a new child the removed case's number and access-log records. The unique
    case number guards races between two writers.
    """
    from kovflow.store.retention_repo import highest_removed_case_id  # it imports this module

    highest = int(conn.execute(select(func.max(cases.c.id))).scalar_one() or 0)
    return max(highest, highest_removed_case_id(conn)) + 1


def cases_page(conn: Connection, after: str | None, location_id: int | None,
               limit: int) -> Sequence[Row[Any]]:
    """Up to ``limit`` cases in case-number order after ``after`` (of one location, if given)."""
    stmt = select(cases)
    if after is not None:
        stmt = stmt.where(cases.c.case_number > after)
    if location_id is not None:
        stmt = stmt.where(cases.c.location_id == location_id)
    return conn.execute(stmt.order_by(cases.c.case_number).limit(limit)).all()


def case_number_for(prefix: str, case_id: int) -> str:
    """``<prefix>-00001`` style: the number follows the id."""
    return f"{prefix}-{case_id:05d}"


def case_participants(conn: Connection, case_id: int) -> Sequence[Row[Any]]:
    q = (select(participants, users.c.username, users.c.email)
         .select_from(participants.outerjoin(users, users.c.id == participants.c.user_id))
         .where(participants.c.case_id == case_id, participants.c.until.is_(None))
         .order_by(participants.c.since, participants.c.id))
    return conn.execute(q).all()


# --- route instances -------------------------------------------------------------------------

def instance_by_id(conn: Connection, instance_id: int) -> Row[Any] | None:
    return conn.execute(select(instances).where(instances.c.id == instance_id)).first()


def case_instances(conn: Connection, case_id: int) -> Sequence[Row[Any]]:
    return conn.execute(_CASE_INSTANCES, {"case_id": case_id}).all()


def location_instances(conn: Connection, location_id: int) -> Sequence[Row[Any]]:
    q = select(instances).where(instances.c.location_id == location_id).order_by(instances.c.id)
    return conn.execute(q).all()


def instances_of_route(conn: Connection, route_id: str, version: int) -> Sequence[Row[Any]]:
    q = (select(instances).where(instances.c.route_id == route_id,
                                 instances.c.route_version == version)
         .order_by(instances.c.id))
    return conn.execute(q).all()


def compare_and_set(conn: Connection, instance_id: int, revision: int,
                    values: Mapping[str, Any]) -> bool:
    """Update the instance only if it is still at ``revision``; bump the revision."""
    stmt = (update(instances)
            .where(instances.c.id == instance_id, instances.c.revision == revision)
            .values(revision=revision + 1, **values))
    return conn.execute(stmt).rowcount == 1


def consent_statuses(conn: Connection, case_id: int) -> dict[str, str]:
    """The latest status per consent scope of a case."""
    q = (select(consents.c.scope, consents.c.status)
         .where(consents.c.case_id == case_id).order_by(consents.c.id))
    return {row.scope: row.status for row in conn.execute(q)}


# --- events ----------------------------------------------------------------------------------

def step_instance(conn: Connection, instance_id: int, revision: int, state: str,
                  data: Mapping[str, Any], now: datetime, closed_at: datetime | None) -> bool:
    """The step's compare-and-set: new state, data and revision, only if still at ``revision``."""
    result = conn.execute(_STEP_INSTANCE, {
        "b_instance": instance_id, "old_revision": revision, "new_revision": revision + 1,
        "new_state": state, "new_data": dict(data), "b_now": now, "closed": closed_at})
    return result.rowcount == 1


def chain_head(conn: Connection, chain: str) -> tuple[int, str]:
    """The number and hash of the last event of ``chain`` (0 and the genesis hash when empty)."""
    row = conn.execute(_CHAIN_HEAD, {"chain": chain}).first()
    return (0, GENESIS) if row is None else (int(row.seq), str(row.hash))


def add_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(insert(events), rows)


def chain_events(conn: Connection, chain: str | None = None) -> Sequence[Row[Any]]:
    q = select(events).order_by(events.c.chain, events.c.seq)
    if chain is not None:
        q = q.where(events.c.chain == chain)
    return conn.execute(q).all()


def case_events(conn: Connection, case_id: int) -> Sequence[Row[Any]]:
    q = select(events).where(events.c.case_id == case_id).order_by(events.c.seq)
    return conn.execute(q).all()


# --- tasks, deadlines, outbox ----------------------------------------------------------------

def close_tasks(conn: Connection, instance_id: int, now: datetime) -> None:
    conn.execute(_CLOSE_TASKS, {"b_instance": instance_id, "b_now": now})


def cancel_deadlines(conn: Connection, instance_id: int, now: datetime) -> None:
    conn.execute(_CANCEL_DEADLINES, {"b_instance": instance_id, "b_now": now})


_INSERTS: dict[str, Any] = {}


def add_rows(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert several rows in one statement (executemany); nothing when ``rows`` is empty."""
    if rows:
        stmt = _INSERTS.get(table.name)
        if stmt is None:
            stmt = _INSERTS[table.name] = insert(table)
        conn.execute(stmt, rows)


_CASE_ROLE_RECIPIENTS = (
    select(users.c.id, users.c.email)
    .select_from(participants.join(users, users.c.id == participants.c.user_id))
    .where(participants.c.case_id == bindparam("case_id"), participants.c.role == bindparam("role"),
           participants.c.until.is_(None), users.c.active.is_(True)))
_LOCATION_USERS = select(users.c.id, users.c.email, users.c.roles).where(
    users.c.location_id == bindparam("location_id"), users.c.active.is_(True))


def role_recipients(conn: Connection, case_id: int | None, location_id: int | None,
                    role: str) -> list[tuple[int, str]]:
    """Users (id, e-mail) who hold ``role`` for this case: its participants, else its location."""
    found: list[tuple[int, str]] = []
    if case_id is not None:
        found = [(int(r.id), str(r.email)) for r in
                 conn.execute(_CASE_ROLE_RECIPIENTS, {"case_id": case_id, "role": role})]
    if not found and location_id is not None:
        found = [(int(r.id), str(r.email)) for r in
                 conn.execute(_LOCATION_USERS, {"location_id": location_id})
                 if role in r.roles.split()]
    return found


def open_tasks_for(conn: Connection, user_id: int, roles: Iterable[str],
                   location_id: int | None) -> Sequence[Row[Any]]:
    """Open tasks assigned to the user, or to one of their roles on their cases or location.

    Each way a task can be the user's is its own indexed branch (partial indexes on open tasks
    by assignee and by case); their union of ids is looked up by key. One OR over all branches
    made both databases walk every open task of the installation (178 ms at 100,000 cases).
    """
    role_list = sorted(roles)
    params: dict[str, Any] = {"user_id": user_id}
    if role_list:
        params["roles"] = role_list
    if role_list and location_id is not None:
        params["location_id"] = location_id
    q = _open_tasks_statement(bool(role_list), bool(role_list) and location_id is not None)
    return conn.execute(q, params).all()


@cache
def _open_tasks_statement(with_roles: bool, with_location: bool) -> Any:
    """The statement of ``open_tasks_for`` for one shape (built once: building it per page
    cost more Python than running it)."""
    user_id: Any = bindparam("user_id")
    open_ = tasks.c.closed_at.is_(None)
    branches = [select(tasks.c.id).where(open_, tasks.c.assignee_user_id == user_id)]
    if with_roles:
        for_role = and_(open_, tasks.c.role.in_(bindparam("roles", expanding=True)),
                        tasks.c.assignee_user_id.is_(None))
        involved = select(participants.c.case_id).where(participants.c.user_id == user_id,
                                                        participants.c.until.is_(None))
        branches.append(select(tasks.c.id).where(for_role, tasks.c.case_id.in_(involved)))
        if with_location:
            location_id: Any = bindparam("location_id")
            at_location = select(cases.c.id).where(cases.c.location_id == location_id)
            branches.append(select(tasks.c.id).where(for_role, tasks.c.case_id.in_(at_location)))
            branches.append(select(tasks.c.id)
                            .select_from(tasks.join(instances, instances.c.id == tasks.c.instance_id))
                            .where(for_role, tasks.c.case_id.is_(None),
                                   instances.c.location_id == location_id))
    ids = union(*branches).subquery()
    return (select(tasks, cases.c.case_number, locations.c.code.label("location_code"))
            .select_from(tasks.join(instances, instances.c.id == tasks.c.instance_id)
                         .outerjoin(cases, cases.c.id == tasks.c.case_id)
                         .outerjoin(locations, locations.c.id == func.coalesce(
                             cases.c.location_id, instances.c.location_id)))
            .where(tasks.c.id.in_(select(ids.c.id)))
            .order_by(tasks.c.due_at.is_(None), tasks.c.due_at, tasks.c.id))


def open_case_tasks(conn: Connection, case_id: int) -> Sequence[Row[Any]]:
    """The open tasks of a case (one indexed read for the case page, not one per route)."""
    return conn.execute(_OPEN_CASE_TASKS, {"case_id": case_id}).all()


_OPEN_CASE_TASKS = (select(tasks).where(tasks.c.case_id == bindparam("case_id"),
                                        tasks.c.closed_at.is_(None)).order_by(tasks.c.id))


def instance_tasks(conn: Connection, instance_id: int) -> Sequence[Row[Any]]:
    return conn.execute(select(tasks).where(tasks.c.instance_id == instance_id)
                        .order_by(tasks.c.id)).all()


def instance_deadlines(conn: Connection, instance_id: int) -> Sequence[Row[Any]]:
    return conn.execute(select(deadlines).where(deadlines.c.instance_id == instance_id)
                        .order_by(deadlines.c.id)).all()


def outbox_rows(conn: Connection, case_id: int | None = None, *, template: str | None = None,
                without_case: bool = False) -> Sequence[Row[Any]]:
    """Outbox rows, oldest first: of one case, or (``without_case``) of no case; of a template."""
    q = select(outbox).order_by(outbox.c.id)
    if case_id is not None:
        q = q.where(outbox.c.case_id == case_id)
    elif without_case:
        q = q.where(outbox.c.case_id.is_(None))
    if template is not None:
        q = q.where(outbox.c.template == template)
    return conn.execute(q).all()


# --- access ----------------------------------------------------------------------------------

_ACCESS_HEAD = (select(access_log.c.seq, access_log.c.hash)
                .where(access_log.c.chain == bindparam("chain"))
                .order_by(access_log.c.seq.desc()).limit(1))


def access_head(conn: Connection, chain: str = "access") -> tuple[int, str]:
    row = conn.execute(_ACCESS_HEAD, {"chain": chain}).first()
    return (0, GENESIS) if row is None else (int(row.seq), str(row.hash))


def access_rows(conn: Connection, case_id: int | None = None) -> Sequence[Row[Any]]:
    q = select(access_log).order_by(access_log.c.chain, access_log.c.seq)
    if case_id is not None:
        q = q.where(access_log.c.case_id == case_id)
    return conn.execute(q).all()


_USER_ORGANISATION = select(users.c.location_id, users.c.organisation).where(
    users.c.id == bindparam("user_id"))
_LOCATION_ORGANISATION = select(locations.c.organisation).where(
    locations.c.id == bindparam("location_id"))
_IS_PARTICIPANT = (select(participants.c.id)
                   .where(participants.c.case_id == bindparam("case_id"),
                          participants.c.user_id == bindparam("user_id"),
                          participants.c.until.is_(None)).limit(1))


def user_organisation(conn: Connection, user_id: int) -> tuple[int | None, str]:
    """(location id, organisation) of a user."""
    row = conn.execute(_USER_ORGANISATION, {"user_id": user_id}).first()
    return (None, "") if row is None else (row.location_id, str(row.organisation))


def location_organisation(conn: Connection, location_id: int) -> str:
    row = conn.execute(_LOCATION_ORGANISATION, {"location_id": location_id}).first()
    return "" if row is None else str(row.organisation)


def is_participant(conn: Connection, case_id: int, user_id: int) -> bool:
    return conn.execute(_IS_PARTICIPANT, {"case_id": case_id, "user_id": user_id}).first() \
        is not None


def instance_starter(conn: Connection, instance_id: int) -> str:
    """Who started an instance (the actor of its start event): the meldcode's initiator."""
    q = (select(events.c.actor).where(events.c.instance_id == instance_id,
                                      events.c.kind == "start").limit(1))
    row = conn.execute(q).first()
    return "" if row is None else str(row.actor)


def consent_rows(conn: Connection, case_id: int, scope: str | None = None) -> Sequence[Row[Any]]:
    """Consent records of a case (of one scope), oldest first."""
    q = select(consents).where(consents.c.case_id == case_id).order_by(consents.c.id)
    if scope is not None:
        q = q.where(consents.c.scope == scope)
    return conn.execute(q).all()


def mark_transferred(conn: Connection, consent_id: int, moment: datetime) -> None:
    conn.execute(update(consents).where(consents.c.id == consent_id,
                                        consents.c.transferred_at.is_(None))
                 .values(transferred_at=moment))
