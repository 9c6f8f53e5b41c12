"""Firing a step and starting a route: the hot path, one transaction each.

In one transaction: read the instance, decide with the pure engine, compare-and-set the instance
on its revision, append hash-chained events, close and open tasks, cancel and set deadlines, write
outbox rows, and start or close other routes of the case. Nothing is sent here; a refusal writes
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from kovflow.access.policy import COMPARTMENTS, Action
from kovflow.actor import Actor
from kovflow.engine import CaseView, Decision, Entry, FirePlan, decide, enter
from kovflow.errors import (
    ConcurrentUpdate,
    InvalidInput,
    NotFound,
    Reason,
    TransitionNotAllowed,
    UnknownState,
)
from kovflow.history import event_hash
from kovflow.notify.invites import invitation_rows
from kovflow.notify.render import link_for
from kovflow.notify.rows import outbox_row, recipients_or_nobody
from kovflow.routes.fields import validate
from kovflow.routes.spec import RouteSpec, routed_role
from kovflow.services import access
from kovflow.services.context import App
from kovflow.store import monitor_repo, repo
from kovflow.store.db import Connection, Retry, write

_CASE_GUARDS = {"route_in_state", "route_not_in_state"}
_CONSENT_GUARDS = {"consent_given"}


@dataclass(frozen=True)
class FireResult:
    """What a step did, for the caller to show."""

    case_number: str | None
    instance_id: int
    route: str
    trigger: str
    from_state: str
    to_state: str
    revision: int
    started: tuple[tuple[str, int, str], ...] = ()
    closed: tuple[tuple[str, int], ...] = ()


@dataclass
class _Step:
    """Rows one transaction collects before writing them together."""

    conn: Connection
    app: App
    actor: Actor
    now: datetime
    case_id: int | None
    location_id: int | None
    events: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    deadlines: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)

    @property
    def chain(self) -> str:
        return f"case:{self.case_id}" if self.case_id is not None else f"location:{self.location_id}"

    def event(self, instance_id: int | None, kind: str, route: RouteSpec | None, trigger: str = "",
              from_state: str = "", to_state: str = "", payload: Mapping[str, Any] | None = None
              ) -> None:
        self.events.append({
            "chain": self.chain, "case_id": self.case_id, "instance_id": instance_id,
            "at": self.now, "actor": self.actor.username, "kind": kind,
            "route_id": route.id if route else "", "route_version": route.version if route else 0,
            "trigger": trigger, "from_state": from_state, "to_state": to_state,
            "payload": dict(payload or {}),
        })

    def enter(self, instance_id: int, route_id: str, state: str, entry: Entry) -> None:
        if entry.task is not None:
            self.tasks.append({
                "case_id": self.case_id, "instance_id": instance_id, "route_id": route_id,
                "state": state,
                "role": entry.task.role, "assignee_user_id": None, "title": entry.task.title,
                "opened_at": self.now, "due_at": entry.task.due_at, "closed_at": None})
        for d in entry.deadlines:
            self.deadlines.append({
                "case_id": self.case_id, "instance_id": instance_id, "rule": d.rule,
                "kind": d.kind, "role": d.role, "template": d.template, "due_at": d.due_at,
                "every": f"{d.every.amount} {d.every.unit}" if d.every else "",
                "created_at": self.now, "fired_at": None, "cancelled_at": None})

    def notify(self, template: str, role: str) -> None:
        found = repo.role_recipients(self.conn, self.case_id, self.location_id, role)
        # No personal data in a message: only what kind of message it is and where to log in.
        context = {"soort": "melding", "link": link_for(self.app.settings.base_url)}
        self.outbox.extend(
            outbox_row(template=template, role=role, user_id=user_id, address=address,
                       case_id=self.case_id, context=context, now=self.now)
            for user_id, address in recipients_or_nobody(found))

    def flush(self) -> None:
        if self.events:
            seq, prev = repo.chain_head(self.conn, self.chain)
            for row in self.events:
                seq += 1
                row["seq"], row["prev_hash"] = seq, prev
                row["hash"] = prev = event_hash(row)
            repo.add_events(self.conn, self.events)
        repo.add_rows(self.conn, repo.tasks, self.tasks)
        repo.add_rows(self.conn, repo.deadlines, self.deadlines)
        repo.add_rows(self.conn, repo.outbox, self.outbox)
        # The monitor's per-placement rows follow the route data in the same transaction.
        if self.case_id is not None and any(monitor_repo.concerns(e) for e in self.events):
            monitor_repo.refresh_cases(self.conn, (self.case_id,))


def _spec(app: App, row: Any) -> RouteSpec:
    spec = app.catalog.get(row.route_id, row.route_version)
    if row.state not in spec.states:
        raise UnknownState(row.route_id, row.route_version, row.state)
    return spec


def _find_instance(conn: Connection, route_id: str, case: str | None, location: str | None,
                   instance_id: int | None,
                   check: Callable[[Any], None] = lambda _row: None) -> tuple[Any, Any]:
    """The instance to act on and its case row (None for a location route).

    ``check`` runs on the case row before the instances are looked at: an actor refused access
    learns nothing more about an existing case than about a missing one.
    """
    if (case is None) == (location is None):
        raise InvalidInput("name either a case number or a location code")
    case_row = None
    if case is not None:
        case_row = repo.case_by_number(conn, case)
        if case_row is None:
            raise NotFound("case", case)
        check(case_row)
        rows = repo.case_instances(conn, case_row.id)
    else:
        loc = repo.location_by_code(conn, location or "")
        if loc is None:
            raise NotFound("location", location)
        rows = repo.location_instances(conn, loc.id)
    if instance_id is not None:
        rows = [r for r in rows if r.id == instance_id]
    candidates = [r for r in rows if r.route_id == route_id]
    if not candidates:
        if case is not None and route_id in COMPARTMENTS:
            raise NotFound("case", case)  # the answer for a hidden one (fire): nothing leaks
        raise NotFound("route instance", f"{route_id} on {case or location}")
    open_rows = [r for r in candidates if r.closed_at is None]
    if len(open_rows) > 1:
        ids = ", ".join(str(r.id) for r in open_rows)
        raise InvalidInput(f"route {route_id} runs {len(open_rows)} times here (instances {ids}); "
                           "name the instance")
    return (open_rows or candidates)[-1], case_row


def _case_view(conn: Connection, route: RouteSpec, trigger: str, case_row: Any) -> CaseView:
    """Only the facts the step's guards need: reading less keeps the step fast."""
    names = {g.name for t in route.transitions_for(trigger) for g in t.guards}
    if case_row is None:
        return CaseView()
    states: dict[str, tuple[str, ...]] = {}
    if names & _CASE_GUARDS:
        for r in repo.case_instances(conn, case_row.id):
            states[r.route_id] = (*states.get(r.route_id, ()), r.state)
    consents = repo.consent_statuses(conn, case_row.id) if names & _CONSENT_GUARDS else {}
    return CaseView(states, consents, dict(case_row.facts))


