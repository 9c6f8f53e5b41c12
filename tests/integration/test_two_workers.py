"""Two workers on one database: no deadline fires twice, none is missed.

* PostgreSQL: two Apps (two engines) on the same schema tick at the same moment in two threads.
  Row claims (``FOR UPDATE SKIP LOCKED``) split the 300 due deadlines between them; a barrier
  holds both first claims open at once, so the split is real, not one worker after the other.
* SQLite: two engines on the same file. The lease admits one worker; the other idles until the
  lease expires (the first worker stopped without giving it up) or is released.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Row

from kovflow.clock import FixedClock
from kovflow.config import Settings
from kovflow.notify.mailers import MemoryMailer
from kovflow.scheduling import sweep
from kovflow.scheduling.worker import LEASE_NAME, RunReport, tick
from kovflow.services import App, build_app, open_case
from kovflow.store import repo, worker_repo
from tests.conftest import START, World

TOTAL = 300
CASES = 30
ROLES = ("coach", "manager", "pm")  # each held by exactly one user of the location
TTL = timedelta(minutes=3)


@pytest.fixture
def second_app(world: World, db_url: str) -> Iterator[App]:
    """Another process's view: its own App and engine on the same database."""
    other = build_app(Settings(), clock=FixedClock(START), database_url=db_url)
    yield other
    other.engine.dispose()


def _due_deadlines(world: World, due: Callable[[int], datetime]) -> None:
    """TOTAL reminders over CASES cases (TOTAL / CASES each), the i-th due at ``due(i)``."""
    instances = []
    for n in range(CASES):
        case = open_case(world.app, world.coach, first_name=f"Kind{n}", initial="K",
                         birth_date=date(2024, 1, 1), location=world.location).case_number
        with world.app.engine.connect() as conn:
            case_row = repo.case_by_number(conn, case)
            assert case_row is not None
            [inst] = repo.case_instances(conn, case_row.id)
        instances.append(inst)
    rows = []
    for i in range(TOTAL):
        inst = instances[i % CASES]
        rows.append({
            "case_id": inst.case_id, "instance_id": inst.id, "rule": f"r{i}", "kind": "reminder",
            "role": ROLES[i % len(ROLES)], "template": "herinnering", "due_at": due(i),
            "every": "", "created_at": START, "fired_at": None, "cancelled_at": None})
    with world.app.engine.begin() as conn:
        repo.add_rows(conn, repo.deadlines, rows)


def _check_once_each(world: World, mailers: Sequence[MemoryMailer]) -> None:
    """Every deadline fired once, with one outbox row each, and each row was sent once."""
    with world.app.engine.connect() as conn:
        deadlines = [d for d in conn.execute(repo.deadlines.select()).all()
                     if d.rule.startswith("r")]
        outbox = [o for o in repo.outbox_rows(conn) if o.context.get("soort") == "herinnering"]
    assert len(deadlines) == TOTAL
    assert all(d.fired_at is not None and d.cancelled_at is None for d in deadlines)
    # One message per deadline: the same count per (case, role) as there are deadlines.
    assert Counter((o.case_id, o.recipient_role) for o in outbox) == \
        Counter((d.case_id, d.role) for d in deadlines)
    assert all(o.status == "sent" for o in outbox)
    sent = [m.message_id for mailer in mailers for m in mailer.sent]
    assert len(sent) == len(set(sent)) == TOTAL  # never sent twice, by either worker
    assert set(sent) == {o.message_id for o in outbox}


