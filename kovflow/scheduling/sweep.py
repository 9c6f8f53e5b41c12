"""Fire due deadlines: reminders, escalations and the next turn of recurring reminders.

``sweep_due(app, now)`` claims deadline rows with ``due_at <= now`` that have neither fired nor
been cancelled, a batch per transaction, until none are left. Per row, in the claiming
transaction: mark it fired, write one outbox row per recipient of its role, open a task for an
escalation, and for a recurring reminder insert the next turn after ``now``. Everything a row
causes commits together with its ``fired_at``, so a crash loses nothing and repeats nothing.

A worker that was down catches up in one sweep: each overdue row fires once (one reminder, not one
per missed tick), and a recurring reminder that is many turns behind skips the missed turns.

A deadline with ``instead = { field, equals, role [, route] }`` in its route file goes to
``instead.role`` when it fires while the instance (or, with ``route``, the case's latest instance
of that route) has recorded ``field`` = ``equals`` (NB-2: the voogd instead of the wijkcoach). The
condition is read at the moment of firing, so each turn of a recurring reminder follows the
current record. An escalation row is redirected only when it is addressed to the same role as
the reminder (``escalate.role`` = ``role``): an escalation meant for someone else who must step
in stays with that role. The escalation's task keeps the row's role (a voogd has no task list).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from kovflow.calendar import WorkCalendar
from kovflow.engine import ESCALATION_SUFFIX, shift
from kovflow.errors import NotFound
from kovflow.notify.render import link_for
from kovflow.notify.rows import outbox_row, recipients_or_nobody
from kovflow.routes.spec import DeadlineSpec, Duration, DurationUnit, RouteSpec, routed_role
from kovflow.store import repo, worker_repo
from kovflow.store.db import Connection, write

if TYPE_CHECKING:  # the App is handed in; scheduling does not depend on the services package
    from kovflow.services.context import App

__all__ = ["ESCALATION_SUFFIX", "ESCALATION_TITLE", "SweepReport", "deadline_spec", "next_turn",
           "sweep_due"]

BATCH = 500
ESCALATION_TITLE = "Escalatie: een stap ligt stil"
_SOORT = {"reminder": "herinnering", "recurring": "herinnering", "escalation": "escalatie"}
_EVERY = re.compile(r"\s*(\d+)\s+(days|werkdagen|weeks|months)\s*")


@dataclass
class SweepReport:
    """What one sweep did (counts only: a report may be logged)."""

    fired: int = 0
    messages: int = 0
    no_recipient: int = 0
    escalations: int = 0
    next_turns: int = 0
    cancelled: int = 0

    def add(self, other: SweepReport) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def next_turn(calendar: WorkCalendar, due_at: datetime, every: str, now: datetime
              ) -> datetime | None:
    """The first turn of a recurring reminder after ``now`` (missed turns are skipped).

    Turns stay on the original cadence (due + k * every) on the Amsterdam wall clock. None when
    ``every`` is empty or not a positive interval, so a bad row cannot loop forever.
    """
    match = _EVERY.fullmatch(every or "")
    if match is None or int(match.group(1)) <= 0:
        return None
    amount, unit = int(match.group(1)), cast(DurationUnit, match.group(2))
    turn, k = due_at, 0
    while turn <= now:
        k += 1
        # From the original due moment each time: months clamp (31 Jan + 1 month = 28 Feb) and
        # stepping from a clamped turn would drift the cadence.
        turn = shift(calendar, due_at, Duration(amount * k, unit))
    return turn


@lru_cache(maxsize=256)
def _deadline_index(route: RouteSpec) -> Mapping[tuple[str, str], DeadlineSpec]:
    """The route version's deadline specs by (state, rule) and by ("", rule) (first state wins).

    Cached per route version: a ``RouteSpec`` is frozen and hashed by identity, so a reloaded
    catalog gets its own entries and each batch looks a rule up instead of scanning the states.
    """
    index: dict[tuple[str, str], DeadlineSpec] = {}
    for state in route.states.values():
        for d in state.deadlines:
            index[(state.name, d.rule)] = d
            index.setdefault(("", d.rule), d)
    return MappingProxyType(index)


def deadline_spec(app: App, row: Any) -> DeadlineSpec | None:
    """The route file's spec of a deadline row: found in the instance's pinned route version,
    in its current state (the state that set the row) or else any state with that rule.

    None for a row no route file describes (a version no longer loaded, a rule added by hand).
    """
    try:
        route = app.catalog.get(row.instance_route_id, row.instance_route_version)
    except NotFound:
        return None
    rule = str(row.rule)
    if row.kind == "escalation" and rule.endswith(ESCALATION_SUFFIX):
        rule = rule[:-len(ESCALATION_SUFFIX)]
    index = _deadline_index(route)
    return index.get((row.instance_state, rule)) or index.get(("", rule))


def _redirects(spec: DeadlineSpec | None, row: Any) -> bool:
    """The spec may redirect this row: it has ``instead`` and the row is addressed to the role
    the redirect replaces (a reminder always is; an escalation when escalate.role = role)."""
    return spec is not None and spec.instead is not None and bool(spec.instead_role) \
        and row.role == spec.role


def _recipient_roles(conn: Connection, app: App, rows: Sequence[Any]) -> dict[int, str]:
    """The role each row's message goes to: its own, or ``instead.role`` while the condition holds.

    The recorded data is read in one query for the batch's own instances and one per
    ``instead.route``, and only for rows whose spec has an ``instead``.
    """
    roles = {row.id: str(row.role) for row in rows}
    pending: list[tuple[Any, DeadlineSpec]] = []
    for row in rows:
        spec = deadline_spec(app, row)
        if spec is not None and _redirects(spec, row):
            pending.append((row, spec))
    if not pending:
        return roles
    own = worker_repo.instances_data(
        conn, {row.instance_id for row, spec in pending if not spec.instead_route})
    other: dict[str, dict[int, Mapping[str, Any]]] = {}
    for route_id in {spec.instead_route for _, spec in pending if spec.instead_route}:
        other[route_id] = worker_repo.latest_route_data(
            conn, {row.case_id for row, spec in pending
                   if spec.instead_route == route_id and row.case_id is not None}, route_id)
    empty: Mapping[str, Any] = MappingProxyType({})
    for row, spec in pending:
        if spec.instead_route:
            recorded = other[spec.instead_route].get(row.case_id, empty) \
                if row.case_id is not None else empty
        else:
            recorded = own.get(row.instance_id, empty)
        roles[row.id] = routed_role(spec, recorded)  # e.g. NB-2: the voogd is the first contact
    return roles


def _outbox_rows(conn: Connection, row: Any, role: str, soort: str, link: str, now: datetime,
                 recipients: dict[tuple[Any, ...], list[tuple[int, str]]]) -> list[dict[str, Any]]:
    """One row per recipient of ``role`` (the deadline's, or its ``instead``), as
    ``_Step.notify`` writes them."""
    key = (row.case_id, row.location_id, role)
    if key not in recipients:  # cached per batch: many deadlines share a case or a location
        recipients[key] = repo.role_recipients(conn, row.case_id, row.location_id, role)
    # No personal data in a message: only what kind of message it is and where to log in.
    return [outbox_row(template=row.template, role=role, user_id=user_id, address=address,
                       case_id=row.case_id, context={"soort": soort, "link": link}, now=now)
            for user_id, address in recipients_or_nobody(recipients[key])]


def _sweep_batch(app: App, now: datetime, batch: int) -> tuple[SweepReport, int]:
    link = link_for(app.settings.base_url)

    def work(conn: Connection) -> tuple[SweepReport, int]:
        report = SweepReport()
        rows = worker_repo.claim_due_deadlines(conn, now, batch)
        recipients: dict[tuple[Any, ...], list[tuple[int, str]]] = {}
        fired: list[int] = []
        stale: list[int] = []
        messages: list[dict[str, Any]] = []
        new_tasks: list[dict[str, Any]] = []
        live = [row for row in rows if row.instance_closed_at is None]
        roles = _recipient_roles(conn, app, live)
        for row in rows:
            if row.instance_closed_at is not None:
                stale.append(row.id)  # the route ended without cancelling it: never fire
                continue
            fired.append(row.id)
            messages += _outbox_rows(conn, row, roles[row.id], _SOORT.get(row.kind, "herinnering"),
                                     link, now, recipients)
            if row.kind == "escalation":
                new_tasks.append({
                    "case_id": row.case_id, "instance_id": row.instance_id,
                    "route_id": row.instance_route_id, "state": row.instance_state,
                    "role": row.role, "assignee_user_id": None,
                    "title": ESCALATION_TITLE, "opened_at": now, "due_at": now,
                    "closed_at": None})
            elif row.kind == "recurring":
                turn = next_turn(app.calendar, row.due_at, row.every, now)
                if turn is not None and worker_repo.add_deadline_once(conn, {
                        "case_id": row.case_id, "instance_id": row.instance_id,
                        "rule": row.rule, "kind": row.kind, "role": row.role,
                        "template": row.template, "due_at": turn, "every": row.every,
                        "created_at": now, "fired_at": None, "cancelled_at": None}):
                    report.next_turns += 1
        worker_repo.mark_fired(conn, fired, now)
        worker_repo.mark_cancelled(conn, stale, now)
        repo.add_rows(conn, repo.outbox, messages)
        repo.add_rows(conn, repo.tasks, new_tasks)
        report.fired, report.cancelled = len(fired), len(stale)
        report.escalations = len(new_tasks)
        report.messages = sum(1 for m in messages if m["status"] == "pending")
        report.no_recipient = len(messages) - report.messages
        return report, len(rows)

    return write(app.engine, work)


def sweep_due(app: App, now: datetime, batch: int | None = None) -> SweepReport:
    """Fire every deadline due at ``now``; idempotent (a second sweep at ``now`` does nothing).

    ``batch`` rows per transaction (default ``BATCH``, read at call time).
    """
    batch = batch or BATCH
    total = SweepReport()
    while True:
        report, claimed = _sweep_batch(app, now, batch)
        total.add(report)
        # Fewer than a full batch: nothing left, or the rest is claimed by another worker (PG).
        if claimed < batch:
            return total