def fire(app: App, actor: Actor, route_id: str, trigger: str, *, case: str | None = None,
         location: str | None = None, data: Mapping[str, Any] | None = None,
         expected_revision: int | None = None, instance_id: int | None = None) -> FireResult:
    """Take step ``trigger`` on the ``route_id`` instance of a case (or location).

    With ``expected_revision`` the step is refused with ``ConcurrentUpdate`` when someone else
    changed the instance since the caller looked; without it the current revision is used.
    """
    now = app.clock.now()

    what = f"stap {route_id}.{trigger}"

    def work(conn: Connection) -> FireResult:
        row, case_row = _find_instance(
            conn, route_id, case, location, instance_id,
            check=lambda found: access.check(conn, actor, found, Action.WRITE, what))
        # A compartment (meldcode) the actor may not see answers like a missing case.
        if case_row is not None and not access.visible_instances(conn, actor, [row]):
            raise access.Denied(case_row.case_number, case_row.id, Action.WRITE, what)
        if expected_revision is not None and row.revision != expected_revision:
            raise ConcurrentUpdate(row.id, expected_revision, row.revision)
        spec = _spec(app, row)
        decision = decide(spec, row.state, row.data, trigger, actor, data or {},
                          _case_view(conn, spec, trigger, case_row), now, app.calendar)
        # The location of a child's case decides who receives a role's messages as a fallback.
        location_id = case_row.location_id if case_row is not None else row.location_id
        step = _Step(conn, app, actor, now, row.case_id, location_id)
        result = _apply(step, spec, row, decision, expected_revision is not None,
                        case_row.case_number if case_row is not None else None)
        step.flush()
        access.log(conn, actor, now, case_row, Action.WRITE, what)
        return result

    try:
        return write(app.engine, work)
    except access.Denied as denied:
        raise access.refused(app, actor, denied) from None