def test_two_workers_on_postgresql_split_300_due_deadlines(
        world: World, second_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    if world.app.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (KOVFLOW_TEST_DATABASE_URL): SQLite has no row claims")
    _due_deadlines(world, lambda i: START - timedelta(minutes=i % 90))
    monkeypatch.setattr(sweep, "BATCH", 40)  # several claims per worker
    original = worker_repo.claim_due_deadlines
    first_claims_open = threading.Barrier(2, timeout=30)
    local = threading.local()
    claimed: dict[str, list[int]] = {"a": [], "b": []}

    def claim(conn: Connection, now: datetime, limit: int) -> Sequence[Row[Any]]:
        rows = original(conn, now, limit)
        claimed[local.name].extend(r.id for r in rows)
        if not getattr(local, "met", False):
            local.met = True
            # Both workers hold their first claim (rows locked, not yet fired) at this point:
            # the second one's claim skipped the first one's rows.
            first_claims_open.wait()
        return rows

    monkeypatch.setattr(worker_repo, "claim_due_deadlines", claim)
    apps = {"a": world.app, "b": second_app}
    mailers = {"a": MemoryMailer(), "b": MemoryMailer()}
    reports: dict[str, RunReport] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2, timeout=30)

    def worker(name: str) -> None:
        local.name = name
        start.wait()
        try:
            reports[name] = tick(apps[name], mailers[name], START, f"worker-{name}:1", TTL)
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    fired = {name: report.sweep.fired for name, report in reports.items()}
    assert fired["a"] > 0 and fired["b"] > 0 and fired["a"] + fired["b"] == TOTAL
    assert all(report.idle == 0 for report in reports.values())  # no lease on PostgreSQL
    assert not set(claimed["a"]) & set(claimed["b"])  # the claims were disjoint
    assert len(claimed["a"]) + len(claimed["b"]) == TOTAL
    assert sum(r.delivery.sent for r in reports.values()) == TOTAL
    _check_once_each(world, list(mailers.values()))

    # A later beat of both finds nothing left to do.
    monkeypatch.undo()
    for name in apps:
        again = tick(apps[name], mailers[name], START + timedelta(minutes=5), f"worker-{name}:1",
                     TTL)
        assert (again.sweep.fired, again.delivery.sent) == (0, 0)
    _check_once_each(world, list(mailers.values()))


def test_two_workers_on_one_sqlite_file_take_turns_through_the_lease(
        world: World, second_app: App) -> None:
    if world.app.engine.dialect.name != "sqlite":
        pytest.skip("on PostgreSQL workers share the work through row claims, not a lease")
    assert world.app.engine is not second_app.engine
    # Half due by START, half two minutes later (while the first worker's lease still runs).
    _due_deadlines(world, lambda i: START - timedelta(minutes=i) if i % 2 else
                   START + timedelta(minutes=2))
    apps = {"a": world.app, "b": second_app}
    mailers = {"a": MemoryMailer(), "b": MemoryMailer()}
    holders = {"a": "worker-a:1", "b": "worker-b:2"}

    def beat(name: str, now: datetime) -> RunReport:
        return tick(apps[name], mailers[name], now, holders[name], TTL)

    # Both beat at START at the same time: the lease admits exactly one.
    reports: dict[str, RunReport] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2, timeout=30)

    def worker(name: str) -> None:
        start.wait()
        try:
            reports[name] = beat(name, START)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    [first] = [name for name, r in reports.items() if r.idle == 0]
    [other] = [name for name, r in reports.items() if r.idle == 1]
    assert reports[first].sweep.fired == TOTAL // 2 and reports[first].delivery.sent == TOTAL // 2
    assert reports[other].sweep.fired == 0 and mailers[other].sent == []
    with world.app.engine.connect() as conn:
        assert worker_repo.current_lease_holder(conn, LEASE_NAME, START) == holders[first]

    # The first worker stops without giving the lease up (killed). The other keeps idling
    # while the lease runs, though the second half is due by now ...
    idle = beat(other, START + timedelta(minutes=2))
    assert (idle.idle, idle.sweep.fired) == (1, 0)
    # ... and takes over once it has expired (START + TTL), firing what is due, once.
    taken = beat(other, START + TTL)
    assert (taken.idle, taken.sweep.fired, taken.delivery.sent) == (0, TOTAL // 2, TOTAL // 2)
    # The first worker comes back: now it idles.
    back = beat(first, START + TTL + timedelta(minutes=1))
    assert (back.idle, back.sweep.fired) == (1, 0)
    # The other stops cleanly and releases the lease: the first acts at once, with nothing left.
    worker_repo.release_lease(apps[other].engine, LEASE_NAME, holders[other])
    resumed = beat(first, START + TTL + timedelta(minutes=2))
    assert (resumed.idle, resumed.sweep.fired, resumed.delivery.sent) == (0, 0, 0)
    assert len(mailers[first].sent) == len(mailers[other].sent) == TOTAL // 2
    _check_once_each(world, list(mailers.values()))
