"""Benchmark of the web pages under load (figure ``web_latency``): p50/p95 of "Mijn taken" and
the case page with 100,000 cases in the database and 32 concurrent clients on loopback.

Run: ``.venv/bin/python bench/web_latency.py [--cases N] [--clients C] [--seconds S]``.

Data: ``--cases`` cases (default 100,000) over 500 locations, bulk inserted (it is a benchmark)
into a SQLite schema built by kovflow's own migrations, so the indexes are the real ones. Every
case has a ``plaatsing`` instance with its start event and task; 10% are open (``geplaatst`` with a
``wijkcoach`` instance in ``navraag`` and its open coach task, due within -20..+20 werkdagen).
The measured user is the coach of location 1 (about 200 cases, 20 of them open). The file is
cached in ``var/bench/`` and reused.

Server: ``kovflow serve --workers W`` in its own process tree (default two server processes per
core, no worker thread), as installed.
Clients: ``--clients`` asyncio tasks, each logged in with its own session (httpx, through the
login form), then a minimal keep-alive HTTP/1.1 client each, cycling GET ``/``,
GET ``/casus/<open case of location 1>`` and the stylesheet for ``--seconds`` after a warm-up.
Two runs: back to back (each client asks again as soon as it has its answer: the server's
throughput limit, where latency = clients / pages per second) and with think time (each client
waits an exponential ``--think`` seconds, default 1, before its next click, as a person reading
the page does). Latency is measured by the client (request sent to body read). Every page view
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
    "tasks": "id, case_id, instance_id, route_id, state, role, assignee_user_id, title, opened_at, "
             "due_at, closed_at",
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
        rows["tasks"].append((tid, cid, iid, "plaatsing", "aangemeld", "coach", None,
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
            rows["tasks"].append((tid, cid, iid, "wijkcoach", "navraag", "coach", None,
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


def start_server(db: Path, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """``kovflow serve`` on the benchmark database; the coach gets the bench password first."""
    url = f"sqlite:///{db}"
    kovflow = str(Path(sys.executable).with_name("kovflow"))
    subprocess.run([kovflow, "--db", url, "users", "password", "coach", "--password-stdin"],
                   input=PASSWORD.encode(), check=True, capture_output=True)
    proc = subprocess.Popen([kovflow, "--db", url, "serve", "--port", str(port),
                             "--workers", str(workers)],
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


class RawClient:
    """A minimal HTTP/1.1 keep-alive client for the measured requests: a few microseconds per
    request, so that on a 2-core machine the clients leave the CPU to the server they measure
    (httpx, used for the login, costs about a millisecond of Python per request)."""

    def __init__(self, host: str, port: int, cookie: str) -> None:
        self.host, self.port, self.cookie = host, port, cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        try:
            return await self._get(path)
        except (asyncio.IncompleteReadError, ConnectionError):
            # The server closed an idle keep-alive connection (as it may): ask again on a new
            # one, as a browser does.
            self.close()
            return await self._get(path)

    async def _get(self, path: str) -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                          f"Cookie: {self.cookie}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:  # chunked
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(parts)
        if headers.get("connection", "").lower() == "close":
            self.writer.close()
            self.reader = self.writer = None
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _login(base: str) -> str:
    """Log the coach in (as a browser would, CSRF token included); the session's Cookie header."""
    import httpx

    async with httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=60) as client:
        page = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        done = await client.post("/login", data={"username": "coach", "password": PASSWORD,
                                                 "csrf_token": token.group(1)})
        if done.status_code != 303:
            raise RuntimeError(f"login failed: {done.status_code}")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


async def _client(base: str, paths: list[str], ready: asyncio.Barrier,
                  clock: dict[str, float], warmup: float, seconds: float, think: float,
                  seed: int, out: dict[str, list[float]]) -> None:
    cookie = await _login(base)
    host, port = base.removeprefix("http://").split(":")
    client = RawClient(host, int(port), cookie)
    rnd = random.Random(seed)
    await ready.wait()
    if "start" not in clock:
        clock["start"] = time.perf_counter()
    warmup_until = clock["start"] + warmup
    until = warmup_until + seconds
    i = rnd.randrange(len(paths))
    try:
        while time.perf_counter() < until:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            status, _ = await client.get(path)
            elapsed = time.perf_counter() - t0
            if status != 200:
                raise RuntimeError(f"{path}: HTTP {status}")
            if t0 >= warmup_until:
                kind = ("static" if path.startswith("/static") else
                        "case" if path.startswith("/casus") else "tasks")
                out[kind].append(elapsed)
            if think:  # a person reading the page before the next click
                await asyncio.sleep(rnd.expovariate(1 / think))
    finally:
        client.close()