def _apply(step: _Step, spec: RouteSpec, row: Any, decision: Decision, strict: bool,
           case_number: str | None) -> FireResult:
    final = spec.states[decision.to_state].final
    data = {**row.data, **decision.data}
    if not repo.step_instance(step.conn, row.id, row.revision, decision.to_state, data, step.now,
                              step.now if final else None):
        current = repo.instance_by_id(step.conn, row.id)
        if strict or current is None:
            raise ConcurrentUpdate(row.id, row.revision, current.revision if current else -1)
        raise Retry()  # a concurrent writer won the race; read again and decide again
    step.event(row.id, "transition", spec, decision.trigger, decision.from_state,
               decision.to_state, decision.data)
    if decision.changed:
        repo.close_tasks(step.conn, row.id, step.now)
        repo.cancel_deadlines(step.conn, row.id, step.now)
        step.enter(row.id, row.route_id, decision.to_state, decision.entry)
    for n in decision.notifications:
        # e.g. NB-2: while a voogd is involved, the voogd is the first contact.
        recorded = data if not n.instead_route else _route_data(step, n.instead_route)
        step.notify(n.template, routed_role(n, recorded))
    _invite(step, spec, row, decision)  # calendar invitation of a planned conversation, if any
    started = tuple(
        s for plan in decision.starts
        if (s := _start(step, plan.route, plan.state, plan.data, cause=row.id)) is not None
    )
    closed = _close_routes(step, decision.close_routes, except_id=row.id)
    for plan in decision.fires:
        _fire_effect(step, plan, row.id)
    return FireResult(case_number, row.id, spec.id, decision.trigger, decision.from_state,
                      decision.to_state, row.revision + 1, started, closed)


def _invite(step: _Step, spec: RouteSpec, row: Any, decision: Decision) -> None:
    """Calendar invitations: a step with ``invite = {...}`` writes outbox rows (template
    ``uitnodiging``) that the mailer sends as iCalendar REQUEST/CANCEL. All logic (UID, sequence,
    recipients, what was sent before) lives in ``kovflow.notify.invites``."""
    transition = spec.transition(decision.trigger, decision.from_state)
    if transition is None or transition.invite is None:
        return
    step.outbox.extend(invitation_rows(
        step.conn, transition.invite, instance_id=row.id, case_id=step.case_id,
        location_id=step.location_id, given=decision.data, pending=step.outbox, now=step.now,
        link=link_for(step.app.settings.base_url)))


def _route_data(step: _Step, route_id: str) -> Mapping[str, Any]:
    """What the case's (latest) instance of ``route_id`` has recorded; empty when none runs."""
    if step.case_id is None:
        return {}
    rows = [r for r in repo.case_instances(step.conn, step.case_id) if r.route_id == route_id]
    return dict(rows[-1].data) if rows else {}


def _fire_effect(step: _Step, plan: FirePlan, cause: int) -> None:
    """Take a step on another running route of the case as part of this step (e.g. the end of
    a placement after its termination). The role check is the firing step's; guards still apply."""
    if step.case_id is None:
        return
    running = [r for r in repo.case_instances(step.conn, step.case_id)
               if r.route_id == plan.route and r.closed_at is None]
    if not running:
        return
    row = running[-1]
    spec = _spec(step.app, row)
    effect_actor = replace(step.actor, operator=True)
    case_row = repo.case_by_id(step.conn, step.case_id)
    decision = decide(spec, row.state, row.data, plan.trigger, effect_actor,
                      {**plan.data}, _case_view(step.conn, spec, plan.trigger, case_row),
                      step.now, step.app.calendar)
    _apply(step, spec, row, decision, False, case_row.case_number if case_row else None)


