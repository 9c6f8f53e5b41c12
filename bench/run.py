"""kovflow benchmarks: steps, deadline sweeps and mail delivery against raw floors; CLI start-up.

Run with ``make bench`` (or ``.venv/bin/python bench/run.py``). This is a measurement, not a test:
it prints a table and writes one JSON object per figure to ``bench/results/latest.jsonl``.

Method (see /work/shared/reference/performance-anchors.md):

* ``transition_sqlite``: a kovflow step is one ``kovflow.services.fire`` call, i.e. one write
  transaction, by a real actor (a user with role ``coach``) on a SQLite file database in a temp
  dir, created with ``kovflow.store.migrate.upgrade``. Setup opens ``--cases`` cases (default
  2,000) with ``open_case`` and fires ``plaats``, which starts ``wijkcoach`` in ``navraag``. The
  measured loop visits the cases round-robin and walks the ``wijkcoach`` route through
  navraag -wijkcoach_nodig-> motiveren -ouders_weigeren-> ouders_houden_af
  -ouders_heroverwegen-> motiveren -> ... Every step closes the open task, cancels pending
  deadlines, appends a hash-chained event and opens a task (motiveren) or sets a recurring
  deadline (ouders_houden_af). None of these transitions needs a consent guard. No shipped route
  notifies anyone on a transition, so these steps write no outbox row. A ``FixedClock`` moves
  one second per step.
* The floor, measured in the same run: a second database created the same way (the kovflow
  migration), filled with a copy of the same rows, driven by the stdlib ``sqlite3`` module with
  the same pragmas (WAL, synchronous=NORMAL, busy_timeout, foreign_keys) and ``BEGIN IMMEDIATE``.
  One floor transaction executes as many SELECT, UPDATE and INSERT statements as one kovflow step
  does. The script counts those statements on a probe case with an SQLAlchemy
  ``before_cursor_execute`` listener on ``app.engine`` and prints them. The floor runs plain
  parameterized statements against the same tables with realistic values: it reads the case by
  number, its instances and the event-chain head, compare-and-sets the instance, closes tasks,
  cancels deadlines and inserts the event and the task or deadline row.
* ``transition_postgres``: the same on PostgreSQL, when reachable, in a fresh schema per run
  (``?options=-csearch_path%3D<schema>``). The schemas are dropped at the end. The floor uses raw
  psycopg and reads the instance rows ``FOR UPDATE``. URL: ``KOVFLOW_BENCH_DATABASE_URL``,
  default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``.
* Floor and kovflow run round-robin: after a warm-up, 5 repeats of a 1.5 s time-bounded loop
  each, alternating, so disk drift affects both alike. Figures are median [min-max];
  ``ratio`` = kovflow median / floor median (higher is better). Differences under ~20% are
  noise on the reference machine.
* ``cli_startup``: wall time of ``.venv/bin/kovflow --help`` (median of 7 runs) against
  ``python -c pass`` (the floor), alternating; ``ratio`` = kovflow time / python time (lower is
  better).

* ``deadline_sweep``: due deadlines per second through ``kovflow.scheduling.sweep.sweep_due``
  for a burst of 100,000 due rows on SQLite (1,000 cases opened with ``open_case``, the rows
  inserted directly: the plaatsing intake reminder for the case's coach, one outbox row each).
  The floor runs the sweep's statements with stdlib ``sqlite3`` on the same file: per batch of
  500, the claiming SELECT (same join), one recipient SELECT per (case, location, role), an
  executemany UPDATE of fired_at and an executemany INSERT of the outbox rows. Both sides'
  statements are counted over a warm-up burst and printed. The file is restored from a snapshot
  before every turn, so each turn starts from the same bytes. Turns time a whole burst (2 per
  side). ``deadline_sweep_postgres``: the same with 20,000 rows and 500 cases in a fresh schema
  (TRUNCATE, COPY and ANALYZE between turns), the floor on raw psycopg with
  ``FOR UPDATE OF deadlines SKIP LOCKED``.
* ``mail_delivery``: outbox rows per second through ``kovflow.notify.outbox.deliver_pending``
  with ``SmtpMailer`` (a connection per batch of 100) into a discarding aiosmtpd in a child
  process, 2,000 pending rows on SQLite; the floor sends the same messages, built beforehand,
  with plain aiosmtplib over one connection. 3 turns per side, each a whole burst.

Options: ``--only NAME`` (one figure, repeatable; other lines of the results file are kept),
``--quick`` (smaller data, fewer repeats), ``--skip-postgres``, ``--profile N`` (cProfile N
kovflow steps on SQLite, or with ``--only deadline_sweep`` / ``--only mail_delivery`` a sweep of
N deadlines / delivery of N messages; prints the top entries, measures and writes nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosmtplib
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from kovflow.actor import Actor
from kovflow.clock import FixedClock
from kovflow.config import Settings
from kovflow.notify.mailers import OutgoingMail, SmtpMailer, build_mime
from kovflow.notify.outbox import deliver_pending
from kovflow.notify.render import MailContext, link_for, render
from kovflow.scheduling.sweep import BATCH as SWEEP_BATCH
from kovflow.scheduling.sweep import sweep_due
from kovflow.services import (
    App,
    add_location,
    add_user,
    build_app,
    fire,
    open_case,
    resolve_actor,
)
from kovflow.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.jsonl"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
STEP = timedelta(seconds=1)
ROUTE = "wijkcoach"
# The measured cycle: state of the wijkcoach instance -> the trigger fired from it.
NEXT = {"navraag": "wijkcoach_nodig", "motiveren": "ouders_weigeren",
        "ouders_houden_af": "ouders_heroverwegen"}
PLAATS = {"groep": "Vlinders", "startdatum": "2026-12-01", "mentor": "Mies de Vries",
          "vve_indicatie": False}
KINDS = ("SELECT", "UPDATE", "INSERT")
# Copy order for the floor database (foreign keys are checked per statement on PostgreSQL).
TABLE_ORDER = ("locations", "users", "cases", "participants", "consents", "route_instances",
               "events", "tasks", "deadlines", "outbox")


@dataclass
class Config:
    cases: int = 2000
    pg_cases: int = 1000  # setup through kovflow costs ~20 ms a case on PostgreSQL here
    repeats: int = 5
    seconds: float = 1.5
    warmup: float = 0.5
    cli_runs: int = 7
    sweep_rows: int = 100_000
    sweep_cases: int = 1000  # a batch of 500 then touches 500 cases: one recipient query each
    sweep_pg_rows: int = 20_000
    sweep_pg_cases: int = 500
    sweep_repeats: int = 2  # each repeat is a whole burst per side (~1 min on SQLite)
    mail_messages: int = 2000
    mail_repeats: int = 3


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    runs: list[float]
    goal: str
    floor: float | None = None
    floor_runs: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.value / self.floor if self.floor else None

    def record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {"name": self.name, "value": round(self.value, 4),
                               "unit": self.unit, "min": round(min(self.runs), 4),
                               "max": round(max(self.runs), 4), "runs": len(self.runs)}
        if self.floor is not None:
            rec.update(floor=round(self.floor, 4), floor_min=round(min(self.floor_runs), 4),
                       floor_max=round(max(self.floor_runs), 4),
                       ratio=round(self.ratio or 0.0, 4))
        rec["goal"] = self.goal
        rec.update(self.extra)
        return rec


# --- kovflow side ---------------------------------------------------------------------------

class KovflowLoad:
    """Round-robin steps through ``fire`` on the cases opened by ``setup``."""

    def __init__(self, app: App, clock: FixedClock, actor: Actor, states: dict[str, str]) -> None:
        self.app, self.clock, self.actor, self.states = app, clock, actor, states
        self.numbers = list(states)
        self.i = 0

    def step(self) -> None:
        number = self.numbers[self.i % len(self.numbers)]
        self.i += 1
        self.clock.advance(STEP)
        result = fire(self.app, self.actor, ROUTE, NEXT[self.states[number]], case=number)
        self.states[number] = result.to_state


def setup_kovflow(url: str, n_cases: int, label: str) -> tuple[KovflowLoad, dict[str, Any]]:
    """A migrated database with a location, a coach and ``n_cases`` placed cases whose wijkcoach
    instance stands in motiveren (even cases) or ouders_houden_af (odd cases), so the measured
    steps alternate between opening a task and setting a recurring deadline; plus the statement
    counts of one step per trigger of the cycle (on an extra probe case, left in navraag)."""
    clock = FixedClock(START)
    app = build_app(Settings(), clock=clock, database_url=url)
    upgrade(app.engine)
    op = Actor.installation_operator()
    add_location(app, op, "ZON", "De Zonnebloem", "Presikhaaf", "Kinderopvang Arnhem")
    add_user(app, op, "coach", ["coach"], display_name="Coach", email="coach@example.org",
             organisation="Kinderopvang Arnhem", location="ZON")
    coach = resolve_actor(app, "coach")
    t0 = time.perf_counter()
    states: dict[str, str] = {}
    for i in range(n_cases + 1):
        clock.advance(STEP)
        opened = open_case(app, coach, first_name=f"Kind{i}", initial="A",
                           birth_date=date(2023, 1, 1) + timedelta(days=i % 700), location="ZON")
        number = opened.case_number
        clock.advance(STEP)
        fire(app, coach, "plaatsing", "plaats", case=number, data=PLAATS)
        if i == n_cases:
            probe = number
            break
        state = "navraag"
        for _ in range(1 + i % 2):
            clock.advance(STEP)
            state = fire(app, coach, ROUTE, NEXT[state], case=number).to_state
        states[number] = state
    print(f"  {label}: {n_cases} cases opened, placed and moved to "
          f"motiveren/ouders_houden_af in {time.perf_counter() - t0:.1f} s")
    counts = count_statements(app, clock, coach, probe)
    return KovflowLoad(app, clock, coach, states), counts


def count_statements(app: App, clock: FixedClock, actor: Actor, number: str) -> dict[str, Any]:
    """SELECT/UPDATE/INSERT statements per step, for each trigger of the cycle."""
    seen: list[str] = []

    def listener(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    per_trigger: dict[str, dict[str, int]] = {}
    state = "navraag"
    event.listen(app.engine, "before_cursor_execute", listener)
    try:
        for _ in range(4):  # wijkcoach_nodig, ouders_weigeren, ouders_heroverwegen, weigeren
            seen.clear()
            clock.advance(STEP)
            trigger = NEXT[state]
            state = fire(app, actor, ROUTE, trigger, case=number).to_state
            c = Counter(seen)
            per_trigger[trigger] = {k: c.get(k, 0) for k in (*KINDS, "BEGIN")}
            other = sorted(set(c) - {*KINDS, "BEGIN"})
            if other:
                per_trigger[trigger]["other"] = sum(c[k] for k in other)
    finally:
        event.remove(app.engine, "before_cursor_execute", listener)
    cycle = [per_trigger[t] for t in ("ouders_weigeren", "ouders_heroverwegen")]
    step = {k: max(c[k] for c in cycle) for k in KINDS}
    if any(c[k] != step[k] for c in cycle for k in KINDS):
        print(f"  note: statement counts differ between cycle steps: {per_trigger}")
    return {"per_trigger": per_trigger, "step": step}


# --- floor side -----------------------------------------------------------------------------

CASE_COLS = ("id, case_number, first_name, initial, birth_date, location_id, facts, created_at, "
             "created_by")
INST_COLS = ("id, case_id, location_id, route_id, route_version, state, revision, data, "
             "started_at, updated_at, closed_at")
EVENT_COLS = ("chain, seq, case_id, instance_id, at, actor, kind, route_id, route_version, "
              '"trigger", from_state, to_state, payload, prev_hash, hash')
TASK_COLS = ("case_id, instance_id, route_id, state, role, assignee_user_id, title, opened_at, "
             "due_at, closed_at")
DL_COLS = ("case_id, instance_id, rule, kind, role, template, due_at, every, created_at, "
           "fired_at, cancelled_at")
OUTBOX_COLS = ("message_id, case_id, template, recipient_role, recipient_user_id, to_address, "
               "context, status, attempts, created_at, next_attempt_at, sent_at, last_error")
TASK_TITLE = "Motiveer de ouders voor kennismaking met de wijkcoach"
TO = {"navraag": "motiveren", "motiveren": "ouders_houden_af", "ouders_houden_af": "motiveren"}


def _sql(ph: str, for_update: str) -> dict[str, str]:
    """The floor's statements, for placeholder ``ph`` (? or %s)."""
    def vals(n: int) -> str:
        return ", ".join([ph] * n)
    return {
        "case_by_number": f"SELECT {CASE_COLS} FROM cases WHERE case_number = {ph}",
        "instances": f"SELECT {INST_COLS} FROM route_instances WHERE case_id = {ph} "
                     f"ORDER BY id{for_update}",
        "chain_head": f"SELECT seq, hash FROM events WHERE chain = {ph} "
                      "ORDER BY seq DESC LIMIT 1",
        "case_by_id": f"SELECT {CASE_COLS} FROM cases WHERE id = {ph}",
        "cas": f"UPDATE route_instances SET state = {ph}, revision = {ph}, updated_at = {ph} "
               f"WHERE id = {ph} AND revision = {ph}",
        "close_tasks": f"UPDATE tasks SET closed_at = {ph} WHERE instance_id = {ph} "
                       "AND closed_at IS NULL",
        "cancel_deadlines": f"UPDATE deadlines SET cancelled_at = {ph} WHERE instance_id = {ph} "
                            "AND fired_at IS NULL AND cancelled_at IS NULL",
        "touch": f"UPDATE route_instances SET updated_at = {ph} WHERE id = {ph}",
        "event": f"INSERT INTO events ({EVENT_COLS}) VALUES ({vals(15)})",
        "task": f"INSERT INTO tasks ({TASK_COLS}) VALUES ({vals(10)})",
        "deadline": f"INSERT INTO deadlines ({DL_COLS}) VALUES ({vals(11)})",
        "outbox": f"INSERT INTO outbox ({OUTBOX_COLS}) VALUES ({vals(13)})",
    }


