"""kovflow benchmarks: persisted steps per second against a raw-driver floor, and CLI start-up.

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

Options: ``--quick`` (fewer cases, shorter repeats), ``--skip-postgres``, ``--profile N``
(profile N kovflow steps on SQLite with cProfile and print the top entries by cumulative time,
nothing is measured or written).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
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

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from kovflow.actor import Actor
from kovflow.clock import FixedClock
from kovflow.config import Settings
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
TASK_COLS = "case_id, instance_id, state, role, assignee_user_id, title, opened_at, due_at, closed_at"
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
        "task": f"INSERT INTO tasks ({TASK_COLS}) VALUES ({vals(9)})",
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
                cur.execute(q["task"], (case[0], iid, to_state, "coach", None, TASK_TITLE, now,
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
    for note in notes:
        print(f"note: {note}")


def write_results(figures: list[Figure]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with RESULTS.open("w", encoding="utf-8") as fh:
        for f in figures:
            fh.write(json.dumps({**f.record(), "measured_at": stamp}) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def profile(cfg: Config, steps: int) -> None:
    with tempfile.TemporaryDirectory(prefix="kovflow-bench-") as tmp:
        load, counts = setup_kovflow(f"sqlite:///{Path(tmp) / 'kovflow.db'}", cfg.cases,
                                     "kovflow")
        print(f"one kovflow step executes {counts['per_trigger']}")
        timed(load.step, cfg.warmup)
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(steps):
            load.step()
        prof.disable()
        load.app.engine.dispose()
    print(f"cProfile of {steps} kovflow steps on SQLite, by cumulative time:")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer cases, shorter repeats")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--profile", type=int, metavar="N", default=0,
                        help="only profile N kovflow steps on SQLite")
    args = parser.parse_args(argv)
    cfg = Config(cases=300, pg_cases=200, repeats=3, seconds=0.5, warmup=0.2,
                 cli_runs=3) if args.quick else Config()
    if args.profile:
        profile(cfg, args.profile)
        return 0
    t0 = time.perf_counter()
    figures: list[Figure] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kovflow-bench-") as tmp:
        figures.append(bench_sqlite(cfg, Path(tmp)))
    url = os.environ.get("KOVFLOW_BENCH_DATABASE_URL") or PG_DEFAULT
    shown = make_url(url).render_as_string(hide_password=True)
    why = "skipped by --skip-postgres" if args.skip_postgres else pg_reachable(url)
    if why is None:
        figures.append(bench_postgres(cfg, url))
    else:
        notes.append(f"transition_postgres skipped: {shown} not used ({why})")
        print(notes[-1])
    figures.append(bench_cli(cfg))
    print_table(figures, notes)
    write_results(figures)
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