async def load(base: str, mine: list[str], clients: int, seconds: float,
               warmup: float, think: float = 0.0) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"tasks": [], "case": [], "static": []}
    # Every client logs in (argon2id, on purpose slow) before the measurement starts.
    ready = asyncio.Barrier(clients)
    clock: dict[str, float] = {}

    async def one(n: int) -> None:
        case = mine[n % len(mine)]
        paths = ["/", f"/casus/{case}", "/static/kovflow.css"]
        await _client(base, paths, ready, clock, warmup, seconds, think, n, out)

    await asyncio.gather(*(one(n) for n in range(clients)))
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _summary(label: str, out: dict[str, list[float]], args: Any
             ) -> tuple[dict[str, dict[str, float]], float]:
    """Print and return p50/p95/mean per kind of request, and the pages per second."""
    print(f"{label} ({args.clients} clients, {args.workers} server processes):")
    figures: dict[str, dict[str, float]] = {}
    for kind, values in out.items():
        figures[kind] = {"p50_ms": round(_pct(values, 0.50), 1),
                         "p95_ms": round(_pct(values, 0.95), 1),
                         "mean_ms": round(statistics.fmean(values) * 1000, 1),
                         "requests": len(values)}
        print(f"  {kind:<7} p50 {figures[kind]['p50_ms']:7.1f} ms   "
              f"p95 {figures[kind]['p95_ms']:7.1f} ms   ({len(values)} requests)")
    rate = (len(out["tasks"]) + len(out["case"])) / args.seconds
    print(f"  pages/s {rate:.0f}; goal p95 < 50 ms")
    return figures, rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    # Two per core: a page waits on SQLite's write lock for its access-log record, and a
    # process with all its threads waiting leaves its core idle (measured: 2 processes on 2
    # cores served 107-134 pages/s, 3-6 processes 190-220).
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1),
                        help="server processes (kovflow serve --workers; default: two per core)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="second run: mean seconds a client reads a page before the next")
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
    server = start_server(run_db, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        # Back to back: each client asks again the moment it has its page (the server's limit).
        busy = asyncio.run(load(base, mine, args.clients, args.seconds, args.warmup))
        # As people work: each client reads its page for a while (mean --think s) first.
        users = asyncio.run(load(base, mine, args.clients, args.seconds, args.warmup,
                                 args.think))
    except BaseException:
        server.terminate()
        print(server.communicate(timeout=15)[1].decode(errors="replace")[-3000:])
        raise
    server.terminate()
    server.wait(timeout=15)
    busy_figures, busy_rate = _summary("back to back", busy, args)
    user_figures, user_rate = _summary(f"think {args.think:g} s", users, args)
    pages = busy["tasks"] + busy["case"]
    figure = Figure(
        name=NAME, value=_pct(pages, 0.95), unit="ms (p95 page)",
        runs=[_pct(busy["tasks"], 0.95), _pct(busy["case"], 0.95)],
        goal="p95 < 50 ms for Mijn taken and the case page, 100,000 cases, 32 clients",
        floor=_pct(busy["static"], 0.95), floor_runs=[_pct(busy["static"], 0.95)],
        extra={**busy_figures, "pages_per_s": round(busy_rate, 1), "clients": args.clients,
               "workers": args.workers, "cases": args.cases, "cpus": os.cpu_count(),
               "with_think_time": {**user_figures, "think_s": args.think,
                                   "pages_per_s": round(user_rate, 1),
                                   "p95_page_ms": round(_pct(users["tasks"] + users["case"],
                                                             0.95), 1)}})
    if not args.no_write:
        write_results([figure], {NAME})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