class FloorLoad:
    """Raw-driver transactions with the same statement counts as one kovflow step.

    Essential statements come first (read case, read instances, read chain head; compare-and-set;
    insert event); further ones follow kovflow's own (case re-read, close tasks, cancel
    deadlines, task or deadline row), then filler of the same kind if kovflow does even more.
    """

    def __init__(self, conn: Any, sql: dict[str, str], numbers: list[str],
                 counts: dict[str, int], begin: str | None, ts: Callable[[datetime], Any],
                 dumps: Callable[[Any], Any]) -> None:
        self.conn, self.sql, self.numbers, self.begin = conn, sql, numbers, begin
        self.n_sel, self.n_upd, self.n_ins = (counts[k] for k in KINDS)
        self.ts, self.dumps = ts, dumps
        self.now = START + timedelta(days=1)
        self.i = 0
        self.cur = conn.cursor()

    @property
    def statements(self) -> dict[str, int]:
        """What one floor transaction executes (never less than the essential 3/1/1)."""
        return {"SELECT": max(self.n_sel, 3), "UPDATE": max(self.n_upd, 1),
                "INSERT": max(self.n_ins, 1)}

    def step(self) -> None:
        number = self.numbers[self.i % len(self.numbers)]
        self.i += 1
        self.now += STEP
        now = self.ts(self.now)
        cur, q = self.cur, self.sql
        if self.begin:
            cur.execute(self.begin)
        try:
            self._work(cur, q, number, now)
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()

    def _work(self, cur: Any, q: dict[str, str], number: str, now: Any) -> None:
        sel = upd = ins = 0
        cur.execute(q["case_by_number"], (number,))
        case = cur.fetchone()
        cur.execute(q["instances"], (case[0],))
        inst = next(r for r in cur.fetchall() if r[3] == ROUTE)
        chain = f"case:{case[0]}"
        cur.execute(q["chain_head"], (chain,))
        seq, prev = cur.fetchone()
        sel += 3
        while sel < self.n_sel:
            cur.execute(q["case_by_id"], (case[0],))
            cur.fetchone()
            sel += 1
        iid, state, revision = inst[0], inst[5], inst[6]
        to_state = TO[state]
        cur.execute(q["cas"], (to_state, revision + 1, now, iid, revision))
        upd += 1
        if upd < self.n_upd:
            cur.execute(q["close_tasks"], (now, iid))
            upd += 1
        if upd < self.n_upd:
            cur.execute(q["cancel_deadlines"], (now, iid))
            upd += 1
        while upd < self.n_upd:
            cur.execute(q["touch"], (now, iid))
            upd += 1
        digest = f"{seq + 1:064x}"
        cur.execute(q["event"], (chain, seq + 1, case[0], iid, now, "coach", "transition", ROUTE,
                                 1, NEXT[state], state, to_state, self.dumps({}), prev, digest))
        ins += 1
        if ins < self.n_ins:
            if to_state == "motiveren":
                cur.execute(q["task"], (case[0], iid, ROUTE, to_state, "coach", None, TASK_TITLE, now,
                                        self.ts(self.now + timedelta(days=28)), None))
            else:
                cur.execute(q["deadline"], (case[0], iid, "opnieuw_benaderen", "recurring",
                                            "coach", "herinnering",
                                            self.ts(self.now + timedelta(weeks=6)), "6 weeks",
                                            now, None, None))
            ins += 1
        while ins < self.n_ins:
            cur.execute(q["outbox"], (f"<{uuid.uuid4().hex}@kovflow>", case[0], "herinnering",
                                      "coach", 1, "coach@example.org",
                                      self.dumps({"soort": "melding"}), "pending", 0, now, now,
                                      None, ""))
            ins += 1