def _start(step: _Step, route_id: str, state: str, data: Mapping[str, Any],
           cause: int | None) -> tuple[str, int, str] | None:
    """Start ``route_id`` in ``state`` unless it already runs on this case."""
    spec = step.app.catalog.get(route_id)
    if step.case_id is not None:
        running = [r for r in repo.case_instances(step.conn, step.case_id)
                   if r.route_id == route_id and r.closed_at is None]
        if running:
            return None
    state = state or spec.initial
    instance_id = repo.insert_returning_id(step.conn, repo.instances, {
        "case_id": step.case_id, "location_id": step.location_id if step.case_id is None else None,
        "route_id": spec.id, "route_version": spec.version, "state": state, "revision": 0,
        "data": dict(data), "started_at": step.now, "updated_at": step.now,
        "closed_at": step.now if spec.states[state].final else None})
    payload = {"started_by_instance": cause} if cause is not None else {}
    step.event(instance_id, "start", spec, "", "", state, {**payload, **data})
    step.enter(instance_id, spec.id, state,
               enter(spec.states[state], data, step.now, step.app.calendar))
    if spec.also_start and step.case_id is not None:
        case_row = repo.case_by_id(step.conn, step.case_id)
        facts = dict(case_row.facts) if case_row is not None else {}
        for also in spec.also_start:
            if facts.get(also.when_fact) is True:
                _start(step, also.route, "", {}, cause=instance_id)
    return (spec.id, instance_id, state)


def _close_routes(step: _Step, route_ids: tuple[str, ...], except_id: int
                  ) -> tuple[tuple[str, int], ...]:
    if not route_ids or step.case_id is None:
        return ()
    closed = []
    for r in repo.case_instances(step.conn, step.case_id):
        if r.route_id in route_ids and r.closed_at is None and r.id != except_id:
            repo.compare_and_set(step.conn, r.id, r.revision, {"closed_at": step.now,
                                                                "updated_at": step.now})
            repo.close_tasks(step.conn, r.id, step.now)
            repo.cancel_deadlines(step.conn, r.id, step.now)
            step.event(r.id, "closed", step.app.catalog.get(r.route_id, r.route_version),
                       "", r.state, r.state, {"reason": "placement ended"})
            closed.append((str(r.route_id), int(r.id)))
    return tuple(closed)


def start_route(app: App, actor: Actor, route_id: str, *, case: str | None = None,
                location: str | None = None, state: str | None = None,
                data: Mapping[str, Any] | None = None) -> FireResult:
    """Start a route by hand (e.g. ``meldcode``) on a case, or a location route on a location."""
    spec = app.catalog.get(route_id)
    now = app.clock.now()
    if not actor.may_start(spec.starters):
        raise TransitionNotAllowed(route_id, "", "start", [
            Reason("role-not-allowed", ("alleen " + " of ".join(spec.starters)
                     if spec.starters else "alleen een andere route") + " mag deze route starten")])
    clean, reasons = validate(spec.start_fields, data or {})
    start_state = state or spec.initial
    if start_state != spec.initial and not (actor.operator or "admin" in actor.roles):
        # Other states are reached by steps (or by another route's start effect), not by hand.
        raise TransitionNotAllowed(route_id, "", "start", [Reason(
            "role-not-allowed", f"alleen functioneel beheer mag een route starten in een andere "
            f"stand dan '{spec.initial}'")])
    if start_state not in spec.states:
        raise NotFound("state", f"{start_state} (route {route_id}: {', '.join(spec.states)})")
    if reasons:
        raise TransitionNotAllowed(route_id, "", "start", reasons)

    def work(conn: Connection) -> FireResult:
        case_id = location_id = None
        if (case is None) == (location is None):
            raise InvalidInput("name either a case number or a location code")
        if spec.per == "location":
            loc = repo.location_by_code(conn, location or "")
            if loc is None:
                raise NotFound("location", location)
            location_id = loc.id
        else:
            case_row = repo.case_by_number(conn, case or "")
            if case_row is None:
                raise NotFound("case", case)
            access.check(conn, actor, case_row, Action.WRITE, f"start {route_id}")
            access.log(conn, actor, now, case_row, Action.WRITE, f"start {route_id}")
            case_id = case_row.id
        step = _Step(conn, app, actor, now, case_id, location_id)
        if case_id is None and any(r.route_id == route_id and r.closed_at is None
                                   for r in repo.location_instances(conn, location_id or 0)):
            raise InvalidInput(f"route {route_id} already runs for location {location}")
        started = _start(step, route_id, start_state, clean, cause=None)
        if started is None:
            raise InvalidInput(f"route {route_id} already runs on case {case}")
        step.flush()
        return FireResult(case, started[1], route_id, "start", "", start_state, 0, (started,))

    try:
        return write(app.engine, work)
    except access.Denied as denied:
        raise access.refused(app, actor, denied) from None

