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

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Index,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
)

# The table classes, not repo.py: tables.py imports this module at its end (to register the
# indexes), when repo.py may itself be half-imported.
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
# Open instances by route and state: the dated rules and the confidential pass look up the few
# open instances of some routes (PostgreSQL otherwise intersects the big open-instances index).
# The last event's moment is in the index too (and on PostgreSQL the id, which SQLite's indexes
# hold anyway), so the confidential pass counts from the index alone instead of reading a
# thousand table rows (migration 0012).
IX_OPEN_ROUTE_STATE = Index(
    "ix_route_instances_open_route_state", instances.c.route_id, instances.c.state,
    instances.c.updated_at, postgresql_include=["id"],
    sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL"))
# Undecided consents by the moment they were asked.
IX_CONSENTS_ASKED = Index(
    "ix_consents_asked_open", consents.c.asked_at,
    sqlite_where=text("status = 'gevraagd'"), postgresql_where=text("status = 'gevraagd'"))


class FindingRow(NamedTuple):
    """One row of a rule query, in the column order every rule's statement selects.

    Rows are copied into this tuple once: reading a SQLAlchemy ``Row`` attribute costs about ten
    times a tuple's, and the report reads each row's fields a dozen times (first page: 0.3 ms).
    """

    instance_id: int | None
    case_number: str | None
    location_code: str
    wijk: str
    organisation: str
    route_id: str
    route_version: int
    state: str
    since: datetime
    role: str | None
    person: str | None
    person_name: str | None
    extra: str | None
    rule: str = ""  # the dated statement's rule code


def _finding_rows(result: Any) -> list[FindingRow]:
    names = tuple(result.keys())
    if names != FindingRow._fields[:len(names)]:
        # A rule statement that selects its columns in another order would shift every field.
        raise RuntimeError(f"rule statement columns {names} do not match FindingRow")
    return [FindingRow(*row) for row in result.all()]  # fetched at once, not row by row


@dataclass(frozen=True)
class Scope:
    """The filters every rule query shares (None: no restriction)."""

    location: str | None = None
    wijk: str | None = None
    organisation: str | None = None
    routes: tuple[str, ...] | None = None  # only these routes
    exclude_routes: tuple[str, ...] = ()
    # The confidential pass: only the open instances of ``routes`` (a few), counted, not listed.
    open_only: bool = False
    limit: int | None = None  # oldest first, at most this many rows

    def shape(self) -> tuple[Any, ...]:
        """What decides the statement's text; the values travel as bind parameters."""
        return (self.location is not None, self.wijk is not None, self.organisation is not None,
                self.routes, self.exclude_routes, self.open_only,
                self.limit is not None)

    def params(self) -> dict[str, Any]:
        return {"b_location": self.location, "b_wijk": self.wijk,
                "b_organisation": self.organisation,
                "b_limit": self.limit}


# Statements are built once per shape (filters present, routes) and cached: building a construct
# per call cost more than running it on an indexed first page (see docs/architecture.md).
Shape = tuple[Any, ...]


def _one_of(column: Any, values: Collection[str]) -> Any:
    """``column IN (...)`` with one plain bind parameter per value, fixed in the cached
    statement: a list would be an "expanding" parameter, re-rendered on every execution."""
    return column.in_([literal(v, type_=String) for v in values])


def _none_of(column: Any, values: Collection[str]) -> Any:
    return column.not_in([literal(v, type_=String) for v in values])


def _location_join() -> Any:
    # A case's instance has no location of its own (the case has); a location route's has one.
    return (instances.outerjoin(cases, cases.c.id == instances.c.case_id)
            .join(locations, locations.c.id == func.coalesce(instances.c.location_id,
                                                              cases.c.location_id)))


def _common_columns() -> list[Any]:
    return [instances.c.id.label("instance_id"), cases.c.case_number,
            locations.c.code.label("location_code"), locations.c.wijk, locations.c.organisation,
            instances.c.route_id, instances.c.route_version, instances.c.state]


def _located(stmt: Select[Any], shape: Shape) -> Select[Any]:
    has_location, has_wijk, has_organisation = shape[:3]
    if has_location:
        stmt = stmt.where(locations.c.code == bindparam("b_location"))
    if has_wijk:
        stmt = stmt.where(locations.c.wijk == bindparam("b_wijk"))
    if has_organisation:
        stmt = stmt.where(locations.c.organisation == bindparam("b_organisation"))
    return stmt


def _scoped(stmt: Select[Any], shape: Shape, order: Any, limited: bool | None = None,
            tie: Any = None) -> Select[Any]:
    _, _, _, routes, exclude, open_only, has_limit = shape
    stmt = _located(stmt, shape)
    if routes is not None:
        stmt = stmt.where(_one_of(instances.c.route_id, routes))
    if exclude:
        stmt = stmt.where(_none_of(instances.c.route_id, exclude))
    if open_only:
        # The few open confidential instances are only counted: no order, so the planner finds
        # them by route instead of walking an index in the order asked for. (Passing their ids
        # back as a bound list cost more than the query once there were a thousand.)
        stmt = stmt.where(instances.c.closed_at.is_(None))
    else:
        # The tie-breaker is the index's own row id, so the index gives the order (no sort).
        stmt = stmt.order_by(order, instances.c.id if tie is None else tie)
    if has_limit if limited is None else limited:
        stmt = stmt.limit(bindparam("b_limit", type_=Integer))
    return stmt


def _display_name() -> Any:
    # Of the joined user: what display_names() gives, so a page needs no lookup for these rows.
    return func.coalesce(func.nullif(users.c.display_name, ""), users.c.username)


def _open_task_person() -> Any:
    # The person on the instance's open task (if assigned): the one who should move.
    return (select(users.c.username).select_from(tasks.join(users,
                                                            users.c.id == tasks.c.assignee_user_id))
            .where(tasks.c.instance_id == instances.c.id, tasks.c.closed_at.is_(None))
            .order_by(tasks.c.id).limit(1).scalar_subquery())


def _overdue_columns(per_location: bool) -> list[Any]:
    columns = _common_columns()
    if per_location:  # a location route's task has no case (the report shows the location)
        columns[1] = cast(null(), String).label("case_number")
    return [*columns, tasks.c.due_at.label("since"), tasks.c.role,
            users.c.username.label("person"), _display_name().label("person_name"),
            literal("").label("extra")]


def _overdue_branch(shape: Shape, per_location: bool) -> Select[Any]:
    """The open tasks due before ``b_due`` of case routes, or of location routes.

    Each kind joins its location by a plain key (a case task through its case, a location
    task through its instance), never ``COALESCE`` over both: so the planner can start from a
    location filter's few cases instead of walking every overdue task in due order and joining
    each (one location at 1,000,000 cases: 210 -> 6 ms on PostgreSQL).
    """
    _, _, _, routes, exclude, _, _ = shape
    joined = tasks.join(instances, instances.c.id == tasks.c.instance_id)
    if per_location:
        joined = joined.join(locations, locations.c.id == instances.c.location_id)
    else:
        joined = (joined.join(cases, cases.c.id == tasks.c.case_id)
                  .join(locations, locations.c.id == cases.c.location_id))
    stmt = (select(*_overdue_columns(per_location))
            .select_from(joined.outerjoin(users, users.c.id == tasks.c.assignee_user_id))
            .where(tasks.c.closed_at.is_(None), tasks.c.due_at.is_not(None),
                   tasks.c.due_at < bindparam("b_due", type_=tasks.c.due_at.type)))
    if per_location:
        stmt = stmt.where(tasks.c.case_id.is_(None))
    if routes is not None:
        # On the task's own copy of the route: the (route, due, id) index gives the order.
        stmt = stmt.where(_one_of(tasks.c.route_id, routes))
    if exclude:
        stmt = stmt.where(_none_of(tasks.c.route_id, exclude))
    return _located(stmt, shape)


@cache
def _overdue_stmt(shape: Shape, location_routes: tuple[str, ...]) -> Any:
    has_limit = shape[6]
    case_tasks = _overdue_branch(shape, per_location=False)
    stmt: Any
    if not location_routes:
        # The usual catalog: no location route has tasks the audit reports (the rollout's
        # are its own rule), so one ordered branch, stopped after the limit.
        stmt = case_tasks.order_by(tasks.c.due_at, tasks.c.id)
    else:
        located = (*shape[:3], location_routes, *shape[4:])  # only the location routes
        stmt = union_all(case_tasks, _overdue_branch(located, per_location=True)).order_by(
            literal_column("since"), literal_column("instance_id"))
    if has_limit:
        stmt = stmt.limit(bindparam("b_limit", type_=Integer))
    return stmt


def overdue_tasks(conn: Connection, now: datetime, due_before: datetime, scope: Scope,
                  location_routes: Collection[str] = ()) -> list[FindingRow]:
    """Open tasks whose due moment lies before ``due_before`` (<= now), oldest due first.

    ``location_routes``: the routes per location (not per child) whose tasks count too, already
    limited to the scope's routes; their tasks have no case and are found through their
    instance's location.
    """
    params = {**scope.params(), "b_due": min(now, due_before)}
    stmt = _overdue_stmt(scope.shape(), tuple(sorted(location_routes)))
    return _finding_rows(conn.execute(stmt, params))


@cache
def _idle_stmt(shape: Shape) -> Select[Any]:
    stmt = (select(*_common_columns(), instances.c.updated_at.label("since"),
                   cast(null(), String).label("role"), _open_task_person().label("person"),
                   cast(null(), String).label("person_name"),  # looked up for the page's rows
                   literal("").label("extra"))
            .select_from(_location_join())
            .where(instances.c.closed_at.is_(None),
                   instances.c.updated_at < bindparam("b_before",
                                                      type_=instances.c.updated_at.type)))
    return _scoped(stmt, shape, instances.c.updated_at)


def idle_instances(conn: Connection, before: datetime, keep: Callable[[FindingRow], bool],
                   scope: Scope) -> list[FindingRow]:
    """Open instances whose last event lies before ``before`` and that ``keep`` accepts.

    ``before`` is the latest cut-off of any (route, state); ``keep`` applies the threshold of the
    row's own state. Rows come oldest first from the partial index on open instances; with a
    limit, a few times the limit is read first (most old rows are idle), all rows only if that
    was not enough.
    """
    params = {**scope.params(), "b_before": before}
    if scope.limit is not None:
        chunk = max(4 * scope.limit, 200)
        rows = _finding_rows(conn.execute(_idle_stmt(scope.shape()), {**params, "b_limit": chunk}))
        kept = [r for r in rows if keep(r)]
        if len(kept) >= scope.limit or len(rows) < chunk:
            return kept[:scope.limit]
    unlimited = (*scope.shape()[:6], False)
    rows = _finding_rows(conn.execute(_idle_stmt(unlimited), params))
    return [r for r in rows if keep(r)][:scope.limit]


@cache
def _hits_stmt(shape: Shape, with_due: bool, idle_keys: tuple[tuple[str, str], ...] | None,
               finals: tuple[tuple[str, str], ...], with_besides: bool) -> Select[Any]:
    routes = shape[3]
    found: list[Any] = []
    if idle_keys is not None:
        updated = instances.c.updated_at

        def cut(name: str) -> Any:
            return bindparam(name, type_=updated.type)

        def at(key: tuple[str, str]) -> Any:
            return and_(instances.c.route_id == key[0], instances.c.state == key[1])

        found += [and_(at(key), updated < cut(f"b_cut{i}")) for i, key in enumerate(idle_keys)]
        # Any other open state: the default threshold; a final state never idles.
        found.append(and_(~or_(false(), *(at(k) for k in (*idle_keys, *finals))),
                          updated < cut("b_cut_default")))
    if with_due:  # last: the column comparisons above spare most instances this lookup
        found.append(exists().where(tasks.c.instance_id == instances.c.id,
                                    tasks.c.closed_at.is_(None),
                                    tasks.c.due_at < bindparam("b_due", type_=tasks.c.due_at.type)))
    stmt = (select(func.count()).select_from(instances)
            .where(_one_of(instances.c.route_id, routes), instances.c.closed_at.is_(None),
                   or_(false(), *found)))
    if with_besides:
        stmt = stmt.where(instances.c.id.not_in(bindparam("b_besides", expanding=True)))
    if any(shape[:3]):  # join the location only to filter on it
        stmt = _located(stmt.select_from(_location_join()), shape)
    return stmt


def confidential_hits(conn: Connection, scope: Scope, due_before: datetime | None,
                      idle_cutoffs: Mapping[tuple[str, str], datetime] | None,
                      idle_default: datetime, finals: Collection[tuple[str, str]],
                      besides: Collection[int] = ()) -> int:
    """How many open instances of the scope's (few, confidential) routes, other than those in
    ``besides``, have an overdue open task (due before ``due_before``) or are idle beyond their
    state's cut-off (``idle_cutoffs``, else ``idle_default``; never in a final state). None
    switches a rule off.

    The confidential (meldcode) instances are only counted, never listed: the rules are decided
    and counted in SQL, so not even their ids leave the database.
    """
    routes = set(scope.routes or ())
    keys = (None if idle_cutoffs is None
            else tuple(sorted(k for k in idle_cutoffs if k[0] in routes)))
    own_finals = tuple(sorted(k for k in finals if k[0] in routes))
    params: dict[str, Any] = {**scope.params(), "b_due": due_before,
                              "b_cut_default": idle_default}
    if keys is not None and idle_cutoffs is not None:
        params.update({f"b_cut{i}": idle_cutoffs[k] for i, k in enumerate(keys)})
    if besides:
        params["b_besides"] = sorted(besides)
    stmt = _hits_stmt(scope.shape(), due_before is not None, keys, own_finals, bool(besides))
    return int(conn.execute(stmt, params).scalar_one())


# One group of a dated rule: (rule code, severity, last date, ((route, state, date field), ...)).
DatedGroup = tuple[str, int, date, tuple[tuple[str, str, str], ...]]


_WORD = re.compile(r"^[a-z][a-z0-9_]*$")


def _word(value: str) -> Any:
    """A route, state or rule name as an SQL string literal in the statement's text.

    The dated statement compares with many names: as bind parameters they pushed it past what
    psycopg caches of a statement (4096 characters, 50 parameters), so it was re-parsed on every
    run. Route files allow only these characters in names, checked again here.
    """
    if not _WORD.match(value):
        raise ValueError(f"not a route, state or rule name: {value!r}")
    return literal_column(f"'{value}'", String)


@cache
def _dated_stmt(shape: Shape, groups: tuple[tuple[str, int, tuple[tuple[str, str, str], ...]], ...]
                ) -> Select[Any]:
    _, _, _, routes, exclude, open_only, has_limit = shape
    targets = [t for g in groups for t in g[2]]
    fields = sorted({f for _, _, f in targets})
    # The candidates: open instances in the (route, state) pairs, with each date field's value.
    values = [instances.c.data[f].as_string().label(f"field_{k}") for k, f in enumerate(fields)]
    first_field: dict[tuple[str, str], str] = {}
    for route_id, state, f in targets:
        first_field.setdefault((route_id, state), f)
    extra = case(*[(and_(instances.c.route_id == _word(r), instances.c.state == _word(st)),
                    instances.c.data[f].as_string()) for (r, st), f in first_field.items()],
                 else_=literal_column("''"))
    columns: list[Any] = [
        *_common_columns(), instances.c.updated_at.label("since"),
        cast(null(), String).label("role"), _open_task_person().label("person"),
        cast(null(), String).label("person_name"),  # looked up for the page's rows
        extra.label("extra"), *values]
    inner = (select(*columns)
             .select_from(_location_join())
             # The plain IN lists let the (route_id, state) index find the few candidates.
             .where(instances.c.route_id.in_([_word(r) for r in sorted({t[0] for t in targets})]),
                    instances.c.state.in_([_word(st) for st in sorted({t[1] for t in targets})]),
                    instances.c.closed_at.is_(None)))
    inner = _located(inner, shape)
    if routes is not None:
        inner = inner.where(_one_of(instances.c.route_id, routes))
    if exclude:
        inner = inner.where(_none_of(instances.c.route_id, exclude))
    if not open_only:
        # SQLite would rather walk the partial index of all open instances (and read the JSON
        # of each); the (route, state) index finds the few planned conversations.
        inner = inner.with_hint(instances, "INDEXED BY ix_route_instances_route_state", "sqlite")
    cand = inner.subquery("candidate")
    # The first group an instance passes names its rule: groups come most severe first, so a
    # request past 8 weeks is reported as that, not also as past the service norm.
    rule_cases = []
    for g, (code, _, own) in enumerate(groups):
        day = bindparam(f"b_day{g}", type_=String)
        passed = []
        for route_id, state, f in own:
            value = cand.c[f"field_{fields.index(f)}"]
            passed.append(and_(cand.c.route_id == _word(route_id), cand.c.state == _word(state),
                               value != literal_column("''"), value <= day))
        rule_cases.append((or_(*passed), _word(code)))
    ruled = select(*[c for c in cand.c if not c.name.startswith("field_")],
                   case(*rule_cases, else_=literal_column("''")).label("rule")).subquery("dated")
    stmt = select(*ruled.c).where(ruled.c.rule != literal_column("''"))
    if not open_only:
        # Most severe first, then the oldest date: the order of the audit's page.
        rank = case({code: severity for code, severity, _ in groups}, value=ruled.c.rule,
                    else_=0)
        stmt = stmt.order_by(rank.desc(), ruled.c.extra, ruled.c.instance_id)
    if has_limit:
        stmt = stmt.limit(bindparam("b_limit", type_=Integer))
    return stmt


def date_field_passed(conn: Connection, groups: Sequence[DatedGroup], scope: Scope
                      ) -> list[FindingRow]:
    """Open instances in a group's (route, state) whose date field lies on or before the group's
    date, each under the first group it passes (``rule``), most severe first, then oldest.

    The field's value is returned as ``extra`` (ISO date); dates are stored as ISO strings, so
    comparing strings compares dates. One statement for every dated rule of the audit.
    """
    kept = []
    for code, severity, day, targets in groups:
        own = tuple(t for t in targets if (scope.routes is None or t[0] in scope.routes)
                    and t[0] not in scope.exclude_routes)
        if own:
            kept.append((code, severity, day, own))
    if not kept:
        return []
    stmt = _dated_stmt(scope.shape(), tuple((c, sev, t) for c, sev, _, t in kept))
    days = {f"b_day{g}": day.isoformat() for g, (_, _, day, _) in enumerate(kept)}
    return _finding_rows(conn.execute(stmt, {**scope.params(), **days}))


@cache
def _consents_stmt(shape: Shape) -> Select[Any]:
    later = consents.alias("later")
    stmt = (select(literal(None).label("instance_id"), cases.c.case_number,
                   locations.c.code.label("location_code"), locations.c.wijk,
                   locations.c.organisation, literal("").label("route_id"),
                   literal(0).label("route_version"), literal("gevraagd").label("state"),
                   consents.c.asked_at.label("since"), literal("").label("role"),
                   users.c.username.label("person"), _display_name().label("person_name"),
                   consents.c.scope.label("extra"))
            .select_from(consents.join(cases, cases.c.id == consents.c.case_id)
                         .join(locations, locations.c.id == cases.c.location_id)
                         .outerjoin(users, users.c.username == consents.c.asked_by))
            .where(consents.c.status == literal_column("'gevraagd'"),  # partial index
                   consents.c.asked_at < bindparam("b_asked", type_=consents.c.asked_at.type),
                   ~exists().where(later.c.case_id == consents.c.case_id,
                                   later.c.scope == consents.c.scope,
                                   later.c.id > consents.c.id)))
    stmt = _located(stmt, shape).order_by(consents.c.asked_at, consents.c.id)
    if shape[6]:
        stmt = stmt.limit(bindparam("b_limit", type_=Integer))
    return stmt


def undecided_consents(conn: Connection, asked_before: datetime, scope: Scope
                       ) -> list[FindingRow]:
    """Consents still ``gevraagd`` that were asked before ``asked_before``, oldest first.

    Every decision is a new row (the history of a consent), so only a request without a later
    row for the same case and scope is undecided.
    """
    stmt = _consents_stmt(scope.shape())
    return _finding_rows(conn.execute(stmt, {**scope.params(), "b_asked": asked_before}))


def display_names(conn: Connection, usernames: set[str]) -> dict[str, str]:
    """Display names of staff users (for the responsible person of a finding)."""
    if not usernames:
        return {}
    rows = conn.execute(_names_stmt(), {"b_names": sorted(usernames)}).all()
    return {r.username: r.display_name or r.username for r in rows}


@cache
def _names_stmt() -> Select[Any]:
    return select(users.c.username, users.c.display_name).where(
        users.c.username.in_(bindparam("b_names", expanding=True)))


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