def _sqlite_ts(moment: datetime) -> str:
    # The text form SQLAlchemy's SQLite DateTime type stores.
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def setup_sqlite_floor(path: Path, source: Path, numbers: list[str],
                       counts: dict[str, int]) -> FloorLoad:
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("ATTACH DATABASE ? AS src", (str(source),))
    conn.execute("BEGIN IMMEDIATE")
    for table in TABLE_ORDER:
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM src.{table}")
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE src")
    conn.execute("PRAGMA foreign_keys=ON")  # as kovflow's engine does
    return FloorLoad(conn, _sql("?", ""), numbers, counts, "BEGIN IMMEDIATE", _sqlite_ts,
                     json.dumps)


# --- timing ---------------------------------------------------------------------------------

def timed(step: Callable[[], None], seconds: float) -> float:
    """Steps per second over a time-bounded loop."""
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        step()
        n += 1
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def round_robin(loads: dict[str, Callable[[], None]], cfg: Config) -> dict[str, list[float]]:
    for step in loads.values():
        timed(step, cfg.warmup)
    runs: dict[str, list[float]] = {name: [] for name in loads}
    for r in range(cfg.repeats):
        for name, step in loads.items():
            runs[name].append(timed(step, cfg.seconds))
        line = "  ".join(f"{n} {v[-1]:,.0f}/s" for n, v in runs.items())
        print(f"  repeat {r + 1}/{cfg.repeats}: {line}")
    return runs


def transition_figure(name: str, runs: dict[str, list[float]], counts: dict[str, Any],
                      floor: FloorLoad, goal: str, extra: dict[str, Any]) -> Figure:
    k, f = runs["kovflow"], runs["floor"]
    paired = [a / b for a, b in zip(k, f, strict=True)]
    if floor.statements != counts["step"]:
        print(f"  note: the floor cannot match {counts['step']}; it runs {floor.statements}")
    return Figure(name, statistics.median(k), "steps/s", k, goal, statistics.median(f), f, {
        "ratio_paired_min": round(min(paired), 4), "ratio_paired_max": round(max(paired), 4),
        "statements_per_step": counts["step"], "floor_statements_per_step": floor.statements,
        **extra})


def bench_sqlite(cfg: Config, tmp: Path) -> Figure:
    print("transition_sqlite: setting up")
    kdb = tmp / "kovflow.db"
    load, counts = setup_kovflow(f"sqlite:///{kdb}", cfg.cases, "kovflow")
    print(f"  one kovflow step executes {counts['per_trigger']}")
    floor = setup_sqlite_floor(tmp / "floor.db", kdb, load.numbers, counts["step"])
    try:
        runs = round_robin({"floor": floor.step, "kovflow": load.step}, cfg)
    finally:
        floor.conn.close()
        load.app.engine.dispose()
    return transition_figure("transition_sqlite", runs, counts, floor, "ratio >= 0.25 (stretch 0.33)",
                             {"cases": cfg.cases, "backend": f"sqlite {sqlite3.sqlite_version}"})


