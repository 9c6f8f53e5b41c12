"""Benchmark of the stalled-case audit over 1,000,000 cases, next to a floor (figure
``audit_stalled_1m``).

Run: ``.venv/bin/python bench/audit_stalled.py [--quick] [--cases N] [--skip-postgres]``.

Data: ``--cases`` cases (default 1,000,000; ``--quick`` 100,000) over 500 locations, bulk
inserted (it is a benchmark) into a schema built by kovflow's own migrations, so the indexes are
the real ones. Every case has a ``plaatsing`` instance with a start event and a task; 90% are
history (closed instance, closed task, updated over the last three years), 10% are open
(``geplaatst`` with an open ``wijkcoach`` instance in ``navraag`` whose task is due within the last
60 werkdagen or later; 5% of the open cases have a consent still ``gevraagd``; 0.1% have a
``meldcode`` instance). Each location has a ``locatie_uitrol`` instance. So about 2.1M instances,
2.1M events, 1.1M tasks. The SQLite file is cached in ``var/bench/`` (ignored by git) and reused
when its size matches; PostgreSQL gets a fresh schema per run (COPY, VACUUM ANALYZE), dropped after.

Measured, round-robin with the floor (median of the runs):

* ``first page``: ``find_stalled(app, operator, StalledFilters(limit=50))``: the 50 most severe,
  oldest findings, access log included.
* ``first page filtered``: the same with a location filter (``L0001``, one of 500) and with a
  route filter (``plaatsing``: no overdue tasks, so the page is the idle rule's), each next to the
  floor with the same filter.
* ``full``: ``find_stalled(app, operator)``: every finding, sorted, with ages in werkdagen.
* the floor: one raw SQL statement (stdlib ``sqlite3`` / raw psycopg) on the same indexes, returning
  the same rows (overdue tasks, idle open instances at the default cut-off, undecided consents,
  joined with their case and location), with ``LIMIT 50`` per branch for the first page.

Goals (issue 6): first page under 100 ms, and within 3x the floor.
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
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench/run.py: the shared figure format and the PostgreSQL helpers
import bulk
from run import (
    PG_DEFAULT,
    ROOT,
    Figure,
    _pg_conninfo,
    pg_reachable,
    pg_schemas,
    write_results,
)

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 23, 9, tzinfo=AMS)
CACHE = ROOT / "var" / "bench"
LOCATIONS = 500
NAME = "audit_stalled_1m"


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(n_cases: int) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of every table, deterministic (seeded)."""
    from kovflow.calendar import WorkCalendar

    rnd = random.Random(7)
    cal = WorkCalendar()
    now_utc = NOW.astimezone(UTC)
    locs = [(i, f"L{i:04d}", f"Locatie {i}", f"Wijk {i % 40}", f"Organisatie {i % 25}")
            for i in range(1, LOCATIONS + 1)]
    users = [(1, "coach", "Coach", "coach@example.org", "coach", "Organisatie 1", 1, True,
              _ts(NOW)),
             (2, "wijkcoach", "Wijkcoach", "wk@example.org", "wijkcoach", "Gemeente", None, True,
              _ts(NOW))]
    cases: list[tuple[Any, ...]] = []
    inst: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    tasks: list[tuple[Any, ...]] = []
    consents: list[tuple[Any, ...]] = []
    zero = "0" * 64
    # Due moments of the open tasks: werkdagen offsets, computed once.
    due_by_offset = {k: _ts(cal.add_werkdagen(NOW, k)) for k in range(-60, 21)}
    iid = 0
    for cid in range(1, n_cases + 1):
        loc = rnd.randrange(1, LOCATIONS + 1)
        opened = now_utc - timedelta(days=rnd.randrange(1, 3 * 365), minutes=rnd.randrange(600))
        cases.append((cid, f"KOV-{cid:07d}", "Kind", "K", date(2023, 1, 1).isoformat(), loc, "{}",
                      _ts(opened), "coach"))
        is_open = rnd.random() < 0.10
        iid += 1
        if not is_open:
            closed = min(now_utc, opened + timedelta(days=rnd.randrange(30, 400)))
            inst.append((iid, cid, None, "plaatsing", 1, "uitgestroomd", 2, "{}", _ts(opened),
                         _ts(closed), _ts(closed)))
            tasks.append((iid, cid, iid, "plaatsing", "aangemeld", "coach", None, "Plan de intake",
                          _ts(opened), _ts(opened + timedelta(days=14)), _ts(opened)))
        else:
            placed = now_utc - timedelta(days=rnd.randrange(1, 120), minutes=rnd.randrange(600))
            inst.append((iid, cid, None, "plaatsing", 1, "geplaatst", 1, "{}", _ts(opened),
                         _ts(placed), None))
            tasks.append((iid, cid, iid, "plaatsing", "aangemeld", "coach", None, "Plan de intake",
                          _ts(opened), _ts(opened + timedelta(days=14)), _ts(placed)))
        events.append((iid, f"case:{cid}", 1, cid, iid, _ts(opened), "coach", "start",
                       "plaatsing", 1, "", "", "aangemeld", "{}", zero, zero))
        if is_open:
            iid += 1
            due = due_by_offset[rnd.randrange(-60, 21)]
            inst.append((iid, cid, None, "wijkcoach", 1, "navraag", 0, "{}", _ts(placed),
                         _ts(placed), None))
            tasks.append((iid, cid, iid, "wijkcoach", "navraag", "coach", 1 if rnd.random() < 0.5 else None,
                          "Vraag de ouders naar een wijkcoach", _ts(placed), due, None))
            events.append((iid, f"case:{cid}", 2, cid, iid, _ts(placed), "coach", "start",
                           "wijkcoach", 1, "", "", "navraag", "{}", zero, zero))
            if rnd.random() < 0.05:
                asked = placed + timedelta(days=rnd.randrange(0, 20))
                consents.append((len(consents) + 1, cid, "kinderopvang_naar_wijkcoach", "", "",
                                 "[]", False, "coach", "", "gevraagd", "", _ts(min(asked,
                                                                                  now_utc)),
                                 None, None))
            if rnd.random() < 0.01:
                iid += 1
                inst.append((iid, cid, None, "meldcode", 1, "signalen", 0, "{}", _ts(placed),
                             _ts(placed), None))
    for loc in range(1, LOCATIONS + 1):
        iid += 1
        started = now_utc - timedelta(days=rnd.randrange(1, 200))
        inst.append((iid, None, loc, "locatie_uitrol", 1, "team_informeren", 0, "{}",
                     _ts(started), _ts(started), None))
        events.append((iid, f"location:{loc}", 1, None, iid, _ts(started), "coach", "start",
                       "locatie_uitrol", 1, "", "", "team_informeren", "{}", zero, zero))
    return {"locations": locs, "users": users, "cases": cases, "route_instances": inst,
            "events": events, "tasks": tasks, "consents": consents}


