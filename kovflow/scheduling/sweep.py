"""Fire due deadlines: reminders, escalations and the next turn of recurring reminders.

``sweep_due(app, now)`` claims deadline rows with ``due_at <= now`` that have neither fired nor
been cancelled, a batch per transaction, until none are left. Per row, in the claiming
transaction: mark it fired, write one outbox row per recipient of its role, open a task for an
escalation, and for a recurring reminder insert the next turn after ``now``. Everything a row
causes commits together with its ``fired_at``, so a crash loses nothing and repeats nothing.

A worker that was down catches up in one sweep: each overdue row fires once (one reminder, not one
per missed tick), and a recurring reminder that is many turns behind skips the missed turns.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kovflow.calendar import WorkCalendar
from kovflow.notify.render import link_for
from kovflow.store import repo, worker_repo
from kovflow.store.db import Connection, write

if TYPE_CHECKING:  # the App is handed in; scheduling does not depend on the services package
    from kovflow.services.context import App

__all__ = ["ESCALATION_TITLE", "SweepReport", "next_turn", "sweep_due"]

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


def _shift(calendar: WorkCalendar, moment: datetime, amount: int, unit: str) -> datetime:
    if unit == "werkdagen":
        return calendar.add_werkdagen(moment, amount)
    if unit == "days":
        return calendar.add_days(moment, amount)
    if unit == "weeks":
        return calendar.add_days(moment, 7 * amount)
    return calendar.add_months(moment, amount)


def next_turn(calendar: WorkCalendar, due_at: datetime, every: str, now: datetime
              ) -> datetime | None:
    """The first turn of a recurring reminder after ``now`` (missed turns are skipped).

    Turns stay on the original cadence (due + k * every) on the Amsterdam wall clock. None when
    ``every`` is empty or not a positive interval, so a bad row cannot loop forever.
    """
    match = _EVERY.fullmatch(every or "")
    if match is None or int(match.group(1)) <= 0:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    turn, k = due_at, 0
    while turn <= now:
        k += 1
        # From the original due moment each time: months clamp (31 Jan + 1 month = 28 Feb) and
        # stepping from a clamped turn would drift the cadence.
        turn = _shift(calendar, due_at, amount * k, unit)
    return turn


def _outbox_rows(conn: Connection, row: Any, soort: str, link: str, now: datetime,
                 recipients: dict[tuple[Any, ...], list[tuple[int, str]]]) -> list[dict[str, Any]]:
    """One row per recipient of the deadline's role, as ``_Step.notify`` writes them."""
    key = (row.case_id, row.location_id, row.role)
    if key not in recipients:  # cached per batch: many deadlines share a case or a location
        recipients[key] = repo.role_recipients(conn, row.case_id, row.location_id, row.role)
    targets: list[tuple[int | None, str]] = [*recipients[key]] or [(None, "")]
    return [{
        "message_id": f"<{uuid.uuid4().hex}@kovflow>", "case_id": row.case_id,
        "template": row.template, "recipient_role": row.role, "recipient_user_id": user_id,
        # No personal data in a message: only what kind of message it is and where to log in.
        "to_address": address, "context": {"soort": soort, "link": link},
        "status": "pending" if address else "no_recipient", "attempts": 0,
        "created_at": now, "next_attempt_at": now, "sent_at": None,
        "last_error": "" if address else f"nobody holds role {row.role} for this case"}
        for user_id, address in targets]


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
        for row in rows:
            if row.instance_closed_at is not None:
                stale.append(row.id)  # the route ended without cancelling it: never fire
                continue
            fired.append(row.id)
            messages += _outbox_rows(conn, row, _SOORT.get(row.kind, "herinnering"), link, now,
                                     recipients)
            if row.kind == "escalation":
                new_tasks.append({
                    "case_id": row.case_id, "instance_id": row.instance_id,
                    "state": row.instance_state, "role": row.role, "assignee_user_id": None,
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


def sweep_due(app: App, now: datetime, batch: int = BATCH) -> SweepReport:
    """Fire every deadline due at ``now``; idempotent (a second sweep at ``now`` does nothing)."""
    total = SweepReport()
    while True:
        report, claimed = _sweep_batch(app, now, batch)
        total.add(report)
        # Fewer than a full batch: nothing left, or the rest is claimed by another worker (PG).
        if claimed < batch:
            return total
