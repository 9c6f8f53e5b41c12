"""The sweep turns due deadlines into messages once; the worker catches up; the lease admits one."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from kovflow.clock import SystemClock
from kovflow.errors import InvalidInput
from kovflow.notify.mailers import MemoryMailer
from kovflow.scheduling.sweep import ESCALATION_TITLE, next_turn, sweep_due
from kovflow.scheduling.worker import (
    TICK_JOB,
    build_scheduler,
    run_until,
    tick,
    write_digests,
)
from kovflow.services import add_user, fire, open_case
from kovflow.store import repo, worker_repo
from tests.conftest import START, World

AMS = ZoneInfo("Europe/Amsterdam")
PLAATS = {"groep": "Bijen", "startdatum": "2026-12-01", "mentor": "pm", "vve_indicatie": "nee"}
SIX_WEEKS = timedelta(weeks=6)


def _open(world: World, first_name: str = "Sam") -> str:
    return open_case(world.app, world.coach, first_name=first_name, initial="J",
                     birth_date=date(2024, 5, 1), location=world.location).case_number


def _refusing_parents(world: World) -> str:
    """Placed, then the wijkcoach route: a wijkcoach is needed, the parents refuse (scenario 3)."""
    case = _open(world)
    fire(world.app, world.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    fire(world.app, world.coach, "wijkcoach", "wijkcoach_nodig", case=case)
    fire(world.app, world.coach, "wijkcoach", "ouders_weigeren", case=case)
    return case


def _instance(world: World, case: str, route: str) -> Any:
    with world.app.engine.connect() as conn:
        case_row = repo.case_by_number(conn, case)
        assert case_row is not None
        return [r for r in repo.case_instances(conn, case_row.id) if r.route_id == route][-1]


def _deadlines(world: World, case: str, route: str, rule: str) -> list[Any]:
    with world.app.engine.connect() as conn:
        rows = repo.instance_deadlines(conn, _instance(world, case, route).id)
    return [r for r in rows if r.rule == rule]


def _messages(world: World, soort: str | None = None) -> list[Any]:
    with world.app.engine.connect() as conn:
        rows = repo.outbox_rows(conn)
    return [r for r in rows if soort is None or r.context.get("soort") == soort]


def _count(world: World, table: str) -> int:
    with world.app.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _snapshot(world: World) -> dict[str, int]:
    return {t: _count(world, t) for t in ("deadlines", "outbox", "tasks", "events")}


def test_recurring_reminder_fires_once_per_turn_with_the_next_turn(world: World) -> None:
    case = _refusing_parents(world)
    [first] = _deadlines(world, case, "wijkcoach", "opnieuw_benaderen")
    assert first.kind == "recurring" and first.every == "6 weeks" and first.role == "coach"
    due = first.due_at
    assert due == world.app.calendar.add_days(START, 42)

    before = _snapshot(world)
    report = sweep_due(world.app, due - timedelta(minutes=1))
    assert report.fired == 0 and _snapshot(world) == before

    report = sweep_due(world.app, due)
    assert (report.fired, report.messages, report.next_turns) == (1, 1, 1)
    [message] = _messages(world, "herinnering")
    assert (message.template, message.recipient_role, message.to_address, message.status) == (
        "herinnering", "coach", "coach@example.org", "pending")
    assert message.context == {"soort": "herinnering", "link": "http://127.0.0.1:8000/taken"}
    fired, following = _deadlines(world, case, "wijkcoach", "opnieuw_benaderen")
    assert fired.fired_at == due and following.fired_at is None
    assert following.due_at == world.app.calendar.add_days(due, 42)
    assert following.due_at.astimezone(AMS).hour == 9  # the wall clock stays at 09:00

    after = _snapshot(world)
    again = sweep_due(world.app, due)
    assert again.fired == 0 and _snapshot(world) == after


def test_a_worker_down_for_20_weeks_sends_one_reminder_and_skips_missed_turns(
        world: World) -> None:
    case = _refusing_parents(world)
    [first] = _deadlines(world, case, "wijkcoach", "opnieuw_benaderen")
    back = first.due_at + timedelta(weeks=20)
    mailer = MemoryMailer()
    world.app.clock.set(back)  # type: ignore[attr-defined]
    report = run_until(world.app, mailer, back)
    assert report.sweep.fired == 1 and report.delivery.sent == 1
    assert [m.to for m in mailer.sent] == ["coach@example.org"]
    rows = _deadlines(world, case, "wijkcoach", "opnieuw_benaderen")
    live = [r for r in rows if r.fired_at is None and r.cancelled_at is None]
    assert len(rows) == 2 and len(live) == 1
    # Turns at 0, 6, 12 and 18 weeks have passed; the next one is at 24 weeks, after now.
    assert live[0].due_at == world.app.calendar.add_days(first.due_at, 24 * 7) > back
    assert sweep_due(world.app, back).fired == 0


def test_next_turn_keeps_the_cadence_and_refuses_bad_intervals(world: World) -> None:
    cal = world.app.calendar
    jan31 = datetime(2027, 1, 31, 9, tzinfo=AMS)
    # Months clamp without drifting: 31 Jan, 28 Feb, 31 Mar (not 28 Mar).
    assert next_turn(cal, jan31, "1 months", jan31 + timedelta(days=40)) == \
        datetime(2027, 3, 31, 9, tzinfo=AMS)
    assert next_turn(cal, jan31, "", jan31) is None
    assert next_turn(cal, jan31, "0 weeks", jan31) is None
    assert next_turn(cal, jan31, "6 fortnights", jan31) is None


def test_cancelled_deadlines_never_fire(world: World) -> None:
    case = _refusing_parents(world)
    fire(world.app, world.coach, "wijkcoach", "ouders_heroverwegen", case=case)
    [row] = _deadlines(world, case, "wijkcoach", "opnieuw_benaderen")
    assert row.cancelled_at is not None
    report = sweep_due(world.app, START + timedelta(weeks=60))
    assert report.fired == 0
    assert _messages(world, "herinnering") == []


def test_intake_reminder_fires_one_werkdag_before_counting_christmas(world: World) -> None:
    case = _open(world)
    # Monday 28 December 2026: Friday 25 is Christmas, so one werkdag before is Thursday 24.
    fire(world.app, world.coach, "plaatsing", "plan_intake", case=case,
         data={"intake_datum": "2026-12-28"})
    [row] = _deadlines(world, case, "plaatsing", "herinnering_intake")
    assert row.due_at == datetime(2026, 12, 24, 9, tzinfo=AMS)
    mailer = MemoryMailer()
    run_until(world.app, mailer, datetime(2026, 12, 24, 8, 59, tzinfo=AMS),
              step=timedelta(hours=6))
    assert [m for m in mailer.sent if m.subject.startswith("Herinnering")] == []
    run_until(world.app, mailer, datetime(2026, 12, 24, 12, 0, tzinfo=AMS))
    reminders = [m for m in mailer.sent if m.subject.startswith("Herinnering")]
    assert [(m.to, m.date.astimezone(AMS).date()) for m in reminders] == [
        ("coach@example.org", date(2026, 12, 24))]


def test_an_escalation_opens_a_task_and_messages_the_escalation_role(world: World) -> None:
    case = _open(world)
    inst = _instance(world, case, "plaatsing")
    due = START + timedelta(days=3)
    with world.app.engine.begin() as conn:
        repo.add_rows(conn, repo.deadlines, [{
            "case_id": inst.case_id, "instance_id": inst.id, "rule": "x__escalatie",
            "kind": "escalation", "role": "manager", "template": "escalatie", "due_at": due,
            "every": "", "created_at": START, "fired_at": None, "cancelled_at": None}])
    report = sweep_due(world.app, due + timedelta(hours=1))
    assert (report.fired, report.escalations, report.messages) == (1, 1, 1)
    [message] = _messages(world, "escalatie")
    assert (message.to_address, message.template) == ("manager@example.org", "escalatie")
    with world.app.engine.connect() as conn:
        opened = [t for t in repo.instance_tasks(conn, inst.id) if t.title == ESCALATION_TITLE]
    assert [(t.role, t.state, t.due_at, t.closed_at) for t in opened] == [
        ("manager", inst.state, due + timedelta(hours=1), None)]


def test_a_role_nobody_holds_leaves_a_visible_no_recipient_row(world: World) -> None:
    case = _open(world)
    inst = _instance(world, case, "plaatsing")
    with world.app.engine.begin() as conn:
        repo.add_rows(conn, repo.deadlines, [{
            "case_id": inst.case_id, "instance_id": inst.id, "rule": "niemand",
            "kind": "reminder", "role": "logopedist", "template": "herinnering", "due_at": START,
            "every": "", "created_at": START, "fired_at": None, "cancelled_at": None}])
    report = sweep_due(world.app, START)
    assert (report.fired, report.messages, report.no_recipient) == (1, 0, 1)
    [row] = _messages(world, "herinnering")
    assert row.status == "no_recipient" and "logopedist" in row.last_error


def test_two_sweeps_racing_never_fire_a_deadline_twice(world: World) -> None:
    case = _open(world)
    inst = _instance(world, case, "plaatsing")
    total = 120
    with world.app.engine.begin() as conn:
        repo.add_rows(conn, repo.deadlines, [{
            "case_id": inst.case_id, "instance_id": inst.id, "rule": f"r{i}", "kind": "reminder",
            "role": "coach", "template": "herinnering", "due_at": START - timedelta(minutes=i),
            "every": "", "created_at": START, "fired_at": None, "cancelled_at": None}
            for i in range(total)])
    barrier = threading.Barrier(2)
    fired: list[int] = []
    errors: list[BaseException] = []

    def sweeper() -> None:
        barrier.wait()
        try:
            fired.append(sweep_due(world.app, START, batch=10).fired)
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(fired) == total
    reminders = _messages(world, "herinnering")
    assert len(reminders) == total  # one recipient each, never two rows for one deadline
    with world.app.engine.connect() as conn:
        unfired = conn.execute(select(func.count()).select_from(repo.deadlines).where(
            repo.deadlines.c.fired_at.is_(None), repo.deadlines.c.rule.like("r%"))).scalar_one()
    assert unfired == 0


def test_the_lease_admits_one_holder_until_it_expires(world: World) -> None:
    engine, now, ttl = world.app.engine, START, timedelta(minutes=3)
    assert worker_repo.acquire_lease(engine, "kovflow-worker", "a:1", now, ttl)
    assert not worker_repo.acquire_lease(engine, "kovflow-worker", "b:2", now, ttl)
    assert worker_repo.acquire_lease(engine, "kovflow-worker", "a:1", now + ttl / 2, ttl)  # renew
    assert not worker_repo.acquire_lease(engine, "kovflow-worker", "b:2", now + ttl, ttl)
    later = now + ttl / 2 + ttl  # a:1 stopped renewing
    assert worker_repo.acquire_lease(engine, "kovflow-worker", "b:2", later, ttl)
    assert not worker_repo.acquire_lease(engine, "kovflow-worker", "a:1", later, ttl)
    worker_repo.release_lease(engine, "kovflow-worker", "a:1")  # not a:1's to release
    assert not worker_repo.acquire_lease(engine, "kovflow-worker", "a:1", later, ttl)
    worker_repo.release_lease(engine, "kovflow-worker", "b:2")
    assert worker_repo.acquire_lease(engine, "kovflow-worker", "a:1", later, ttl)


def test_on_sqlite_a_second_worker_idles_while_the_first_holds_the_lease(world: World) -> None:
    if world.app.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL workers share the work through row claims, not a lease")
    _refusing_parents(world)
    mailer = MemoryMailer()
    ttl = timedelta(minutes=3)
    far = START + timedelta(weeks=7)
    assert tick(world.app, mailer, START, "first:1", ttl).idle == 0
    idle = tick(world.app, mailer, START, "second:2", ttl)
    assert idle.idle == 1 and idle.sweep.fired == 0
    taken_over = tick(world.app, mailer, far, "second:2", ttl)  # first:1's lease expired long ago
    assert taken_over.idle == 0 and taken_over.sweep.fired == 1


def test_weekly_digest_counts_overdue_tasks_once_per_week(world: World) -> None:
    add_user(world.app, world.operator, "coordinator", ["coordinator"],
             email="coordinator@example.org", location="ZON")
    _open(world)  # its first task is due in 10 werkdagen
    monday = datetime(2026, 12, 14, 8, tzinfo=AMS)
    assert write_digests(world.app, monday) == 1
    assert write_digests(world.app, monday + timedelta(hours=1)) == 0  # same week: same message
    [digest] = _messages(world, "digest")
    assert digest.to_address == "coordinator@example.org" and digest.case_id is None
    assert digest.context["aantal"] == 1
    assert set(digest.context) == {"soort", "link", "aantal", "regels"}
    assert dict(digest.context["regels"])["taak_over_tijd"] == 1
    mailer = MemoryMailer()
    world.app.clock.set(monday)  # type: ignore[attr-defined]
    run_until(world.app, mailer, monday + timedelta(hours=1))
    assert [m.to for m in mailer.sent] == ["coordinator@example.org"]


def test_simulated_time_writes_the_digest_on_monday_morning(world: World) -> None:
    add_user(world.app, world.operator, "coordinator", ["coordinator"],
             email="coordinator@example.org", location="ZON")
    mailer = MemoryMailer()
    report = run_until(world.app, mailer, START + timedelta(days=15), step=timedelta(hours=2))
    # START is Monday 23 November 09:00: the digests of 30 November and 7 December.
    assert report.digests == 2
    assert sorted(m.date.astimezone(AMS) for m in mailer.sent if m.to.startswith("coord")) == [
        datetime(2026, 11, 30, 9, tzinfo=AMS), datetime(2026, 12, 7, 9, tzinfo=AMS)]


def test_run_until_needs_a_fixed_clock_and_a_later_moment(world: World) -> None:
    with pytest.raises(InvalidInput, match="before the clock"):
        run_until(world.app, MemoryMailer(), START - timedelta(days=1))
    world.app.clock = SystemClock()
    with pytest.raises(InvalidInput, match="fixed clock"):
        run_until(world.app, MemoryMailer(), datetime(2030, 1, 1, tzinfo=UTC))


def test_the_scheduler_is_a_metronome_with_one_coalescing_tick(world: World) -> None:
    scheduler = build_scheduler(world.app, MemoryMailer(), tick_seconds=30, holder="test:1")
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {TICK_JOB, "kovflow-digest"}
    for job in jobs.values():
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
    assert jobs[TICK_JOB].trigger.interval == timedelta(seconds=30)
    assert "day_of_week='mon'" in str(jobs["kovflow-digest"].trigger)
    assert "hour='8'" in str(jobs["kovflow-digest"].trigger)
    _refusing_parents(world)
    world.app.clock.set(START + timedelta(weeks=7))  # type: ignore[attr-defined]
    jobs[TICK_JOB].func()  # the job's own callable: one beat at the app's clock
    assert len(_messages(world, "herinnering")) == 1
