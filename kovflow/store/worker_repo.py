"""The worker's queries, in SQLAlchemy Core: claim due deadlines, claim and settle outbox rows, leases.

Claims are safe with several workers on PostgreSQL (``FOR UPDATE SKIP LOCKED``: two workers take
disjoint rows and neither waits for the other). SQLite has no row locks; there every write
transaction is ``BEGIN IMMEDIATE`` (one writer at a time) and a lease makes one worker act.
Statements that run every tick are built once with bind parameters (see ``repo``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, Select, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from kovflow.store import repo
from kovflow.store.db import write
from kovflow.store.tables import WorkerLease

leases = WorkerLease.__table__  # type: ignore[attr-defined]
deadlines, outbox, tasks = repo.deadlines, repo.outbox, repo.tasks
instances, cases, users = repo.instances, repo.cases, repo.users

# --- deadlines -------------------------------------------------------------------------------

_DUE: Select[Any] = (
    select(deadlines, instances.c.state.label("instance_state"),
           instances.c.closed_at.label("instance_closed_at"),
           instances.c.route_id.label("instance_route_id"),
           instances.c.route_version.label("instance_route_version"),
           func.coalesce(cases.c.location_id, instances.c.location_id).label("location_id"))
    .select_from(deadlines.join(instances, instances.c.id == deadlines.c.instance_id)
                 .outerjoin(cases, cases.c.id == deadlines.c.case_id))
    # The same predicate as the partial index ix_deadlines_pending_due, so the index serves it.
    .where(deadlines.c.due_at <= bindparam("b_now"), deadlines.c.fired_at.is_(None),
           deadlines.c.cancelled_at.is_(None))
    .order_by(deadlines.c.due_at, deadlines.c.id)
    .limit(bindparam("b_limit"))
    .with_for_update(skip_locked=True, of=deadlines)
)
_FIRE = (update(deadlines)
         .where(deadlines.c.id == bindparam("b_id"), deadlines.c.fired_at.is_(None))
         .values(fired_at=bindparam("b_now")))
_CANCEL = (update(deadlines)
           .where(deadlines.c.id == bindparam("b_id"), deadlines.c.fired_at.is_(None))
           .values(cancelled_at=bindparam("b_now")))


def claim_due_deadlines(conn: Connection, now: datetime, limit: int) -> Sequence[Row[Any]]:
    """Due, unfired, uncancelled deadlines with their instance's state, route and version, and
    the case's location.

    On PostgreSQL the rows stay locked until the transaction ends; another worker skips them.
    """
    return conn.execute(_DUE, {"b_now": now, "b_limit": limit}).all()


def mark_fired(conn: Connection, ids: Sequence[int], now: datetime) -> None:
    if ids:
        conn.execute(_FIRE, [{"b_id": i, "b_now": now} for i in ids])


def mark_cancelled(conn: Connection, ids: Sequence[int], now: datetime) -> None:
    if ids:
        conn.execute(_CANCEL, [{"b_id": i, "b_now": now} for i in ids])


def _insert_ignoring_conflicts(conn: Connection, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING (any unique key, partial unique indexes included)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def instances_data(conn: Connection, ids: Collection[int]) -> dict[int, Mapping[str, Any]]:
    """What the instances ``ids`` have recorded, by instance id (one query for a whole batch)."""
    if not ids:
        return {}
    q = select(instances.c.id, instances.c.data).where(instances.c.id.in_(sorted(ids)))
    return {int(r.id): dict(r.data or {}) for r in conn.execute(q)}


def latest_route_data(conn: Connection, case_ids: Collection[int], route_id: str
                      ) -> dict[int, Mapping[str, Any]]:
    """Per case, what its latest instance (highest id, open or closed) of ``route_id`` recorded.

    The same instance ``services.steps._route_data`` reads for a step message's ``instead``.
    """
    if not case_ids:
        return {}
    q = (select(instances.c.case_id, instances.c.data)
         .where(instances.c.route_id == route_id, instances.c.case_id.in_(sorted(case_ids)))
         .order_by(instances.c.id))
    return {int(r.case_id): dict(r.data or {}) for r in conn.execute(q)}  # the last one wins


# RETURNING tells what was inserted on both backends (psycopg reports rowcount -1 here).

def add_deadline_once(conn: Connection, row: dict[str, Any]) -> bool:
    """Insert a deadline unless a live one with the same (instance, rule, due_at) exists."""
    stmt = _insert_ignoring_conflicts(conn, deadlines).returning(deadlines.c.id)
    return conn.execute(stmt, row).first() is not None


def add_outbox_once(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows, skipping any whose message_id exists; returns how many were new."""
    stmt = _insert_ignoring_conflicts(conn, outbox).returning(outbox.c.id)
    return sum(conn.execute(stmt, row).first() is not None for row in rows)


# --- outbox ----------------------------------------------------------------------------------

_RELEASE = (update(outbox)
            .where(outbox.c.status == "sending", outbox.c.next_attempt_at <= bindparam("b_now"))
            .values(status="pending"))
_PENDING = (select(outbox)
            .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= bindparam("b_now"))
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(bindparam("b_limit"))
            .with_for_update(skip_locked=True))
