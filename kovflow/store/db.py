"""Engines and transactions, with the settings each backend needs.

SQLite (the embedded default): WAL, ``busy_timeout``, ``synchronous=NORMAL`` and ``BEGIN IMMEDIATE``
for every write transaction, so two writers queue instead of failing half-way (a deferred
transaction that later wants to write cannot wait for the lock). PostgreSQL through psycopg 3.
``write`` retries a bounded number of times on transient conflicts (busy database, serialization
failure, a lost race for the next event number of a case).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError

from kovflow.errors import DatabaseUnavailable

__all__ = ["Connection", "Engine", "Retry", "check_reachable", "make_engine", "read", "write"]

T = TypeVar("T")
BUSY_TIMEOUT_MS = 5000
WRITE_ATTEMPTS = 5


class Retry(Exception):
    """Raised inside a write transaction to roll back and run it again."""


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(
            f"{url!r} is not a database URL; use sqlite:///path/to/kovflow.db or "
            "postgresql+psycopg://user@host/dbname"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database or "")
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise DatabaseUnavailable(f"database backend {parsed.get_backend_name()!r} is not supported; "
                              "use sqlite or postgresql")


def _sqlite_engine(url: str, database: str) -> Engine:
    if database and database != ":memory:":
        parent = Path(database).expanduser().resolve().parent
        if not parent.is_dir():
            raise DatabaseUnavailable(f"folder {parent} for the SQLite database does not exist")
    # The web server runs pages in a pool of up to 40 threads: keep 8 connections open instead
    # of SQLAlchemy's 5, so that a busy minute does not open (and set up) a connection per page.
    engine = create_engine(url, connect_args={"check_same_thread": False}, pool_size=8,
                           max_overflow=32)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is always DEFERRED).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # The coordinator's reports read large parts of the file: a memory map and a bigger page
        # cache (64 MiB) make those reads 2-3x faster (measured on the 1M-case monitor).
        cur.execute("PRAGMA mmap_size=268435456")
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("kovflow_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _unavailable(engine: Engine, exc: DBAPIError) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"cannot reach the database at {engine.url.render_as_string(hide_password=True)}: "
        f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}")


def check_reachable(engine: Engine) -> None:
    """Connect once, turning driver errors into a ``DatabaseUnavailable`` that says where."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except (OperationalError, DBAPIError) as exc:
        raise _unavailable(engine, exc) from None


def _connect(engine: Engine) -> Connection:
    """A connection; a server that is down is ``DatabaseUnavailable`` (a 503, exit 6), not a crash."""
    try:
        return engine.connect()
    except OperationalError as exc:
        raise _unavailable(engine, exc) from None


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A read transaction (deferred on SQLite: readers never block writers in WAL mode)."""
    with _connect(engine) as conn, conn.begin():
        yield conn


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, Retry):
        return True
    if isinstance(exc, IntegrityError):
        # Two writers raced for the next event number of a case, the next case number, or a
        # user's first credentials row.
        text = str(exc.orig)
        return any(key in text for key in ("uq_events_chain_seq", "events.chain, events.seq",
                                           "uq_access_log_chain_seq", "access_log.chain",
                                           "cases_case_number_key", "cases.case_number",
                                           "cases_pkey", "cases.id",
                                           # two first-time set_password calls for one user
                                           "credentials_pkey", "credentials.user_id"))
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower()
        return "locked" in text or "busy" in text or "deadlock" in text or "serializ" in text
    return False


def write(engine: Engine, work: Callable[[Connection], T], attempts: int = WRITE_ATTEMPTS) -> T:
    """Run ``work`` in one write transaction; commit or roll back as a whole; retry if transient."""
    for attempt in range(1, attempts + 1):
        try:
            with _connect(engine).execution_options(kovflow_write=True) as conn, conn.begin():
                return work(conn)
        except (Retry, IntegrityError, OperationalError) as exc:
            if attempt == attempts or not _transient(exc):
                raise
            # Back off with jitter so two racing writers do not collide again in lock-step.
            time.sleep(min(0.2, 0.005 * 2**attempt) * random.random())
    raise RuntimeError("unreachable")  # pragma: no cover
