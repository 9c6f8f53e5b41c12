"""Deliver the outbox: claim, render, send outside any transaction, settle.

1. One short transaction returns expired claims to ``pending`` and claims a batch of due rows
   (``sending``, with the claim's end in ``next_attempt_at``; PostgreSQL: ``SKIP LOCKED``).
2. Render and send the batch with no transaction open: a slow relay never holds a lock.
3. One transaction settles each row: ``sent``; a temporary failure backs off exponentially with
   jitter (60 s, x2, at most 6 h); a permanent failure, or the last allowed attempt, makes the row
   ``dead`` with its error: an incident for the coordinator (``retry_dead`` puts it back).

A worker that dies between 2 and 3 leaves rows in ``sending``; once their claim expires they are
sent again with the same Message-ID (at-least-once, recognisable duplicates).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from kovflow.errors import InvalidInput, KovflowError
from kovflow.notify.mailers import Mailer, OutgoingMail, SendResult
from kovflow.notify.render import MailContext, render
from kovflow.store import worker_repo
from kovflow.store.db import Connection, read, write

if TYPE_CHECKING:  # the App is handed in; notify does not depend on the services package
    from kovflow.services.context import App

__all__ = ["DeliveryReport", "OutboxEntry", "backoff", "deliver_pending", "list_outbox",
           "retry_dead"]

BACKOFF_BASE = timedelta(seconds=60)
BACKOFF_FACTOR = 2
BACKOFF_CAP = timedelta(hours=6)
MAX_ATTEMPTS = 8
CLAIM_LEASE = timedelta(minutes=5)
STATUSES = ("pending", "sending", "sent", "dead", "no_recipient")


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0  # claims that had expired (a worker died) and went back to pending

    def add(self, other: DeliveryReport) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row as the CLI shows it: no case data, only delivery facts."""

    id: int
    message_id: str
    template: str
    recipient_role: str
    to_address: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str


def backoff(attempts: int, rand: Callable[[], float] = random.random) -> timedelta:
    """Wait after the ``attempts``-th failed try: base * factor^(attempts-1), capped, jittered.

    "Equal jitter": between half and all of the step, so retries of a batch that failed together
    spread out, yet never come sooner than half the step.
    """
    growth = int(BACKOFF_FACTOR ** min(max(0, attempts - 1), 32))  # bounded: the cap wins anyway
    step = min(BACKOFF_CAP, BACKOFF_BASE * growth)
    return step * (0.5 + 0.5 * rand())


def _prepare(app: App, rows: Sequence[Any], now: datetime
             ) -> tuple[list[OutgoingMail], dict[str, SendResult]]:
    """Render each row; a row that cannot be rendered fails permanently (retrying cannot help)."""
    mails: list[OutgoingMail] = []
    failed: dict[str, SendResult] = {}
    for row in rows:
        try:
            ctx = MailContext.from_stored(row.context, app.settings.base_url)
            mail = render(row.template, ctx)  # from_stored checked the link against base_url
        except KovflowError as exc:
            failed[row.message_id] = SendResult(row.message_id, "permanent", f"render: {exc}")
            continue
        mails.append(OutgoingMail(row.message_id, row.to_address, mail.subject, mail.text,
                                  mail.html, now, invite=ctx.invite, link=ctx.link))
    return mails, failed


def _settle(row: Any, result: SendResult, now: datetime, max_attempts: int,
            rand: Callable[[], float]) -> dict[str, Any]:
    attempts = int(row.attempts) + 1
    outcome = {"id": row.id, "attempts": attempts, "next_attempt_at": now, "sent_at": None,
               "last_error": result.error}
    if result.outcome == "ok":
        return {**outcome, "status": "sent", "sent_at": now, "last_error": ""}
    if result.outcome == "temporary" and attempts < max_attempts:
        return {**outcome, "status": "pending", "next_attempt_at": now + backoff(attempts, rand)}
    if result.outcome == "temporary":
        outcome["last_error"] = f"gave up after {attempts} attempts: {result.error}"
    return {**outcome, "status": "dead"}


def _deliver_batch(app: App, mailer: Mailer, now: datetime, batch_size: int, max_attempts: int,
                   lease: timedelta, rand: Callable[[], float], report: DeliveryReport) -> int:
    """Claim, send and settle one batch; returns how many rows it claimed."""
    def claim(conn: Connection) -> tuple[int, Sequence[Any]]:
        released = worker_repo.release_expired_claims(conn, now)
        return released, worker_repo.claim_outbox(conn, now, now + lease, batch_size)

    released, rows = write(app.engine, claim)
    report.released += released
    if not rows:
        return 0
    mails, results = _prepare(app, rows, now)
    if mails:
        # No transaction is open here: a slow or hanging relay holds no database lock.
        sent = asyncio.run(mailer.send_batch(mails))
        results.update((r.message_id, r) for r in sent)
    missing = "the mailer gave no answer for this message"
    outcomes = [_settle(row, results.get(row.message_id) or SendResult(
                    row.message_id, "temporary", missing), now, max_attempts, rand)
                for row in rows]
    write(app.engine, lambda conn: worker_repo.settle_outbox(conn, outcomes))
    for o in outcomes:
        if o["status"] == "sent":
            report.sent += 1
        elif o["status"] == "dead":
            report.dead += 1
        else:
            report.retried += 1
    return len(rows)


def deliver_pending(app: App, mailer: Mailer, now: datetime, batch_size: int = 500,
                    max_attempts: int = MAX_ATTEMPTS, lease: timedelta = CLAIM_LEASE,
                    rand: Callable[[], float] = random.random) -> DeliveryReport:
    """Send every outbox row due at ``now``, a batch (one SMTP connection) at a time.

    Terminates: each claimed row ends sent, dead, or pending with a retry moment after ``now``.
    """
    report = DeliveryReport()
    while _deliver_batch(app, mailer, now, batch_size, max_attempts, lease, rand,
                         report) == batch_size:
        pass
    return report


def retry_dead(app: App, ids: Sequence[int] | None = None) -> int:
    """Put dead rows (all, or ``ids``) back in the queue, due now; returns how many."""
    now = app.clock.now()
    return write(app.engine, lambda conn: worker_repo.retry_dead(conn, ids, now))


def list_outbox(app: App, status: str | None = None, limit: int = 100) -> list[OutboxEntry]:
    """The newest outbox rows (with ``status`` if given), for the operator's CLI."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"unknown outbox status {status!r}; use one of {', '.join(STATUSES)}")
    with read(app.engine) as conn:
        rows = worker_repo.outbox_by_status(conn, status, limit)
    return [OutboxEntry(r.id, r.message_id, r.template, r.recipient_role, r.to_address, r.status,
                        r.attempts, r.created_at, r.next_attempt_at, r.sent_at, r.last_error)
            for r in rows]
