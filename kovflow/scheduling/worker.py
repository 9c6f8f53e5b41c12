"""The worker: a metronome that sweeps due deadlines and delivers the outbox every tick.

Two ways to run the same ``tick``:

* ``run_until``: simulated time. Moves the ``FixedClock`` forward in steps and ticks at each,
  so tests and the demo cover months in seconds (never a ``sleep``).
* ``run_forever``: APScheduler 3.x ``BlockingScheduler`` with its in-memory job store, used only
  as a metronome: the database, not the scheduler, holds what is due. One interval job with
  ``coalesce`` and no misfire grace (the default 1 s grace silently drops late runs), and the
  coordinators' weekly digest (Monday 08:00 Europe/Amsterdam).

On SQLite a lease row makes one worker act; a second one started by mistake idles. On PostgreSQL
row claims (``SKIP LOCKED``) let several workers share the work, so no lease is needed.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from kovflow.calendar import AMSTERDAM
from kovflow.clock import FixedClock, ensure_utc
from kovflow.errors import InvalidInput
from kovflow.notify.mailers import Mailer
from kovflow.notify.outbox import DeliveryReport, deliver_pending
from kovflow.notify.render import MailContext, link_for
from kovflow.notify.rows import outbox_row
from kovflow.scheduling.sweep import SweepReport, sweep_due
from kovflow.store import stalled_repo, worker_repo
from kovflow.store.db import write

if TYPE_CHECKING:  # the App is handed in; scheduling does not depend on the services package
    from kovflow.services.context import App

__all__ = ["LEASE_NAME", "TICK_JOB", "RunReport", "build_scheduler", "digest_context",
           "digest_trigger", "run_forever", "run_until", "tick", "worker_identity",
           "write_digests"]

log = logging.getLogger("kovflow.worker")

LEASE_NAME = "kovflow-worker"
TICK_JOB = "kovflow-tick"
DIGEST_JOB = "kovflow-digest"
DIGEST_ROLE = "coordinator"
DIGEST_TEMPLATE = "digest"
DIGEST_PAGE = "/coordinator"  # the coordinator's dashboard (web issue)


def worker_identity() -> str:
    """hostname:pid, the holder name in the lease table (tells an operator which process acts)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class RunReport:
    """Counts over one or more ticks."""

    ticks: int = 0
    idle: int = 0  # ticks in which another worker held the lease
    digests: int = 0
    sweep: SweepReport = field(default_factory=SweepReport)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)

    def add(self, other: RunReport) -> None:
        self.ticks += other.ticks
        self.idle += other.idle
        self.digests += other.digests
        self.sweep.add(other.sweep)
        self.delivery.add(other.delivery)


def _needs_lease(app: App) -> bool:
    return app.engine.dialect.name == "sqlite"


def tick(app: App, mailer: Mailer, now: datetime, holder: str, lease_ttl: timedelta) -> RunReport:
    """One beat: (on SQLite, if we hold the lease) sweep due deadlines, then deliver the outbox."""
    if _needs_lease(app) and not worker_repo.acquire_lease(app.engine, LEASE_NAME, holder, now,
                                                           lease_ttl):
        return RunReport(ticks=1, idle=1)
    report = RunReport(ticks=1, sweep=sweep_due(app, now))
    report.delivery = deliver_pending(app, mailer, now)
    return report


def digest_trigger() -> CronTrigger:
    """Monday 08:00 in Amsterdam (the wall clock the coordinators live by, DST included)."""
    return CronTrigger(day_of_week="mon", hour=8, minute=0, timezone=AMSTERDAM)


def write_digests(app: App, now: datetime) -> int:
    """One outbox row per coordinator: the stalled-case audit in counts, and a link. No case data.

    The counts are per audit rule (``kovflow.reports.stalled.RULES``) plus the aggregate of the
    confidential (meldcode) routes, over the coordinator's location when the account has one and
    over all locations otherwise. The mail links to the dashboard; details are behind the login.
    The Message-ID is derived from the ISO week and the user, so a digest written twice in a week
    (a restart, two workers) is one message.
    """
    year, week, _ = now.astimezone(AMSTERDAM).isocalendar()
    with app.engine.connect() as conn:
        coordinators = worker_repo.users_with_role(conn, DIGEST_ROLE)
        codes = stalled_repo.location_codes(conn)
    rows = []
    counted: dict[str | None, tuple[dict[str, int], int]] = {}
    for user in coordinators:
        where = codes.get(user.location_id) if user.location_id is not None else None
        if where not in counted:
            counted[where] = _digest_counts(app, now, where)
        rows.append(outbox_row(
            template=DIGEST_TEMPLATE, role=DIGEST_ROLE, user_id=user.id, address=user.email,
            case_id=None, context=digest_context(app.settings.base_url, *counted[where]),
            now=now, message_id=f"<digest-{year}w{week:02d}-{user.id}@kovflow>",
            missing="this coordinator has no e-mail address"))
    return write(app.engine, lambda conn: worker_repo.add_outbox_once(conn, rows))