# --- PostgreSQL -----------------------------------------------------------------------------

def _pg_conninfo(url: str) -> dict[str, Any]:
    u = make_url(url)
    info = {"host": u.host or "127.0.0.1", "port": u.port or 5432, "user": u.username,
            "password": u.password, "dbname": u.database}
    return {k: v for k, v in info.items() if v is not None}


@contextmanager
def pg_schemas(url: str, names: list[str]) -> Iterator[None]:
    import psycopg

    admin = psycopg.connect(**_pg_conninfo(url), autocommit=True, connect_timeout=5)
    try:
        for n in names:
            admin.execute(f"CREATE SCHEMA {n}")
        yield
    finally:
        for n in names:
            admin.execute(f"DROP SCHEMA IF EXISTS {n} CASCADE")
        admin.close()


def pg_reachable(url: str) -> str | None:
    """None when reachable, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    try:
        with psycopg.connect(**_pg_conninfo(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure to connect means: skip
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
    return None


def bench_postgres(cfg: Config, url: str) -> Figure:
    import psycopg
    from psycopg.types.json import Json

    tag = uuid.uuid4().hex[:10]
    kschema, fschema = f"kovbench_{tag}", f"kovbench_floor_{tag}"
    sep = "&" if "?" in url else "?"
    print(f"transition_postgres: setting up (schemas {kschema}, {fschema})")
    with pg_schemas(url, [kschema, fschema]):
        load, counts = setup_kovflow(f"{url}{sep}options=-csearch_path%3D{kschema}",
                                     cfg.pg_cases, "kovflow")
        print(f"  one kovflow step executes {counts['per_trigger']}")
        upgrade_engine = create_engine(f"{url}{sep}options=-csearch_path%3D{fschema}")
        upgrade(upgrade_engine)
        with upgrade_engine.begin() as conn:
            for table in TABLE_ORDER:
                conn.execute(text(f"INSERT INTO {fschema}.{table} "
                                  f"SELECT * FROM {kschema}.{table}"))
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{fschema}.{table}', "
                                  f"'id'), COALESCE((SELECT max(id) FROM {fschema}.{table}), 0) "
                                  "+ 1, false)"))
        upgrade_engine.dispose()
        raw = psycopg.connect(**_pg_conninfo(url), options=f"-csearch_path={fschema}")
        floor = FloorLoad(raw, _sql("%s", " FOR UPDATE"), load.numbers, counts["step"], None,
                          lambda m: m, Json)
        try:
            runs = round_robin({"floor": floor.step, "kovflow": load.step}, cfg)
        finally:
            raw.close()
            load.app.engine.dispose()
    version = psycopg.__version__
    return transition_figure("transition_postgres", runs, counts, floor,
                             "ratio >= 0.40 (proposed, anchors G2)",
                             {"cases": cfg.pg_cases, "backend": f"postgresql, psycopg {version}"})


# --- deadline sweep -------------------------------------------------------------------------

# Every benchmark deadline is the plaatsing route's intake reminder (rule, kind, role, template
# as in workflows/plaatsing/v1.toml), set on the case's open plaatsing instance, so the sweep
# finds its spec in the route file and its recipient (the coach who opened the case) among the
# case's participants: one outbox row per deadline.
SWEEP_NOW = START + timedelta(days=1)
SWEEP_DUE0 = START + timedelta(hours=1)
SWEEP_RULE = ("herinnering_intake", "reminder", "coach", "herinnering")
SWEEP_WARMUP_ROWS = 1500
DL_INSERT_COLS = ("case_id", "instance_id", "rule", "kind", "role", "template", "due_at", "every",
                  "created_at", "fired_at", "cancelled_at")
DUE_COLS = ("deadlines.id, deadlines.case_id, deadlines.instance_id, deadlines.rule, "
            "deadlines.kind, deadlines.role, deadlines.template, deadlines.due_at, "
            "deadlines.every, deadlines.created_at, deadlines.fired_at, deadlines.cancelled_at, "
            "route_instances.state, route_instances.closed_at, route_instances.route_id, "
            "route_instances.route_version, "
            "coalesce(cases.location_id, route_instances.location_id)")


def _sweep_sql(ph: str, true: str, lock: str) -> dict[str, str]:
    """The floor's statements: the kovflow sweep's, written by hand (placeholder ``ph``)."""
    return {
        "due": f"SELECT {DUE_COLS} FROM deadlines "
               "JOIN route_instances ON route_instances.id = deadlines.instance_id "
               "LEFT OUTER JOIN cases ON cases.id = deadlines.case_id "
               f"WHERE deadlines.due_at <= {ph} AND deadlines.fired_at IS NULL "
               "AND deadlines.cancelled_at IS NULL ORDER BY deadlines.due_at, deadlines.id "
               f"LIMIT {ph}{lock}",
        "participants": "SELECT users.id, users.email FROM participants "
                        "JOIN users ON users.id = participants.user_id "
                        f"WHERE participants.case_id = {ph} AND participants.role = {ph} "
                        f"AND participants.until IS NULL AND users.active IS {true}",
        "location_users": "SELECT users.id, users.email, users.roles FROM users "
                          f"WHERE users.location_id = {ph} AND users.active IS {true}",
        "fire": f"UPDATE deadlines SET fired_at = {ph} WHERE deadlines.id = {ph} "
                "AND deadlines.fired_at IS NULL",
        "cancel": f"UPDATE deadlines SET cancelled_at = {ph} WHERE deadlines.id = {ph} "
                  "AND deadlines.fired_at IS NULL",
        "outbox": f"INSERT INTO outbox ({OUTBOX_COLS}) VALUES ({', '.join([ph] * 13)})",
    }


class FloorSweep:
    """The sweep's work on the raw driver: per transaction, claim a batch of due rows (with the
    same join), look up each (case, location, role)'s recipients once per batch, mark the rows
    fired (executemany) and insert one outbox row per recipient (executemany)."""

    def __init__(self, conn: Any, sql: dict[str, str], now: Any, begin: str | None,
                 dumps: Callable[[Any], Any], link: str, batch: int) -> None:
        self.conn, self.q, self.now, self.begin = conn, sql, now, begin
        self.dumps, self.link, self.batch = dumps, link, batch
        self.counts: Counter[str] | None = None  # set to count statements (executemany once)

    def _exec(self, cur: Any, name: str, params: Any, many: bool = False) -> None:
        if self.counts is not None:
            self.counts[self.q[name].split(None, 1)[0]] += 1
        if many:
            cur.executemany(self.q[name], params)
        else:
            cur.execute(self.q[name], params)

    def run(self) -> int:
        total = 0
        while True:
            fired, claimed = self._batch()
            total += fired
            if claimed < self.batch:
                return total

    def _batch(self) -> tuple[int, int]:
        cur, now = self.conn.cursor(), self.now
        if self.begin:
            cur.execute(self.begin)
        try:
            self._exec(cur, "due", (now, self.batch))
            rows = cur.fetchall()
            recipients: dict[tuple[Any, ...], list[tuple[Any, str]]] = {}
            fired: list[tuple[Any, int]] = []
            stale: list[tuple[Any, int]] = []
            messages: list[tuple[Any, ...]] = []
            for row in rows:
                if row[13] is not None:  # instance closed
                    stale.append((now, row[0]))
                    continue
                fired.append((now, row[0]))
                case_id, role, location_id = row[1], row[5], row[16]
                key = (case_id, location_id, role)
                targets = recipients.get(key)
                if targets is None:
                    self._exec(cur, "participants", (case_id, role))
                    targets = [(r[0], r[1]) for r in cur.fetchall()]
                    if not targets and location_id is not None:
                        self._exec(cur, "location_users", (location_id,))
                        targets = [(r[0], r[1]) for r in cur.fetchall() if role in r[2].split()]
                    recipients[key] = targets
                context = self.dumps({"soort": "herinnering", "link": self.link})
                for user_id, address in targets or [(None, "")]:
                    messages.append((
                        f"<{uuid.uuid4().hex}@kovflow>", case_id, row[6], role, user_id, address,
                        context, "pending" if address else "no_recipient", 0, now, now, None,
                        "" if address else f"nobody holds role {role} for this case"))
            if fired:
                self._exec(cur, "fire", fired, many=True)
            if stale:
                self._exec(cur, "cancel", stale, many=True)
            if messages:
                self._exec(cur, "outbox", messages, many=True)
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()
        return len(fired), len(rows)


def _deadline_rows(instances: list[tuple[int, int]], n: int,
                   ts: Callable[[datetime], Any]) -> list[tuple[Any, ...]]:
    """``n`` due deadline rows, one per millisecond, spread round-robin over the instances (so
    a batch of 500 touches min(500, instances) cases)."""
    rule, kind, role, template = SWEEP_RULE
    created = ts(START)
    return [(case_id, iid, rule, kind, role, template,
             ts(SWEEP_DUE0 + timedelta(milliseconds=i)), "", created, None, None)
            for i, (iid, case_id) in ((i, instances[i % len(instances)]) for i in range(n))]


def setup_sweep_app(url: str, n_cases: int, label: str) -> tuple[App, list[tuple[int, int]]]:
    """A migrated database with one location, two coaches and a manager, and ``n_cases`` cases
    opened through ``open_case`` (alternately by each coach, who becomes the case's coach
    participant); returns the app and the (instance id, case id) of each open plaatsing."""
    clock = FixedClock(START)
    app = build_app(Settings(), clock=clock, database_url=url)
    upgrade(app.engine)
    op = Actor.installation_operator()
    add_location(app, op, "ZON", "De Zonnebloem", "Presikhaaf", "Kinderopvang Arnhem")
    for name, roles in (("coach1", ["coach"]), ("coach2", ["coach"]), ("manager", ["manager"])):
        add_user(app, op, name, roles, display_name=name.title(), email=f"{name}@example.org",
                 organisation="Kinderopvang Arnhem", location="ZON")
    coaches = [resolve_actor(app, "coach1"), resolve_actor(app, "coach2")]
    t0 = time.perf_counter()
    for i in range(n_cases):
        clock.advance(STEP)
        open_case(app, coaches[i % 2], first_name=f"Kind{i}", initial="A",
                  birth_date=date(2023, 1, 1) + timedelta(days=i % 700), location="ZON")
    with app.engine.connect() as conn:
        instances = [(int(r[0]), int(r[1])) for r in conn.execute(text(
            "SELECT id, case_id FROM route_instances WHERE closed_at IS NULL "
            "AND route_id = 'plaatsing' ORDER BY id"))]
    print(f"  {label}: {n_cases} cases opened in {time.perf_counter() - t0:.1f} s")
    return app, instances


def count_sweep_statements(app: App) -> dict[str, int]:
    seen: list[str] = []

    def listener(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(app.engine, "before_cursor_execute", listener)
    try:
        report = sweep_due(app, SWEEP_NOW)
    finally:
        event.remove(app.engine, "before_cursor_execute", listener)
    if report.fired != SWEEP_WARMUP_ROWS or report.messages != SWEEP_WARMUP_ROWS:
        raise RuntimeError(f"warm-up sweep fired {report}, expected {SWEEP_WARMUP_ROWS} rows "
                           "and as many messages")
    c = Counter(seen)
    return {k: c.get(k, 0) for k in KINDS}


def burst_round_robin(sides: dict[str, tuple[Callable[[], None], Callable[[], int]]],
                      repeats: int, unit: str) -> dict[str, list[float]]:
    """For each repeat and side, ``prepare()`` untimed, then time ``run()`` (returns the units
    done): units per second. Sides alternate, as in ``round_robin``."""
    runs: dict[str, list[float]] = {name: [] for name in sides}
    for r in range(repeats):
        for name, (prepare, run) in sides.items():
            prepare()
            t0 = time.perf_counter()
            n = run()
            runs[name].append(n / (time.perf_counter() - t0))
        line = "  ".join(f"{n} {v[-1]:,.0f} {unit}" for n, v in runs.items())
        print(f"  repeat {r + 1}/{repeats}: {line}")
    return runs


def sweep_figure(name: str, runs: dict[str, list[float]], goal: str, counts: dict[str, int],
                 floor_counts: Counter[str], extra: dict[str, Any]) -> Figure:
    k, f = runs["kovflow"], runs["floor"]
    paired = [a / b for a, b in zip(k, f, strict=True)]
    fc = {kind: floor_counts.get(kind, 0) for kind in KINDS}
    print(f"  statements for a {SWEEP_WARMUP_ROWS:,}-row burst: kovflow {counts}, floor {fc} "
          "(executemany counts once)")
    if fc != counts:
        print("  note: the floor's statement counts differ from kovflow's")
    return Figure(name, statistics.median(k), "deadlines/s", k, goal, statistics.median(f), f, {
        "ratio_paired_min": round(min(paired), 4), "ratio_paired_max": round(max(paired), 4),
        "statements_per_warmup_burst": counts, "floor_statements_per_warmup_burst": fc,
        "warmup_rows": SWEEP_WARMUP_ROWS, "batch": SWEEP_BATCH, **extra})


def _checked_sweep(app: App, expected: Callable[[], int]) -> Callable[[], int]:
    def run() -> int:
        report = sweep_due(app, SWEEP_NOW)
        if report.fired != expected() or report.messages != report.fired:
            raise RuntimeError(f"sweep fired {report}, expected {expected()} rows")
        return report.fired
    return run


def _checked_floor(floor: FloorSweep, expected: Callable[[], int]) -> Callable[[], int]:
    def run() -> int:
        fired = floor.run()
        if fired != expected():
            raise RuntimeError(f"floor fired {fired}, expected {expected()} rows")
        return fired
    return run


class SqliteSweepData:
    """Puts the benchmark database back to a fresh burst of ``n`` due deadlines (no outbox rows)
    before every run: the first time by DELETE and INSERT, saved as a snapshot file; later by
    copying the snapshot over the database, so every run starts from the same bytes."""

    def __init__(self, path: Path, app: App, instances: list[tuple[int, int]]) -> None:
        self.path, self.app, self.instances, self.rows = path, app, instances, 0
        self.conn = _sqlite_conn(path)
        self.floor: FloorSweep | None = None  # its connection is reopened on every reset

    def reset(self, n: int) -> None:
        snapshot = self.path.with_name(f"{self.path.stem}-{n}.snapshot")
        self.app.engine.dispose()  # no connection may outlive the file it was opened on
        if not snapshot.exists():
            c = self.conn
            c.execute("BEGIN IMMEDIATE")
            c.execute("DELETE FROM outbox")
            c.execute("DELETE FROM deadlines")
            c.executemany(f"INSERT INTO deadlines ({', '.join(DL_INSERT_COLS)}) VALUES "
                          f"({', '.join('?' * len(DL_INSERT_COLS))})",
                          _deadline_rows(self.instances, n, _sqlite_ts))
            c.execute("COMMIT")
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            c.close()
            shutil.copyfile(self.path, snapshot)
        else:
            self.conn.close()
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(snapshot, self.path)
        self.conn = _sqlite_conn(self.path)
        if self.floor is not None:
            self.floor.conn = self.conn
        self.rows = n


def _sqlite_conn(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "busy_timeout=5000", "synchronous=NORMAL",
                   "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def prepare_sqlite_sweep(cfg: Config, tmp: Path, n_cases: int, label: str
                         ) -> tuple[App, SqliteSweepData, FloorSweep]:
    path = tmp / "sweep.db"
    app, instances = setup_sweep_app(f"sqlite:///{path}", n_cases, label)
    data = SqliteSweepData(path, app, instances)
    floor = FloorSweep(data.conn, _sweep_sql("?", "1", ""), _sqlite_ts(SWEEP_NOW),
                       "BEGIN IMMEDIATE", json.dumps, link_for(app.settings.base_url),
                       SWEEP_BATCH)
    data.floor = floor
    return app, data, floor


def bench_sweep_sqlite(cfg: Config, tmp: Path) -> Figure:
    """kovflow and the floor take turns on ONE database file, reset to the same burst before
    every run (untimed), so both see the same pages and indexes."""
    print(f"deadline_sweep: setting up ({cfg.sweep_rows:,} due deadlines, "
          f"{cfg.sweep_cases:,} cases)")
    app, data, floor = prepare_sqlite_sweep(cfg, tmp, cfg.sweep_cases, "kovflow")
    try:
        data.reset(SWEEP_WARMUP_ROWS)
        counts = count_sweep_statements(app)
        data.reset(SWEEP_WARMUP_ROWS)
        floor.counts = Counter()
        floor.run()
        floor_counts, floor.counts = floor.counts, None

        def expected() -> int:
            return data.rows
        runs = burst_round_robin({
            "floor": (lambda: data.reset(cfg.sweep_rows), _checked_floor(floor, expected)),
            "kovflow": (lambda: data.reset(cfg.sweep_rows), _checked_sweep(app, expected)),
        }, cfg.sweep_repeats, "deadlines/s")
    finally:
        data.conn.close()
        app.engine.dispose()
    return sweep_figure("deadline_sweep", runs, "value >= 2,000 deadlines/s", counts,
                        floor_counts, {"rows": cfg.sweep_rows, "cases": cfg.sweep_cases,
                                       "backend": f"sqlite {sqlite3.sqlite_version}"})


def bench_sweep_postgres(cfg: Config, url: str) -> Figure:
    import psycopg
    from psycopg.types.json import Json

    schema = f"kovbench_sweep_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in url else "?"
    print(f"deadline_sweep_postgres: setting up ({cfg.sweep_pg_rows:,} due deadlines, "
          f"{cfg.sweep_pg_cases:,} cases, schema {schema})")
    with pg_schemas(url, [schema]):
        app, instances = setup_sweep_app(f"{url}{sep}options=-csearch_path%3D{schema}",
                                         cfg.sweep_pg_cases, "kovflow")
        info = _pg_conninfo(url)
        admin = psycopg.connect(**info, options=f"-csearch_path={schema}", autocommit=True)
        raw = psycopg.connect(**info, options=f"-csearch_path={schema}")
        cache: dict[int, list[tuple[Any, ...]]] = {}
        state = {"rows": 0}

        def reset(n: int) -> None:
            if n not in cache:
                cache[n] = _deadline_rows(instances, n, lambda m: m)
            admin.execute("TRUNCATE outbox, deadlines")
            with admin.cursor().copy(
                    f"COPY deadlines ({', '.join(DL_INSERT_COLS)}) FROM STDIN") as copy:
                for row in cache[n]:
                    copy.write_row(row)
            admin.execute("ANALYZE deadlines, outbox")  # TRUNCATE leaves no statistics
            state["rows"] = n

        def expected() -> int:
            return state["rows"]

        floor = FloorSweep(raw, _sweep_sql("%s", "true", " FOR UPDATE OF deadlines SKIP LOCKED"),
                           SWEEP_NOW, None, Json, link_for(app.settings.base_url), SWEEP_BATCH)
        try:
            reset(SWEEP_WARMUP_ROWS)
            counts = count_sweep_statements(app)
            reset(SWEEP_WARMUP_ROWS)
            floor.counts = Counter()
            floor.run()
            floor_counts, floor.counts = floor.counts, None
            runs = burst_round_robin({
                "floor": (lambda: reset(cfg.sweep_pg_rows), _checked_floor(floor, expected)),
                "kovflow": (lambda: reset(cfg.sweep_pg_rows), _checked_sweep(app, expected)),
            }, cfg.sweep_repeats, "deadlines/s")
        finally:
            raw.close()
            admin.close()
            app.engine.dispose()
    return sweep_figure("deadline_sweep_postgres", runs,
                        "none agreed (SQLite goal: >= 2,000 deadlines/s)", counts, floor_counts,
                        {"rows": cfg.sweep_pg_rows, "cases": cfg.sweep_pg_cases,
                         "backend": f"postgresql, psycopg {psycopg.__version__}"})


# --- mail delivery --------------------------------------------------------------------------

MAIL_SENDER = "kovflow@localhost"
# A discarding SMTP server in its own process (as in the anchors, section 8), on a free port.
SMTP_SINK = """
import socket, sys
from aiosmtpd.controller import Controller