# While a row is being sent, next_attempt_at holds the end of the claim (the lease).
_CLAIM = (update(outbox)
          .where(outbox.c.id == bindparam("b_id"), outbox.c.status == "pending")
          .values(status="sending", next_attempt_at=bindparam("b_until")))
_SETTLE = (update(outbox)
           .where(outbox.c.id == bindparam("b_id"), outbox.c.status == "sending")
           .values(status=bindparam("b_status"), attempts=bindparam("b_attempts"),
                   next_attempt_at=bindparam("b_next"), sent_at=bindparam("b_sent"),
                   last_error=bindparam("b_error")))


def release_expired_claims(conn: Connection, now: datetime) -> int:
    """Rows left in ``sending`` past their lease (a worker died mid-batch) go back to pending."""
    return int(conn.execute(_RELEASE, {"b_now": now}).rowcount)


def claim_outbox(conn: Connection, now: datetime, lease_until: datetime,
                 limit: int) -> Sequence[Row[Any]]:
    """Pending rows due at ``now``, marked ``sending`` until ``lease_until``."""
    rows = conn.execute(_PENDING, {"b_now": now, "b_limit": limit}).all()
    if rows:
        conn.execute(_CLAIM, [{"b_id": r.id, "b_until": lease_until} for r in rows])
    return rows


def settle_outbox(conn: Connection, outcomes: list[dict[str, Any]]) -> None:
    """Write each claimed row's outcome: keys id, status, attempts, next_attempt_at, sent_at,
    last_error. A row no longer in ``sending`` (its claim expired and it was taken again) is left
    alone."""
    if outcomes:
        conn.execute(_SETTLE, [{
            "b_id": o["id"], "b_status": o["status"], "b_attempts": o["attempts"],
            "b_next": o["next_attempt_at"], "b_sent": o["sent_at"],
            "b_error": o["last_error"][:500]} for o in outcomes])


def retry_dead(conn: Connection, ids: Sequence[int] | None, now: datetime) -> int:
    """Dead rows (all, or those in ``ids``) back to pending, due now, with a fresh budget."""
    stmt = (update(outbox).where(outbox.c.status == "dead")
            .values(status="pending", attempts=0, next_attempt_at=now))
    if ids is not None:
        stmt = stmt.where(outbox.c.id.in_(list(ids)))
    return int(conn.execute(stmt).rowcount)


def outbox_by_status(conn: Connection, status: str | None, limit: int) -> Sequence[Row[Any]]:
    q = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if status is not None:
        q = q.where(outbox.c.status == status)
    return conn.execute(q).all()


# --- digest ----------------------------------------------------------------------------------

def users_with_role(conn: Connection, role: str) -> list[Row[Any]]:
    q = select(users.c.id, users.c.email, users.c.roles, users.c.location_id).where(
        users.c.active.is_(True)).order_by(users.c.id)
    return [r for r in conn.execute(q) if role in r.roles.split()]


def count_overdue_tasks(conn: Connection, now: datetime, location_id: int | None) -> int:
    """Open tasks past their due moment, at one location (or everywhere when None)."""
    q = (select(func.count()).select_from(
            tasks.join(instances, instances.c.id == tasks.c.instance_id)
            .outerjoin(cases, cases.c.id == tasks.c.case_id))
         .where(tasks.c.closed_at.is_(None), tasks.c.due_at < now))
    if location_id is not None:
        q = q.where(or_(cases.c.location_id == location_id,
                        and_(tasks.c.case_id.is_(None), instances.c.location_id == location_id)))
    return int(conn.execute(q).scalar_one())


# --- leases ----------------------------------------------------------------------------------

_TAKE = (update(leases)
         .where(leases.c.name == bindparam("b_name"),
                or_(leases.c.holder == bindparam("b_holder"),
                    leases.c.expires_at <= bindparam("b_now")))
         .values(holder=bindparam("b_holder"), expires_at=bindparam("b_until")))


def acquire_lease(engine: Engine, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take lease ``name`` for ``holder`` until ``now + ttl``: if free, expired, or already ours.

    Insert-if-absent, then a conditional update, in one write transaction: two contenders cannot
    both succeed (SQLite: one writer at a time; PostgreSQL: the update waits on the row lock and
    re-checks the condition).
    """
    until = now + ttl

    def work(conn: Connection) -> bool:
        stmt = _insert_ignoring_conflicts(conn, leases).returning(leases.c.name)
        if conn.execute(stmt, {"name": name, "holder": holder,
                               "expires_at": until}).first() is not None:
            return True
        taken = conn.execute(_TAKE, {"b_name": name, "b_holder": holder, "b_now": now,
                                     "b_until": until})
        return bool(taken.rowcount == 1)

    return write(engine, work)


def release_lease(engine: Engine, name: str, holder: str) -> None:
    """Give the lease up (only if we hold it), so another worker need not wait for it to expire."""
    write(engine, lambda conn: conn.execute(
        delete(leases).where(leases.c.name == name, leases.c.holder == holder)))


def current_lease_holder(conn: Connection, name: str, now: datetime) -> str | None:
    """The holder of lease ``name`` if it has not expired."""
    row = conn.execute(select(leases.c.holder).where(leases.c.name == name,
                                                     leases.c.expires_at > now)).first()
    return None if row is None else str(row.holder)
