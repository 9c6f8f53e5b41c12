"""Queries of the stalled-case audit and the rollout tracker (set-based, pseudonymised columns only).

Every rule of the audit is one statement over all open route instances (or consents), so the audit
costs a handful of index range scans whatever the number of cases; the report layer
(``kovflow.reports.stalled``) turns thresholds in werkdagen into cut-off moments before it asks.
The columns are the coordinator's pseudonymised view: case number, location, route, state, dates,
roles and staff names; never the child's name, birth date or step data beyond a date field.

The indexes the queries need are defined here (``tables.py`` imports this module, so they join the
metadata) and created by migration 0007.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Index,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    text,
    tuple_,
)

from kovflow.store.tables import Case, Consent, Location, RouteInstance, Task, User

cases = Case.__table__  # type: ignore[attr-defined]
consents = Consent.__table__  # type: ignore[attr-defined]
instances = RouteInstance.__table__  # type: ignore[attr-defined]
locations = Location.__table__  # type: ignore[attr-defined]
tasks = Task.__table__  # type: ignore[attr-defined]
users = User.__table__  # type: ignore[attr-defined]

# Open instances by their last event: the idle and rollout rules read the oldest first.
IX_OPEN_INSTANCES_UPDATED = Index(
    "ix_route_instances_open_updated", instances.c.updated_at,
    sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL"))
# Undecided consents by the moment they were asked.
IX_CONSENTS_ASKED = Index(
    "ix_consents_asked_open", consents.c.asked_at,
    sqlite_where=text("status = 'gevraagd'"), postgresql_where=text("status = 'gevraagd'"))


@dataclass(frozen=True)
class Scope:
    """The filters every rule query shares (None: no restriction)."""

    location: str | None = None
    wijk: str | None = None
    organisation: str | None = None
    routes: tuple[str, ...] | None = None  # only these routes
    exclude_routes: tuple[str, ...] = ()
    limit: int | None = None  # oldest first, at most this many rows


def _location_join() -> Any:
    # A case's instance has no location of its own (the case has); a location route's has one.
    return (instances.outerjoin(cases, cases.c.id == instances.c.case_id)
            .join(locations, locations.c.id == func.coalesce(instances.c.location_id,
                                                              cases.c.location_id)))


def _common_columns() -> list[Any]:
    return [instances.c.id.label("instance_id"), cases.c.case_number,
            locations.c.code.label("location_code"), locations.c.wijk, locations.c.organisation,
            instances.c.route_id, instances.c.route_version, instances.c.state]


def _scoped(stmt: Select[Any], scope: Scope, order: Any) -> Select[Any]:
    if scope.location is not None:
        stmt = stmt.where(locations.c.code == scope.location)
    if scope.wijk is not None:
        stmt = stmt.where(locations.c.wijk == scope.wijk)
    if scope.organisation is not None:
        stmt = stmt.where(locations.c.organisation == scope.organisation)
    if scope.routes is not None:
        stmt = stmt.where(instances.c.route_id.in_(scope.routes))
    if scope.exclude_routes:
        stmt = stmt.where(instances.c.route_id.not_in(scope.exclude_routes))
    stmt = stmt.order_by(order, instances.c.id)
    if scope.limit is not None:
        stmt = stmt.limit(scope.limit)
    return stmt


def _open_task_person() -> Any:
    # The person on the instance's open task (if assigned): the one who should move.
    return (select(users.c.username).select_from(tasks.join(users,
                                                            users.c.id == tasks.c.assignee_user_id))
            .where(tasks.c.instance_id == instances.c.id, tasks.c.closed_at.is_(None))
            .order_by(tasks.c.id).limit(1).scalar_subquery())


def overdue_tasks(conn: Connection, now: datetime, due_before: datetime, scope: Scope
                  ) -> Sequence[Any]:
    """Open tasks whose due moment lies before ``due_before`` (<= now), oldest due first."""
    stmt = (select(*_common_columns(), tasks.c.due_at.label("since"), tasks.c.role,
                   users.c.username.label("person"), literal("").label("extra"))
            .select_from(tasks.join(instances, instances.c.id == tasks.c.instance_id)
                         .outerjoin(cases, cases.c.id == instances.c.case_id)
                         .join(locations, locations.c.id == func.coalesce(
                             instances.c.location_id, cases.c.location_id))
                         .outerjoin(users, users.c.id == tasks.c.assignee_user_id))
            .where(tasks.c.closed_at.is_(None), tasks.c.due_at.is_not(None),
                   tasks.c.due_at < min(now, due_before)))
    return list(conn.execute(_scoped(stmt, scope, tasks.c.due_at)).all())


def idle_instances(conn: Connection, cutoffs: dict[datetime, list[tuple[str, str]]],
                   default_cutoff: datetime, skip: Sequence[tuple[str, str]],
                   since_before: datetime | None, scope: Scope) -> Sequence[Any]:
    """Open instances whose last event lies before the cut-off of their (route, state).

    ``cutoffs`` groups the (route, state) pairs with their own threshold by cut-off moment; every
    other pair uses ``default_cutoff``; ``skip`` pairs (final states) are never idle.
    """
    pair = tuple_(instances.c.route_id, instances.c.state)
    whens = [(pair.in_(pairs), moment) for moment, pairs in cutoffs.items() if pairs]
    limit_at: Any = case(*whens, else_=default_cutoff) if whens else literal(default_cutoff)
    stmt = (select(*_common_columns(), instances.c.updated_at.label("since"),
                   cast(null(), String).label("role"), _open_task_person().label("person"),
                   literal("").label("extra"))
            .select_from(_location_join())
            .where(instances.c.closed_at.is_(None), instances.c.updated_at < limit_at))
    if skip:
        stmt = stmt.where(pair.not_in(list(skip)))
    if since_before is not None:
        stmt = stmt.where(instances.c.updated_at < since_before)
    return conn.execute(_scoped(stmt, scope, instances.c.updated_at)).all()


def date_field_passed(conn: Connection, targets: Sequence[tuple[str, str, str]], on_or_before: date,
                      scope: Scope) -> Sequence[Any]:
    """Open instances in (route, state) whose date field ``field`` is on or before a date.

    ``targets`` holds (route, state, field); the field's value is returned as ``extra`` (ISO
    date). Dates are stored as ISO strings, so comparing strings compares dates.
    """
    if not targets:
        return []
    conditions = []
    value_cases = []
    for route_id, state, field in targets:
        value = instances.c.data[field].as_string()
        match = and_(instances.c.route_id == route_id, instances.c.state == state)
        conditions.append(and_(match, value.is_not(None), value != "",
                               value <= on_or_before.isoformat()))
        value_cases.append((match, value))
    extra = case(*value_cases, else_=literal(""))
    stmt = (select(*_common_columns(), instances.c.updated_at.label("since"),
                   cast(null(), String).label("role"), _open_task_person().label("person"),
                   extra.label("extra"))
            .select_from(_location_join())
            .where(instances.c.closed_at.is_(None), or_(*conditions)))
    return conn.execute(_scoped(stmt, scope, extra)).all()


def undecided_consents(conn: Connection, asked_before: datetime, scope: Scope
                       ) -> Sequence[Any]:
    """Consents still ``gevraagd`` that were asked before ``asked_before``, oldest first.

    Every decision is a new row (the history of a consent), so only a request without a later
    row for the same case and scope is undecided.
    """
    later = consents.alias("later")
    stmt = (select(literal(None).label("instance_id"), cases.c.case_number,
                   locations.c.code.label("location_code"), locations.c.wijk,
                   locations.c.organisation, literal("").label("route_id"),
                   literal(0).label("route_version"), literal("gevraagd").label("state"),
                   consents.c.asked_at.label("since"), literal("").label("role"),
                   users.c.username.label("person"), consents.c.scope.label("extra"))
            .select_from(consents.join(cases, cases.c.id == consents.c.case_id)
                         .join(locations, locations.c.id == cases.c.location_id)
                         .outerjoin(users, users.c.username == consents.c.asked_by))
            .where(consents.c.status == "gevraagd", consents.c.asked_at < asked_before,
                   ~exists().where(later.c.case_id == consents.c.case_id,
                                   later.c.scope == consents.c.scope,
                                   later.c.id > consents.c.id)))
    if scope.location is not None:
        stmt = stmt.where(locations.c.code == scope.location)
    if scope.wijk is not None:
        stmt = stmt.where(locations.c.wijk == scope.wijk)
    if scope.organisation is not None:
        stmt = stmt.where(locations.c.organisation == scope.organisation)
    stmt = stmt.order_by(consents.c.asked_at, consents.c.id)
    if scope.limit is not None:
        stmt = stmt.limit(scope.limit)
    return conn.execute(stmt).all()


def display_names(conn: Connection, usernames: set[str]) -> dict[str, str]:
    """Display names of staff users (for the responsible person of a finding)."""
    if not usernames:
        return {}
    rows = conn.execute(select(users.c.username, users.c.display_name)
                        .where(users.c.username.in_(sorted(usernames)))).all()
    return {r.username: r.display_name or r.username for r in rows}


def rollout_positions(conn: Connection, route_id: str) -> Sequence[Any]:
    """Every location with its newest instance of the rollout route (None: not started)."""
    newest = (select(instances.c.location_id, func.max(instances.c.id).label("id"))
              .where(instances.c.route_id == route_id, instances.c.location_id.is_not(None))
              .group_by(instances.c.location_id).subquery())
    stmt = (select(locations.c.code, locations.c.name, locations.c.wijk, locations.c.organisation,
                   instances.c.id.label("instance_id"), instances.c.route_version,
                   instances.c.state, instances.c.updated_at, instances.c.started_at,
                   instances.c.closed_at)
            .select_from(locations.outerjoin(newest, newest.c.location_id == locations.c.id)
                         .outerjoin(instances, instances.c.id == newest.c.id))
            .order_by(locations.c.code))
    return list(conn.execute(stmt).all())


def location_codes(conn: Connection) -> dict[int, str]:
    """Location id -> code (the digest scopes a coordinator with a location to it)."""
    return {r.id: r.code for r in conn.execute(select(locations.c.id, locations.c.code))}