class Discard:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
controller = Controller(Discard(), hostname="127.0.0.1", port=port, server_hostname="localhost")
controller.start()
print(port, flush=True)
sys.stdin.read()
controller.stop()
"""


@contextmanager
def smtp_sink() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-c", SMTP_SINK], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"the aiosmtpd sink did not start (said {line!r})")
        yield int(line)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _smtp_floor(port: int, messages: list[tuple[str, bytes]]) -> int:
    """Plain aiosmtplib: one connection, ``sendmail`` per pre-rendered message, quit."""
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30,
                           local_hostname=socket.gethostname())
    await smtp.connect()
    for to, data in messages:
        await smtp.sendmail(MAIL_SENDER, [to], data)
    await smtp.quit()
    return len(messages)


class MailData:
    """Resets the outbox to ``n`` pending reminder rows (fresh Message-IDs, untimed)."""

    def __init__(self, conn: sqlite3.Connection, case_ids: list[int], link: str) -> None:
        self.conn, self.case_ids, self.rows = conn, case_ids, 0
        self.context = json.dumps({"soort": "herinnering", "link": link})

    @staticmethod
    def address(i: int) -> str:
        return f"coach{i % 50}@example.org"

    def reset(self, n: int) -> None:
        at = _sqlite_ts(START)
        rows = [(f"<{uuid.uuid4().hex}@kovflow>", self.case_ids[i % len(self.case_ids)],
                 "herinnering", "coach", 1, self.address(i), self.context, "pending", 0, at, at,
                 None, "") for i in range(n)]
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        c.execute("DELETE FROM outbox")
        c.executemany(f"INSERT INTO outbox ({OUTBOX_COLS}) VALUES ({', '.join('?' * 13)})", rows)
        c.execute("COMMIT")
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.rows = n


def prepare_mail(tmp: Path, n_cases: int = 50) -> tuple[App, MailData]:
    path = tmp / "mail.db"
    app, _ = setup_sweep_app(f"sqlite:///{path}", n_cases, "kovflow")
    with app.engine.connect() as conn:
        case_ids = [int(r[0]) for r in conn.execute(text("SELECT id FROM cases ORDER BY id"))]
    return app, MailData(_sqlite_conn(path), case_ids, link_for(app.settings.base_url))


def prerender(app: App, n: int) -> list[tuple[str, bytes]]:
    """The floor's messages: the same template, context and MIME structure, built up front."""
    base = app.settings.base_url
    mail = render("herinnering", MailContext("herinnering", link_for(base)), base_url=base)
    return [(MailData.address(i), build_mime(OutgoingMail(
                f"<{uuid.uuid4().hex}@kovflow>", MailData.address(i), mail.subject, mail.text,
                mail.html, SWEEP_NOW), MAIL_SENDER).as_bytes()) for i in range(n)]


