"""The schema as SQLModel classes. Alembic migrations (``store/migrations``) create it.

Privacy by design: a case holds a case number (never a BSN), the child's first name, initial and
birth date, and its location; nothing else about the child. Moments are aware UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

# JSON columns hold route data and payloads; SQLAlchemy's JSON maps to TEXT on SQLite and JSON on
# PostgreSQL, both fine for kovflow's read patterns (whole documents, never queried inside).


class Location(SQLModel, table=True):
    __tablename__ = "locations"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    wijk: str = Field(default="", max_length=100)
    organisation: str = Field(default="", max_length=200)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=100)
    display_name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=320)
    roles: str = Field(default="", max_length=400)  # space separated role slugs
    organisation: str = Field(default="", max_length=200)
    location_id: int | None = Field(default=None, foreign_key="locations.id")
    active: bool = True
    created_at: datetime


class Case(SQLModel, table=True):
    __tablename__ = "cases"

    id: int | None = Field(default=None, primary_key=True)
    case_number: str = Field(unique=True, max_length=40)
    first_name: str = Field(max_length=100)
    initial: str = Field(default="", max_length=10)
    birth_date: date
    location_id: int = Field(foreign_key="locations.id", index=True)
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    created_by: str = Field(max_length=100)


class Participant(SQLModel, table=True):
    __tablename__ = "participants"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    name: str = Field(default="", max_length=200)  # for people without an account (parents, voogd)
    role: str = Field(max_length=40)
    organisation: str = Field(default="", max_length=200)
    since: datetime
    until: datetime | None = None


class RouteInstance(SQLModel, table=True):
    __tablename__ = "route_instances"
    __table_args__ = (Index("ix_route_instances_route_state", "route_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    location_id: int | None = Field(default=None, foreign_key="locations.id", index=True)
    route_id: str = Field(max_length=60)
    route_version: int
    state: str = Field(max_length=60)
    revision: int = 0
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    started_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None


class Event(SQLModel, table=True):
    """Append-only history; ``hash`` covers the row and ``prev_hash`` (tamper evidence)."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_events_chain_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    chain: str = Field(max_length=40)  # "case:<id>" or "location:<id>"
    seq: int
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    instance_id: int | None = Field(default=None, foreign_key="route_instances.id")
    at: datetime
    actor: str = Field(max_length=100)
    kind: str = Field(max_length=40)
    route_id: str = Field(default="", max_length=60)
    route_version: int = 0
    trigger: str = Field(default="", max_length=60)
    from_state: str = Field(default="", max_length=60)
    to_state: str = Field(default="", max_length=60)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        # Open tasks by due moment, ties by id: the audit reads the oldest 50 in exactly this
        # order, so PostgreSQL stops after 50 instead of sorting every task due at the same moment.
        Index("ix_tasks_open_due", "due_at", "id", sqlite_where=text("closed_at IS NULL"),
              postgresql_where=text("closed_at IS NULL")),
        # "Mijn taken": open tasks by assignee and by case. The assignee index leaves out the
        # unassigned rows, or SQLite would also use it for "assignee IS NULL" and get slower.
        Index("ix_tasks_open_assignee", "assignee_user_id",
              sqlite_where=text("closed_at IS NULL AND assignee_user_id IS NOT NULL"),
              postgresql_where=text("closed_at IS NULL AND assignee_user_id IS NOT NULL")),
        Index("ix_tasks_open_case", "case_id", sqlite_where=text("closed_at IS NULL"),
              postgresql_where=text("closed_at IS NULL")),
        # The audit filtered by route: that route's open tasks in due order (migration 0013).
        Index("ix_tasks_open_route_due", "route_id", "due_at", "id",
              sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    instance_id: int = Field(foreign_key="route_instances.id", index=True)
    # The instance's route, copied (an instance never changes route): the audit finds a route's
    # overdue tasks from an index instead of joining every overdue task to its instance.
    route_id: str = Field(default="", max_length=60)
    state: str = Field(max_length=60)
    role: str = Field(max_length=40)
    assignee_user_id: int | None = Field(default=None, foreign_key="users.id")
    title: str = Field(max_length=300)
    opened_at: datetime
    due_at: datetime | None = None
    closed_at: datetime | None = None


class Deadline(SQLModel, table=True):
    """A durable reminder; the unique key makes firing it idempotent.

    The key covers live rows only: leaving and re-entering a state cancels a reminder and may set
    the same one again (same rule, same due moment) without a conflict.
    """

    __tablename__ = "deadlines"
    __table_args__ = (
        Index("uq_deadlines_instance_rule_due", "instance_id", "rule", "due_at", unique=True,
              sqlite_where=text("cancelled_at IS NULL"),
              postgresql_where=text("cancelled_at IS NULL")),
        Index("ix_deadlines_pending_due", "due_at",
              sqlite_where=text("fired_at IS NULL AND cancelled_at IS NULL"),
              postgresql_where=text("fired_at IS NULL AND cancelled_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    instance_id: int = Field(foreign_key="route_instances.id")
    rule: str = Field(max_length=80)
    kind: str = Field(max_length=20)
    role: str = Field(max_length=40)
    template: str = Field(max_length=80)
    due_at: datetime
    every: str = Field(default="", max_length=30)  # e.g. "6 weeks" for recurring reminders
    created_at: datetime
    fired_at: datetime | None = None
    cancelled_at: datetime | None = None


class Outbox(SQLModel, table=True):
    """Messages written in the step's transaction, delivered later by the worker."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "next_attempt_at", sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(unique=True, max_length=200)
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    template: str = Field(max_length=80)
    recipient_role: str = Field(max_length=40)
    recipient_user_id: int | None = Field(default=None, foreign_key="users.id")
    to_address: str = Field(default="", max_length=320)
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None = None
    last_error: str = Field(default="", max_length=500)


class Consent(SQLModel, table=True):
    __tablename__ = "consents"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    scope: str = Field(max_length=80)
    direction: str = Field(default="", max_length=200)
    purpose: str = Field(default="", max_length=500)
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    medical_explicit: bool = False
    asked_by: str = Field(default="", max_length=100)
    recipient: str = Field(default="", max_length=200)
    status: str = Field(max_length=20)  # gevraagd | gegeven | geweigerd | ingetrokken
    form: str = Field(default="", max_length=20)  # schriftelijk | mondeling
    asked_at: datetime
    decided_at: datetime | None = None
    transferred_at: datetime | None = None


class WorkerLease(SQLModel, table=True):
    """Who may run the worker's tick until when (SQLite has no row locks to share work by).

    One row per lease name; a holder renews its own lease every tick, another holder may take it
    over only once it has expired, so a second worker started by mistake stays idle.
    """

    __tablename__ = "worker_leases"

    name: str = Field(primary_key=True, max_length=60)
    holder: str = Field(max_length=200)
    expires_at: datetime


# Outbox rows a worker claimed (status 'sending', lease end in next_attempt_at): the worker looks
# for expired claims every tick. Partial, so it only ever holds the few rows in flight.
Index("ix_outbox_sending", Outbox.__table__.c.next_attempt_at,  # type: ignore[attr-defined]
      sqlite_where=text("status = 'sending'"), postgresql_where=text("status = 'sending'"))


class AccessLog(SQLModel, table=True):
    """Who read, searched or changed which case, when, and whether it was allowed (NEN 7513).

    Append-only and hash-chained (one chain, ``chain`` = "access") like the events, so editing,
    deleting or truncating it is detected. ``what`` names the view or step, never case content.
    """

    __tablename__ = "access_log"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_access_log_chain_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    chain: str = Field(default="access", max_length=20)
    seq: int
    at: datetime
    actor: str = Field(max_length=100)
    on_behalf: str = Field(default="", max_length=100)
    case_id: int | None = Field(default=None, index=True)
    case_number: str = Field(default="", max_length=40)
    action: str = Field(max_length=20)  # read | search | write
    what: str = Field(max_length=120)
    outcome: str = Field(max_length=10)  # allowed | refused
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


# Tables of later features live in their own modules; importing them here registers them on the
# same metadata, so migrations and the schema test see one schema.
# The report query modules define the indexes their queries need, beside the queries.
from kovflow.store import (  # noqa: E402,F401
    account_tables,
    consultation_tables,
    monitor_repo,
    monitor_tables,
    retention_tables,
    stalled_repo,
)
