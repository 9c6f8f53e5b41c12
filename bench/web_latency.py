"""Benchmark of the web pages under load (figure ``web_latency``): p50/p95 of "Mijn taken" and
the case page with 100,000 cases in the database and 32 concurrent clients on loopback.

Run: ``.venv/bin/python bench/web_latency.py [--cases N] [--clients C] [--seconds S]``.

Data: ``--cases`` cases (default 100,000) over 500 locations, bulk inserted (it is a benchmark)
into a SQLite schema built by kovflow's own migrations, so the indexes are the real ones. Every
case has a ``plaatsing`` instance with its start event and task; 10% are open (``geplaatst`` with a
``wijkcoach`` instance in ``navraag`` and its open coach task, due within -20..+20 werkdagen).
The measured user is the coach of location 1 (about 200 cases, 20 of them open). The file is
cached in ``var/bench/`` and reused.

Server: ``kovflow serve`` in its own process (one uvicorn process, no worker), as installed.
Clients: ``--clients`` asyncio tasks with one httpx connection each, each logged in with its own
session, alternating GET ``/`` and GET ``/casus/<open case of location 1>`` for ``--seconds``
after a warm-up. Latency is measured by the client (request sent to body read). Every page view
is a real one: access checks and the NEN 7513 access-log writes included.

Goal (issue 7): p95 under 50 ms for a page render. The floor printed next to it is a GET of a
static file (``/static/kovflow.css``) through the same server under the same load: what the
server and the loopback cost without kovflow's work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bulk import build_sqlite, migrate
from run import ROOT, Figure, write_results

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 23, 9, tzinfo=AMS)
CACHE = ROOT / "var" / "bench"
LOCATIONS = 500
PASSWORD = "bench-wachtwoord-2026"
NAME = "web_latency"
COLUMNS = {
    "locations": "id, code, name, wijk, organisation",
    "users": "id, username, display_name, email, roles, organisation, location_id, active, "
             "created_at",
    "cases": "id, case_number, first_name, initial, birth_date, location_id, facts, created_at, "
             "created_by",
    "participants": "id, case_id, user_id, name, role, organisation, since, until",
    "route_instances": "id, case_id, location_id, route_id, route_version, state, revision, data, "
                       "started_at, updated_at, closed_at",
    "events": "id, chain, seq, case_id, instance_id, at, actor, kind, route_id, route_version, "
              "trigger, from_state, to_state, payload, prev_hash, hash",
    "tasks": "id, case_id, instance_id, state, role, assignee_user_id, title, opened_at, due_at, "
             "closed_at",
}


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(n_cases: int) -> tuple[dict[str, list[tuple[Any, ...]]], list[str]]:
    """The rows of every table (seeded), and the open case numbers of location 1."""
    from kovflow.calendar import WorkCalendar

    rnd = random.Random(11)
    cal = WorkCalendar()
    now_utc = NOW.astimezone(UTC)
    rows: dict[str, list[tuple[Any, ...]]] = {k: [] for k in COLUMNS}
    rows["locations"] = [(i, f"L{i:04d}", f"Locatie {i}", f"Wijk {i % 40}",
                          f"Organisatie {i % 25}") for i in range(1, LOCATIONS + 1)]
    rows["users"] = [(1, "coach", "Coach", "coach@example.org", "coach", "Organisatie 1", 1,
                      True, _ts(NOW))]
    zero = "0" * 64
    due_by_offset = {k: _ts(cal.add_werkdagen(NOW, k)) for k in range(-20, 21)}
    iid = tid = eid = 0
    mine: list[str] = []
    for cid in range(1, n_cases + 1):
        loc = 1 + (cid % LOCATIONS)
        number = f"KOV-{cid:07d}"
        opened = now_utc - timedelta(days=rnd.randrange(1, 3 * 365), minutes=rnd.randrange(600))
        rows["cases"].append((cid, number, "Kind", "K", date(2023, 1, 1).isoformat(), loc, "{}",
                              _ts(opened), "coach"))
        rows["participants"].append((cid, cid, 1 if loc == 1 else None,
                                     "" if loc == 1 else "Coach", "coach", "Organisatie 1",
                                     _ts(opened), None))
        is_open = rnd.random() < 0.10
        iid += 1
        eid += 1
        tid += 1
        if is_open:
            placed = now_utc - timedelta(days=rnd.randrange(1, 120))
            rows["route_instances"].append((iid, cid, None, "plaatsing", 1, "geplaatst", 1, "{}",
                                            _ts(opened), _ts(placed), None))
        else:
            placed = min(now_utc, opened + timedelta(days=rnd.randrange(30, 400)))
            rows["route_instances"].append((iid, cid, None, "plaatsing", 1, "uitgestroomd", 2,
                                            "{}", _ts(opened), _ts(placed), _ts(placed)))
        rows["tasks"].append((tid, cid, iid, "aangemeld", "coach", None,
                              "Plan de intake of plaats het kind", _ts(opened),
                              _ts(opened + timedelta(days=14)), _ts(placed)))
        rows["events"].append((eid, f"case:{cid}", 1, cid, iid, _ts(opened), "coach", "start",
                               "plaatsing", 1, "", "", "aangemeld", "{}", zero, zero))
        if is_open:
            iid += 1
            eid += 1
            tid += 1
            rows["route_instances"].append((iid, cid, None, "wijkcoach", 1, "navraag", 0, "{}",
                                            _ts(placed), _ts(placed), None))
            rows["tasks"].append((tid, cid, iid, "navraag", "coach", None,
                                  "Vraag de ouders naar een wijkcoach", _ts(placed),
                                  due_by_offset[rnd.randrange(-20, 21)], None))
            rows["events"].append((eid, f"case:{cid}", 2, cid, iid, _ts(placed), "coach",
                                   "start", "wijkcoach", 1, "", "", "navraag", "{}", zero, zero))
            if loc == 1:
                mine.append(number)
    return rows, mine


def build(n_cases: int) -> tuple[Path, list[str], float | None]:
    """The cached SQLite file (built when missing), the open cases of location 1, build time."""

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"web_latency_{n_cases}.db"
    rows, mine = generate(n_cases)
    if path.exists():
        return path, mine, None
    started = time.perf_counter()
    build_sqlite(path, rows, COLUMNS)
    return path, mine, time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(db: Path, port: int) -> subprocess.Popen[bytes]:
    """``kovflow serve`` on the benchmark database; the coach gets the bench password first."""
    url = f"sqlite:///{db}"
    kovflow = str(Path(sys.executable).with_name("kovflow"))
    subprocess.run([kovflow, "--db", url, "users", "password", "coach", "--password-stdin"],
                   input=PASSWORD.encode(), check=True, capture_output=True)
    proc = subprocess.Popen([kovflow, "--db", url, "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("kovflow serve did not start")


async def _client(base: str, paths: list[str], ready: asyncio.Barrier,
                  clock: dict[str, float], warmup: float, seconds: float,
                  out: dict[str, list[float]]) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=60) as client:
        page = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        done = await client.post("/login", data={"username": "coach", "password": PASSWORD,
                                                 "csrf_token": token.group(1)})
        if done.status_code != 303:
            raise RuntimeError(f"login failed: {done.status_code}")
        await ready.wait()
        if "start" not in clock:
            clock["start"] = time.perf_counter()
        warmup_until = clock["start"] + warmup
        until = warmup_until + seconds
        i = random.randrange(len(paths))
        while time.perf_counter() < until:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            answer = await client.get(path)
            elapsed = time.perf_counter() - t0
            if answer.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {answer.status_code}")
            if t0 >= warmup_until:
                kind = ("static" if path.startswith("/static") else
                        "case" if path.startswith("/casus") else "tasks")
                out[kind].append(elapsed)


async def load(base: str, mine: list[str], clients: int, seconds: float,
               warmup: float) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"tasks": [], "case": [], "static": []}
    # Every client logs in (argon2id, on purpose slow) before the measurement starts.
    ready = asyncio.Barrier(clients)
    clock: dict[str, float] = {}

    async def one(n: int) -> None:
        case = mine[n % len(mine)]
        paths = ["/", f"/casus/{case}", "/static/kovflow.css"]
        await _client(base, paths, ready, clock, warmup, seconds, out)

    await asyncio.gather(*(one(n) for n in range(clients)))
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    db, mine, built = build(args.cases)
    print(f"database {db.relative_to(ROOT)} ({args.cases} cases; "
          f"{f'built in {built:.1f} s' if built is not None else 'cached'}); "
          f"coach of L0001 has {len(mine)} open cases")
    # The measured pages write access-log rows; start every run from the same file.
    run_db = db.with_name(f"{db.stem}.run.db")
    run_db.write_bytes(db.read_bytes())
    for suffix in ("-wal", "-shm"):
        Path(f"{run_db}{suffix}").unlink(missing_ok=True)
    # A cached file may predate later migrations (indexes): bring the copy up to date.
    migrate(f"sqlite:///{run_db}")
    port = _free_port()
    server = start_server(run_db, port)
    try:
        out = asyncio.run(load(f"http://127.0.0.1:{port}", mine, args.clients, args.seconds,
                               args.warmup))
    finally:
        server.terminate()
        server.wait(timeout=15)
    figures: dict[str, dict[str, float]] = {}
    for kind, values in out.items():
        figures[kind] = {"p50_ms": round(_pct(values, 0.50), 1),
                         "p95_ms": round(_pct(values, 0.95), 1),
                         "mean_ms": round(statistics.fmean(values) * 1000, 1),
                         "requests": len(values)}
        print(f"  {kind:<7} p50 {figures[kind]['p50_ms']:7.1f} ms   "
              f"p95 {figures[kind]['p95_ms']:7.1f} ms   ({len(values)} requests)")
    pages = out["tasks"] + out["case"]
    throughput = len(pages) / args.seconds
    print(f"  pages/s {throughput:.0f} with {args.clients} clients; goal p95 < 50 ms")
    figure = Figure(
        name=NAME, value=_pct(pages, 0.95), unit="ms (p95 page)",
        runs=[_pct(out["tasks"], 0.95), _pct(out["case"], 0.95)],
        goal="p95 < 50 ms for Mijn taken and the case page, 100,000 cases, 32 clients",
        floor=_pct(out["static"], 0.95), floor_runs=[_pct(out["static"], 0.95)],
        extra={"tasks": figures["tasks"], "case": figures["case"], "static": figures["static"],
               "pages_per_s": round(throughput, 1), "clients": args.clients,
               "cases": args.cases, "cpus": os.cpu_count()})
    if not args.no_write:
        write_results([figure], {NAME})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