def _checked_delivery(app: App, mailer: SmtpMailer, data: MailData) -> Callable[[], int]:
    def run() -> int:
        report = deliver_pending(app, mailer, SWEEP_NOW)
        if report.sent != data.rows:
            raise RuntimeError(f"delivery reported {report}, expected {data.rows} sent")
        return report.sent
    return run


def bench_mail(cfg: Config, tmp: Path) -> Figure:
    n = cfg.mail_messages
    print(f"mail_delivery: setting up ({n:,} pending outbox rows, aiosmtpd sink in its own "
          "process)")
    app, data = prepare_mail(tmp)
    messages = prerender(app, n)
    warm = messages[:200]
    try:
        with smtp_sink() as port:
            mailer = SmtpMailer(host="127.0.0.1", port=port, sender=MAIL_SENDER)
            data.reset(len(warm))
            _checked_delivery(app, mailer, data)()
            asyncio.run(_smtp_floor(port, warm))
            connections = mailer.connections
            runs = burst_round_robin({
                "floor": (lambda: None, lambda: asyncio.run(_smtp_floor(port, messages))),
                "kovflow": (lambda: data.reset(n), _checked_delivery(app, mailer, data)),
            }, cfg.mail_repeats, "msgs/s")
            per_run = (mailer.connections - connections) // cfg.mail_repeats
    finally:
        data.conn.close()
        app.engine.dispose()
    k, f = runs["kovflow"], runs["floor"]
    paired = [a / b for a, b in zip(k, f, strict=True)]
    size = statistics.median(len(m) for _, m in messages)
    return Figure("mail_delivery", statistics.median(k), "msgs/s", k, "ratio >= 0.70",
                  statistics.median(f), f, {
                      "ratio_paired_min": round(min(paired), 4),
                      "ratio_paired_max": round(max(paired), 4),
                      "messages": n, "kovflow_connections_per_run": per_run,
                      "floor_connections_per_run": 1, "message_bytes": size,
                      "backend": f"sqlite {sqlite3.sqlite_version}, aiosmtplib "
                                 f"{aiosmtplib.__version__}"})


