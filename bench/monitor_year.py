"""Benchmark: the monitor passende kinderopvang for one year over 1,000,000 cases.

    .venv/bin/python bench/monitor_year.py [--quick] [--skip-postgres] [--cases N]

Builds a population of cases with their route instances, participants and events, bulk inserted
directly (it is a benchmark: building a million cases through the services would take hours), on
SQLite (kept under ``var/bench/``, git-ignored, and reused by the next run with the same size) and
on PostgreSQL in a fresh schema that is dropped afterwards. The bulk load bypasses the
steps, so the per-placement monitor table is then filled as migration 0010 does
(``monitor_repo.rebuild``). Then it times
``compute_monitor(app, operator, 2025-01-01, 2025-12-31)`` next to a **floor**: one hand-written
SQL statement, run on the raw driver, returning the same aggregate rows (trajecten, VE and
disciplines per location, leavers per location with passend, voortijdig and basisonderwijs) from
the same table and indexes; the floor leaves out the small selective parts (waiting times,
overbrugging, taakuren), the access-log record and all Python. Both sides take turns
(round-robin, median of the repeats), and the script checks that both count the same trajecten
and leavers.

Writes figure ``monitor_year_1m`` to ``bench/results/latest.jsonl`` (``bench/run.py``'s format;
the PostgreSQL numbers go in the same record as ``postgres_*``). Goal: under 1 s.

The population: references spread over 2016-01..2026-05, 90% placed (startdatum 0-60 days after
referral), placements of 4-33 months (leavers before 2026-11 with a reason: 67% basisonderwijs,
7% behandelsetting ..., 81% passend geboden), VE 75%, the coach always, logopedist 50%,
jeugdverpleegkundige 31%, wijkcoach 20%, ambulant begeleider 23% (4% at home), overbrugging 3%,
taakuren 5%; 100 locations in 20 wijken and 5 organisations. About 5.5 events per case.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PG_DEFAULT, ROOT, Figure, _pg_conninfo, pg_reachable, write_results

from kovflow.actor import Actor
from kovflow.clock import FixedClock
from kovflow.config import Settings
from kovflow.reports.monitor import compute_monitor
from kovflow.services import build_app
from kovflow.store import monitor_repo
from kovflow.store.migrate import upgrade

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
YEAR = (date(2025, 1, 1), date(2025, 12, 31))
FOLDER = ROOT / "var" / "bench"
FORMAT_VERSION = 2  # bump when the generated population changes
REASONS = (("basisonderwijs", 67), ("behandelsetting", 7), ("speciaal_onderwijs", 5),
           ("verhuisd", 8), ("andere_kinderopvang", 8), ("overig_onbekend", 5))
HASH = "0" * 64
OP = Actor.installation_operator()


# --- the population ---------------------------------------------------------------------------

class Rows:
    """Rows per table, as dicts of column -> value; ids are assigned here."""

    def __init__(self, ids: dict[str, int]) -> None:
        self.tables: dict[str, list[tuple[Any, ...]]] = {}
        self.columns: dict[str, tuple[str, ...]] = {}
        self.ids = ids  # shared by the chunks: the last id given out per table

    def add(self, table: str, **values: Any) -> int:
        new_id = self.ids.get(table, 0) + 1
        self.ids[table] = new_id
        row = {"id": new_id, **values}
        cols = self.columns.setdefault(table, tuple(row))
        self.tables.setdefault(table, []).append(tuple(row[c] for c in cols))
        return new_id

    def take(self, table: str) -> list[tuple[Any, ...]]:
        return self.tables.pop(table, [])


def _moment(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def generate(n_cases: int, chunk: int, seed: int = 42) -> Iterator[Rows]:
    """Yield the population in chunks of ``chunk`` cases (locations and users in the first)."""
    rnd = random.Random(seed)
    ids: dict[str, int] = {}
    rows = Rows(ids)
    for i in range(1, 101):
        rows.add("locations", code=f"L{i:03d}", name=f"Locatie {i}", wijk=f"Wijk {i % 20:02d}",
                 organisation=f"Organisatie {i % 5}")
    reasons = [r for r, w in REASONS for _ in range(w)]
    for case_id in range(1, n_cases + 1):
        ref = date(2016, 1, 1) + timedelta(days=rnd.randrange(3800))
        start = ref + timedelta(days=rnd.randrange(61))
        born = start - timedelta(days=200 + rnd.randrange(900))
        if born > NOW.date():
            born = NOW.date()
        loc = 1 + case_id % 100
        rows.add("cases", case_number=f"KOV-{case_id:07d}", first_name="Kind", initial="B",
                 birth_date=born, location_id=loc, facts="{}", created_at=_moment(ref),
                 created_by="coach")
        seq = 0

        def event(instance: int | None, kind: str, route: str, trigger: str, frm: str,
                  to: str, day: date, _case: int = case_id, _rows: Rows = rows) -> None:
            nonlocal seq
            seq += 1
            _rows.add("events", chain=f"case:{_case}", seq=seq, case_id=_case,
                     instance_id=instance, at=_moment(day), actor="coach", kind=kind,
                     route_id=route, route_version=1 if route else 0, trigger=trigger,
                     from_state=frm, to_state=to, payload="{}", prev_hash=HASH, hash=HASH)

        def instance(route: str, state: str, data: dict[str, Any], day: date,
                     closed: date | None = None, _case: int = case_id,
                     _rows: Rows = rows) -> int:
            return _rows.add("route_instances", case_id=_case, location_id=None, route_id=route,
                            route_version=1, state=state, revision=len(data), data=json.dumps(data),
                            started_at=_moment(day), updated_at=_moment(day),
                            closed_at=_moment(closed) if closed else None)

        def participant(role: str, day: date, _case: int = case_id,
                        _rows: Rows = rows) -> None:
            _rows.add("participants", case_id=_case, user_id=None, name="", role=role,
                     organisation="", since=_moment(day), until=None)

        event(None, "case_opened", "", "", "", "", ref)
        participant("coach", ref)
        placed = rnd.random() < 0.9
        if not placed:
            pid = instance("plaatsing", "aangemeld", {}, ref)
            event(pid, "start", "plaatsing", "", "", "aangemeld", ref)
            continue
        data: dict[str, Any] = {"groep": "Bijen", "startdatum": start.isoformat(),
                                "mentor": "pm", "vve_indicatie": rnd.random() < 0.75}
        if data["vve_indicatie"]:
            data.update(vve_datum=(start - timedelta(days=20)).isoformat(), vve_afgever="JGZ")
        leave = start + timedelta(days=120 + rnd.randrange(880))
        left = leave < date(2026, 11, 1)
        if left:
            data.update(uitstroom_datum=leave.isoformat(), uitstroom_reden=rnd.choice(reasons),
                        passend_geboden=rnd.random() < 0.81)
        pid = instance("plaatsing", "uitgestroomd" if left else "geplaatst", data, ref,
                       leave if left else None)
        event(pid, "start", "plaatsing", "", "", "aangemeld", ref)
        event(pid, "transition", "plaatsing", "plaats", "aangemeld", "geplaatst", start)
        betrokken = rnd.random() < 0.2
        wid = instance("wijkcoach", "betrokken" if betrokken else "navraag", {}, start,
                       leave if left else None)
        event(wid, "start", "wijkcoach", "", "", "navraag", start)
        if betrokken:
            event(wid, "transition", "wijkcoach", "toestemming_gegeven", "toestemming_contact",
                  "betrokken", start + timedelta(days=20))
            participant("wijkcoach", start)
        if rnd.random() < 0.5:
            participant("logopedist", start)
        if rnd.random() < 0.31:
            participant("jgz", ref)
        if rnd.random() < 0.23:
            thuis = rnd.random() < 4 / 23
            aid = instance("ambulante_inzet", "in_uitvoering", {
                "intensiteit": "begeleiding_thuis" if thuis else "begeleiding_groep",
                "einddatum": (start + timedelta(days=120)).isoformat()}, start)
            event(aid, "start", "ambulante_inzet", "", "", "hulpvraag", start)
            event(aid, "transition", "ambulante_inzet", "start", "toegewezen", "in_uitvoering",
                  start + timedelta(days=10))
            participant("ambulant_begeleider", start)
        if rnd.random() < 0.03:
            since = start + timedelta(days=30)
            moved = since + timedelta(days=20 + rnd.randrange(200))
            instance("overbrugging", "doorgestroomd", {
                "wachtlijst_sinds": since.isoformat(), "doorstroom_datum": moved.isoformat()},
                since, moved)
        if rnd.random() < 0.05:
            instance("taakuren", "in_uitvoering", {
                "uren_per_week": 1 + rnd.randrange(8), "startdatum": start.isoformat(),
                "einddatum": (start + timedelta(days=90)).isoformat()}, start)
        if case_id % chunk == 0:
            yield rows
            rows = Rows(ids)
    yield rows


ORDER = ("locations", "cases", "participants", "route_instances", "events")


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    return v


def build_sqlite(path: Path, n_cases: int) -> float:
    """Create (or reuse) the SQLite population; returns the build time in seconds (0: reused)."""
    marker = path.with_suffix(".json")
    want = {"cases": n_cases, "version": FORMAT_VERSION}
    if path.exists() and marker.exists():
        known = json.loads(marker.read_text())
        if {k: known.get(k) for k in want} == want:
            print(f"sqlite: reusing {path.relative_to(ROOT)} (built in {known.get('build_s')} s)")
            return float(known.get("build_s") or 0.0)
    for p in (path, marker, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    app = build_app(Settings(), database_url=f"sqlite:///{path}")
    upgrade(app.engine)
    app.engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")  # a bulk load into a fresh file: no rollback needed
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-524288")
    conn.execute("BEGIN")
    for rows in generate(n_cases, chunk=50_000):
        for table in ORDER:
            data = rows.take(table)
            if data:
                cols = rows.columns[table]
                conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                                 f"({', '.join('?' * len(cols))})",
                                 [tuple(_sqlite_value(v) for v in r) for r in data])
        print(f"  sqlite: {rows.ids.get('cases', 0):,} cases", flush=True)
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")  # as kovflow runs it
    conn.close()
    _fill_monitor_table(f"sqlite:///{path}")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("ANALYZE")
    conn.close()
    build_s = time.perf_counter() - t0
    marker.write_text(json.dumps({**want, "build_s": round(build_s, 1)}))
    return build_s


def build_postgres(url: str, n_cases: int) -> float:
    import psycopg

    t0 = time.perf_counter()
    app = build_app(Settings(), database_url=url)
    upgrade(app.engine)
    app.engine.dispose()
    schema = url.rsplit("%3D", 1)[1]
    with psycopg.connect(**_pg_conninfo(url), options=f"-csearch_path={schema}") as conn:
        for rows in generate(n_cases, chunk=50_000):
            for table in ORDER:
                data = rows.take(table)
                if data:
                    cols = rows.columns[table]
                    with conn.cursor() as cur, cur.copy(
                            f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                        for r in data:
                            copy.write_row(r)
            conn.commit()
            print(f"  postgres: {rows.ids.get('cases', 0):,} cases", flush=True)
        for table in ORDER:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")  # statistics first: the rebuild's probes need them
        _fill_monitor_table(url)
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - t0


def _fill_monitor_table(url: str) -> None:
    """The per-placement monitor table, computed from the loaded route data as the migration
    does (kovflow writes it in each step's transaction; a bulk load bypasses the steps)."""
    t0 = time.perf_counter()
    app = build_app(Settings(), database_url=url)
    with app.engine.begin() as conn:
        n = monitor_repo.rebuild(conn)
    app.engine.dispose()
    print(f"  monitor_placements: {n:,} rows in {time.perf_counter() - t0:.0f} s", flush=True)


# --- the floor -------------------------------------------------------------------------------

def floor_sql(dialect: str) -> str:
    """One statement returning the aggregate rows of the monitor's bulk (see the docstring),
    over the same per-placement table and indexes kovflow reads."""
    p = "?" if dialect == "sqlite" else "%s"
    sums = ", ".join(f"sum({d})" for d in ("coach", "logopedist", "jeugdverpleegkundige",
                                             "wijkcoach", "ambulant_begeleider",
                                             "thuisondersteuning"))
    return f"""
SELECT location_id, count(*),
       sum(CASE WHEN vve_datum IS NOT NULL AND vve_datum <= {p} THEN 1 ELSE 0 END), {sums},
       sum(CASE WHEN placed_until <= {p} THEN 1 ELSE 0 END),
       sum(CASE WHEN placed_until <= {p} THEN passend ELSE 0 END),
       sum(CASE WHEN placed_until <= {p} THEN voortijdig ELSE 0 END),
       sum(CASE WHEN placed_until <= {p} AND uitstroom_reden = 'basisonderwijs' THEN 1 ELSE 0
           END)
  FROM monitor_placements
 WHERE placed_until >= {p} AND startdatum <= {p}
 GROUP BY location_id
"""


def floor_runner(dialect: str, conn: Any) -> Callable[[], list[Any]]:
    sql = floor_sql(dialect)
    start, end = YEAR[0].isoformat(), YEAR[1].isoformat()
    params = (end, end, end, end, end, start, end)

    def run() -> list[Any]:
        cur = conn.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall()
        cur.close()
        if dialect == "postgres":
            conn.rollback()
        return rows

    return run


def _totals(rows: list[Any]) -> tuple[int, ...]:
    """Trajecten, VE, the six disciplines and leavers, summed over the locations."""
    return tuple(sum(int(r[i] or 0) for r in rows) for i in range(1, 10))


# --- measuring -------------------------------------------------------------------------------

def measure(label: str, url: str, floor: Callable[[], list[Any]], repeats: int
            ) -> dict[str, Any]:
    app = build_app(Settings(), clock=FixedClock(NOW), database_url=url)

    def kovflow() -> Any:
        return compute_monitor(app, OP, *YEAR)

    report = kovflow()  # warm-up (and the consistency check below)
    rows = floor()
    t = report.total
    got = (t.trajecten, t.ve.count, *(s.count for s in t.disciplines.values()), t.leavers)
    if got != _totals(rows):
        raise SystemExit(f"{label}: kovflow and the floor disagree: {got} != {_totals(rows)}")
    k_runs: list[float] = []
    f_runs: list[float] = []
    for _ in range(repeats):
        for side, runs in ((kovflow, k_runs), (floor, f_runs)):
            t0 = time.perf_counter()
            side()
            runs.append(time.perf_counter() - t0)
    app.engine.dispose()
    print(f"{label}: monitor {statistics.median(k_runs):.3f} s [{min(k_runs):.3f}-"
          f"{max(k_runs):.3f}], floor {statistics.median(f_runs):.3f} s "
          f"[{min(f_runs):.3f}-{max(f_runs):.3f}]; {got[0]:,} trajecten, {got[-1]:,} leavers")
    # The load of the machine while measuring (shared development VMs): read the figure with it.
    return {"runs": k_runs, "floor_runs": f_runs, "trajecten": got[0], "leavers": got[-1],
            "load_average": round(os.getloadavg()[0], 1)}


def run_sqlite(n: int, repeats: int) -> dict[str, Any]:
    path = FOLDER / f"monitor_{n}.db"
    build_s = build_sqlite(path, n)
    print(f"sqlite: {n:,} cases ready (built in {build_s:.0f} s)")
    raw = sqlite3.connect(path)
    result = measure("sqlite", f"sqlite:///{path}", floor_runner("sqlite", raw), repeats)
    raw.close()
    result["build_s"] = round(build_s, 1)
    return result


def run_postgres(n: int, repeats: int, url: str) -> dict[str, Any]:
    import psycopg

    schema = f"kovbench_monitor_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(**_pg_conninfo(url), autocommit=True)
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in url else "?"
        pg_url = f"{url}{sep}options=-csearch_path%3D{schema}"
        build_s = build_postgres(pg_url, n)
        print(f"postgres: {n:,} cases built in {build_s:.0f} s")
        with psycopg.connect(**_pg_conninfo(url), options=f"-csearch_path={schema}") as raw:
            result = measure("postgres", pg_url, floor_runner("postgres", raw), repeats)
        result["build_s"] = round(build_s, 1)
        return result
    finally:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()


def _sidecar(backend: str, n: int) -> Path:
    return FOLDER / f"monitor_year_{backend}_{n}.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100,000 cases, 3 repeats")
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both", "none"),
                        default="both",
                        help="measure one backend (none: only write the figure); the figure "
                             "combines it with the other "
                             "backend's last result for the same size (kept in var/bench/)")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.cases or (100_000 if args.quick else 1_000_000)
    repeats = args.repeats or (3 if args.quick else 5)
    FOLDER.mkdir(parents=True, exist_ok=True)

    if args.backend in ("sqlite", "both"):
        _sidecar("sqlite", n).write_text(json.dumps(run_sqlite(n, repeats)))
    if args.backend in ("postgres", "both") and not args.skip_postgres:
        why = pg_reachable(PG_DEFAULT)
        if why:
            print(f"postgres: skipped ({why})")
        else:
            _sidecar("postgres", n).write_text(json.dumps(run_postgres(n, repeats, PG_DEFAULT)))

    if not _sidecar("sqlite", n).exists():
        print("no SQLite result for this size yet: run with --backend sqlite; nothing written")
        return 0
    sq = json.loads(_sidecar("sqlite", n).read_text())
    extra: dict[str, Any] = {"cases": n, "period": f"{YEAR[0]}..{YEAR[1]}",
                             "trajecten": sq["trajecten"], "leavers": sq["leavers"],
                             "sqlite_build_s": sq.get("build_s", 0.0),
                             "sqlite_load_average": sq.get("load_average"),
                             "backend": f"sqlite {sqlite3.sqlite_version}"}
    if _sidecar("postgres", n).exists():
        pg = json.loads(_sidecar("postgres", n).read_text())
        med, floor = statistics.median(pg["runs"]), statistics.median(pg["floor_runs"])
        extra.update(postgres_value=round(med, 4), postgres_floor=round(floor, 4),
                     postgres_ratio=round(med / floor, 2), postgres_build_s=pg["build_s"],
                     postgres_runs=len(pg["runs"]), postgres_load_average=pg.get("load_average"))
    else:
        extra["postgres"] = "not measured for this size"
    figure = Figure("monitor_year_1m", statistics.median(sq["runs"]), "s", sq["runs"],
                    "under 1 s for a year", statistics.median(sq["floor_runs"]),
                    sq["floor_runs"], extra)
    print(json.dumps(figure.record(), indent=2))
    write_results([figure], {"monitor_year_1m"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