def _digest_counts(app: App, now: datetime, location: str | None) -> tuple[dict[str, int], int]:
    # Imported here: the audit belongs to the reports layer, which builds on the services.
    from kovflow.reports.stalled import StalledFilters, stalled_counts

    return stalled_counts(app, now, StalledFilters(location=location))


def digest_context(base_url: str, counts: dict[str, int], confidential: int) -> dict[str, Any]:
    """The digest's mail context: the total, the counts per rule, the dashboard link.

    ``regels`` lists every rule (zero included, in the audit's order) so that the mail reads the
    same every week; the confidential routes come last as one number.
    """
    from kovflow.reports.stalled import RULES

    total = sum(counts.values()) + confidential
    if "regels" not in MailContext.__dataclass_fields__:
        # notify/render.py does not carry per-rule counts yet: the total and the start page.
        return {"soort": "digest", "link": link_for(base_url, "/"), "aantal": total}
    regels = [[code, counts.get(code, 0)] for code in RULES] + [["vertrouwelijk", confidential]]
    return {"soort": "digest", "link": link_for(base_url, DIGEST_PAGE), "aantal": total,
            "regels": regels}


def run_until(app: App, mailer: Mailer, until: datetime, step: timedelta = timedelta(hours=1),
              holder: str | None = None, digests: bool = True) -> RunReport:
    """Move the app's ``FixedClock`` to ``until`` in ``step``s, ticking at the start and each step.

    Digests due on the way are written at their own moment (only the latest if several were
    missed within one step, as APScheduler's ``coalesce`` would). The lease is released at the
    end: a simulated future must not keep a real worker out.
    """
    clock = app.clock
    if not isinstance(clock, FixedClock):
        raise InvalidInput("simulated time needs a fixed clock: give a start moment (--now)")
    until = ensure_utc(until)
    if until < clock.now():
        raise InvalidInput(f"--until {until.isoformat()} lies before the clock "
                           f"({clock.now().isoformat()})")
    if step <= timedelta(0):
        raise InvalidInput("the step of simulated time must be positive")
    holder = holder or worker_identity()
    ttl = max(3 * step, timedelta(minutes=5))
    trigger = digest_trigger()
    next_digest: datetime | None = trigger.get_next_fire_time(None, clock.now())
    total = RunReport()
    try:
        while True:
            now = clock.now()
            if digests and next_digest is not None and next_digest <= now:
                latest = next_digest
                while (following := trigger.get_next_fire_time(latest, latest)) is not None \
                        and following <= now:
                    latest = following
                total.digests += write_digests(app, latest)
                next_digest = trigger.get_next_fire_time(latest, now)
            total.add(tick(app, mailer, now, holder, ttl))
            if now >= until:
                return total
            clock.set(min(now + step, until))
    finally:
        if _needs_lease(app):
            worker_repo.release_lease(app.engine, LEASE_NAME, holder)


def build_scheduler(app: App, mailer: Mailer, tick_seconds: int = 60,
                    holder: str | None = None) -> BlockingScheduler:
    """The production scheduler: one tick job and the weekly digest, in-memory job store."""
    holder = holder or worker_identity()
    ttl = timedelta(seconds=max(3 * tick_seconds, 60))

    def beat() -> None:
        report = tick(app, mailer, app.clock.now(), holder, ttl)
        if report.idle:
            log.debug("another worker holds the lease; idle")
        elif report.sweep.fired or report.delivery.sent or report.delivery.retried \
                or report.delivery.dead:
            log.info("fired %d deadlines, sent %d, retry %d, dead %d", report.sweep.fired,
                     report.delivery.sent, report.delivery.retried, report.delivery.dead)

    def digest() -> None:
        log.info("wrote %d digests", write_digests(app, app.clock.now()))

    options: dict[str, Any] = {"replace_existing": True, "coalesce": True, "max_instances": 1,
                               "misfire_grace_time": None}
    scheduler = BlockingScheduler(timezone=AMSTERDAM)
    scheduler.add_job(beat, "interval", seconds=tick_seconds, id=TICK_JOB,
                      next_run_time=app.clock.now(), **options)
    scheduler.add_job(digest, digest_trigger(), id=DIGEST_JOB, **options)
    return scheduler


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def run_forever(app: App, mailer: Mailer, tick_seconds: int = 60) -> None:
    """Tick every ``tick_seconds`` until interrupted; gives the lease up on the way out."""
    if isinstance(app.clock, FixedClock):
        raise InvalidInput("a fixed clock (--now) does not move; use --until for simulated time")
    holder = worker_identity()
    scheduler = build_scheduler(app, mailer, tick_seconds, holder)
    log.info("worker %s ticking every %d s", holder, tick_seconds)
    if threading.current_thread() is threading.main_thread():
        # Service managers and containers stop a process with SIGTERM: leave as on Ctrl-C, so
        # the lease is given up at once instead of blocking other workers until it expires.
        signal.signal(signal.SIGTERM, _stop)
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # started in the background
            signal.signal(signal.SIGINT, _stop)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("worker %s stopping", holder)
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
        if _needs_lease(app):
            worker_repo.release_lease(app.engine, LEASE_NAME, holder)