# --- CLI start-up ---------------------------------------------------------------------------

def bench_cli(cfg: Config) -> Figure:
    print("cli_startup: timing `kovflow --help` against `python -c pass`")
    bindir = Path(sys.executable).parent
    kovflow_cmd = [str(bindir / "kovflow"), "--help"]
    python_cmd = [sys.executable, "-c", "pass"]

    def once(cmd: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
        return time.perf_counter() - t0

    once(kovflow_cmd)
    once(python_cmd)
    k, p = [], []
    for _ in range(cfg.cli_runs):
        k.append(once(kovflow_cmd))
        p.append(once(python_cmd))
    return Figure("cli_startup", statistics.median(k), "s", k, "value < 0.4 s",
                  statistics.median(p), p)


# --- output ---------------------------------------------------------------------------------

def _fmt(value: float, runs: list[float], unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} [{min(runs):.3f}-{max(runs):.3f}]"
    return f"{value:,.0f} [{min(runs):,.0f}-{max(runs):,.0f}]"


def print_table(figures: list[Figure], notes: list[str]) -> None:
    rows = [("name", "value median [min-max]", "unit", "floor median [min-max]", "ratio", "goal")]
    for f in figures:
        floor = _fmt(f.floor, f.floor_runs, f.unit) if f.floor is not None else "-"
        ratio = f"{f.ratio:.3f}" if f.ratio is not None else "-"
        rows.append((f.name, _fmt(f.value, f.runs, f.unit), f.unit, floor, ratio, f.goal))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for n, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    for f in figures:
        if "statements_per_step" in f.extra:
            s = f.extra["statements_per_step"]
            fs = f.extra["floor_statements_per_step"]
            print(f"{f.name}: kovflow step {s['SELECT']} SELECT, {s['UPDATE']} UPDATE, "
                  f"{s['INSERT']} INSERT (executemany counts once); floor txn "
                  f"{fs['SELECT']}/{fs['UPDATE']}/{fs['INSERT']}; paired ratio "
                  f"{f.extra['ratio_paired_min']:.3f}-{f.extra['ratio_paired_max']:.3f}")
        elif "statements_per_warmup_burst" in f.extra:
            s, fs = f.extra["statements_per_warmup_burst"], f.extra["floor_statements_per_warmup_burst"]
            print(f"{f.name}: {f.extra['rows']:,} due deadlines over {f.extra['cases']:,} cases, "
                  f"batch {f.extra['batch']}; statements for {f.extra['warmup_rows']:,} rows: "
                  f"kovflow {s['SELECT']}/{s['UPDATE']}/{s['INSERT']}, floor "
                  f"{fs['SELECT']}/{fs['UPDATE']}/{fs['INSERT']} (SELECT/UPDATE/INSERT); paired "
                  f"ratio {f.extra['ratio_paired_min']:.3f}-{f.extra['ratio_paired_max']:.3f}")
        elif f.name == "mail_delivery":
            print(f"{f.name}: {f.extra['messages']:,} messages of ~{f.extra['message_bytes']:,.0f} "
                  f"bytes; kovflow {f.extra['kovflow_connections_per_run']} connections per run, "
                  f"floor 1; paired ratio "
                  f"{f.extra['ratio_paired_min']:.3f}-{f.extra['ratio_paired_max']:.3f}")
    for note in notes:
        print(f"note: {note}")


FIGURES = ("transition_sqlite", "transition_postgres", "deadline_sweep",
           "deadline_sweep_postgres", "mail_delivery", "cli_startup")
PG_FIGURES = {"transition_postgres", "deadline_sweep_postgres"}


def write_results(figures: list[Figure], replace: set[str] | None = None) -> None:
    """Write the figures; with ``replace`` (an ``--only`` run) keep the previous lines of the
    figures that were not selected."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    kept: list[str] = []
    if replace is not None and RESULTS.exists():
        for line in RESULTS.read_text(encoding="utf-8").splitlines():
            try:
                name = json.loads(line).get("name")
            except ValueError:
                continue
            if name not in replace:
                kept.append(line)
    with RESULTS.open("w", encoding="utf-8") as fh:
        for line in kept:
            fh.write(line + "\n")
        for f in figures:
            fh.write(json.dumps({**f.record(), "measured_at": stamp}) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}"
          + (f" (kept {len(kept)} earlier line(s))" if kept else ""))


def _print_profile(prof: cProfile.Profile, what: str) -> None:
    print(f"cProfile of {what}, by cumulative time:")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
    print(f"cProfile of {what}, by own time:")
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def profile(cfg: Config, steps: int, target: str) -> None:
    """cProfile ``steps`` units of one figure's kovflow side (nothing is written)."""
    prof = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="kovflow-bench-") as tmp:
        if target == "deadline_sweep":
            app, data, _floor = prepare_sqlite_sweep(cfg, Path(tmp), cfg.sweep_cases, "kovflow")
            data.reset(SWEEP_WARMUP_ROWS)
            sweep_due(app, SWEEP_NOW)
            data.reset(steps)
            prof.enable()
            report = sweep_due(app, SWEEP_NOW)
            prof.disable()
            data.conn.close()
            app.engine.dispose()
            _print_profile(prof, f"one sweep of {steps:,} due deadlines on SQLite ({report})")
            return
        if target == "mail_delivery":
            app, mail = prepare_mail(Path(tmp))
            with smtp_sink() as port:
                mailer = SmtpMailer(host="127.0.0.1", port=port, sender=MAIL_SENDER)
                mail.reset(200)
                deliver_pending(app, mailer, SWEEP_NOW)
                mail.reset(steps)
                prof.enable()
                delivered = deliver_pending(app, mailer, SWEEP_NOW)
                prof.disable()
            mail.conn.close()
            app.engine.dispose()
            _print_profile(prof, f"deliver_pending of {steps:,} messages ({delivered})")
            return
        if target != "transition_sqlite":
            raise SystemExit(f"--profile works with --only transition_sqlite, deadline_sweep or "
                             f"mail_delivery, not {target}")
        load, counts = setup_kovflow(f"sqlite:///{Path(tmp) / 'kovflow.db'}", cfg.cases,
                                     "kovflow")
        print(f"one kovflow step executes {counts['per_trigger']}")
        timed(load.step, cfg.warmup)
        prof.enable()
        for _ in range(steps):
            load.step()
        prof.disable()
        load.app.engine.dispose()
    _print_profile(prof, f"{steps} kovflow steps on SQLite")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller data, fewer repeats")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--only", action="append", choices=FIGURES, metavar="NAME",
                        help=f"run only this figure (repeatable): {', '.join(FIGURES)}")
    parser.add_argument("--profile", type=int, metavar="N", default=0,
                        help="only profile N units of one figure's kovflow side on SQLite "
                             "(transition steps, or with --only deadline_sweep / mail_delivery "
                             "deadlines / messages)")
    args = parser.parse_args(argv)
    cfg = Config(cases=300, pg_cases=200, repeats=3, seconds=0.5, warmup=0.2, cli_runs=3,
                 sweep_rows=10_000, sweep_cases=300, sweep_pg_rows=5000, sweep_pg_cases=200,
                 sweep_repeats=2, mail_messages=500, mail_repeats=3) if args.quick else Config()
    if args.profile:
        profile(cfg, args.profile, (args.only or ["transition_sqlite"])[0])
        return 0
    selected = [f for f in FIGURES if f in (args.only or FIGURES)]
    t0 = time.perf_counter()
    figures: list[Figure] = []
    notes: list[str] = []
    url = os.environ.get("KOVFLOW_BENCH_DATABASE_URL") or PG_DEFAULT
    why: str | None = None
    if PG_FIGURES & set(selected):
        why = "skipped by --skip-postgres" if args.skip_postgres else pg_reachable(url)
    shown = make_url(url).render_as_string(hide_password=True)
    with tempfile.TemporaryDirectory(prefix="kovflow-bench-") as tmp:
        for name in selected:
            started = time.perf_counter()
            if name in PG_FIGURES and why is not None:
                notes.append(f"{name} skipped: {shown} not used ({why})")
                print(notes[-1])
                continue
            if name == "transition_sqlite":
                figures.append(bench_sqlite(cfg, Path(tmp)))
            elif name == "transition_postgres":
                figures.append(bench_postgres(cfg, url))
            elif name == "deadline_sweep":
                figures.append(bench_sweep_sqlite(cfg, Path(tmp)))
            elif name == "deadline_sweep_postgres":
                figures.append(bench_sweep_postgres(cfg, url))
            elif name == "mail_delivery":
                figures.append(bench_mail(cfg, Path(tmp)))
            elif name == "cli_startup":
                figures.append(bench_cli(cfg))
            print(f"  ({name}: {time.perf_counter() - started:.0f} s)")
    print_table(figures, notes)
    write_results(figures, set(selected) if args.only else None)
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