COLUMNS = {
    "locations": "id, code, name, wijk, organisation",
    "users": "id, username, display_name, email, roles, organisation, location_id, active, "
             "created_at",
    "cases": "id, case_number, first_name, initial, birth_date, location_id, facts, created_at, "
             "created_by",
    "route_instances": "id, case_id, location_id, route_id, route_version, state, revision, data, "
                       "started_at, updated_at, closed_at",
    "events": "id, chain, seq, case_id, instance_id, at, actor, kind, route_id, route_version, "
              "trigger, from_state, to_state, payload, prev_hash, hash",
    "tasks": "id, case_id, instance_id, route_id, state, role, assignee_user_id, title, opened_at, "
             "due_at, closed_at",
    "consents": "id, case_id, scope, direction, purpose, categories, medical_explicit, asked_by, "
                "recipient, status, form, asked_at, decided_at, transferred_at",
}


def build_sqlite(n_cases: int) -> tuple[Path, float | None]:
    """The cached SQLite file for ``n_cases`` (built when missing); returns (path, build s)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"audit_stalled_{n_cases}.db"
    if path.exists():
        bulk.migrate(f"sqlite:///{path}")  # a cached file may predate later indexes
        with sqlite3.connect(path) as conn:
            conn.execute("ANALYZE")  # statistics for them too, as a fresh build has
        return path, None
    started = time.perf_counter()
    bulk.build_sqlite(path, generate(n_cases), COLUMNS)
    return path, time.perf_counter() - started


def build_postgres(url: str, schema: str, n_cases: int) -> float:
    import psycopg

    started = time.perf_counter()
    sep = "&" if "?" in url else "?"
    bulk.migrate(f"{url}{sep}options=-csearch_path%3D{schema}")
    rows = generate(n_cases)
    with psycopg.connect(**_pg_conninfo(url), options=f"-csearch_path={schema}") as conn:
        for table, values in rows.items():
            with conn.cursor().copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        conn.commit()
        conn.autocommit = True
        # What autovacuum keeps on a database in use: statistics and the visibility map (without
        # it a freshly copied table answers no index-only scan).
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


# --- the floor -------------------------------------------------------------------------------

def floor_sql(default_cut: str, consent_cut: str, now: str, limit: int | None,
              qmark: str, location: str | None = None, route: str | None = None
              ) -> tuple[str, list[Any]]:
    """One statement returning the audit's rows: overdue tasks, idle instances, consents.

    With ``location`` or ``route``, every branch is filtered as the audit's filter is (consents
    belong to no route: a route filter leaves them out), each on its best index.
    """
    lim = f" ORDER BY since LIMIT {limit}" if limit else ""
    at = f" AND l.code = {qmark}" if location else ""
    loc_params = [location] if location else []
    task_route = f" AND t.route_id = {qmark}" if route else ""
    inst_route = f" AND i.route_id = {qmark}" if route else ""
    route_params = [route] if route else []
    branches = [
        "SELECT * FROM (SELECT i.id AS instance_id, c.case_number, l.code, l.wijk, l.organisation,"
        " i.route_id, i.state, t.due_at AS since, t.role FROM tasks t"
        " JOIN route_instances i ON i.id = t.instance_id"
        " JOIN cases c ON c.id = t.case_id"
        " JOIN locations l ON l.id = c.location_id"
        f" WHERE t.closed_at IS NULL AND t.due_at < {qmark}{at}{task_route}"
        f" AND t.route_id NOT IN ('meldcode', 'meldcode_medewerker', 'locatie_uitrol'){lim}) a",
        "SELECT * FROM (SELECT i.id, c.case_number, l.code, l.wijk, l.organisation, i.route_id,"
        " i.state, i.updated_at AS since, '' FROM route_instances i"
        " LEFT JOIN cases c ON c.id = i.case_id"
        " JOIN locations l ON l.id = COALESCE(i.location_id, c.location_id)"
        f" WHERE i.closed_at IS NULL AND i.updated_at < {qmark}{at}{inst_route}"
        f" AND i.route_id NOT IN ('meldcode', 'meldcode_medewerker'){lim}) b",
    ]
    params = [now, *loc_params, *route_params, default_cut, *loc_params, *route_params]
    if not route:
        branches.append(
            "SELECT * FROM (SELECT CAST(NULL AS INTEGER), c.case_number, l.code, l.wijk,"
            " l.organisation, '', 'gevraagd', s.asked_at AS since, '' FROM consents s"
            " JOIN cases c ON c.id = s.case_id JOIN locations l ON l.id = c.location_id"
            f" WHERE s.status = 'gevraagd' AND s.asked_at < {qmark}{at}{lim}) d")
        params += [consent_cut, *loc_params]
    return " UNION ALL ".join(branches), params


# The filtered first pages measured beside the unfiltered one: one location (of 500), and a
# route without overdue tasks (its page is the idle rule's).
FILTERED = {"location": {"location": "L0001"}, "route": {"route": "plaatsing"}}


def _cuts() -> tuple[datetime, datetime]:
    from kovflow.calendar import WorkCalendar
    from kovflow.reports.stalled import idle_cutoff
    from kovflow.routes.spec import Duration

    cal = WorkCalendar()
    return (idle_cutoff(cal, NOW, Duration(20, "werkdagen")),
            idle_cutoff(cal, NOW, Duration(10, "werkdagen")))


def _median_runs(work: Callable[[], int], repeats: int) -> tuple[list[float], int]:
    runs, count = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        count = work()
        runs.append(time.perf_counter() - t0)
    return runs, count


def measure(url: str, raw_floor: Callable[[str, list[Any]], int], qmark: str, repeats: int,
            label: str) -> dict[str, Any]:
    from kovflow.actor import Actor
    from kovflow.clock import FixedClock
    from kovflow.config import Settings
    from kovflow.reports.stalled import StalledFilters, find_stalled
    from kovflow.services import build_app

    app = build_app(Settings(), clock=FixedClock(NOW), database_url=url)
    op = Actor.installation_operator()
    default_cut, consent_cut = _cuts()
    args = (_ts(default_cut), _ts(consent_cut), _ts(NOW))
    if qmark == "%s":  # psycopg: aware moments compare with timestamptz columns
        args = (default_cut.isoformat(), consent_cut.isoformat(), NOW.isoformat())
    page_sql, page_params = floor_sql(*args, limit=50, qmark=qmark)
    full_sql, full_params = floor_sql(*args, limit=None, qmark=qmark)
    # Warm caches on both sides: psycopg prepares a statement on its fifth run, so fewer warm-up
    # runs would measure the first pages of a fresh connection, not the steady state.
    for _ in range(10):
        find_stalled(app, op, StalledFilters(limit=50))
        raw_floor(page_sql, page_params)
    out: dict[str, Any] = {"page": [], "page_floor": [], "full": [], "full_floor": []}
    counts: dict[str, int] = {}
    for _ in range(10 * repeats):  # round-robin: kovflow, floor, ...; a page takes milliseconds
        r, counts["page"] = _median_runs(
            lambda: len(find_stalled(app, op, StalledFilters(limit=50)).findings), 1)
        out["page"] += r
        r, counts["page_floor"] = _median_runs(lambda: raw_floor(page_sql, page_params), 1)
        out["page_floor"] += r
    for name, chosen in FILTERED.items():
        filters = StalledFilters(limit=50, **chosen)  # type: ignore[arg-type]
        f_sql, f_params = floor_sql(*args, limit=50, qmark=qmark, **chosen)
        for _ in range(3):
            find_stalled(app, op, filters)
            raw_floor(f_sql, f_params)
        out[f"page_{name}"], out[f"page_{name}_floor"] = [], []
        for _ in range(3 * repeats):
            r, counts[f"page_{name}"] = _median_runs(
                lambda f=filters: len(find_stalled(app, op, f).findings), 1)  # type: ignore[misc]
            out[f"page_{name}"] += r
            r, counts[f"page_{name}_floor"] = _median_runs(
                lambda q=f_sql, v=f_params: raw_floor(q, v), 1)  # type: ignore[misc]
            out[f"page_{name}_floor"] += r
    report_holder: list[Any] = []
    for _ in range(max(2, repeats // 2)):
        def full() -> int:
            report = find_stalled(app, op)
            report_holder.append(report)
            return len(report.findings)

        r, counts["full"] = _median_runs(full, 1)
        out["full"] += r
        r, counts["full_floor"] = _median_runs(lambda: raw_floor(full_sql, full_params), 1)
        out["full_floor"] += r
    app.engine.dispose()
    print(f"{label}: rows kovflow page {counts['page']}, floor page {counts['page_floor']}; "
          f"kovflow full {counts['full']} findings "
          f"({json.dumps(report_holder[-1].counts)}, confidential "
          f"{report_holder[-1].confidential}), floor full {counts['full_floor']} rows")
    return {"runs": out, "counts": counts}


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def report_line(label: str, m: dict[str, Any]) -> None:
    r = m["runs"]
    print(f"{label}: first page {_ms(r['page']):.1f} ms (floor {_ms(r['page_floor']):.1f} ms, "
          f"x{_ms(r['page']) / _ms(r['page_floor']):.2f}); full {_ms(r['full']):.0f} ms "
          f"(floor {_ms(r['full_floor']):.0f} ms, x{_ms(r['full']) / _ms(r['full_floor']):.2f})")
    for name, chosen in FILTERED.items():
        page, floor = _ms(r[f"page_{name}"]), _ms(r[f"page_{name}_floor"])
        print(f"{label}: first page filtered by {name} {chosen}: {page:.1f} ms "
              f"(floor {floor:.1f} ms, x{page / floor:.2f})")


def _filtered(prefix: str, r: dict[str, list[float]]) -> dict[str, float]:
    return {f"{prefix}first_page_{name}{suffix}_ms": round(_ms(r[f"page_{name}{suffix}"]), 1)
            for name in FILTERED for suffix in ("", "_floor")}


def sqlite_run(n: int, repeats: int) -> tuple[dict[str, Any], float | None]:
    path, built = build_sqlite(n)
    raw = sqlite3.connect(path)

    def floor(sql: str, params: list[Any]) -> int:
        return len(raw.execute(sql, params).fetchall())

    try:
        return measure(f"sqlite:///{path}", floor, "?", repeats, "sqlite"), built
    finally:
        raw.close()


def postgres_run(url: str, n: int, repeats: int) -> tuple[dict[str, Any], float]:
    import psycopg

    schema = f"kovbench_audit_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in url else "?"
    with pg_schemas(url, [schema]):
        built = build_postgres(url, schema, n)
        raw = psycopg.connect(**_pg_conninfo(url), options=f"-csearch_path={schema}",
                              autocommit=True)

        def floor(sql: str, params: list[Any]) -> int:
            return len(raw.execute(sql.replace("?", "%s"), params).fetchall())

        try:
            url_s = f"{url}{sep}options=-csearch_path%3D{schema}"
            return measure(url_s, floor, "%s", repeats, "postgres"), built
        finally:
            raw.close()


def _figure(sqlite_m: dict[str, Any], pg_m: dict[str, Any] | None, n: int,
            builds: dict[str, float | None]) -> Figure:
    r = sqlite_m["runs"]
    extra: dict[str, Any] = {
        "cases": n, "first_page_ms": round(_ms(r["page"]), 1),
        "first_page_floor_ms": round(_ms(r["page_floor"]), 1),
        "full_ms": round(_ms(r["full"]), 1), "full_floor_ms": round(_ms(r["full_floor"]), 1),
        "findings": sqlite_m["counts"]["full"], "floor_rows": sqlite_m["counts"]["full_floor"],
        "build_s": {k: (round(v, 1) if v is not None else "cached") for k, v in builds.items()},
        **_filtered("", r),
    }
    if pg_m is not None:
        p = pg_m["runs"]
        extra.update(postgres_first_page_ms=round(_ms(p["page"]), 1),
                     postgres_first_page_floor_ms=round(_ms(p["page_floor"]), 1),
                     postgres_full_ms=round(_ms(p["full"]), 1),
                     postgres_full_floor_ms=round(_ms(p["full_floor"]), 1),
                     **_filtered("postgres_", p))
    return Figure(name=NAME, value=_ms(r["page"]), unit="ms to first page (SQLite)",
                  runs=[x * 1000 for x in r["page"]], floor=_ms(r["page_floor"]),
                  floor_runs=[x * 1000 for x in r["page_floor"]],
                  goal="< 100 ms to the first page, within 3x the floor", extra=extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100,000 cases, fewer repeats")
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    n = args.cases or (100_000 if args.quick else 1_000_000)
    repeats = 3 if args.quick else 7
    builds: dict[str, float | None] = {}
    sqlite_m, builds["sqlite"] = sqlite_run(n, repeats)
    report_line("sqlite", sqlite_m)
    pg_m = None
    url = os.environ.get("KOVFLOW_BENCH_DATABASE_URL") or PG_DEFAULT
    why = None if args.skip_postgres else pg_reachable(url)
    if args.skip_postgres or why:
        print(f"postgres: skipped ({why or '--skip-postgres'})")
    else:
        pg_m, builds["postgres"] = postgres_run(url, n, repeats)
        report_line("postgres", pg_m)
    print("build:", {k: (f"{v:.1f} s" if v is not None else "cached") for k, v in builds.items()})
    figure = _figure(sqlite_m, pg_m, n, builds)
    if not args.no_write:
        write_results([figure], {NAME})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
